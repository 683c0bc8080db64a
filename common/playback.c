/* playback.c: playback links signed under a key derived from the sealing key. */
#include "common/playback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/crypto.h"
#include "common/http.h"

#define SIG_HEX_LEN (2 * CRYPTO_SHA256_LEN)

// HMAC over what the link grants: a leaked link names one call, one viewer, and dies within
// the hour.
static void sign(const struct app *app, const char *call_id, const char *viewer, char kind,
		 long expires, char hex[SIG_HEX_LEN + 1]) {
	uint8_t key[CRYPTO_SHA256_LEN];
	uint8_t mac[CRYPTO_SHA256_LEN];
	char msg[256];
	int n;

	crypto_keyring_derive(&app->keyring, "recording-link", key);
	n = snprintf(msg, sizeof(msg), "%s|%s|%c|%ld", call_id, viewer, kind, expires);
	crypto_hmac_sha256(key, sizeof(key), msg, (size_t)n, mac);
	crypto_wipe(key, sizeof(key));
	crypto_hex_encode(mac, sizeof(mac), hex);
}

const char *playback_link(const struct app *app, struct arena *arena, const char *call_id,
			  const struct auth_caller *caller, long *expires) {
	const char *viewer = caller->user_id != NULL ? caller->user_id : "service";
	char kind = caller->kind == AUTH_CLIENT ? 'c' : 'a';
	char sig[SIG_HEX_LEN + 1];

	*expires = (long)time(NULL) + PLAYBACK_LINK_TTL_S;
	sign(app, call_id, viewer, kind, *expires, sig);
	return arena_printf(arena,
			    "/functions/v1/get-call-recording?call_id=%s&viewer=%s&kind=%c&expires=%ld&sig=%s",
			    call_id, viewer, kind, *expires, sig);
}

int playback_is_link(const struct http_request *req) {
	return http_query(req, "sig") != NULL;
}

int playback_caller(const struct app *app, struct http_request *req, const char *call_id,
		    struct auth_caller *caller) {
	const char *viewer = http_query(req, "viewer");
	const char *kind = http_query(req, "kind");
	const char *expires = http_query(req, "expires");
	const char *sig = http_query(req, "sig");
	char want[SIG_HEX_LEN + 1];
	char *end = NULL;
	long at = expires != NULL ? strtol(expires, &end, 10) : 0;

	if (call_id == NULL || viewer == NULL || kind == NULL || sig == NULL || end == NULL ||
	    *end != '\0' || strlen(kind) != 1 || (kind[0] != 'c' && kind[0] != 'a') ||
	    strlen(sig) != SIG_HEX_LEN || strlen(viewer) > 64 || strlen(call_id) > 64) {
		return err_set(&req->err, 401, "bad_link", "malformed playback link");
	}
	sign(app, call_id, viewer, kind[0], at, want);
	if (!crypto_equal(want, sig, SIG_HEX_LEN)) {
		return err_set(&req->err, 401, "bad_link", "invalid playback link");
	}
	if (at < (long)time(NULL)) {
		return err_set(&req->err, 401, "bad_link",
			       "playback link expired; ask for a new one");
	}
	caller->kind = kind[0] == 'c' ? AUTH_CLIENT : AUTH_ADMIN;
	caller->user_id = kind[0] == 'c' || strcmp(viewer, "service") != 0 ? viewer : NULL;
	return 0;
}
