/* oauth: the parameters of the authorization-code flow as they reach us, and the proof that the
 * browser finishing a flow is the one that started it. A state alone is a bearer: whoever opens
 * an authorize_url can complete it, so a client could send theirs to a victim and receive the
 * victim's location. The starting browser therefore keeps a secret (an RFC 7636 code_verifier)
 * and sends only its S256 challenge; the code is exchanged only when a request signed in as the
 * starter presents the verifier. Every parser here takes untrusted bytes (fuzz_oauth). */
#ifndef COMMON_OAUTH_H
#define COMMON_OAUTH_H

#include <stddef.h>

struct arena;

#define OAUTH_STATE_BYTES   32
#define OAUTH_MAX_STATE_LEN 128
#define OAUTH_MAX_CODE_LEN  4096
#define OAUTH_CHALLENGE_LEN 43 /* base64url of a SHA-256, unpadded */
#define OAUTH_MIN_VERIFIER  43
#define OAUTH_MAX_VERIFIER  128

/* 1 when s is 1..max printable ASCII characters other than space (RFC 6749's VSCHAR: a state
 * or a code, both copied into URLs, answers and SQL parameters). */
int oauth_param_valid(const char *s, size_t max);

/* 1 when s is an S256 code_challenge: exactly OAUTH_CHALLENGE_LEN base64url characters. */
int oauth_challenge_valid(const char *s);

/* 1 when verifier is an RFC 7636 code_verifier (43..128 of A-Z a-z 0-9 - . _ ~) whose S256
 * challenge is challenge, compared in constant time. Uses arena for the encoding. */
int oauth_verifier_matches(struct arena *arena, const char *verifier, const char *challenge);

#endif
