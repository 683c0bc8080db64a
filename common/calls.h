/* calls: the one idempotent, monotonic upsert of a provider call into calls, shared by the
 * webhook and the syncs. */
#ifndef COMMON_CALLS_H
#define COMMON_CALLS_H

#include "common/err.h"

struct arena;
struct call_record;
struct db;

struct calls_result {
	int inserted; /* 1 when the row is new */
	int unbilled; /* 1 when the call has a duration but its user no billing account */
};

/* Upserts a Retell call for user_id (the owner whose key fetched or verified it) and agent_uuid
 * (our agents.id, may be NULL). One statement; safe under concurrent upserts of the same call.
 * A record of lower rank than the stored one only fills empty fields; null never erases;
 * call_analysis keys are merged. Cost comes from the billing trigger. */
int calls_upsert_retell(struct db *db, struct arena *arena, const struct call_record *rec,
			const char *user_id, const char *agent_uuid, struct calls_result *out,
			struct err *err) MUSTCHECK;

/* The statement and its parameters, for callers that add it to a larger one (the webhook
 * persists inbox row and upsert together). params gets CALLS_UPSERT_NPARAMS entries. */
#define CALLS_UPSERT_NPARAMS 24
extern const char calls_upsert_retell_sql[];
void calls_upsert_params(struct arena *arena, const struct call_record *rec, const char *user_id,
			 const char *agent_uuid, const char **params);

#endif
