// connections.c: /functions/v1/connections: a user's connection to each provider, for the
// dashboard's connection panel and the sync button (the plan's getUserConnections).
//   GET [?user_id=]                      both providers' status: connected, key hint or
//                                        location, token expiry, last sync and its outcome,
//                                        last error, assigned agents. Admins name the user; a
//                                        client gets their own, labelled (no provider name).
//   DELETE ?provider=highlevel&user_id=  (admins) disconnect HighLevel: tokens erased, agents
//                                        stay assigned; provider=retell does what
//                                        retell-connection's DELETE does.
#define _GNU_SOURCE /* strcasestr */
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/auth.h"
#include "common/connections.h"
#include "common/db.h"
#include "common/jsonh.h"
#include "common/whitelabel.h"

// A client reads errors through their label: a message naming a provider is replaced.
static const char *error_for(int is_admin, const char *text) {
	static const char *const names[] = {"retell", "highlevel", "leadconnector"};

	for (size_t i = 0; !is_admin && text != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasestr(text, names[i]) != NULL) {
			return "the provider refused or failed the last request; ask your administrator";
		}
	}
	return text;
}

static struct json_object *connection_json(const struct app *app, int is_admin,
					   const struct db_rows *rows, int r) {
	struct json_object *c = json_object_new_object();
	const char *service = db_get(rows, r, "service");
	const char *active = db_get(rows, r, "is_active");
	static const char *const text_columns[] = {"status",	       "key_hint", "location_id",
						   "token_expires_at", "since",	   "last_sync_at",
						   "last_sync_status"};

	jsonh_add_string(c, "provider", whitelabel_provider_name(&app->cfg, is_admin, service));
	if (is_admin) {
		jsonh_add_string(c, "source_platform", service);
	}
	jsonh_add_bool(c, "connected", active != NULL && active[0] == 't');
	for (size_t i = 0; i < sizeof(text_columns) / sizeof(text_columns[0]); i++) {
		jsonh_add_string(c, text_columns[i], db_get(rows, r, text_columns[i]));
	}
	jsonh_add_string(c, "last_error", error_for(is_admin, db_get(rows, r, "last_error")));
	jsonh_add_raw(c, "agents", db_get(rows, r, "agents"));
	return c;
}

static int show(struct app *app, struct http_request *req, struct http_response *resp, int is_admin,
		const char *user_id) {
	struct db_rows rows;
	struct json_object *out;
	struct json_object *list;

	if (is_admin && auth_user_exists(app, req, user_id) < 0) {
		return -1;
	}
	if (connections_status(app->db, req->arena, user_id, &rows, &req->err) < 0) {
		return -1;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	jsonh_add_string(out, "user_id", user_id);
	for (int r = 0; r < rows.nrows; r++) {
		json_object_array_add(list, connection_json(app, is_admin, &rows, r));
	}
	json_object_object_add(out, "connections", list);
	http_add_header(resp, "Cache-Control", "private, no-store");
	return http_respond_json(resp, 200, out);
}

static int disconnect(struct app *app, struct http_request *req, struct http_response *resp,
		      const char *user_id) {
	const char *platform = whitelabel_platform_named(&app->cfg, 1, http_query(req, "provider"));
	struct json_object *out;
	long assigned = 0;
	int removed = 0;

	if (platform == NULL) {
		return http_fail(req, 400, "bad_parameter", "provider must be highlevel or retell");
	}
	if ((strcmp(platform, "highlevel") == 0
		     ? connections_highlevel_disconnect(app->db, req->arena, user_id, &removed,
							&req->err)
		     : connections_retell_disconnect(app->db, req->arena, user_id, &removed,
						     &assigned, &req->err)) < 0) {
		return -1;
	}
	if (!removed) {
		return http_fail(req, 404, "not_connected", "no connection for this user");
	}
	out = json_object_new_object();
	jsonh_add_bool(out, "disconnected", 1);
	jsonh_add_string(out, "user_id", user_id);
	jsonh_add_string(out, "source_platform", platform);
	return http_respond_json(resp, 200, out);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;
	const char *user_id = NULL;
	int is_admin;

	if (!http_method_is(req, "GET") && !http_method_is(req, "DELETE")) {
		return http_fail(req, 405, "method_not_allowed", "use GET or DELETE");
	}
	if (auth_caller(app, req, &caller) < 0) {
		return -1;
	}
	is_admin = caller.kind == AUTH_ADMIN || caller.kind == AUTH_SERVICE;
	if ((http_method_is(req, "DELETE") && auth_require_admin(req, &caller) < 0) ||
	    auth_target_user(req, &caller, http_query(req, "user_id"), &user_id) < 0) {
		return -1;
	}
	return http_method_is(req, "GET") ? show(app, req, resp, is_admin, user_id)
					  : disconnect(app, req, resp, user_id);
}

int main(int argc, char **argv) {
	static const char *const params[] = {"user_id", "provider", NULL};
	static const struct app_function fn = {
		.name = "connections",
		.query_params = params,
		.handler = handle,
		.max_body = 1024,
	};

	return app_main(argc, argv, &fn);
}
