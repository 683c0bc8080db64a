// fetch-available-agents.c: POST {user_id} (or GET ?user_id=), admins only: lists the Voice AI
// agents of the user's connected HighLevel location (every page), upserts them into agents
// (source_platform 'highlevel') and answers them with their assignment to that user.
#include <string.h>

#include <json-c/json_object.h>

#include "common/agents.h"
#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/highlevel/client.h"
#include "common/highlevel/tokens.h"
#include "common/jsonh.h"
#include "common/secrets.h"

#define MAX_PAGES 100 /* 5,000 agents: far beyond what one location holds */

// Stores a page's agents in one statement; ids collects their provider ids.
static int store_page(struct app *app, struct http_request *req, const struct highlevel_page *page,
		      const char *location_id, struct json_object *ids) {
	struct highlevel_agent *agents;
	size_t n;

	if (highlevel_client_agents(req->arena, page, &agents, &n, &req->err) < 0 ||
	    agents_upsert_highlevel(app->db, req->arena, agents, n, location_id, &req->err) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object_array_add(ids, json_object_new_string(agents[i].id));
	}
	return 0;
}

static int fetch_all(struct app *app, struct http_request *req, const struct highlevel_conn *conn,
		     struct json_object *ids) {
	int more = 1;

	for (int page_no = 1; more && page_no <= MAX_PAGES; page_no++) {
		struct highlevel_page page;
		int rc;

		if (highlevel_client_list_agents(app, req->arena, conn->access_token,
						 conn->location_id, page_no, &page,
						 &req->err) < 0) {
			return -1;
		}
		rc = store_page(app, req, &page, conn->location_id, ids);
		more = page.more;
		highlevel_page_finish(&page);
		if (rc < 0) {
			return -1;
		}
	}
	return 0;
}

static int answer(struct app *app, struct http_request *req, struct http_response *resp,
		  const char *user_id, const char *location_id, struct json_object *ids) {
	struct db_rows rows;
	struct json_object *out;
	struct json_object *list;

	if (agents_list_with_assignment(app->db, req->arena, AGENTS_HIGHLEVEL_ID,
					jsonh_to_string(ids), user_id, &rows, &req->err) < 0) {
		return -1;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	for (int r = 0; r < rows.nrows; r++) {
		struct json_object *a = json_object_new_object();
		jsonh_add_string(a, "id", db_get(&rows, r, "id"));
		jsonh_add_string(a, "highlevel_agent_id", db_get(&rows, r, "highlevel_agent_id"));
		jsonh_add_string(a, "name", db_get(&rows, r, "name"));
		jsonh_add_string(a, "source_platform", db_get(&rows, r, "source_platform"));
		jsonh_add_string(a, "location_id", db_get(&rows, r, "location_id"));
		jsonh_add_bool(a, "assigned", strcmp(db_get(&rows, r, "assigned"), "t") == 0);
		json_object_array_add(list, a);
	}
	json_object_object_add(out, "agents", list);
	jsonh_add_string(out, "user_id", user_id);
	jsonh_add_string(out, "location_id", location_id);
	return http_respond_json(resp, 200, out);
}

// The user_id of a POST body or a GET query.
static int requested_user(struct http_request *req, const char **user_id) {
	struct json_object *body = NULL;
	const char *value = NULL;
	int rc = 0;

	if (http_method_is(req, "GET")) {
		*user_id = http_query(req, "user_id");
		return 0;
	}
	if (http_json_body(req, &body) < 0 ||
	    jsonh_get_string(body, "user_id", 0, &value, &req->err) < 0) {
		rc = -1;
	}
	*user_id = value != NULL ? arena_strdup(req->arena, value) : NULL;
	json_object_put(body);
	return rc;
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;
	struct highlevel_conn conn = {0};
	struct json_object *ids = NULL;
	const char *requested = NULL;
	const char *user_id = NULL;
	int status = -1;

	if (!http_method_is(req, "POST") && !http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use POST or GET");
	}
	if (auth_caller(app, req, &caller) < 0 || auth_require_admin(req, &caller) < 0 ||
	    requested_user(req, &requested) < 0 ||
	    auth_target_user(req, &caller, requested, &user_id) < 0) {
		return -1;
	}
	struct secrets_use use = {user_id,
				  "highlevel",
				  caller.kind == AUTH_SERVICE ? "service" : "admin",
				  caller.user_id,
				  "list voice agents",
				  req->request_id};
	if (highlevel_tokens_get(app, req->arena, &use, &conn, &req->err) < 0) {
		return -1;
	}
	if (conn.location_id == NULL) {
		status = http_fail(req, 409, "no_location", "the connection has no location");
		goto done;
	}
	ids = json_object_new_array();
	if (fetch_all(app, req, &conn, ids) < 0) {
		goto done;
	}
	status = answer(app, req, resp, user_id, conn.location_id, ids);
done:
	secrets_wipe(conn.access_token);
	json_object_put(ids);
	return status;
}

int main(int argc, char **argv) {
	static const char *const params[] = {"user_id", NULL};
	static const struct app_function fn = {
		.name = "fetch-available-agents",
		.query_params = params,
		.handler = handle,
		.max_body = 16 * 1024,
	};

	return app_main(argc, argv, &fn);
}
