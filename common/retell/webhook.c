/* retell/webhook.c: webhook signature check and delivery parsing. */
#include "common/retell/webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "common/crypto.h"
#include "common/jsonh.h"

int retell_signature_parse(const char *header, int64_t now_ms, int64_t *timestamp_ms,
			   uint8_t digest[32], struct err *err) {
	const char *d;
	char *end = NULL;
	long long ts;

	if (header == NULL || strncmp(header, "v=", 2) != 0) {
		return err_set(err, 401, "bad_signature",
			       "missing or malformed x-retell-signature");
	}
	errno = 0;
	ts = strtoll(header + 2, &end, 10);
	if (errno != 0 || end == header + 2 || strncmp(end, ",d=", 3) != 0 || ts < 0) {
		return err_set(err, 401, "bad_signature",
			       "missing or malformed x-retell-signature");
	}
	d = end + 3;
	if (strlen(d) != 64 || crypto_hex_decode(d, 64, digest, 32) < 0) {
		return err_set(err, 401, "bad_signature",
			       "missing or malformed x-retell-signature");
	}
	if (ts > now_ms + RETELL_SIGNATURE_WINDOW_MS || ts < now_ms - RETELL_SIGNATURE_WINDOW_MS) {
		return err_set(err, 401, "bad_signature",
			       "signature timestamp outside the 5 minute window");
	}
	*timestamp_ms = ts;
	return 0;
}

int retell_signature_matches(const char *api_key, const char *body, size_t body_len,
			     int64_t timestamp_ms, const uint8_t digest[32]) {
	char ts[24];
	uint8_t mac[CRYPTO_SHA256_LEN];
	int n = snprintf(ts, sizeof(ts), "%lld", (long long)timestamp_ms);

	crypto_hmac_sha256_2(api_key, strlen(api_key), body, body_len, ts, (size_t)n, mac);
	return crypto_equal(mac, digest, sizeof(mac));
}

static int is_call_event(const char *event) {
	return strcmp(event, "call_started") == 0 || strcmp(event, "call_ended") == 0 ||
	       strcmp(event, "call_analyzed") == 0;
}

int retell_delivery_parse(const char *body, size_t len, struct arena *arena,
			  struct retell_delivery *out, struct json_object **root, struct err *err) {
	struct json_object *call = NULL;
	const char *word_timings;

	memset(out, 0, sizeof(*out));
	*root = retell_call_document_parse(body, len, "call", arena, &word_timings, err);
	if (*root == NULL) {
		return -1;
	}
	if (!json_object_is_type(*root, json_type_object)) {
		return err_set(err, 400, "bad_request", "body must be a JSON object");
	}
	if (jsonh_get_string(*root, "event", 1, &out->event, err) < 0 ||
	    jsonh_get_typed(*root, "call", 0, json_type_object, &call, err) < 0) {
		return -1;
	}
	if (strlen(out->event) > 64) {
		return err_set(err, 400, "bad_field", "event name too long");
	}
	if (!is_call_event(out->event)) {
		// unknown events are kept, not judged: take the ids when they are plain strings
		struct err ignored = {0};
		if (call != NULL &&
		    (jsonh_get_string(call, "call_id", 0, &out->call_id, &ignored) < 0 ||
		     jsonh_get_string(call, "agent_id", 0, &out->agent_id, &ignored) < 0)) {
			out->call_id = NULL;
			out->agent_id = NULL;
		}
		return 0;
	}
	if (call == NULL) {
		return err_set(err, 400, "missing_field", "missing field: call");
	}
	if (retell_call_parse(call, arena, &out->rec, err) < 0) {
		return -1;
	}
	if (word_timings != NULL) {
		out->rec.transcript_object = word_timings;
	}
	out->has_call = 1;
	out->call_id = out->rec.call_id;
	out->agent_id = out->rec.agent_id;
	return 0;
}
