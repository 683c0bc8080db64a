/* highlevel/call: a HighLevel Voice AI call log read into a normalised record (the counterpart
 * of retell/call); calls_upsert_highlevel (calls.h) stores it. */
#ifndef COMMON_HIGHLEVEL_CALL_H
#define COMMON_HIGHLEVEL_CALL_H

#include <stdint.h>

#include "common/err.h"

struct arena;
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
int highlevel_call_parse(struct json_object *log, struct arena *arena, struct highlevel_call *out,
			 struct err *err) MUSTCHECK;

#endif
