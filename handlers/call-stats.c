// call-stats.c: GET /functions/v1/call-stats: the dashboard's totals over the calls the caller
// may see (same scope and filters as list-calls, common/calls_query.h), overall, by platform
// and by UTC day, all computed by PostgreSQL in one GROUPING SETS statement.
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/calls_query.h"
#include "common/db.h"
#include "common/jsonh.h"
#include "common/whitelabel.h"

static void add_count(struct json_object *obj, const char *key, const char *text) {
	jsonh_add_int64(obj, key, text != NULL ? strtoll(text, NULL, 10) : 0);
}

// A JSON number written exactly as PostgreSQL rounded it (json-c keeps the text), or null.
static void add_number_text(struct json_object *obj, const char *key, const char *text) {
	struct json_object *num = NULL;

	if (text != NULL) {
		num = json_object_new_double_s(strtod(text, NULL), text);
	}
	json_object_object_add(obj, key, num);
}

static struct json_object *figures_json(const struct db_rows *rows, int r) {
	static const char *const moods[] = {"positive", "negative", "neutral", "unknown"};
	struct json_object *fig = json_object_new_object();
	struct json_object *sentiment = json_object_new_object();

	add_count(fig, "calls", db_get(rows, r, "calls"));
	// minutes and cost are decimal strings: money and sums never go through a double
	jsonh_add_string(fig, "minutes", db_get(rows, r, "minutes"));
	jsonh_add_string(fig, "cost", db_get(rows, r, "cost"));
	add_number_text(fig, "average_duration_seconds",
			db_get(rows, r, "average_duration_seconds"));
	add_number_text(fig, "success_rate", db_get(rows, r, "success_rate"));
	for (size_t i = 0; i < sizeof(moods) / sizeof(moods[0]); i++) {
		add_count(sentiment, moods[i], db_get(rows, r, moods[i]));
	}
	json_object_object_add(fig, "sentiment", sentiment);
	return fig;
}

static struct json_object *stats_json(const struct app *app, const struct calls_query *q,
				      const struct db_rows *rows) {
	struct json_object *obj = json_object_new_object();
	struct json_object *by_platform = json_object_new_object();
	struct json_object *by_day = json_object_new_array();

	for (int r = 0; r < rows->nrows; r++) {
		const char *grouping = db_get(rows, r, "grouping");
		struct json_object *fig = figures_json(rows, r);

		if (strcmp(grouping, "total") == 0) {
			json_object_object_add(obj, "totals", fig);
		} else if (strcmp(grouping, "platform") == 0) {
			const char *name = whitelabel_provider_name(&app->cfg, q->is_admin,
								    db_get(rows, r, "platform"));
			json_object_object_add(by_platform, name, fig);
		} else {
			jsonh_add_string(fig, "date", db_get(rows, r, "day"));
			json_object_array_add(by_day, fig);
		}
	}
	json_object_object_add(obj, "by_platform", by_platform);
	json_object_object_add(obj, "by_day", by_day);
	return obj;
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct calls_query q;
	struct calls_sql sql;
	struct db_rows rows;

	if (!http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use GET");
	}
	if (calls_query_from_request(app, req, CALLS_QUERY_STATS, &q) < 0) {
		return -1;
	}
	calls_query_stats_sql(&q, req->arena, &sql);
	if (db_exec(app->db, req->arena, NULL, sql.text, sql.nparams, sql.params, &rows,
		    &req->err) < 0) {
		return -1;
	}
	http_add_header(resp, "Cache-Control", "private, no-store");
	return http_respond_json(resp, 200, stats_json(app, &q, &rows));
}

static int cli(struct app *app, int argc, char **argv) {
	return calls_query_print_sql(&app->cfg, argc, argv, CALLS_QUERY_STATS);
}

int main(int argc, char **argv) {
	static const struct app_function fn = {.name = "call-stats",
					       .handler = handle,
					       .max_body = 1024,
					       .query_params = calls_query_stats_params,
					       .cli = cli};

	return app_main(argc, argv, &fn);
}
