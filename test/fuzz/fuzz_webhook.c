/* fuzz_webhook.c: the retell-webhook input path on fuzzed headers and bodies: the
 * x-retell-signature parser and check, then the delivery parser (retell/webhook.h, retell/call.h)
 * and the scan that gives it the word timings as sent (jsonspan.h), against json-c's reading.
 * Input: the signature header, '\n', the raw body (no '\n': the whole input is the body and
 * the header is missing). */
#include <inttypes.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/crypto.h"
#include "common/jsonh.h"
#include "common/jsonspan.h"
#include "common/retell/webhook.h"
#include "test/fuzz/fuzz.h"

// The seeds' deliveries are signed with this key at FUZZ_NOW_MS (see make-corpus).
#define API_KEY "key_fuzz_0123456789abcdef"

static struct arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc;
	(void)argv;
	arena = arena_create();
	return 0;
}

static void check_signature(const char *header, const char *body, size_t body_len) {
	struct err err = {0};
	int64_t ts = 0;
	uint8_t digest[32];

	if (retell_signature_parse(header, FUZZ_NOW_MS, &ts, digest, &err) < 0) {
		FUZZ_ASSERT(err.status == 401);
		return;
	}
	FUZZ_ASSERT(ts >= FUZZ_NOW_MS - RETELL_SIGNATURE_WINDOW_MS &&
		    ts <= FUZZ_NOW_MS + RETELL_SIGNATURE_WINDOW_MS);
	(void)retell_signature_matches(API_KEY, body, body_len, ts, digest);
}

// What Retell sends for this body verifies; the same with one digest bit flipped does not.
static void check_roundtrip(const char *body, size_t body_len, int64_t ts) {
	char ts_text[24];
	uint8_t mac[32];
	char hex[65];
	char header[96];
	uint8_t digest[32];
	int64_t got = 0;
	struct err err = {0};
	int n = snprintf(ts_text, sizeof(ts_text), "%" PRId64, ts);

	crypto_hmac_sha256_2(API_KEY, strlen(API_KEY), body, body_len, ts_text, (size_t)n, mac);
	crypto_hex_encode(mac, sizeof(mac), hex);
	snprintf(header, sizeof(header), "v=%s,d=%s", ts_text, hex);
	FUZZ_ASSERT(retell_signature_parse(header, FUZZ_NOW_MS, &got, digest, &err) == 0);
	FUZZ_ASSERT(got == ts);
	FUZZ_ASSERT(retell_signature_matches(API_KEY, body, body_len, got, digest) == 1);
	digest[body_len % 32] ^= (uint8_t)(1u << (body_len % 8));
	FUZZ_ASSERT(retell_signature_matches(API_KEY, body, body_len, got, digest) == 0);
}

static void touch_record(const struct retell_call *rec) {
	const char *strings[] = {
		rec->call_id,
		rec->agent_id,
		rec->call_type,
		rec->direction,
		rec->call_status,
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
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		fuzz_touch(strings[i]);
	}
	FUZZ_ASSERT(rec->call_id != NULL && rec->call_id[0] != '\0');
	FUZZ_ASSERT(rec->agent_id != NULL && rec->agent_id[0] != '\0');
	FUZZ_ASSERT(rec->rank >= CALL_RANK_STARTED && rec->rank <= CALL_RANK_ANALYZED);
	FUZZ_ASSERT(rec->duration_ms >= -1 && retell_call_seconds(rec->duration_ms) >= 0);
	FUZZ_ASSERT(rec->successful >= -1 && rec->successful <= 1);
}

static void check_delivery(const char *body, size_t body_len) {
	struct retell_delivery d;
	struct json_object *root = NULL;
	struct err err = {0};

	if (retell_delivery_parse(body, body_len, arena, &d, &root, &err) < 0) {
		FUZZ_ASSERT(err.status >= 400 && err.status <= 499);
	} else {
		FUZZ_ASSERT(d.event != NULL && strlen(d.event) <= 64);
		fuzz_touch(d.call_id);
		fuzz_touch(d.agent_id);
		if (d.has_call) {
			touch_record(&d.rec);
			FUZZ_ASSERT(d.call_id == d.rec.call_id);
		}
	}
	json_object_put(root);
}

// Where the scan finds the call's word timings (in a delivery's call, outer "call", or in a
// get-call answer, outer NULL), json-c reads the whole body, and what it reads there is what
// the span's text reads as when it is an array (the only span kept; jsonh_parse takes no bare
// scalar).
static void check_span(const char *body, size_t body_len, const char *outer) {
	struct jsonspan span;
	struct json_object *whole;
	struct json_object *call = NULL;
	struct json_object *member = NULL;
	struct json_object *alone;
	struct err err = {0};

	if (!jsonspan_find(body, body_len, JSONH_MAX_DEPTH, outer, "transcript_object", &span)) {
		return;
	}
	FUZZ_ASSERT(span.start + span.len <= body_len && span.len > 0);
	whole = jsonh_parse(body, body_len, JSONH_MAX_DEPTH, &err);
	FUZZ_ASSERT(whole != NULL);
	call = whole;
	FUZZ_ASSERT(outer == NULL || json_object_object_get_ex(whole, outer, &call));
	FUZZ_ASSERT(json_object_object_get_ex(call, "transcript_object", &member));
	if (body[span.start] == '[') {
		alone = jsonh_parse(body + span.start, span.len, JSONH_MAX_DEPTH, &err);
		FUZZ_ASSERT(alone != NULL && json_object_equal(alone, member));
		json_object_put(alone);
	}
	json_object_put(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *header = NULL;
	char *body = NULL;
	size_t body_len = 0;

	fuzz_split(data, size, &header, &body, &body_len);
	check_signature(header, body, body_len);
	check_roundtrip(body, body_len, FUZZ_NOW_MS - (int64_t)(size % 1000));
	check_delivery(body, body_len);
	check_span(body, body_len, "call");
	check_span(body, body_len, NULL);
	arena_reset(arena);
	free(header);
	free(body);
	return 0;
}
