/* calls_highlevel: a HighLevel Voice AI call log read into a record and upserted into calls
 * (one row per highlevel_call_id), next to calls_upsert_retell; cost comes from the same
 * billing trigger. */
#ifndef COMMON_CALLS_HIGHLEVEL_H
#define COMMON_CALLS_HIGHLEVEL_H

#include <stdint.h>

#include "common/calls.h"
#include "common/err.h"

struct arena;
struct db;
struct json_object;

struct highlevel_call {
	const char *call_id;	/* id, required */
	const char *agent_id;	/* agentId, required */
	const char *message_id; /* messageId: the Conversations message holding the audio */
	const char *contact_id;
	const char *from_number;
	const char *started_at; /* createdAt, canonical ISO 8601 (isotime_format) */
	int64_t start_ms;	/* createdAt in epoch milliseconds */
	int64_t duration_s;	/* already seconds (a fraction is rounded up); -1 absent */
	int trial;		/* trialCall: a test call from the builder, billed as web call */
	const char *transcript;
	const char *summary;
	const char *analysis; /* {"extractedData", "executedCallActions"} as JSON text, or NULL */
};

/* Reads a call log; strings are borrowed from log or arena-owned. A missing id, agentId or
 * createdAt, a createdAt that is not ISO 8601 or outside 2015..now+7 days, wrong types or a
 * negative duration: 400. */
int calls_highlevel_parse(struct json_object *log, struct arena *arena, struct highlevel_call *out,
			  struct err *err) MUSTCHECK;

/* Upserts the call for user_id (whose connection listed it) and agent_uuid (our agents.id, may be
 * NULL). One statement, safe under concurrent upserts; a value the log lacks never erases a
 * stored one. */
int calls_upsert_highlevel(struct db *db, struct arena *arena, const struct highlevel_call *rec,
			   const char *user_id, const char *agent_uuid, struct calls_result *out,
			   struct err *err) MUSTCHECK;

#endif
