// get-call.c: GET /functions/v1/get-call?id=<calls.id>: one call whole, for the dashboard's
// call page: the list's fields, then the transcript, its word timings, the analysis, latency,
// disconnection reason and whether a recording can be played (get-call-recording). Who may see
// it is as in list-calls (common/calls_query.h): the users its agent is assigned to, and
// admins; anyone else gets 404, as for a call that does not exist. Clients see the provider's
// label only; admins also get source_platform and the provider's call id, to find the call in
// the provider's console.
#include "common/app.h"
#include "common/auth.h"
#include "common/calls_query.h"
#include "common/db.h"

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;
	struct calls_sql sql;
	struct db_rows rows;
	const char *id = http_query(req, "id");
	int is_admin;

	if (!http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use GET");
	}
	if (auth_caller(app, req, &caller) < 0) {
		return -1;
	}
	if (id == NULL || id[0] == '\0') {
		return http_fail(req, 400, "bad_parameter", "id (the call's id) is required");
	}
	if (!auth_is_uuid(id)) {
		return http_fail(req, 400, "bad_parameter", "id must be a uuid");
	}
	is_admin = caller.kind == AUTH_ADMIN || caller.kind == AUTH_SERVICE;
	if (!is_admin && caller.user_id == NULL) {
		return http_fail(req, 401, "unauthorized", "a signed-in user is required");
	}
	calls_query_call_sql(id, is_admin ? NULL : caller.user_id, req->arena, &sql);
	if (db_exec(app->db, req->arena, NULL, sql.text, sql.nparams, sql.params, &rows,
		    &req->err) < 0) {
		return -1;
	}
	if (rows.nrows == 0) {
		return http_fail(req, 404, "not_found", "no such call");
	}
	http_add_header(resp, "Cache-Control", "private, no-store");
	return http_respond_json(resp, 200, calls_query_detail_json(&app->cfg, is_admin, &rows, 0));
}

int main(int argc, char **argv) {
	static const char *const params[] = {"id", NULL};
	static const struct app_function fn = {.name = "get-call",
					       .handler = handle,
					       .max_body = 1024,
					       .query_params = params};

	return app_main(argc, argv, &fn);
}
