/* highlevel/client.c: LeadConnector API calls. */
#include "common/highlevel/client.h"

#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/crypto.h"
#include "common/httpc.h"
#include "common/jsonh.h"
#include "common/secrets.h"

#define DEFAULT_EXPIRES_IN 3600
#define TOKEN_DEADLINE_MS  20000

// what a refused access token is to our callers
#define REJECTED_CODE "provider_rejected_token"
#define REJECTED_MSG  "access to the connected account was refused; authorise it again"

enum grant { GRANT_CODE, GRANT_REFRESH };

int highlevel_client_status_error(long status, struct err *err) {
	return httpc_status_error(status, REJECTED_CODE, REJECTED_MSG, err);
}

int highlevel_client_configured(const struct app *app) {
	const struct config *cfg = &app->cfg;

	return cfg->highlevel_client_id != NULL && cfg->highlevel_client_secret != NULL &&
	       cfg->highlevel_redirect_uri != NULL;
}

const char *highlevel_client_authorize_url(const struct app *app, struct arena *arena,
					   const char *state) {
	return arena_printf(arena,
			    "%s?response_type=code&redirect_uri=%s&client_id=%s&scope=%s&state=%s",
			    HIGHLEVEL_AUTHORIZE_URL,
			    httpc_escape(arena, app->cfg.highlevel_redirect_uri),
			    httpc_escape(arena, app->cfg.highlevel_client_id),
			    httpc_escape(arena, HIGHLEVEL_SCOPES), httpc_escape(arena, state));
}

const char **highlevel_client_headers(struct arena *arena, const char *access_token,
				      const char *version, const char *accept) {
	const char **h = arena_alloc(arena, sizeof(char *) * 4);

	h[0] = arena_printf(arena, "Authorization: Bearer %s", access_token);
	h[1] = arena_printf(arena, "Version: %s", version);
	h[2] = arena_printf(arena, "Accept: %s", accept);
	h[3] = NULL;
	return h;
}

static void wipe_member(struct json_object *root, const char *key) {
	struct json_object *v = NULL;

	if (json_object_object_get_ex(root, key, &v) && json_object_is_type(v, json_type_string)) {
		crypto_wipe((char *)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
	}
}

// Reads a 2xx token answer; the tokens are copied into the arena and wiped in the tree.
static int read_token(struct arena *arena, struct json_object *root, struct highlevel_token *out,
		      struct err *err) {
	const char *access = NULL;
	const char *refresh = NULL;
	struct err inner = {0};
	int rc = 0;

	if (jsonh_get_string(root, "access_token", 1, &access, &inner) < 0 ||
	    jsonh_get_string(root, "refresh_token", 1, &refresh, &inner) < 0 ||
	    jsonh_get_int64(root, "expires_in", 0, DEFAULT_EXPIRES_IN, &out->expires_in, &inner) <
		    0 ||
	    jsonh_get_string(root, "locationId", 0, &out->location_id, &inner) < 0 ||
	    jsonh_get_string(root, "userType", 0, &out->user_type, &inner) < 0 ||
	    jsonh_get_string(root, "scope", 0, &out->scope, &inner) < 0 || access[0] == '\0' ||
	    refresh[0] == '\0') {
		rc = err_set(err, 502, "provider_bad_answer",
			     "provider token answer has an unexpected shape");
	} else {
		out->access_token = arena_strdup(arena, access);
		out->refresh_token = arena_strdup(arena, refresh);
		out->location_id = out->location_id != NULL ? arena_strdup(arena, out->location_id)
							    : NULL;
		out->user_type = out->user_type != NULL ? arena_strdup(arena, out->user_type)
							: NULL;
		out->scope = out->scope != NULL ? arena_strdup(arena, out->scope) : NULL;
		if (out->expires_in <= 0) {
			out->expires_in = DEFAULT_EXPIRES_IN;
		}
	}
	wipe_member(root, "access_token");
	wipe_member(root, "refresh_token");
	return rc;
}

// The token endpoint's refusals: which side is at fault decides what the caller may do next.
static int token_error(long status, struct json_object *root, enum grant grant, struct err *err) {
	const char *code = NULL;
	struct err ignored = {0};

	if (status == 429 || status >= 500) {
		return highlevel_client_status_error(status, err);
	}
	if (status != 400 && status != 401) {
		return err_set(err, 502, "provider_error",
			       "provider refused the token request (%ld)", status);
	}
	if (root != NULL && json_object_is_type(root, json_type_object) &&
	    jsonh_get_string(root, "error", 0, &code, &ignored) == 0 && code != NULL &&
	    strcmp(code, "invalid_client") == 0) {
		return err_set(err, 502, "provider_rejected_app",
			       "the provider refused this application's credentials; check the configuration");
	}
	if (grant == GRANT_CODE) {
		return err_set(err, 400, "invalid_code",
			       "the authorization code was refused or has expired; start the connection again");
	}
	return err_set(err, 422, "refresh_rejected",
		       "the connected account's authorisation was revoked or has expired; authorise it again");
}

static int token_request(struct app *app, struct arena *arena, enum grant grant, const char *secret,
			 struct highlevel_token *out, struct err *err) {
	const struct config *cfg = &app->cfg;
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
				 "Accept: application/json", NULL};
	char *body =
		arena_printf(arena,
			     "client_id=%s&client_secret=%s&grant_type=%s&%s=%s&user_type=Location%s%s",
			     httpc_escape(arena, cfg->highlevel_client_id),
			     httpc_escape(arena, cfg->highlevel_client_secret),
			     grant == GRANT_CODE ? "authorization_code" : "refresh_token",
			     grant == GRANT_CODE ? "code" : "refresh_token",
			     httpc_escape(arena, secret),
			     grant == GRANT_CODE ? "&redirect_uri=" : "",
			     grant == GRANT_CODE ? httpc_escape(arena, cfg->highlevel_redirect_uri)
						 : "");
	struct httpc_request req = {"POST",
				    arena_printf(arena, "%s/oauth/token", cfg->highlevel_base_url),
				    headers,
				    body,
				    strlen(body),
				    httpc_now_ms() + TOKEN_DEADLINE_MS};
	struct httpc_response resp = {0};
	struct json_object *root = NULL;
	struct err parse = {0};
	int rc = -1;

	if (httpc_do(app->httpc, &req, &resp, err) < 0) {
		goto done;
	}
	if (resp.body.data != NULL) {
		root = jsonh_parse(resp.body.data, resp.body.len, JSONH_MAX_DEPTH, &parse);
	}
	if (resp.status < 200 || resp.status > 299) {
		token_error(resp.status, root, grant, err);
		goto done;
	}
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		err_set(err, 502, "provider_bad_answer", "provider answered malformed JSON");
		goto done;
	}
	rc = read_token(arena, root, out, err);
done:
	crypto_wipe(body, strlen(body));
	if (resp.body.data != NULL) {
		crypto_wipe(resp.body.data, resp.body.len);
	}
	httpc_response_finish(&resp);
	json_object_put(root);
	return rc;
}

static int token_call(struct app *app, struct arena *arena, enum grant grant, const char *secret,
		      struct highlevel_token *out, struct err *err) {
	memset(out, 0, sizeof(*out));
	if (!highlevel_client_configured(app)) {
		return err_set(err, 503, "not_configured",
			       "this connection is not configured on the server");
	}
	return token_request(app, arena, grant, secret, out, err);
}

int highlevel_client_exchange_code(struct app *app, struct arena *arena, const char *code,
				   struct highlevel_token *out, struct err *err) {
	return token_call(app, arena, GRANT_CODE, code, out, err);
}

int highlevel_client_refresh(struct app *app, struct arena *arena, const char *refresh_token,
			     struct highlevel_token *out, struct err *err) {
	return token_call(app, arena, GRANT_REFRESH, refresh_token, out, err);
}

void highlevel_page_finish(struct highlevel_page *page) {
	json_object_put(page->root);
	memset(page, 0, sizeof(*page));
}

// GETs url and reads a {total, page, pageSize, <key>: [...]} answer into out.
static int get_page(struct app *app, struct arena *arena, const char *access_token, const char *url,
		    const char *key, int page, int page_size, int64_t deadline_ms,
		    struct highlevel_page *out, struct err *err) {
	// every list we call is a /voice-ai/... endpoint
	const char **headers = highlevel_client_headers(arena, access_token,
							HIGHLEVEL_VERSION_VOICE_AI,
							"application/json");
	struct httpc_request req = {"GET", url, headers, NULL, 0, deadline_ms};
	struct httpc_response resp = {0};
	struct err inner = {0};
	int64_t answered = page_size;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (httpc_do(app->httpc, &req, &resp, err) < 0) {
		goto done;
	}
	out->retries = resp.retries;
	if (resp.status < 200 || resp.status > 299) {
		httpc_answer_error(&resp, REJECTED_CODE, REJECTED_MSG, err);
		goto done;
	}
	out->root = jsonh_parse(resp.body.data != NULL ? resp.body.data : "", resp.body.len,
				JSONH_MAX_DEPTH, &inner);
	if (out->root == NULL || !json_object_is_type(out->root, json_type_object) ||
	    jsonh_get_typed(out->root, key, 1, json_type_array, &out->items, &inner) < 0 ||
	    jsonh_get_int64(out->root, "total", 0, -1, &out->total, &inner) < 0 ||
	    jsonh_get_int64(out->root, "pageSize", 0, page_size, &answered, &inner) < 0) {
		err_set(err, 502, "provider_bad_answer",
			"provider list answer has an unexpected shape");
		goto done;
	}
	size_t n = json_object_array_length(out->items);
	out->page = page;
	out->page_size = answered > 0 && answered <= page_size ? (int)answered : page_size;
	// without a total, a full page is the only hint that another one follows
	out->more = n > 0 && (out->total >= 0 ? (int64_t)page * out->page_size < out->total
					      : n >= (size_t)out->page_size);
	rc = 0;
done:
	secrets_wipe((char *)headers[0]);
	httpc_response_finish(&resp);
	if (rc < 0) {
		int retries = out->retries;
		highlevel_page_finish(out);
		out->retries = retries;
	}
	return rc;
}

int highlevel_client_list_agents(struct app *app, struct arena *arena, const char *access_token,
				 const char *location_id, int page, struct highlevel_page *out,
				 struct err *err) {
	const char *url = arena_printf(arena,
				       "%s/voice-ai/agents?locationId=%s&page=%d&pageSize=%d",
				       app->cfg.highlevel_base_url,
				       httpc_escape(arena, location_id), page, HIGHLEVEL_PAGE_SIZE);

	return get_page(app, arena, access_token, url, "agents", page, HIGHLEVEL_PAGE_SIZE, 0, out,
			err);
}

int highlevel_client_agents(struct arena *arena, const struct highlevel_page *page,
			    struct highlevel_agent **agents, size_t *n, struct err *err) {
	size_t len = json_object_array_length(page->items);

	*agents = arena_alloc(arena, sizeof(**agents) * (len > 0 ? len : 1));
	*n = 0;
	for (size_t i = 0; i < len; i++) {
		struct json_object *item = json_object_array_get_idx(page->items, i);
		struct json_object *name = NULL;
		struct highlevel_agent *a = &(*agents)[*n];
		struct err bad = {0};

		if (!json_object_is_type(item, json_type_object) ||
		    jsonh_get_string(item, "id", 1, &a->id, &bad) < 0 || a->id[0] == '\0') {
			continue; // not an agent we can store: skipped
		}
		a->name = NULL;
		if (json_object_object_get_ex(item, "agentName", &name) &&
		    json_object_is_type(name, json_type_string) &&
		    jsonh_get_string(item, "agentName", 0, &a->name, &bad) < 0) {
			return err_set(err, 502, "provider_bad_answer", "provider agent: %s",
				       bad.msg);
		}
		(*n)++;
	}
	return 0;
}

int highlevel_client_list_call_logs(struct app *app, struct arena *arena, const char *access_token,
				    const struct highlevel_call_filter *f,
				    struct highlevel_page *out, struct err *err) {
	int size = f->page_size > 0 && f->page_size <= HIGHLEVEL_PAGE_SIZE ? f->page_size
									   : HIGHLEVEL_PAGE_SIZE;
	const char *url =
		arena_printf(arena,
			     "%s/voice-ai/dashboard/call-logs?locationId=%s&startDate=%lld"
			     "&endDate=%lld&page=%d&pageSize=%d&sortBy=createdAt&sort=ascend",
			     app->cfg.highlevel_base_url, httpc_escape(arena, f->location_id),
			     (long long)f->start_ms, (long long)f->end_ms, f->page, size);

	return get_page(app, arena, access_token, url, "callLogs", f->page, size, f->deadline_ms,
			out, err);
}

const char *highlevel_client_recording_url(const struct app *app, struct arena *arena,
					   const char *message_id, const char *location_id) {
	return arena_printf(arena, "%s/conversations/messages/%s/locations/%s/recording",
			    app->cfg.highlevel_base_url, httpc_escape(arena, message_id),
			    httpc_escape(arena, location_id));
}
