// health.c: GET /functions/v1/health: proves nginx -> FastCGI -> PostgreSQL end to end, and is
// the public readiness answer: 200 when the database answers and its schema is at the version
// this build expects, 503 otherwise. Versions (ours, PostgreSQL's, the schema's) only for the
// service role: an anonymous caller learns nothing that would help pick an exploit.
#include <json-c/json_object.h>

#include "common/app.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/jsonh.h"
#include "common/readiness.h"

// 1 for a valid service-role token; anything else is an anonymous caller, not an error.
static int is_service(struct app *app, struct http_request *req) {
	struct auth_caller caller;

	if (http_bearer(req) == NULL) {
		return 0;
	}
	if (auth_caller(app, req, &caller) < 0) {
		err_clear(&req->err);
		return 0;
	}
	return caller.kind == AUTH_SERVICE;
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct json_object *obj;
	struct readiness ready;
	char version[64];

	if (!http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use GET");
	}
	if (db_ping(app->db, version, sizeof(version), &req->err) < 0 ||
	    readiness_check(app->db, req->arena, &ready, &req->err) < 0) {
		return -1;
	}
	obj = json_object_new_object();
	jsonh_add_string(obj, "status", "ok");
	jsonh_add_string(obj, "database", "reachable");
	jsonh_add_string(obj, "schema", "ready");
	if (is_service(app, req)) {
		jsonh_add_string(obj, "postgres_version", version);
		jsonh_add_string(obj, "version", CALLBRIDGE_VERSION);
		jsonh_add_string(obj, "schema_version", ready.schema);
		jsonh_add_string(obj, "schema_expected", ready.expected);
	}
	return http_respond_json(resp, 200, obj);
}

int main(int argc, char **argv) {
	static const struct app_function fn = {.name = "health",
					       .handler = handle,
					       .max_body = 1024};

	return app_main(argc, argv, &fn);
}
