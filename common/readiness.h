/* readiness: may this process take traffic? The database answers and its schema is at least the
 * version this build expects (db/schema-version, known at build time). A newer schema is ready:
 * migrations are expand/contract (docs/operations.md), so an old executable runs on the next
 * schema while an upgrade is under way. */
#ifndef COMMON_READINESS_H
#define COMMON_READINESS_H

#include "common/err.h"

struct arena;
struct db;

struct readiness {
	const char *expected; /* CALLBRIDGE_SCHEMA_VERSION */
	const char *schema;   /* the newest applied migration (arena-owned), NULL if unknown */
};

/* 0 when ready; -1 with err 503 "db_unavailable" (no database) or 503 "schema_behind"
 * (migrations missing). out is filled as far as it got. */
int readiness_check(struct db *db, struct arena *arena, struct readiness *out,
		    struct err *err) MUSTCHECK;

#endif
