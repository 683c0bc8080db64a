/* readiness.c: the database and schema check behind every readiness answer. */
#include "common/readiness.h"

#include <string.h>

#include "common/db.h"
#include "schema_version.h"

int readiness_check(struct db *db, struct arena *arena, struct readiness *out, struct err *err) {
	struct db_rows rows = {0};

	out->expected = CALLBRIDGE_SCHEMA_VERSION;
	out->schema = NULL;
	if (db_exec(db, arena, NULL, "SELECT max(version) AS version FROM public.schema_migrations",
		    0, NULL, &rows, err) < 0) {
		if (err->status == 503) {
			return -1;
		}
		// a database without schema_migrations has never been migrated: not ready either,
		// and that (not the SQL error) is what the answer must say
		err_clear(err);
		return err_set(err, 503, "schema_behind", "no migrations applied");
	}
	out->schema = rows.nrows == 1 ? db_get(&rows, 0, "version") : NULL;
	// versions are four digits, so text order is numeric order
	if (out->schema == NULL || strcmp(out->schema, out->expected) < 0) {
		return err_set(err, 503, "schema_behind", "schema at %s, this build needs %s",
			       out->schema != NULL ? out->schema : "none", out->expected);
	}
	return 0;
}
