/* jwt: verification of Supabase-style access tokens: HS256 with the project secret, RS256 and
 * ES256 with keys from a JWKS file. The algorithm must match the key's type (no "none", no
 * HMAC with a public key). */
#ifndef COMMON_JWT_H
#define COMMON_JWT_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"

struct arena;
struct jwt_keys;

struct jwt_claims {
	const char *sub;   /* user id (uuid) or NULL */
	const char *role;  /* "authenticated", "anon", "service_role", ... */
	const char *email; /* may be NULL */
	int64_t exp;
};

/* Builds the key set; hs_secret and jwks_path may each be NULL (not both). Free with
 * jwt_keys_destroy (NULL accepted). */
struct jwt_keys *jwt_keys_create(const char *hs_secret, const char *jwks_path, struct err *err);
void jwt_keys_destroy(struct jwt_keys *keys);

/* Verifies signature, exp (30 s leeway), nbf and aud. A token without aud passes only when it
 * is one of Supabase's legacy API keys (iss "supabase", role anon or service_role, no sub).
 * Claims point into the arena.
 * Every failure is 401 "invalid_token" with the reason in err->msg. */
int jwt_verify(const struct jwt_keys *keys, struct arena *arena, const char *token,
	       const char *audience, time_t now, struct jwt_claims *claims,
	       struct err *err) MUSTCHECK;

/* Makes an HS256 token (the stack's service-role key, tests). Arena-owned. */
char *jwt_sign_hs256(struct arena *arena, const char *secret, const char *payload_json);

#endif
