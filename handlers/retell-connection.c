// retell-connection.c: /functions/v1/retell-connection (admins): test and save a user's Retell
// API key (sealed at rest), report the connection's status, and disconnect it.
//   POST {user_id, api_key}            test the key against the provider, then store it
//   POST {api_key, test_only: true}    only test it
//   GET ?user_id=                      status: connected, since, last sync, last error, key hint
//   DELETE ?user_id=                   deactivate (the sealed key is erased)
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/connections.h"
#include "common/db.h"
#include "common/jsonh.h"
#include "common/retell/client.h"
#include "common/secrets.h"

#define MAX_KEY_LEN 256

// Lists the workspace's first page of agents: the provider's own verdict on the key.
static int test_key(struct app *app, struct http_request *req, const char *api_key, int *agents) {
	struct retell_page page;

	if (retell_client_list_agents(app, api_key, NULL, &page, &req->err) < 0) {
		return -1;
	}
	*agents = (int)json_object_array_length(page.items);
	retell_page_finish(&page);
	return 0;
}

static int valid_key_text(const char *key) {
	size_t len = strlen(key);

	if (len < 8 || len > MAX_KEY_LEN) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (key[i] <= ' ' || key[i] == 0x7f) {
			return 0;
		}
	}
	return 1;
}

static int store_key(struct app *app, struct http_request *req, const char *user_id,
		     const char *api_key) {
	const char *sealed = secrets_seal(app, req->arena, user_id, "retell", "access_token",
					  api_key, &req->err);

	if (sealed == NULL) {
		return -1;
	}
	return connections_retell_connect(app->db, req->arena, user_id, sealed,
					  secrets_hint(req->arena, api_key), &req->err);
}

static int save(struct app *app, struct http_request *req, struct http_response *resp) {
	struct json_object *body = NULL;
	const char *user_id = NULL;
	const char *api_key = NULL;
	int test_only = 0;
	int agents = 0;
	int status = -1;

	if (http_json_body(req, &body) < 0 ||
	    jsonh_get_string(body, "api_key", 1, &api_key, &req->err) < 0 ||
	    jsonh_get_bool(body, "test_only", 0, &test_only, &req->err) < 0 ||
	    jsonh_get_string(body, "user_id", test_only != 1, &user_id, &req->err) < 0) {
		goto done;
	}
	if (!valid_key_text(api_key)) {
		err_set(&req->err, 400, "bad_field", "api_key must be 8..%d printable characters",
			MAX_KEY_LEN);
		goto done;
	}
	if (user_id != NULL && !auth_is_uuid(user_id)) {
		err_set(&req->err, 400, "bad_field", "user_id must be a uuid");
		goto done;
	}
	if (user_id != NULL && auth_user_exists(app, req, user_id) < 0) {
		goto done;
	}
	if (test_key(app, req, api_key, &agents) < 0 ||
	    (test_only != 1 && store_key(app, req, user_id, api_key) < 0)) {
		goto done;
	}
	struct json_object *out = json_object_new_object();
	jsonh_add_bool(out, "valid", 1);
	jsonh_add_int64(out, "agents_visible", agents);
	if (test_only != 1) {
		jsonh_add_bool(out, "connected", 1);
		jsonh_add_string(out, "user_id", user_id);
		jsonh_add_string(out, "key_hint", secrets_hint(req->arena, api_key));
	}
	status = http_respond_json(resp, 200, out);
done:
	json_object_put(body);
	return status;
}

static int show(struct app *app, struct http_request *req, struct http_response *resp,
		const char *user_id) {
	struct db_rows rows;
	struct json_object *out;

	if (connections_retell_status(app->db, req->arena, user_id, &rows, &req->err) < 0) {
		return -1;
	}
	out = json_object_new_object();
	jsonh_add_string(out, "user_id", user_id);
	jsonh_add_bool(out, "connected",
		       rows.nrows == 1 && strcmp(db_get(&rows, 0, "is_active"), "t") == 0);
	if (rows.nrows == 1) {
		jsonh_add_string(out, "since", db_get(&rows, 0, "since"));
		jsonh_add_string(out, "key_hint", db_get(&rows, 0, "key_hint"));
		jsonh_add_string(out, "last_sync_at", db_get(&rows, 0, "last_sync_at"));
		jsonh_add_string(out, "last_sync_status", db_get(&rows, 0, "last_status"));
		jsonh_add_string(out, "last_error", db_get(&rows, 0, "last_error"));
	}
	return http_respond_json(resp, 200, out);
}

static int disconnect(struct app *app, struct http_request *req, struct http_response *resp,
		      const char *user_id) {
	struct json_object *out;
	long assigned = 0;
	int removed = 0;

	if (connections_retell_disconnect(app->db, req->arena, user_id, &removed, &assigned,
					  &req->err) < 0) {
		return -1;
	}
	if (!removed) {
		return http_fail(req, 404, "not_connected", "no connection for this user");
	}
	out = json_object_new_object();
	jsonh_add_bool(out, "disconnected", 1);
	jsonh_add_int64(out, "assigned_agents", assigned);
	jsonh_add_string(out, "note",
			 "assigned agents stay assigned and their calls are kept; new webhook deliveries"
			 " for them are refused and syncs skip this user until a key is connected again");
	return http_respond_json(resp, 200, out);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;
	const char *user_id = NULL;

	if (!http_method_is(req, "GET") && !http_method_is(req, "POST") &&
	    !http_method_is(req, "DELETE")) {
		return http_fail(req, 405, "method_not_allowed", "use GET, POST or DELETE");
	}
	if (auth_caller(app, req, &caller) < 0 || auth_require_admin(req, &caller) < 0) {
		return -1;
	}
	if (http_method_is(req, "POST")) {
		return save(app, req, resp);
	}
	if (auth_target_user(req, &caller, http_query(req, "user_id"), &user_id) < 0) {
		return -1;
	}
	return http_method_is(req, "GET") ? show(app, req, resp, user_id)
					  : disconnect(app, req, resp, user_id);
}

int main(int argc, char **argv) {
	static const char *const params[] = {"user_id", NULL};
	static const struct app_function fn = {
		.name = "retell-connection",
		.query_params = params,
		.handler = handle,
		.max_body = 16 * 1024,
	};

	return app_main(argc, argv, &fn);
}
