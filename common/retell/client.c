/* retell/client.c: Retell API calls. */
#include "common/retell/client.h"

#include <json-c/json_object.h>
#include <string.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/httpc.h"
#include "common/jsonh.h"
#include "common/secrets.h"

// list-agents' filter: chat agents cannot answer calls
#define VOICE_AGENTS_ONLY \
	"{\"filter_criteria\":{\"channel\":{\"type\":\"string\",\"op\":\"eq\",\"value\":\"voice\"}}}"

int retell_client_status_error(long status, struct err *err) {
	return httpc_status_error(status, "provider_rejected_key", "key rejected by provider", err);
}

static const char *bearer(struct arena *arena, const char *api_key) {
	return arena_printf(arena, "Authorization: Bearer %s", api_key);
}

// Performs one request and parses a 2xx JSON answer into *root (caller puts).
static int call_json(struct app *app, struct arena *arena, const char *method, const char *url,
		     const char *api_key, const char *body, int64_t deadline_ms,
		     struct json_object **root, int *retries, long *status, struct err *err) {
	char *auth = (char *)bearer(arena, api_key);
	const char *headers[] = {auth, "Accept: application/json", "Content-Type: application/json",
				 NULL};
	struct httpc_request req = {method,	url, headers, body, body != NULL ? strlen(body) : 0,
				    deadline_ms};
	struct httpc_response resp = {0};
	struct err bad = {0};
	int rc = -1;

	*root = NULL;
	if (httpc_do(app->httpc, &req, &resp, err) < 0) {
		goto done;
	}
	*status = resp.status;
	if (retries != NULL) {
		*retries += resp.retries;
	}
	if (resp.status < 200 || resp.status > 299) {
		retell_client_status_error(resp.status, err);
		goto done;
	}
	*root = jsonh_parse(resp.body.data != NULL ? resp.body.data : "", resp.body.len,
			    JSONH_MAX_DEPTH, &bad);
	if (*root == NULL) {
		err_set(err, 502, "provider_bad_answer", "provider answered malformed JSON");
		goto done;
	}
	rc = 0;
done:
	secrets_wipe(auth);
	httpc_response_finish(&resp);
	return rc;
}

static int read_page(struct retell_page *page, struct err *err) {
	struct err inner = {0};
	int has_more = 0;

	if (jsonh_get_typed(page->root, "items", 1, json_type_array, &page->items, &inner) < 0 ||
	    jsonh_get_bool(page->root, "has_more", 0, &has_more, &inner) < 0 ||
	    jsonh_get_string(page->root, "pagination_key", 0, &page->next_key, &inner) < 0) {
		return err_set(err, 502, "provider_bad_answer",
			       "provider list answer has an unexpected shape");
	}
	if (has_more != 1) {
		page->next_key = NULL;
	}
	return 0;
}

int retell_client_list_agents(struct app *app, const char *api_key, const char *pagination_key,
			      struct retell_page *page, struct err *err) {
	struct arena *arena = arena_create();
	struct err first = {0};
	long status = 0;
	const char *url =
		arena_printf(arena, "%s/v2/list-agents?limit=1000%s%s", app->cfg.retell_base_url,
			     pagination_key != NULL ? "&pagination_key=" : "",
			     pagination_key != NULL ? httpc_escape(arena, pagination_key) : "");
	int rc = -1;

	memset(page, 0, sizeof(*page));
	if (call_json(app, arena, "POST", url, api_key, VOICE_AGENTS_ONLY, 0, &page->root,
		      &page->retries, &status, &first) == 0) {
		rc = read_page(page, err);
		goto done;
	}
	if (status != 404 && status != 405) {
		err_set(err, first.status, first.code, "%s", first.msg);
		goto done;
	}
	// workspaces on the legacy API only have GET /list-agents, answering a plain array
	url = arena_printf(arena, "%s/list-agents", app->cfg.retell_base_url);
	if (call_json(app, arena, "GET", url, api_key, NULL, 0, &page->root, &page->retries,
		      &status, err) < 0) {
		goto done;
	}
	if (!json_object_is_type(page->root, json_type_array)) {
		err_set(err, 502, "provider_bad_answer", "provider agent list is not an array");
		goto done;
	}
	page->items = page->root;
	rc = 0;
done:
	arena_destroy(arena);
	if (rc < 0) {
		retell_page_finish(page);
	}
	return rc;
}

int retell_client_agent(struct json_object *item, struct retell_agent *out, struct err *err) {
	struct err bad = {0};

	memset(out, 0, sizeof(*out));
	if (jsonh_get_string(item, "agent_id", 1, &out->agent_id, &bad) < 0 ||
	    jsonh_get_string(item, "agent_name", 0, &out->name, &bad) < 0 ||
	    jsonh_get_string(item, "voice_id", 0, &out->voice_id, &bad) < 0 ||
	    jsonh_get_string(item, "language", 0, &out->language, &bad) < 0 ||
	    jsonh_get_bool(item, "is_published", 0, &out->published, &bad) < 0 ||
	    jsonh_get_int64(item, "version", 0, -1, &out->version, &bad) < 0) {
		return err_set(err, 502, "provider_bad_answer", "provider agent: %s", bad.msg);
	}
	return 0;
}

// Copies what a GET /get-agent answer (item) says about the agent into it.
static int read_details(struct arena *arena, const struct httpc_batch_item *item,
			struct retell_agent *agent, struct err *err) {
	struct json_object *root = NULL;
	struct retell_agent full;
	struct err bad = {0};
	int rc = -1;

	if (item->status == 0) {
		return err_set(err, item->err.status, item->err.code, "%s", item->err.msg);
	}
	if (item->status == 404) {
		return 0; // deleted since it was listed
	}
	if (item->status < 200 || item->status > 299) {
		return retell_client_status_error(item->status, err);
	}
	root = jsonh_parse(item->body.data != NULL ? item->body.data : "", item->body.len,
			   JSONH_MAX_DEPTH, &bad);
	if (root == NULL) {
		err_set(err, 502, "provider_bad_answer", "provider answered malformed JSON");
		goto done;
	}
	if (retell_client_agent(root, &full, err) < 0) {
		goto done;
	}
	agent->voice_id = full.voice_id != NULL ? arena_strdup(arena, full.voice_id) : NULL;
	agent->language = full.language != NULL ? arena_strdup(arena, full.language) : NULL;
	agent->published = full.published;
	agent->version = full.version;
	rc = 0;
done:
	json_object_put(root);
	return rc;
}

int retell_client_agent_details(struct app *app, struct arena *arena, const char *api_key,
				struct retell_agent *agents, size_t n, struct err *err) {
	char *auth = (char *)bearer(arena, api_key);
	const char *headers[] = {auth, "Accept: application/json", NULL};
	struct httpc_batch_item *items = arena_alloc(arena, sizeof(*items) * (n > 0 ? n : 1));
	int retries = 0;
	int rc = 0;

	memset(items, 0, sizeof(*items) * (n > 0 ? n : 1));
	for (size_t i = 0; i < n; i++) {
		items[i].url = arena_printf(arena, "%s/get-agent/%s", app->cfg.retell_base_url,
					    httpc_escape(arena, agents[i].agent_id));
	}
	httpc_get_batch(app->httpc, headers, items, n, (int)app->cfg.sync_detail_concurrency, 0,
			&retries);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0) {
			rc = read_details(arena, &items[i], &agents[i], err);
		}
		buf_finish(&items[i].body);
	}
	secrets_wipe(auth);
	return rc;
}

static const char *list_calls_body(struct arena *arena, const struct retell_call_filter *f,
				   const char *pagination_key) {
	struct json_object *body = json_object_new_object();
	struct json_object *criteria = json_object_new_object();
	struct json_object *start = json_object_new_object();
	const char *text;

	jsonh_add_string(start, "type", "number");
	jsonh_add_string(start, "op", "ge");
	jsonh_add_int64(start, "value", f->since_ms);
	json_object_object_add(criteria, "start_timestamp", start);
	if (f->agent_ids != NULL) {
		struct json_object *agents = json_object_new_array();
		for (const char *const *id = f->agent_ids; *id != NULL; id++) {
			struct json_object *a = json_object_new_object();
			jsonh_add_string(a, "agent_id", *id);
			json_object_array_add(agents, a);
		}
		json_object_object_add(criteria, "agent", agents);
	}
	json_object_object_add(body, "filter_criteria", criteria);
	jsonh_add_string(body, "sort_order", "ascending");
	jsonh_add_int64(body, "limit", f->limit);
	if (pagination_key != NULL) {
		jsonh_add_string(body, "pagination_key", pagination_key);
	}
	text = arena_strdup(arena, jsonh_to_string(body));
	json_object_put(body);
	return text;
}

int retell_client_list_calls(struct app *app, struct arena *arena, const char *api_key,
			     const struct retell_call_filter *filter, const char *pagination_key,
			     struct retell_page *page, struct err *err) {
	const char *url = arena_printf(arena, "%s/v3/list-calls", app->cfg.retell_base_url);
	long status = 0;

	memset(page, 0, sizeof(*page));
	if (call_json(app, arena, "POST", url, api_key,
		      list_calls_body(arena, filter, pagination_key), filter->deadline_ms,
		      &page->root, &page->retries, &status, err) < 0 ||
	    read_page(page, err) < 0) {
		retell_page_finish(page);
		return -1;
	}
	return 0;
}

const char *retell_client_call_url(struct app *app, struct arena *arena, const char *call_id) {
	return arena_printf(arena, "%s/v2/get-call/%s", app->cfg.retell_base_url,
			    httpc_escape(arena, call_id));
}

int retell_client_get_call(struct app *app, struct arena *arena, const char *api_key,
			   const char *call_id, struct json_object **call, struct err *err) {
	const char *url = retell_client_call_url(app, arena, call_id);
	long status = 0;

	if (call_json(app, arena, "GET", url, api_key, NULL, 0, call, NULL, &status, err) < 0) {
		return -1;
	}
	if (!json_object_is_type(*call, json_type_object)) {
		json_object_put(*call);
		*call = NULL;
		return err_set(err, 502, "provider_bad_answer", "provider call is not an object");
	}
	return 0;
}

void retell_page_finish(struct retell_page *page) {
	json_object_put(page->root);
	memset(page, 0, sizeof(*page));
}
