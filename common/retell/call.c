/* retell/call.c: Retell call JSON -> struct retell_call. */
#include "common/retell/call.h"

#include <string.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/jsonh.h"
#include "common/jsonspan.h"

#define MIN_TIMESTAMP_MS 1420070400000LL /* 2015-01-01: before Retell existed */
#define FUTURE_SLACK_MS	 (7LL * 86400 * 1000)
#define MAX_ID_LEN	 256

int64_t retell_call_seconds(int64_t duration_ms) {
	return duration_ms <= 0 ? 0 : (duration_ms + 999) / 1000;
}

static const char *one_of(const char *value, const char *a, const char *b) {
	// kinds Retell may add later are stored as unknown rather than refusing the call
	if (value != NULL && (strcmp(value, a) == 0 || strcmp(value, b) == 0)) {
		return value;
	}
	return NULL;
}

static const char *member_json(struct json_object *obj, const char *key, int type, struct err *err,
			       int *failed) {
	struct json_object *v = NULL;

	if (jsonh_get_typed(obj, key, 0, type, &v, err) < 0) {
		*failed = 1;
		return NULL;
	}
	return v != NULL ? jsonh_to_string(v) : NULL;
}

static int check_timestamp(const char *key, int64_t ms, struct err *err) {
	int64_t now_ms = (int64_t)time(NULL) * 1000;

	if (ms != -1 && (ms < MIN_TIMESTAMP_MS || ms > now_ms + FUTURE_SLACK_MS)) {
		return err_set(err, 400, "bad_field", "%s is out of range", key);
	}
	return 0;
}

static int parse_analysis(struct json_object *call, struct retell_call *rec, struct err *err) {
	struct json_object *a = NULL;
	struct json_object *custom = NULL;

	rec->successful = -1;
	rec->in_voicemail = -1;
	if (jsonh_get_typed(call, "call_analysis", 0, json_type_object, &a, err) < 0) {
		return -1;
	}
	if (a == NULL) {
		return 0;
	}
	if (jsonh_get_string(a, "call_summary", 0, &rec->summary, err) < 0 ||
	    jsonh_get_string(a, "user_sentiment", 0, &rec->sentiment, err) < 0 ||
	    jsonh_get_bool(a, "call_successful", 0, &rec->successful, err) < 0 ||
	    jsonh_get_bool(a, "in_voicemail", 0, &rec->in_voicemail, err) < 0 ||
	    jsonh_get_typed(a, "custom_analysis_data", 0, json_type_object, &custom, err) < 0) {
		return -1;
	}
	rec->analysis = jsonh_to_string(a);
	return 0;
}

static int parse_strings(struct json_object *call, struct retell_call *rec, struct err *err) {
	const char *type = NULL;
	const char *direction = NULL;

	if (jsonh_get_string(call, "call_id", 1, &rec->call_id, err) < 0 ||
	    jsonh_get_string(call, "agent_id", 1, &rec->agent_id, err) < 0 ||
	    jsonh_get_string(call, "call_type", 0, &type, err) < 0 ||
	    jsonh_get_string(call, "direction", 0, &direction, err) < 0 ||
	    jsonh_get_string(call, "call_status", 0, &rec->call_status, err) < 0 ||
	    jsonh_get_string(call, "from_number", 0, &rec->from_number, err) < 0 ||
	    jsonh_get_string(call, "to_number", 0, &rec->to_number, err) < 0 ||
	    jsonh_get_string(call, "transcript", 0, &rec->transcript, err) < 0 ||
	    jsonh_get_string(call, "recording_url", 0, &rec->recording_url, err) < 0 ||
	    jsonh_get_string(call, "disconnection_reason", 0, &rec->disconnection_reason, err) <
		    0) {
		return -1;
	}
	if (rec->call_id[0] == '\0' || strlen(rec->call_id) > MAX_ID_LEN ||
	    rec->agent_id[0] == '\0' || strlen(rec->agent_id) > MAX_ID_LEN) {
		return err_set(err, 400, "bad_field",
			       "call_id and agent_id must be 1..%d characters", MAX_ID_LEN);
	}
	rec->call_type = one_of(type, "phone_call", "web_call");
	rec->direction = one_of(direction, "inbound", "outbound");
	return 0;
}

static int rank_of(const struct retell_call *rec) {
	if (rec->analysis != NULL) {
		return CALL_RANK_ANALYZED;
	}
	if (rec->call_status != NULL && (strcmp(rec->call_status, "registered") == 0 ||
					 strcmp(rec->call_status, "ongoing") == 0)) {
		return CALL_RANK_STARTED;
	}
	return rec->call_status != NULL || rec->end_ms != -1 ? CALL_RANK_ENDED : CALL_RANK_STARTED;
}

// A call's word timings are most of it (thousands of small objects): json-c builds a tree of
// the rest only. Not an array, or a document the scan is not sure of: json-c reads it all.
struct json_object *retell_call_document_parse(const char *body, size_t len, const char *outer,
					       struct arena *arena, const char **word_timings,
					       struct err *err) {
	struct jsonspan span;
	size_t after, rest_len;
	char *rest;

	*word_timings = NULL;
	if (!jsonspan_find(body, len, JSONH_MAX_DEPTH, outer, "transcript_object", &span) ||
	    body[span.start] != '[') {
		return jsonh_parse(body, len, JSONH_MAX_DEPTH, err);
	}
	after = span.start + span.len;
	rest_len = span.start + 4 + (len - after);
	rest = arena_alloc(arena, rest_len + 1);
	memcpy(rest, body, span.start);
	memcpy(rest + span.start, "null", 4);
	memcpy(rest + span.start + 4, body + after, len - after);
	rest[rest_len] = '\0';
	*word_timings = arena_strndup(arena, body + span.start, span.len);
	return jsonh_parse(rest, rest_len, JSONH_MAX_DEPTH, err);
}

int retell_call_parse(struct json_object *call, struct arena *arena, struct retell_call *rec,
		      struct err *err) {
	int failed = 0;

	(void)arena;
	memset(rec, 0, sizeof(*rec));
	if (call == NULL || !json_object_is_type(call, json_type_object)) {
		return err_set(err, 400, "bad_field", "call must be an object");
	}
	if (parse_strings(call, rec, err) < 0 ||
	    jsonh_get_int64(call, "start_timestamp", 0, -1, &rec->start_ms, err) < 0 ||
	    jsonh_get_int64(call, "end_timestamp", 0, -1, &rec->end_ms, err) < 0 ||
	    jsonh_get_int64(call, "duration_ms", 0, -1, &rec->duration_ms, err) < 0 ||
	    jsonh_get_int64(call, "agent_version", 0, -1, &rec->agent_version, err) < 0 ||
	    parse_analysis(call, rec, err) < 0) {
		return -1;
	}
	if (rec->duration_ms < -1 || rec->duration_ms > 7LL * 86400 * 1000) {
		return err_set(err, 400, "bad_field", "duration_ms is out of range");
	}
	if (rec->agent_version < -1 || rec->agent_version > 1000000000) {
		return err_set(err, 400, "bad_field", "agent_version is out of range");
	}
	if (check_timestamp("start_timestamp", rec->start_ms, err) < 0 ||
	    check_timestamp("end_timestamp", rec->end_ms, err) < 0) {
		return -1;
	}
	if (rec->start_ms != -1 && rec->end_ms != -1 && rec->end_ms < rec->start_ms) {
		return err_set(err, 400, "bad_field", "end_timestamp is before start_timestamp");
	}
	rec->transcript_object =
		member_json(call, "transcript_object", json_type_array, err, &failed);
	rec->latency = member_json(call, "latency", json_type_object, err, &failed);
	if (failed) {
		return -1;
	}
	rec->rank = rank_of(rec);
	return 0;
}
