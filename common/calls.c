/* calls.c: the monotonic upsert. */
#include "common/calls.h"

#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "common/db.h"
#include "common/retell_call.h"

// For each column: a record at least as complete as the stored one wins where it has a value;
// a less complete one (a late call_started, a repeated call_ended) only fills gaps.
// clang-format off
#define PICK(col)                                                                          \
	#col " = CASE WHEN EXCLUDED.data_rank >= c.data_rank THEN COALESCE(EXCLUDED." #col \
	     ", c." #col ") ELSE COALESCE(c." #col ", EXCLUDED." #col ") END"
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
	" $10::int, $11, $12, $13, $14::jsonb, $15, $16, $17::jsonb, $18::jsonb, $19, $20,"
	" $21::boolean, $22::boolean, $23::int, $24::smallint)"
	" ON CONFLICT (retell_call_id) DO UPDATE SET "
	PICK(user_id) ", " PICK(agent_id) ", " PICK(provider_agent_id) ", " PICK(call_type) ", "
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
	" RETURNING (xmax = 0) AS inserted,"
	" (cost IS NULL AND duration_seconds IS NOT NULL AND user_id IS NOT NULL) AS unbilled";
// clang-format on

static const char *int_or_null(struct arena *arena, int64_t v) {
	return v < 0 ? NULL : arena_printf(arena, "%lld", (long long)v);
}

static const char *bool_or_null(int v) {
	return v < 0 ? NULL : v ? "true" : "false";
}

void calls_upsert_params(struct arena *arena, const struct call_record *rec, const char *user_id,
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

int calls_upsert_retell(struct db *db, struct arena *arena, const struct call_record *rec,
			const char *user_id, const char *agent_uuid, struct calls_result *out,
			struct err *err) {
	const char *params[CALLS_UPSERT_NPARAMS];
	struct db_rows rows;

	calls_upsert_params(arena, rec, user_id, agent_uuid, params);
	if (db_exec(db, arena, "calls_upsert_retell", calls_upsert_retell_sql, CALLS_UPSERT_NPARAMS,
		    params, &rows, err) < 0) {
		return -1;
	}
	out->inserted = rows.nrows == 1 && strcmp(db_get(&rows, 0, "inserted"), "t") == 0;
	out->unbilled = rows.nrows == 1 && strcmp(db_get(&rows, 0, "unbilled"), "t") == 0;
	return 0;
}
