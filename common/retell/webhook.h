/* retell/webhook: Retell AI specifics: the webhook signature and delivery format. The API client is
 * retell/client.h. */
#ifndef COMMON_RETELL_WEBHOOK_H
#define COMMON_RETELL_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/retell/call.h"

struct arena;
struct json_object;

#define RETELL_SIGNATURE_WINDOW_MS (5 * 60 * 1000)

/* Splits "v=<ms>,d=<64 hex>" and checks the timestamp is within 5 minutes of now_ms.
 * 401 "bad_signature" otherwise. */
int retell_signature_parse(const char *header, int64_t now_ms, int64_t *timestamp_ms,
			   uint8_t digest[32], struct err *err) MUSTCHECK;

/* 1 when HMAC-SHA256(api_key, body || decimal timestamp) equals digest (constant time). */
int retell_signature_matches(const char *api_key, const char *body, size_t body_len,
			     int64_t timestamp_ms, const uint8_t digest[32]);

/* A parsed delivery {"event": ..., "call": {...}}. For call_started / call_ended /
 * call_analyzed has_call is 1 and rec is filled; other events only name themselves and, when
 * present, the call and agent ids. */
struct retell_delivery {
	const char *event;
	const char *call_id;
	const char *agent_id;
	int has_call;
	struct retell_call rec;
};

/* Parses body; *root receives the json-c tree the strings borrow from (caller puts it).
 * 400 on malformed JSON, wrong types or missing ids. */
int retell_delivery_parse(const char *body, size_t len, struct arena *arena,
			  struct retell_delivery *out, struct json_object **root,
			  struct err *err) MUSTCHECK;

#endif
