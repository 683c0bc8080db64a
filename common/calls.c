/* calls.c: the writes to calls and the reads other modules share. */
#include "common/calls.h"

#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "common/db.h"
#include "common/highlevel/call.h"
#include "common/retell/call.h"

// For each column: a record at least as complete as the stored one wins where it has a value;
// a less complete one (a late call_started, a repeated call_ended) only fills gaps.
// clang-format off
#define PICK(col)                                                                          \
	#col " = CASE WHEN EXCLUDED.data_rank >= c.data_rank THEN COALESCE(EXCLUDED." #col \
	     ", c." #col ") ELSE COALESCE(c." #col ", EXCLUDED." #col ") END"
// clang-format on

// A call's owner never changes through an upsert: a record for a call someone else owns (a
// delivery signed with tenant A's own key naming tenant B's call id, or A's sync listing it)
// updates nothing and returns no row. A row without an owner is claimed.
// clang-format off
#define OWNER	   "user_id = COALESCE(c.user_id, EXCLUDED.user_id)"
#define OWNER_ONLY " WHERE c.user_id IS NULL OR c.user_id = EXCLUDED.user_id"
// clang-format on

// clang-format off
const char calls_upsert_retell_sql[] =
	"INSERT INTO calls AS c (retell_call_id, source_platform, user_id, agent_id, provider_agent_id,"
	" call_type, direction, call_status, started_at, ended_at, duration_seconds, from_number,"
	" to_number, transcript, transcript_object, recording_url, disconnection_reason, latency,"
	" call_analysis, summary, sentiment, call_successful, in_voicemail, agent_version, data_rank)"
	" VALUES ($1, 'retell', $2::uuid, $3::uuid, $4, $5, $6, $7,"
	" timestamptz 'epoch' + $8::bigint * interval '1 millisecond',"
	" timestamptz 'epoch' + $9::bigint * interval '1 millisecond',"
	" $10::int, $11, $12, $13, $14, $15, $16, $17::jsonb, $18::jsonb, $19, $20,"
	" $21::boolean, $22::boolean, $23::int, $24::smallint)"
	" ON CONFLICT (retell_call_id) DO UPDATE SET "
	OWNER ", " PICK(agent_id) ", " PICK(provider_agent_id) ", " PICK(call_type) ", "
	PICK(direction) ", " PICK(call_status) ", " PICK(started_at) ", " PICK(ended_at) ", "
	PICK(duration_seconds) ", " PICK(from_number) ", " PICK(to_number) ", " PICK(transcript) ", "
	PICK(transcript_object) ", " PICK(recording_url) ", " PICK(disconnection_reason) ", "
	PICK(latency) ", " PICK(summary) ", " PICK(sentiment) ", " PICK(call_successful) ", "
	PICK(in_voicemail) ", " PICK(agent_version) ", "
	"call_analysis = CASE WHEN EXCLUDED.call_analysis IS NULL THEN c.call_analysis"
	" WHEN c.call_analysis IS NULL THEN EXCLUDED.call_analysis"
	" WHEN EXCLUDED.data_rank >= c.data_rank THEN c.call_analysis || EXCLUDED.call_analysis"
	" ELSE EXCLUDED.call_analysis || c.call_analysis END, "
	"data_rank = greatest(c.data_rank, EXCLUDED.data_rank)"
	OWNER_ONLY
	" RETURNING (xmax = 0) AS inserted,"
	" (cost IS NULL AND duration_seconds IS NOT NULL AND user_id IS NOT NULL) AS unbilled";
// clang-format on

// A value the log lacks (NULL) keeps what is stored.
// clang-format off
#define KEEP(col) #col " = COALESCE(EXCLUDED." #col ", c." #col ")"
// clang-format on

// clang-format off
static const char upsert_highlevel_sql[] =
	"INSERT INTO calls AS c (highlevel_call_id, source_platform, user_id, agent_id,"
	" provider_agent_id, highlevel_message_id, contact_id, from_number, call_type, direction,"
	" call_status, started_at, ended_at, duration_seconds, transcript, summary, call_analysis,"
	" data_rank)"
	" VALUES ($1, 'highlevel', $2::uuid, $3::uuid, $4, $5, $6, $7, $8, $9, 'ended',"
	" $10::timestamptz, $10::timestamptz + $11::int * interval '1 second', $11::int, $12, $13,"
	" $14::jsonb, 3)"
	" ON CONFLICT (highlevel_call_id) DO UPDATE SET "
	OWNER ", " KEEP(agent_id) ", " KEEP(provider_agent_id) ", "
	KEEP(highlevel_message_id) ", " KEEP(contact_id) ", " KEEP(from_number) ", "
	KEEP(call_type) ", direction = EXCLUDED.direction, call_status = 'ended', "
	KEEP(started_at) ", " KEEP(ended_at) ", " KEEP(duration_seconds) ", " KEEP(transcript) ", "
	KEEP(summary) ", " KEEP(call_analysis) ", source_platform = 'highlevel',"
	" data_rank = greatest(c.data_rank, 3)"
	OWNER_ONLY
	" RETURNING (xmax = 0) AS inserted,"
	" (cost IS NULL AND duration_seconds IS NOT NULL AND user_id IS NOT NULL) AS unbilled";
// clang-format on

static const char *int_or_null(struct arena *arena, int64_t v) {
	return v < 0 ? NULL : arena_printf(arena, "%lld", (long long)v);
}

static const char *bool_or_null(int v) {
	return v < 0 ? NULL : v ? "true" : "false";
}

// The RETURNING row of either upsert.
static void read_result(const struct db_rows *rows, struct calls_result *out) {
	out->inserted = rows->nrows == 1 && strcmp(db_get(rows, 0, "inserted"), "t") == 0;
	out->unbilled = rows->nrows == 1 && strcmp(db_get(rows, 0, "unbilled"), "t") == 0;
}

void calls_upsert_params(struct arena *arena, const struct retell_call *rec, const char *user_id,
			 const char *agent_uuid, const char **params) {
	const char *values[CALLS_UPSERT_NPARAMS] = {
		rec->call_id,
		user_id,
		agent_uuid,
		rec->agent_id,
		rec->call_type,
		rec->direction,
		rec->call_status,
		int_or_null(arena, rec->start_ms),
		int_or_null(arena, rec->end_ms),
		rec->duration_ms < 0 ? NULL
				     : int_or_null(arena, retell_call_seconds(rec->duration_ms)),
		rec->from_number,
		rec->to_number,
		rec->transcript,
		rec->transcript_object,
		rec->recording_url,
		rec->disconnection_reason,
		rec->latency,
		rec->analysis,
		rec->summary,
		rec->sentiment,
		bool_or_null(rec->successful),
		bool_or_null(rec->in_voicemail),
		int_or_null(arena, rec->agent_version),
		arena_printf(arena, "%d", rec->rank),
	};

	memcpy(params, values, sizeof(values));
}

int calls_upsert_retell(struct db *db, struct arena *arena, const struct retell_call *rec,
			const char *user_id, const char *agent_uuid, struct calls_result *out,
			struct err *err) {
	const char *params[CALLS_UPSERT_NPARAMS];
	struct db_rows rows;

	calls_upsert_params(arena, rec, user_id, agent_uuid, params);
	if (db_exec(db, arena, "calls_upsert_retell", calls_upsert_retell_sql, CALLS_UPSERT_NPARAMS,
		    params, &rows, err) < 0) {
		return -1;
	}
	read_result(&rows, out);
	return 0;
}

int calls_upsert_highlevel(struct db *db, struct arena *arena, const struct highlevel_call *rec,
			   const char *user_id, const char *agent_uuid, struct calls_result *out,
			   struct err *err) {
	const char *params[] = {
		rec->call_id,
		user_id,
		agent_uuid,
		rec->agent_id,
		rec->message_id,
		rec->contact_id,
		rec->from_number,
		// Voice AI answers phone calls; a trial is the builder's test call in the browser
		rec->trial ? "web_call" : "phone_call",
		NULL, // a call log carries no direction: unknown stays unknown (billed as inbound)
		rec->started_at,
		rec->duration_s < 0 ? NULL
				    : arena_printf(arena, "%lld", (long long)rec->duration_s),
		rec->transcript,
		rec->summary,
		rec->analysis,
	};
	struct db_rows rows;

	memset(out, 0, sizeof(*out));
	if (db_exec(db, arena, "calls_upsert_highlevel", upsert_highlevel_sql, 14, params, &rows,
		    err) < 0) {
		return -1;
	}
	read_result(&rows, out);
	return 0;
}

int calls_find_recording(struct db *db, struct arena *arena, const char *call_id,
			 const char *viewer_id, struct calls_recording *out, int *found,
			 struct err *err) {
	const char *params[] = {call_id, viewer_id};
	struct db_rows rows;

	memset(out, 0, sizeof(*out));
	*found = 0;
	if (db_exec(db, arena, "calls_find_recording",
		    "SELECT c.id, c.source_platform, c.user_id, c.agent_id, c.retell_call_id,"
		    " c.highlevel_message_id, c.recording_url"
		    " FROM calls c WHERE c.id = $1::uuid AND ($2::uuid IS NULL OR EXISTS (SELECT 1"
		    " FROM user_agents ua WHERE ua.agent_id = c.agent_id AND ua.user_id = $2::uuid))",
		    2, params, &rows, err) < 0) {
		return -1;
	}
	if (rows.nrows == 0) {
		return 0;
	}
	*found = 1;
	out->id = db_get(&rows, 0, "id");
	out->platform = db_get(&rows, 0, "source_platform");
	out->user_id = db_get(&rows, 0, "user_id");
	out->agent_id = db_get(&rows, 0, "agent_id");
	out->retell_call_id = db_get(&rows, 0, "retell_call_id");
	out->message_id = db_get(&rows, 0, "highlevel_message_id");
	out->recording_url = db_get(&rows, 0, "recording_url");
	return 0;
}

int calls_set_recording_url(struct db *db, struct arena *arena, const char *call_id,
			    const char *url, struct err *err) {
	const char *params[] = {call_id, url};

	return db_exec(db, arena, "calls_set_recording_url",
		       "UPDATE calls SET recording_url = $2 WHERE id = $1::uuid", 2, params, NULL,
		       err);
}

int calls_retell_complete(struct db *db, struct arena *arena, const char *ids_json,
			  const char **complete_json, struct err *err) {
	const char *params[] = {ids_json};
	struct db_rows rows;

	*complete_json = "{}";
	if (db_exec(db, arena, "calls_retell_complete",
		    "SELECT jsonb_object_agg(retell_call_id, true) AS ids FROM calls"
		    " WHERE retell_call_id IN (SELECT jsonb_array_elements_text($1::jsonb))"
		    " AND transcript IS NOT NULL AND recording_url IS NOT NULL",
		    1, params, &rows, err) < 0) {
		return -1;
	}
	if (db_get(&rows, 0, "ids") != NULL) {
		*complete_json = db_get(&rows, 0, "ids");
	}
	return 0;
}
