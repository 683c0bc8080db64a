/* calls: every write to the calls table (the idempotent upsert of each provider's call, shared
 * by the webhook and the syncs; the renewed recording URL) and the reads other modules need
 * (the recording's call, the Retell calls already stored in full). */
#ifndef COMMON_CALLS_H
#define COMMON_CALLS_H

#include "common/err.h"

struct arena;
struct db;
struct highlevel_call;
struct retell_call;

struct calls_result {
	int inserted; /* 1 when the row is new */
	int unbilled; /* 1 when the call has a duration but its user no billing account */
};

/* Upserts a Retell call for user_id (the owner whose key fetched or verified it) and agent_uuid
 * (our agents.id, may be NULL). One statement; safe under concurrent upserts of the same call.
 * A record of lower rank than the stored one only fills empty fields; null never erases;
 * call_analysis keys are merged. Cost comes from the billing trigger. */
int calls_upsert_retell(struct db *db, struct arena *arena, const struct retell_call *rec,
			const char *user_id, const char *agent_uuid, struct calls_result *out,
			struct err *err) MUSTCHECK;

/* Upserts a HighLevel call log for user_id (whose connection listed it) and agent_uuid (our
 * agents.id, may be NULL), one row per highlevel_call_id. One statement, safe under concurrent
 * upserts; a value the log lacks never erases a stored one. Cost comes from the same trigger. */
int calls_upsert_highlevel(struct db *db, struct arena *arena, const struct highlevel_call *rec,
			   const char *user_id, const char *agent_uuid, struct calls_result *out,
			   struct err *err) MUSTCHECK;

/* The statement and its parameters, for callers that add it to a larger one (the webhook
 * persists inbox row and upsert together). params gets CALLS_UPSERT_NPARAMS entries. */
#define CALLS_UPSERT_NPARAMS 24
extern const char calls_upsert_retell_sql[];
void calls_upsert_params(struct arena *arena, const struct retell_call *rec, const char *user_id,
			 const char *agent_uuid, const char **params);

/* A call as the recording function needs it. Strings are arena-owned; NULL for SQL NULL. */
struct calls_recording {
	const char *id;
	const char *platform; /* source_platform */
	const char *user_id;  /* the owner the call was stored for, may be NULL */
	const char *agent_id; /* our agents.id, may be NULL */
	const char *retell_call_id;
	const char *message_id; /* highlevel_message_id */
	const char *recording_url;
};

/* Reads call_id (a uuid) when viewer_id may see it (an agent of the call is assigned to them;
 * NULL: any viewer). *found is 0 when there is no such call or the viewer may not see it. */
int calls_find_recording(struct db *db, struct arena *arena, const char *call_id,
			 const char *viewer_id, struct calls_recording *out, int *found,
			 struct err *err) MUSTCHECK;

/* Stores the renewed recording URL of calls.id call_id. */
int calls_set_recording_url(struct db *db, struct arena *arena, const char *call_id,
			    const char *url, struct err *err) MUSTCHECK;

/* Of the Retell call ids in ids_json (a JSON array of strings), those stored with transcript
 * and recording, as the text of a JSON object {"<id>": true, ...} ("{}" when none);
 * arena-owned. */
int calls_retell_complete(struct db *db, struct arena *arena, const char *ids_json,
			  const char **complete_json, struct err *err) MUSTCHECK;

#endif
