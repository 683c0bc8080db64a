/* fuzz_playback.c: the playback-link parser (playback_caller) on fuzzed query strings, and the
 * round trip: a link playback_link makes for a client parses back to the same viewer, and any
 * change to one of its fields is refused. (An admin's link reads profiles.role, so only client
 * links are made here; a fuzzed admin link never gets past the signature.)
 * Input: the query string; its first 32 bytes, hex-encoded, also name the round trip's call and
 * viewer. */
#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/http.h"
#include "common/playback.h"
#include "test/fuzz/fuzz.h"

#define KEYS "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static struct app app;
static struct arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	struct err err = {0};

	(void)argc;
	(void)argv;
	arena = arena_create();
	if (crypto_keyring_parse(&app.keyring, KEYS, &err) < 0) {
		abort();
	}
	return 0;
}

// A uuid-shaped string from 16 bytes of data.
static const char *uuid_from(const uint8_t *data, size_t size, size_t at) {
	uint8_t b[16] = {0};
	char hex[33];

	for (size_t i = 0; i < 16 && at + i < size; i++) {
		b[i] = data[at + i];
	}
	crypto_hex_encode(b, sizeof(b), hex);
	return arena_printf(arena, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
			    hex + 20);
}

static void check_round_trip(const uint8_t *data, size_t size) {
	struct auth_caller client = {AUTH_CLIENT, uuid_from(data, size, 16)};
	struct auth_caller parsed;
	const char *call_id = uuid_from(data, size, 0);
	long expires = 0;
	const char *link = playback_link(&app, arena, call_id, &client, &expires);
	struct http_request req = {.arena = arena};

	req.query = strchr(link, '?') + 1;
	FUZZ_ASSERT(playback_caller(&app, &req, call_id, &parsed) == 0);
	FUZZ_ASSERT(parsed.kind == AUTH_CLIENT && strcmp(parsed.user_id, client.user_id) == 0);
	// the same link for another call, or as an admin's, is refused
	FUZZ_ASSERT(playback_caller(&app, &req, uuid_from(data, size, 1), &parsed) < 0 ||
		    strcmp(call_id, uuid_from(data, size, 1)) == 0);
	char *forged = arena_strdup(arena, req.query);
	char *kind = strstr(forged, "kind=c");
	FUZZ_ASSERT(kind != NULL);
	kind[5] = 'a';
	req.query = forged;
	FUZZ_ASSERT(playback_caller(&app, &req, call_id, &parsed) < 0 && req.err.status == 401);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *query = fuzz_strndup(data, size);
	struct http_request req = {.arena = arena, .query = query};
	struct auth_caller caller;
	const char *call_id = http_query(&req, "call_id");

	if (playback_caller(&app, &req, call_id, &caller) == 0) {
		// only a signed link gets here, and the fuzzer cannot sign: a client link at most
		FUZZ_ASSERT(caller.kind == AUTH_CLIENT && caller.user_id != NULL);
	} else {
		FUZZ_ASSERT(req.err.status == 401);
	}
	check_round_trip(data, size);
	free(query);
	arena_reset(arena);
	return 0;
}
