/* db: one libpq connection per process, connected lazily and re-established after a loss.
 * Parameterised statements only; rows are copied into the request arena so no PGresult
 * leaves this module. */
#ifndef COMMON_DB_H
#define COMMON_DB_H

#include <stddef.h>

#include "common/err.h"

struct arena;
struct db;

/* Rows copied out of a result: values[r * ncols + c] is NULL for SQL NULL. Arena-owned. */
struct db_rows {
	int nrows;
	int ncols;
	const char **names;
	const char **values;
	long affected; /* rows changed by INSERT/UPDATE/DELETE */
};

/* conninfo is copied. Destroy closes the connection; NULL is accepted. */
struct db *db_create(const char *conninfo);
void db_destroy(struct db *db);

/* Runs one statement with text parameters (NULL = SQL NULL). rows may be NULL when the
 * caller needs none. Errors: a lost or unreachable server is 503 "db_unavailable" (one
 * reconnect is tried outside a transaction); SQLSTATE classes map to statuses (23505 -> 409,
 * 22xxx -> 400, 40001/40P01 -> 503, others 500). name (may be NULL) labels the statement in
 * logs only: nothing is prepared under it, so a pooler in transaction mode is safe. */
int db_exec(struct db *db, struct arena *arena, const char *name, const char *sql, int nparams,
	    const char *const *params, struct db_rows *rows, struct err *err) MUSTCHECK;

/* As db_exec, for a hot statement run many times per connection: prepared (parsed and planned)
 * once per server connection under a name derived from its text, then only bound and run.
 * Safe behind a transaction-mode pooler (a server connection without it prepares it again);
 * inside a transaction it runs unnamed. Meant for the webhook's per-delivery statements,
 * whose plan never depends on the values (a generic plan is as good as a custom one), not for
 * the dashboard's reads. */
int db_exec_prepared(struct db *db, struct arena *arena, const char *name, const char *sql,
		     int nparams, const char *const *params, struct db_rows *rows,
		     struct err *err) MUSTCHECK;

/* BEGIN / COMMIT; db_rollback is safe to call in any state (it never fails the caller). */
int db_begin(struct db *db, struct err *err) MUSTCHECK;
int db_commit(struct db *db, struct err *err) MUSTCHECK;
void db_rollback(struct db *db);

/* Cell of the named column (NULL if SQL NULL or no such column). */
const char *db_get(const struct db_rows *rows, int row, const char *column);

/* Checks the server answers (SELECT 1) and fills version with server_version. */
int db_ping(struct db *db, char *version, size_t size, struct err *err) MUSTCHECK;

#endif
