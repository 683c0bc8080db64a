// test_jwt.c: token acceptance and rejection: HS256, ES256 and RS256 via JWKS, alg none,
// algorithm confusion, expiry, audience, tampering.
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/arena.h"
#include "common/crypto.h"
#include "common/jwt.h"
#include "test/unit/check.h"

#define SECRET "super-secret-jwt-token-with-at-least-32-characters"

static struct arena *arena;

static char *b64(const void *data, size_t len) {
	return crypto_base64_encode(arena, data, len, 1);
}

static char *payload(const char *role, const char *aud, long exp_offset) {
	return arena_printf(arena,
			    "{\"sub\":\"6f1c2a1e-1111-4222-8333-944455556666\",\"role\":\"%s\","
			    "\"aud\":\"%s\",\"exp\":%ld,\"iat\":%ld,\"email\":\"a@b.c\"}",
			    role, aud, (long)time(NULL) + exp_offset, (long)time(NULL));
}

static char *unsigned_input(const char *header, const char *body) {
	return arena_printf(arena, "%s.%s", b64(header, strlen(header)), b64(body, strlen(body)));
}

static int verify(const struct jwt_keys *keys, const char *token, struct jwt_claims *claims) {
	struct err err = {0};
	int rc = jwt_verify(keys, arena, token, "authenticated", time(NULL), claims, &err);

	if (rc < 0 && err.status != 401) {
		return -2;
	}
	return rc;
}

static void test_hs256(void) {
	struct err err = {0};
	struct jwt_keys *keys = jwt_keys_create(SECRET, NULL, &err);
	struct jwt_claims c;

	char *good = jwt_sign_hs256(arena, SECRET, payload("authenticated", "authenticated", 3600));
	CHECK(verify(keys, good, &c) == 0);
	CHECK_STR_EQ(c.role, "authenticated");
	CHECK_STR_EQ(c.sub, "6f1c2a1e-1111-4222-8333-944455556666");
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET, payload("service_role", "authenticated", 60)),
		     &c) == 0);
	CHECK_STR_EQ(c.role, "service_role");
	// expired (beyond the leeway), wrong audience, wrong secret
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET, payload("authenticated", "authenticated", -120)),
		     &c) == -1);
	CHECK(verify(keys, jwt_sign_hs256(arena, SECRET, payload("authenticated", "other", 3600)),
		     &c) == -1);
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, "another-secret",
				    payload("authenticated", "authenticated", 3600)),
		     &c) == -1);
	// alg none, with and without a signature part
	char *none = unsigned_input("{\"alg\":\"none\",\"typ\":\"JWT\"}",
				    payload("service_role", "authenticated", 3600));
	CHECK(verify(keys, arena_printf(arena, "%s.", none), &c) == -1);
	CHECK(verify(keys, arena_printf(arena, "%s.c2ln", none), &c) == -1);
	// payload swapped under a valid signature
	char *other = jwt_sign_hs256(arena, SECRET, payload("service_role", "authenticated", 3600));
	const char *other_payload = strchr(other, '.') + 1;
	char *forged = arena_printf(arena, "%.*s.%.*s%s", (int)(strchr(good, '.') - good), good,
				    (int)(strrchr(other, '.') - other_payload), other_payload,
				    strrchr(good, '.'));
	CHECK(verify(keys, forged, &c) == -1);
	// malformed shapes
	CHECK(verify(keys, "", &c) == -1);
	CHECK(verify(keys, "a.b", &c) == -1);
	CHECK(verify(keys, "a.b.c.d", &c) == -1);
	CHECK(verify(keys, "!!!.***.$$$", &c) == -1);
	jwt_keys_destroy(keys);
}

static char *jwk_coord(const BIGNUM *bn, int width) {
	uint8_t buf[512];

	BN_bn2binpad(bn, buf, width);
	return b64(buf, (size_t)width);
}

static char *sign_asym(EVP_PKEY *pkey, int ec, const char *kid, const char *body) {
	char *header = arena_printf(arena, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
				    ec ? "ES256" : "RS256", kid);
	char *input = unsigned_input(header, body);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[512];
	size_t sig_len = sizeof(sig);
	uint8_t raw[64];

	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey);
	EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)input, strlen(input));
	EVP_MD_CTX_free(md);
	if (ec) {
		const uint8_t *p = sig;
		ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
		BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + 32, 32);
		ECDSA_SIG_free(s);
		return arena_printf(arena, "%s.%s", input, b64(raw, 64));
	}
	return arena_printf(arena, "%s.%s", input, b64(sig, sig_len));
}

static void test_jwks(void) {
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	BIGNUM *x = NULL, *y = NULL, *n = NULL, *e = NULL;
	char path[] = "/tmp/test_jwks_XXXXXX";
	int fd = mkstemp(path);
	struct err err = {0};
	struct jwt_claims c;

	EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_X, &x);
	EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
	EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e);
	char *jwks =
		arena_printf(arena,
			     "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
			     "{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"n\":\"%s\",\"e\":\"%s\"}]}",
			     jwk_coord(x, 32), jwk_coord(y, 32), jwk_coord(n, BN_num_bytes(n)),
			     jwk_coord(e, BN_num_bytes(e)));
	CHECK(write(fd, jwks, strlen(jwks)) == (ssize_t)strlen(jwks));
	close(fd);

	struct jwt_keys *keys = jwt_keys_create(NULL, path, &err);
	CHECK(keys != NULL);
	char *body = payload("authenticated", "authenticated", 3600);
	CHECK(verify(keys, sign_asym(ec, 1, "ec1", body), &c) == 0);
	CHECK(verify(keys, sign_asym(rsa, 0, "rsa1", body), &c) == 0);
	// unknown kid, expired, and HS256 when only public keys are configured (alg confusion)
	CHECK(verify(keys, sign_asym(ec, 1, "nope", body), &c) == -1);
	CHECK(verify(keys,
		     sign_asym(ec, 1, "ec1", payload("authenticated", "authenticated", -3600)),
		     &c) == -1);
	CHECK(verify(keys, jwt_sign_hs256(arena, jwks, body), &c) == -1);
	// an RS256 token whose kid names the EC key
	CHECK(verify(keys, sign_asym(rsa, 0, "ec1", body), &c) == -1);
	jwt_keys_destroy(keys);
	CHECK(jwt_keys_create(NULL, "/nonexistent/jwks.json", &err) == NULL);
	unlink(path);
	BN_free(x);
	BN_free(y);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

// Supabase's legacy API keys carry no aud and no sub; only they may omit aud.
static void test_supabase_api_keys(void) {
	struct err err = {0};
	struct jwt_keys *keys = jwt_keys_create(SECRET, NULL, &err);
	struct jwt_claims c;
	long now = (long)time(NULL);
	const char *shape = "{\"iss\":\"%s\",\"ref\":\"abcdefghijklmnopqrst\",\"role\":\"%s\","
			    "\"iat\":%ld,\"exp\":%ld%s}";

	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET,
				    arena_printf(arena, shape, "supabase", "service_role", now,
						 now + 3600, "")),
		     &c) == 0);
	CHECK_STR_EQ(c.role, "service_role");
	CHECK(c.sub == NULL);
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET,
				    arena_printf(arena, shape, "supabase", "anon", now, now + 3600,
						 "")),
		     &c) == 0);
	CHECK_STR_EQ(c.role, "anon");
	// a user's role, another issuer, or a sub: a session token, which must carry aud
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET,
				    arena_printf(arena, shape, "supabase", "authenticated", now,
						 now + 3600, "")),
		     &c) == -1);
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET,
				    arena_printf(arena, shape, "https://x.supabase.co/auth/v1",
						 "service_role", now, now + 3600, "")),
		     &c) == -1);
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET,
				    arena_printf(arena, shape, "supabase", "service_role", now,
						 now + 3600,
						 ",\"sub\":\"6f1c2a1e-1111-4222-8333-944455556666\"")),
		     &c) == -1);
	// expiry and signature still count
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, SECRET,
				    arena_printf(arena, shape, "supabase", "service_role",
						 now - 7200, now - 3600, "")),
		     &c) == -1);
	CHECK(verify(keys,
		     jwt_sign_hs256(arena, "another-secret",
				    arena_printf(arena, shape, "supabase", "service_role", now,
						 now + 3600, "")),
		     &c) == -1);
	jwt_keys_destroy(keys);
}

int main(void) {
	arena = arena_create();
	test_hs256();
	test_supabase_api_keys();
	test_jwks();
	arena_destroy(arena);
	return check_summary();
}
