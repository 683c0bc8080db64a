/* oauth.c: authorization-code flow parameters and PKCE (RFC 7636, S256). */
#include "common/oauth.h"

#include <stdint.h>
#include <string.h>

#include "common/crypto.h"

int oauth_param_valid(const char *s, size_t max) {
	size_t len = s != NULL ? strnlen(s, max + 1) : 0;

	if (len == 0 || len > max) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) {
			return 0;
		}
	}
	return 1;
}

static int is_base64url(char c) {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int oauth_challenge_valid(const char *s) {
	if (s == NULL || strnlen(s, OAUTH_CHALLENGE_LEN + 1) != OAUTH_CHALLENGE_LEN) {
		return 0;
	}
	for (size_t i = 0; i < OAUTH_CHALLENGE_LEN; i++) {
		if (!is_base64url(s[i])) {
			return 0;
		}
	}
	return 1;
}

int oauth_verifier_matches(struct arena *arena, const char *verifier, const char *challenge) {
	uint8_t digest[CRYPTO_SHA256_LEN];
	size_t len = verifier != NULL ? strnlen(verifier, OAUTH_MAX_VERIFIER + 1) : 0;

	if (len < OAUTH_MIN_VERIFIER || len > OAUTH_MAX_VERIFIER ||
	    !oauth_challenge_valid(challenge)) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!is_base64url(verifier[i]) && verifier[i] != '.' && verifier[i] != '~') {
			return 0;
		}
	}
	crypto_sha256(verifier, len, digest);
	return crypto_equal(crypto_base64_encode(arena, digest, sizeof(digest), 1), challenge,
			    OAUTH_CHALLENGE_LEN);
}
