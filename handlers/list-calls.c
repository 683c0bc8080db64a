// list-calls.c: GET /functions/v1/list-calls: one page of the calls the caller may see, newest
// first, as rows for the dashboard's calls table. Parameters, scope and cursor:
// common/calls_query.h. Clients see the provider's label only, never a provider-specific field.
#include <stdlib.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/calls_query.h"
#include "common/db.h"
#include "common/jsonh.h"
#include "common/whitelabel.h"

static void add_int_or_null(struct json_object *obj, const char *key, const char *text) {
	if (text == NULL) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	jsonh_add_int64(obj, key, strtoll(text, NULL, 10));
}

static void add_bool_or_null(struct json_object *obj, const char *key, const char *text) {
	if (text == NULL) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	jsonh_add_bool(obj, key, text[0] == 't');
}

static struct json_object *call_json(const struct app *app, const struct calls_query *q,
				     const struct db_rows *rows, int r) {
	// cost stays numeric text: money never goes through a double
	static const char *const text_columns[] = {
		"started_at",  "ended_at",  "cost",    "direction",   "call_type",
		"call_status", "sentiment", "summary", "from_number", "to_number",
	};
	struct json_object *call = json_object_new_object();
	const char *agent_id = db_get(rows, r, "agent_id");
	const char *platform = db_get(rows, r, "source_platform");

	jsonh_add_string(call, "id", db_get(rows, r, "id"));
	for (size_t i = 0; i < sizeof(text_columns) / sizeof(text_columns[0]); i++) {
		jsonh_add_string(call, text_columns[i], db_get(rows, r, text_columns[i]));
	}
	add_int_or_null(call, "duration_seconds", db_get(rows, r, "duration_seconds"));
	add_bool_or_null(call, "call_successful", db_get(rows, r, "call_successful"));
	if (agent_id != NULL) {
		struct json_object *agent = json_object_new_object();
		jsonh_add_string(agent, "id", agent_id);
		jsonh_add_string(agent, "name", db_get(rows, r, "agent_name"));
		json_object_object_add(call, "agent", agent);
	} else {
		json_object_object_add(call, "agent", NULL);
	}
	jsonh_add_string(call, "provider",
			 whitelabel_provider_name(&app->cfg, q->is_admin, platform));
	if (q->is_admin) {
		jsonh_add_string(call, "source_platform", platform);
	}
	return call;
}

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
		json_object_array_add(calls, call_json(app, &q, &rows, r));
	}
	json_object_object_add(obj, "calls", calls);
	jsonh_add_string(obj, "next", next);
	http_add_header(resp, "Cache-Control", "private, no-store");
	return http_respond_json(resp, 200, obj);
}

static int cli(struct app *app, int argc, char **argv) {
	return calls_query_print_sql(argc, argv, CALLS_QUERY_LIST);
}

int main(int argc, char **argv) {
	static const struct app_function fn = {.name = "list-calls",
					       .handler = handle,
					       .max_body = 1024,
					       .cli = cli};

	return app_main(argc, argv, &fn);
}
