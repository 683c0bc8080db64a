/* db.c: libpq wrapper. */
#include "common/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/arena.h"
#include "common/crypto.h"
#include "common/log.h"

// The statements db_exec_prepared has prepared on this connection (a few hot ones per process).
#define PREPARED_MAX  16
#define PREPARED_NAME 20 /* "cb_" + 16 hex digits + NUL */

struct db {
	char *conninfo;
	PGconn *conn;
	int in_tx;
	int nprepared;
	char prepared[PREPARED_MAX][PREPARED_NAME];
};

struct db *db_create(const char *conninfo) {
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL || (db->conninfo = strdup(conninfo)) == NULL) {
		abort();
	}
	return db;
}

static void disconnect(struct db *db) {
	PQfinish(db->conn);
	db->conn = NULL;
	db->in_tx = 0;
	db->nprepared = 0;
}

void db_destroy(struct db *db) {
	if (db == NULL) {
		return;
	}
	disconnect(db);
	free(db->conninfo);
	free(db);
}

static int ensure_connected(struct db *db, struct err *err) {
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
		return 0;
	}
	disconnect(db);
	db->conn = PQconnectdb(db->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		// the libpq message names host and socket, never the password
		log_warn("database connection failed: %s", PQerrorMessage(db->conn));
		disconnect(db);
		return err_set(err, 503, "db_unavailable", "database unavailable, retry later");
	}
	return 0;
}

static int status_for_sqlstate(const char *state) {
	if (state == NULL) {
		return 503;
	}
	if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0) {
		return 409;
	}
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0) {
		return 400;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0) {
		return 503;
	}
	return 500;
}

static void copy_rows(PGresult *res, struct arena *arena, struct db_rows *rows) {
	const char *affected = PQcmdTuples(res);

	rows->nrows = PQntuples(res);
	rows->ncols = PQnfields(res);
	rows->affected = affected[0] != '\0' ? strtol(affected, NULL, 10) : 0;
	rows->names = arena_alloc(arena, sizeof(char *) * (size_t)(rows->ncols + 1));
	rows->values = arena_alloc(arena, sizeof(char *) * (size_t)(rows->nrows * rows->ncols + 1));
	for (int c = 0; c < rows->ncols; c++) {
		rows->names[c] = arena_strdup(arena, PQfname(res, c));
	}
	for (int r = 0; r < rows->nrows; r++) {
		for (int c = 0; c < rows->ncols; c++) {
			rows->values[r * rows->ncols + c] =
				PQgetisnull(res, r, c)
					? NULL
					: arena_strndup(arena, PQgetvalue(res, r, c),
							(size_t)PQgetlength(res, r, c));
		}
	}
}

// The unnamed statement (PQexecParams: parse, bind and execute in one round trip): a named
// prepared statement lives on one server connection, and behind a pooler in transaction mode
// (PgBouncer, Supavisor) the next transaction may get another one where it does not exist.
static PGresult *run_unnamed(struct db *db, const char *sql, int nparams,
			     const char *const *params) {
	return PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

static int sqlstate_is(const PGresult *res, const char *state) {
	const char *got = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return got != NULL && strcmp(got, state) == 0;
}

// A statement's name is a hash of its text: the same name is always the same statement, also
// when another client prepared it on a server connection a pooler hands us.
static void statement_name(const char *sql, char name[PREPARED_NAME]) {
	uint8_t digest[CRYPTO_SHA256_LEN];

	crypto_sha256(sql, strlen(sql), digest);
	memcpy(name, "cb_", 3);
	for (int i = 0; i < 8; i++) {
		snprintf(name + 3 + 2 * i, 3, "%02x", digest[i]);
	}
}

static int is_prepared(const struct db *db, const char *name) {
	for (int i = 0; i < db->nprepared; i++) {
		if (strcmp(db->prepared[i], name) == 0) {
			return 1;
		}
	}
	return 0;
}

// Runs sql as a named prepared statement: parsed and planned once per connection, not on
// every call (for the webhook's statement that was most of its cost outside execution). Behind
// a transaction-mode pooler the server connection may change between statements: a name it
// does not know (26000) is prepared again, one it already holds (42P05) is the same text; a
// second miss, or a refused prepare, runs the unnamed statement. Inside a transaction a miss
// would abort it: unnamed there.
static PGresult *run_prepared(struct db *db, const char *sql, int nparams,
			      const char *const *params) {
	char name[PREPARED_NAME];
	PGresult *res;

	if (db->in_tx) {
		return run_unnamed(db, sql, nparams, params);
	}
	statement_name(sql, name);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!is_prepared(db, name) && db->nprepared == PREPARED_MAX) {
			return run_unnamed(db, sql, nparams, params);
		}
		if (!is_prepared(db, name)) {
			int prepared;

			res = PQprepare(db->conn, name, sql, nparams, NULL);
			prepared = PQresultStatus(res) == PGRES_COMMAND_OK ||
				   sqlstate_is(res, "42P05");
			PQclear(res);
			if (!prepared) {
				// a pooler refusing named statements, or a real error the unnamed
				// run reports as the statement's own
				return run_unnamed(db, sql, nparams, params);
			}
			memcpy(db->prepared[db->nprepared++], name, PREPARED_NAME);
		}
		res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
		if (!sqlstate_is(res, "26000")) {
			return res;
		}
		PQclear(res);
		db->nprepared = 0; // this server connection is not the one we prepared on
	}
	return run_unnamed(db, sql, nparams, params);
}

static PGresult *run(struct db *db, const char *sql, int nparams, const char *const *params,
		     int prepare) {
	return prepare ? run_prepared(db, sql, nparams, params)
		       : run_unnamed(db, sql, nparams, params);
}

static int exec(struct db *db, struct arena *arena, const char *name, const char *sql, int nparams,
		const char *const *params, int prepare, struct db_rows *rows, struct err *err) {
	PGresult *res = NULL;
	ExecStatusType st;
	int rc = -1;

	if (ensure_connected(db, err) < 0) {
		return -1;
	}
	res = run(db, sql, nparams, params, prepare);
	if (PQstatus(db->conn) != CONNECTION_OK && !db->in_tx) {
		// the server went away between statements: one fresh connection, one more try
		PQclear(res);
		res = NULL;
		disconnect(db);
		if (ensure_connected(db, err) < 0) {
			goto done;
		}
		res = run(db, sql, nparams, params, prepare);
	}
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		int status = PQstatus(db->conn) != CONNECTION_OK ? 503 : status_for_sqlstate(state);

		log_warn("query %s failed sqlstate=%s: %s", name != NULL ? name : "-",
			 state != NULL ? state : "-", PQresultErrorMessage(res));
		if (status == 503) {
			err_set(err, 503, "db_unavailable", "database unavailable, retry later");
		} else if (status == 400) {
			err_set(err, 400, "bad_value", "a value was rejected by the database");
		} else if (status == 409) {
			err_set(err, 409, "conflict", "the record already exists");
		} else {
			err_set(err, 500, "db_error", "database error");
		}
		if (PQstatus(db->conn) != CONNECTION_OK) {
			disconnect(db);
		}
		goto done;
	}
	if (rows != NULL) {
		copy_rows(res, arena, rows);
	}
	rc = 0;
done:
	PQclear(res);
	return rc;
}

int db_exec(struct db *db, struct arena *arena, const char *name, const char *sql, int nparams,
	    const char *const *params, struct db_rows *rows, struct err *err) {
	return exec(db, arena, name, sql, nparams, params, 0, rows, err);
}

int db_exec_prepared(struct db *db, struct arena *arena, const char *name, const char *sql,
		     int nparams, const char *const *params, struct db_rows *rows,
		     struct err *err) {
	return exec(db, arena, name, sql, nparams, params, 1, rows, err);
}

int db_begin(struct db *db, struct err *err) {
	if (db_exec(db, NULL, NULL, "BEGIN", 0, NULL, NULL, err) < 0) {
		return -1;
	}
	db->in_tx = 1;
	return 0;
}

int db_commit(struct db *db, struct err *err) {
	int rc = db_exec(db, NULL, NULL, "COMMIT", 0, NULL, NULL, err);

	db->in_tx = 0;
	return rc;
}

void db_rollback(struct db *db) {
	struct err ignored = {0};

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		(void)!db_exec(db, NULL, NULL, "ROLLBACK", 0, NULL, NULL, &ignored);
	}
	db->in_tx = 0;
}

const char *db_get(const struct db_rows *rows, int row, const char *column) {
	for (int c = 0; c < rows->ncols; c++) {
		if (strcmp(rows->names[c], column) == 0) {
			return rows->values[row * rows->ncols + c];
		}
	}
	return NULL;
}

int db_ping(struct db *db, char *version, size_t size, struct err *err) {
	const char *v;

	if (db_exec(db, NULL, NULL, "SELECT 1", 0, NULL, NULL, err) < 0) {
		return -1;
	}
	v = PQparameterStatus(db->conn, "server_version");
	snprintf(version, size, "%s", v != NULL ? v : "unknown");
	return 0;
}
