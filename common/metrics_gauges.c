/* metrics_gauges.c: backlog and sync freshness from the database. */
#include "common/metrics_gauges.h"

#include "common/app.h"
#include "common/db.h"

// One unnamed statement (PgBouncer transaction mode): the backlog, then a row per provider with
// a successful run. Providers that never synced have no row, so alert on absent() too.
static const char gauges_sql[] =
	"SELECT NULL AS provider, count(*)::text AS value, NULL AS age"
	" FROM webhook_inbox WHERE status = 'unassigned'"
	" UNION ALL"
	" SELECT provider, extract(epoch FROM max(finished_at))::bigint::text,"
	" extract(epoch FROM now() - max(finished_at))::bigint::text"
	" FROM sync_runs WHERE status = 'ok' AND finished_at IS NOT NULL GROUP BY provider";

// One family per call, its samples together as the text format requires.
static int render_sync_family(struct buf *out, const char *function, const struct db_rows *rows,
			      const char *name, const char *column) {
	int rc = buf_printf(out, "# TYPE %s gauge\n", name);

	for (int r = 0; rc == 0 && r < rows->nrows; r++) {
		const char *provider = db_get(rows, r, "provider");

		if (provider != NULL) {
			rc = buf_printf(out, "%s{function=\"%s\",provider=\"%s\"} %s\n", name,
					function, provider, db_get(rows, r, column));
		}
	}
	return rc;
}

void metrics_gauges_render(struct buf *out, const char *function, struct arena *arena, void *ctx) {
	struct db_rows rows = {0};
	struct err err = {0};
	const struct app *app = ctx;
	int up = db_exec(app->db, arena, NULL, gauges_sql, 0, NULL, &rows, &err) == 0;

	if (buf_printf(out,
		       "# TYPE callbridge_database_up gauge\n"
		       "callbridge_database_up{function=\"%s\"} %d\n",
		       function, up) < 0 ||
	    !up) {
		return;
	}
	for (int r = 0; r < rows.nrows; r++) {
		if (db_get(&rows, r, "provider") == NULL &&
		    buf_printf(out,
			       "# TYPE callbridge_webhook_inbox_unassigned gauge\n"
			       "callbridge_webhook_inbox_unassigned{function=\"%s\"} %s\n",
			       function, db_get(&rows, r, "value")) < 0) {
			return;
		}
	}
	if (render_sync_family(out, function, &rows,
			       "callbridge_sync_last_success_timestamp_seconds", "value") == 0) {
		(void)!render_sync_family(out, function, &rows,
					  "callbridge_sync_last_success_age_seconds", "age");
	}
}
