/* highlevel/call.c: HighLevel call log JSON -> struct highlevel_call. */
#include "common/highlevel/call.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/isotime.h"
#include "common/jsonh.h"

#define MIN_TIMESTAMP_MS 1420070400000LL /* 2015-01-01 */
#define FUTURE_SLACK_MS	 (7LL * 86400 * 1000)

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

int highlevel_call_parse(struct json_object *log, struct arena *arena, struct highlevel_call *out,
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
