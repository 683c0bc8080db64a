/* calls_highlevel.c: HighLevel call logs into calls. */
#include "common/calls_highlevel.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/db.h"
#include "common/isotime.h"
#include "common/jsonh.h"

#define MIN_TIMESTAMP_MS 1420070400000LL /* 2015-01-01 */
#define FUTURE_SLACK_MS	 (7LL * 86400 * 1000)

// A value the log lacks (NULL) keeps what is stored.
// clang-format off
#define KEEP(col) #col " = COALESCE(EXCLUDED." #col ", c." #col ")"
// clang-format on

// clang-format off
static const char upsert_sql[] =
	"INSERT INTO calls AS c (highlevel_call_id, source_platform, user_id, agent_id,"
	" provider_agent_id, highlevel_message_id, contact_id, from_number, call_type, direction,"
	" call_status, started_at, ended_at, duration_seconds, transcript, summary, call_analysis,"
	" data_rank)"
	" VALUES ($1, 'highlevel', $2::uuid, $3::uuid, $4, $5, $6, $7, $8, $9, 'ended',"
	" $10::timestamptz, $10::timestamptz + $11::int * interval '1 second', $11::int, $12, $13,"
	" $14::jsonb, 3)"
	" ON CONFLICT (highlevel_call_id) DO UPDATE SET "
	KEEP(user_id) ", " KEEP(agent_id) ", " KEEP(provider_agent_id) ", "
	KEEP(highlevel_message_id) ", " KEEP(contact_id) ", " KEEP(from_number) ", "
	KEEP(call_type) ", direction = EXCLUDED.direction, call_status = 'ended', "
	KEEP(started_at) ", " KEEP(ended_at) ", " KEEP(duration_seconds) ", " KEEP(transcript) ", "
	KEEP(summary) ", " KEEP(call_analysis) ", source_platform = 'highlevel',"
	" data_rank = greatest(c.data_rank, 3)"
	" RETURNING (xmax = 0) AS inserted,"
	" (cost IS NULL AND duration_seconds IS NOT NULL AND user_id IS NOT NULL) AS unbilled";
// clang-format on

// duration is a number of seconds; a fraction (some accounts report one) is rounded up.
static int read_duration(struct json_object *log, int64_t *out, struct err *err) {
	struct json_object *v = NULL;
	double d;

	*out = -1;
	if (!json_object_object_get_ex(log, "duration", &v) || v == NULL) {
		return 0;
	}
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!(d >= 0 && d < 1e9)) {
			return err_set(err, 400, "bad_field", "field duration is out of range");
		}
		*out = (int64_t)ceil(d);
	} else {
		return err_set(err, 400, "bad_field", "field duration must be a number");
	}
	if (*out < 0 || *out > 1000000000) {
		return err_set(err, 400, "bad_field", "field duration is out of range");
	}
	return 0;
}

// extractedData and executedCallActions, kept together for the dashboard.
static const char *analysis_json(struct json_object *log, struct arena *arena) {
	struct json_object *data = NULL;
	struct json_object *actions = NULL;
	struct json_object *obj;
	const char *text;

	json_object_object_get_ex(log, "extractedData", &data);
	json_object_object_get_ex(log, "executedCallActions", &actions);
	if (data == NULL && actions == NULL) {
		return NULL;
	}
	obj = json_object_new_object();
	json_object_object_add(obj, "extractedData", json_object_get(data));
	json_object_object_add(obj, "executedCallActions", json_object_get(actions));
	text = arena_strdup(arena, jsonh_to_string(obj));
	json_object_put(obj);
	return text;
}

static int read_created(const char *created, struct arena *arena, struct highlevel_call *out,
			struct err *err) {
	struct isotime t;
	int64_t now_ms = (int64_t)time(NULL) * 1000;

	if (isotime_parse(created, &t) < 0) {
		return err_set(err, 400, "bad_field", "field createdAt must be ISO 8601");
	}
	out->start_ms = isotime_micros(&t) / 1000;
	if (out->start_ms < MIN_TIMESTAMP_MS || out->start_ms > now_ms + FUTURE_SLACK_MS) {
		return err_set(err, 400, "bad_field", "field createdAt is out of range");
	}
	out->started_at = isotime_format(arena, &t);
	return 0;
}

int calls_highlevel_parse(struct json_object *log, struct arena *arena, struct highlevel_call *out,
			  struct err *err) {
	const char *created = NULL;
	int trial = -1;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(log, json_type_object)) {
		return err_set(err, 400, "bad_field", "a call log must be an object");
	}
	if (jsonh_get_string(log, "id", 1, &out->call_id, err) < 0 ||
	    jsonh_get_string(log, "agentId", 1, &out->agent_id, err) < 0 ||
	    jsonh_get_string(log, "createdAt", 1, &created, err) < 0 ||
	    jsonh_get_string(log, "messageId", 0, &out->message_id, err) < 0 ||
	    jsonh_get_string(log, "contactId", 0, &out->contact_id, err) < 0 ||
	    jsonh_get_string(log, "fromNumber", 0, &out->from_number, err) < 0 ||
	    jsonh_get_string(log, "transcript", 0, &out->transcript, err) < 0 ||
	    jsonh_get_string(log, "summary", 0, &out->summary, err) < 0 ||
	    jsonh_get_bool(log, "trialCall", 0, &trial, err) < 0 ||
	    read_duration(log, &out->duration_s, err) < 0 ||
	    read_created(created, arena, out, err) < 0) {
		return -1;
	}
	if (out->call_id[0] == '\0' || out->agent_id[0] == '\0') {
		return err_set(err, 400, "bad_field", "a call log needs an id and an agentId");
	}
	if (out->message_id != NULL && out->message_id[0] == '\0') {
		out->message_id = NULL;
	}
	out->trial = trial == 1;
	out->analysis = analysis_json(log, arena);
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
		rec->trial ? NULL : "inbound",
		rec->started_at,
		rec->duration_s < 0 ? NULL
				    : arena_printf(arena, "%lld", (long long)rec->duration_s),
		rec->transcript,
		rec->summary,
		rec->analysis,
	};
	struct db_rows rows;

	memset(out, 0, sizeof(*out));
	if (db_exec(db, arena, "calls_upsert_highlevel", upsert_sql, 14, params, &rows, err) < 0) {
		return -1;
	}
	out->inserted = rows.nrows == 1 && strcmp(db_get(&rows, 0, "inserted"), "t") == 0;
	out->unbilled = rows.nrows == 1 && strcmp(db_get(&rows, 0, "unbilled"), "t") == 0;
	return 0;
}
