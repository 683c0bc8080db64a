// fetch-retell-agents.c: POST /functions/v1/fetch-retell-agents {user_id} lists a workspace's
// voice agents with the user's stored key (admins: any user; a user: their own connection), or
// with {api_key} in the body for a test (admins), following every page and reading each agent's
// details (voice, language, published, version) from GET /get-agent; upserts them into agents
// and answers them with their assignment to the user.
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "common/agents.h"
#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/connections.h"
#include "common/db.h"
#include "common/jsonh.h"
#include "common/retell/client.h"
#include "common/secrets.h"
#include "common/whitelabel.h"

#define MAX_PAGES 100

// Stores a page's agents with the details GET /get-agent gives (the list items carry only
// id and name); ids collects their provider ids.
static int store_page(struct app *app, struct http_request *req, const char *api_key,
		      const struct retell_page *page, struct json_object *ids) {
	size_t n = json_object_array_length(page->items);
	struct retell_agent *agents = arena_alloc(req->arena, sizeof(*agents) * (n > 0 ? n : 1));

	for (size_t i = 0; i < n; i++) {
		if (retell_client_agent(json_object_array_get_idx(page->items, i), &agents[i],
					&req->err) < 0) {
			return -1;
		}
	}
	if (retell_client_agent_details(app, req->arena, api_key, agents, n, &req->err) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (agents_upsert_retell(app->db, req->arena, &agents[i], &req->err) < 0) {
			return -1;
		}
		json_object_array_add(ids, json_object_new_string(agents[i].agent_id));
	}
	return 0;
}

// Fetches every page and stores what it lists.
static int fetch_all(struct app *app, struct http_request *req, const char *api_key,
		     struct json_object *ids) {
	const char *next = NULL;
	int pages = 0;

	do {
		struct retell_page page;
		int rc;

		if (retell_client_list_agents(app, api_key, next, &page, &req->err) < 0) {
			return -1;
		}
		rc = store_page(app, req, api_key, &page, ids);
		next = page.next_key != NULL ? arena_strdup(req->arena, page.next_key) : NULL;
		retell_page_finish(&page);
		if (rc < 0) {
			return -1;
		}
	} while (next != NULL && ++pages < MAX_PAGES);
	return 0;
}

static struct json_object *agent_json(struct app *app, const struct db_rows *rows, int r,
				      int is_admin) {
	struct json_object *a = json_object_new_object();
	const char *published = db_get(rows, r, "is_published");
	const char *version = db_get(rows, r, "version");

	jsonh_add_string(a, "id", db_get(rows, r, "id"));
	jsonh_add_string(a, "name", db_get(rows, r, "name"));
	jsonh_add_string(a, "language", db_get(rows, r, "language"));
	jsonh_add_string(a, "provider", whitelabel_provider_name(&app->cfg, is_admin, "retell"));
	if (is_admin) {
		// provider ids and voices name the provider: admins only (white-label)
		jsonh_add_string(a, "source_platform", "retell");
		jsonh_add_string(a, "retell_agent_id", db_get(rows, r, "retell_agent_id"));
		jsonh_add_string(a, "voice_id", db_get(rows, r, "voice_id"));
	}
	json_object_object_add(a, "is_published",
			       published == NULL ? NULL
						 : json_object_new_boolean(published[0] == 't'));
	json_object_object_add(a, "version",
			       version == NULL ? NULL
					       : json_object_new_int64(strtoll(version, NULL, 10)));
	jsonh_add_bool(a, "assigned", strcmp(db_get(rows, r, "assigned"), "t") == 0);
	return a;
}

static int answer(struct app *app, struct http_request *req, struct http_response *resp,
		  const struct auth_caller *caller, const char *user_id, struct json_object *ids) {
	struct db_rows rows;
	struct json_object *out;
	struct json_object *list;

	if (agents_list_with_assignment(app->db, req->arena, AGENTS_RETELL_ID, jsonh_to_string(ids),
					user_id, &rows, &req->err) < 0) {
		return -1;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	for (int r = 0; r < rows.nrows; r++) {
		json_object_array_add(list, agent_json(app, &rows, r, caller->kind != AUTH_CLIENT));
	}
	json_object_object_add(out, "agents", list);
	jsonh_add_string(out, "user_id", user_id);
	return http_respond_json(resp, 200, out);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;
	struct json_object *body = NULL;
	struct json_object *ids = json_object_new_array();
	const char *requested = NULL;
	const char *test_key = NULL;
	const char *user_id = NULL;
	char *key = NULL;
	int status = -1;

	if (!http_method_is(req, "POST")) {
		status = http_fail(req, 405, "method_not_allowed", "use POST");
		goto done;
	}
	if (auth_caller(app, req, &caller) < 0 || http_json_body(req, &body) < 0 ||
	    jsonh_get_string(body, "user_id", 0, &requested, &req->err) < 0 ||
	    jsonh_get_string(body, "api_key", 0, &test_key, &req->err) < 0 ||
	    (test_key != NULL && auth_require_admin(req, &caller) < 0) ||
	    (test_key == NULL && auth_target_user(req, &caller, requested, &user_id) < 0)) {
		goto done;
	}
	if (test_key == NULL) {
		struct secrets_use use = {user_id,
					  "retell",
					  caller.kind == AUTH_CLIENT ? "client" : "admin",
					  caller.user_id,
					  "list workspace agents",
					  req->request_id};
		if (connections_load_access_token(app, req->arena, &use, &key, &req->err) < 0) {
			goto done;
		}
	}
	// the workspace behind the stored key lists these: its deliveries are verified with it
	if (fetch_all(app, req, test_key != NULL ? test_key : key, ids) < 0 ||
	    (key != NULL && agents_learn_retell_workspace(app->db, req->arena, user_id,
							  jsonh_to_string(ids), &req->err) < 0)) {
		goto done;
	}
	status = answer(app, req, resp, &caller, user_id, ids);
done:
	secrets_wipe(key);
	json_object_put(body);
	json_object_put(ids);
	return status;
}

int main(int argc, char **argv) {
	static const struct app_function fn = {
		.name = "fetch-retell-agents",
		.handler = handle,
		.max_body = 16 * 1024,
	};

	return app_main(argc, argv, &fn);
}
