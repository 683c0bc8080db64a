/* fuzz_oauth.c: the OAuth flow's parsers (common/oauth.h) on fuzzed bytes: the state and code of
 * the provider's redirect and of a finish, and the PKCE pair. Whatever oauth_param_valid passes is
 * printable ASCII without space, within its limit; a challenge passes only as 43 base64url
 * characters; a verifier matches the challenge made of it exactly when it is an RFC 7636
 * verifier, and never a challenge with one character changed.
 * Input: "<param>\n<verifier>\n<challenge>" (missing parts are empty). */
#include "common/arena.h"
#include "common/crypto.h"
#include "common/oauth.h"
#include "test/fuzz/fuzz.h"

static int is_verifier(const char *s) {
	size_t len = strlen(s);

	if (len < OAUTH_MIN_VERIFIER || len > OAUTH_MAX_VERIFIER) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
			   s[i]) == NULL) {
			return 0;
		}
	}
	return 1;
}

static char *next_part(char **cursor) {
	char *start = *cursor;
	char *nl = strchr(start, '\n');

	if (nl != NULL) {
		*nl = '\0';
		*cursor = nl + 1;
	} else {
		*cursor = start + strlen(start);
	}
	return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *input = fuzz_strndup(data, size);
	char *cursor = input;
	char *param = next_part(&cursor);
	char *verifier = next_part(&cursor);
	char *challenge = next_part(&cursor);
	struct arena *arena = arena_create();
	uint8_t digest[CRYPTO_SHA256_LEN];
	char *own;

	if (oauth_param_valid(param, OAUTH_MAX_STATE_LEN)) {
		FUZZ_ASSERT(strlen(param) >= 1 && strlen(param) <= OAUTH_MAX_STATE_LEN);
		for (const char *p = param; *p != '\0'; p++) {
			FUZZ_ASSERT(*p > ' ' && *p < 0x7f);
		}
	}
	if (oauth_challenge_valid(challenge)) {
		FUZZ_ASSERT(strlen(challenge) == OAUTH_CHALLENGE_LEN);
	}
	if (oauth_verifier_matches(arena, verifier, challenge)) {
		FUZZ_ASSERT(is_verifier(verifier) && oauth_challenge_valid(challenge));
	}
	// the challenge made of this verifier, as a browser makes it
	crypto_sha256(verifier, strlen(verifier), digest);
	own = crypto_base64_encode(arena, digest, sizeof(digest), 1);
	FUZZ_ASSERT(oauth_verifier_matches(arena, verifier, own) == is_verifier(verifier));
	own[size % OAUTH_CHALLENGE_LEN] = own[size % OAUTH_CHALLENGE_LEN] == 'A' ? 'B' : 'A';
	FUZZ_ASSERT(!oauth_verifier_matches(arena, verifier, own));
	arena_destroy(arena);
	free(input);
	return 0;
}
