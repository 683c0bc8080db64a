// list-calls.c: GET /functions/v1/list-calls: one page of the calls the caller may see, newest
// first, as rows for the dashboard's calls table. Parameters, scope and cursor:
// common/calls_query.h. Clients see the provider's label only, never a provider-specific field.
#include <json-c/json_object.h>

#include "common/app.h"
#include "common/calls_query.h"
#include "common/db.h"
#include "common/jsonh.h"

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct calls_query q;
	struct calls_sql sql;
	struct db_rows rows;
	struct json_object *obj;
	struct json_object *calls;
	const char *next = NULL;
	int shown;

	if (!http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use GET");
	}
	if (calls_query_from_request(app, req, CALLS_QUERY_LIST, &q) < 0) {
		return -1;
	}
	calls_query_list_sql(&q, req->arena, &sql);
	if (db_exec(app->db, req->arena, NULL, sql.text, sql.nparams, sql.params, &rows,
		    &req->err) < 0) {
		return -1;
	}
	// the query reads one row more than the page: its presence is what `next` means
	shown = rows.nrows > q.limit ? q.limit : rows.nrows;
	if (rows.nrows > q.limit) {
		next = calls_query_cursor(req->arena, db_get(&rows, shown - 1, "started_at"),
					  db_get(&rows, shown - 1, "id"));
	}
	obj = json_object_new_object();
	calls = json_object_new_array_ext(shown);
	for (int r = 0; r < shown; r++) {
		json_object_array_add(calls, calls_query_row_json(&app->cfg, q.is_admin, &rows, r));
	}
	json_object_object_add(obj, "calls", calls);
	jsonh_add_string(obj, "next", next);
	http_add_header(resp, "Cache-Control", "private, no-store");
	return http_respond_json(resp, 200, obj);
}

static int cli(struct app *app, int argc, char **argv) {
	return calls_query_print_sql(&app->cfg, argc, argv, CALLS_QUERY_LIST);
}

int main(int argc, char **argv) {
	static const struct app_function fn = {.name = "list-calls",
					       .handler = handle,
					       .max_body = 1024,
					       .query_params = calls_query_list_params,
					       .cli = cli};

	return app_main(argc, argv, &fn);
}
