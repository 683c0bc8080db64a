// health.c: GET /functions/v1/health: proves nginx -> FastCGI -> PostgreSQL end to end.
#include <json-c/json_object.h>

#include "common/app.h"
#include "common/db.h"
#include "common/jsonh.h"

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct json_object *obj;
	char version[64];

	if (!http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use GET");
	}
	if (db_ping(app->db, version, sizeof(version), &req->err) < 0) {
		return -1;
	}
	obj = json_object_new_object();
	jsonh_add_string(obj, "status", "ok");
	jsonh_add_string(obj, "database", "reachable");
	jsonh_add_string(obj, "postgres_version", version);
	jsonh_add_string(obj, "version", CALLBRIDGE_VERSION);
	return http_respond_json(resp, 200, obj);
}

int main(int argc, char **argv) {
	static const struct app_function fn = {.name = "health",
					       .handler = handle,
					       .max_body = 1024};

	return app_main(argc, argv, &fn);
}
