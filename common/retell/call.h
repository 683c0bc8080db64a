/* retell/call: a Retell call object (webhook or API) read into a normalised record: seconds
 * from duration_ms, analysis fields pulled out, JSON sub-objects kept as text for jsonb. */
#ifndef COMMON_RETELL_CALL_H
#define COMMON_RETELL_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct arena;
struct json_object;

/* How complete a record is; a lower rank never overwrites a higher one (see calls_upsert). */
enum call_rank { CALL_RANK_STARTED = 1, CALL_RANK_ENDED = 2, CALL_RANK_ANALYZED = 3 };

struct retell_call {
	const char *call_id;   /* provider call id, required */
	const char *agent_id;  /* provider agent id, required */
	const char *call_type; /* phone_call | web_call | NULL (unknown kinds) */
	const char *direction; /* inbound | outbound | NULL */
	const char *call_status;
	const char *from_number;
	const char *to_number;
	int64_t start_ms; /* -1 when absent */
	int64_t end_ms;
	int64_t duration_ms;
	const char *transcript;
	const char *transcript_object; /* JSON text or NULL */
	const char *recording_url;
	const char *disconnection_reason;
	const char *latency;  /* JSON text or NULL */
	const char *analysis; /* call_analysis as JSON text or NULL */
	const char *summary;
	const char *sentiment;
	int successful; /* -1 absent, 0, 1 */
	int in_voicemail;
	int64_t agent_version; /* -1 when absent */
	int rank;
};

/* Reads call into rec; strings are borrowed from call or arena-owned (valid while both live).
 * Wrong types, missing ids, negative durations or timestamps outside 2015..now+7 days: 400. */
int retell_call_parse(struct json_object *call, struct arena *arena, struct retell_call *rec,
		      struct err *err) MUSTCHECK;

/* Parses body, a call (outer NULL) or a document whose member outer is the call, into the
 * returned tree (the caller puts it; NULL and err set on malformed JSON). When the scan
 * (jsonspan.h) has checked the whole body and the call's transcript_object is an array, json-c
 * reads null in its place and *word_timings is its text as sent (arena-owned), for the caller
 * to put in retell_call_parse's rec.transcript_object; else *word_timings is NULL. */
struct json_object *retell_call_document_parse(const char *body, size_t len, const char *outer,
					       struct arena *arena, const char **word_timings,
					       struct err *err);

/* ceil(ms / 1000), the billing rule's seconds. */
int64_t retell_call_seconds(int64_t duration_ms);

#endif
