/* fuzz_jwt.c: jwt_verify on fuzzed tokens, against an HS256 secret and a JWKS holding an EC
 * (P-256) and an RSA key generated at start-up.
 * Input: a token as sent after "Bearer " (any first byte but 1..3), or a first byte 1 (HS256),
 * 2 (ES256) or 3 (RS256) followed by "<header bytes>\n<payload bytes>" (no '\n': the payload
 * alone under that algorithm's usual header): the target encodes and signs them itself with
 * the matching key, so fuzzed claims get past the signature. */
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/arena.h"
#include "common/crypto.h"
#include "common/jwt.h"
#include "test/fuzz/fuzz.h"

#define SECRET	 "fuzz-jwt-secret-with-at-least-32-characters"
#define AUDIENCE "authenticated"
#define LEEWAY_S 30

static struct arena *arena;
static struct jwt_keys *keys;
static EVP_PKEY *ec_key;
static EVP_PKEY *rsa_key;

static char *b64(const void *data, size_t len) {
	return crypto_base64_encode(arena, data, len, 1);
}

static char *bn_b64(EVP_PKEY *pkey, const char *param, int width) {
	BIGNUM *bn = NULL;
	uint8_t buf[512];
	char *out;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn)) {
		abort();
	}
	if (width == 0) {
		width = BN_num_bytes(bn);
	}
	BN_bn2binpad(bn, buf, width);
	BN_free(bn);
	out = b64(buf, (size_t)width);
	return out;
}

// Writes the JWKS to a temporary file and loads it with the HS256 secret.
static void load_keys(void) {
	char path[] = "/tmp/fuzz_jwks_XXXXXX";
	int fd = mkstemp(path);
	struct err err = {0};
	char *jwks =
		arena_printf(arena,
			     "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
			     "{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"n\":\"%s\",\"e\":\"%s\"},"
			     "{\"kty\":\"oct\",\"kid\":\"hs1\",\"k\":\"c2VjcmV0\"}]}",
			     bn_b64(ec_key, OSSL_PKEY_PARAM_EC_PUB_X, 32),
			     bn_b64(ec_key, OSSL_PKEY_PARAM_EC_PUB_Y, 32),
			     bn_b64(rsa_key, OSSL_PKEY_PARAM_RSA_N, 0),
			     bn_b64(rsa_key, OSSL_PKEY_PARAM_RSA_E, 0));

	if (fd < 0 || write(fd, jwks, strlen(jwks)) != (ssize_t)strlen(jwks)) {
		abort();
	}
	close(fd);
	keys = jwt_keys_create(SECRET, path, &err);
	unlink(path);
	if (keys == NULL) {
		fprintf(stderr, "fuzz_jwt: %s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc;
	(void)argv;
	arena = arena_create();
	ec_key = EVP_EC_gen("P-256");
	rsa_key = EVP_RSA_gen(2048);
	if (ec_key == NULL || rsa_key == NULL) {
		abort();
	}
	load_keys();
	arena_reset(arena);
	return 0;
}

// The JWS signature of input: HMAC, raw r || s for ES256, PKCS #1 v1.5 for RS256.
static char *sign(int alg, const char *input) {
	EVP_MD_CTX *md = NULL;
	uint8_t sig[512];
	size_t sig_len = sizeof(sig);
	uint8_t raw[64];
	const uint8_t *p = sig;
	ECDSA_SIG *es = NULL;
	EVP_PKEY *key;

	if (alg == 1) {
		crypto_hmac_sha256(SECRET, strlen(SECRET), input, strlen(input), raw);
		return b64(raw, 32);
	}
	md = EVP_MD_CTX_new();
	key = alg == 2 ? ec_key : rsa_key;
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)input, strlen(input)) != 1) {
		abort();
	}
	EVP_MD_CTX_free(md);
	if (alg == 3) {
		return b64(sig, sig_len);
	}
	es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
	if (es == NULL) {
		abort();
	}
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	ECDSA_SIG_free(es);
	return b64(raw, 64);
}

static char *signed_token(int alg, const uint8_t *data, size_t size) {
	static const char *const headers[] = {
		"",
		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"ec1\"}",
		"{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa1\"}",
	};
	char *head = NULL;
	char *payload = NULL;
	size_t payload_len = 0;
	char *input;
	char *token;

	fuzz_split(data, size, &head, &payload, &payload_len);
	input = arena_printf(arena, "%s.%s",
			     head != NULL ? b64(head, strlen(head))
					  : b64(headers[alg], strlen(headers[alg])),
			     b64(payload, payload_len));
	token = arena_printf(arena, "%s.%s", input, sign(alg, input));
	free(head);
	free(payload);
	return token;
}

static void verify(const char *token) {
	struct jwt_claims claims;
	struct err err = {0};

	if (jwt_verify(keys, arena, token, AUDIENCE, (time_t)FUZZ_NOW_S, &claims, &err) < 0) {
		FUZZ_ASSERT(err.status == 401);
		FUZZ_ASSERT(strcmp(err.code, "invalid_token") == 0);
		return;
	}
	FUZZ_ASSERT(claims.role != NULL);
	FUZZ_ASSERT(claims.exp + LEEWAY_S >= FUZZ_NOW_S);
	fuzz_touch(claims.role);
	fuzz_touch(claims.sub);
	fuzz_touch(claims.email);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *token;

	if (size > 0 && data[0] >= 1 && data[0] <= 3) {
		verify(signed_token(data[0], data + 1, size - 1));
	} else {
		token = fuzz_strndup(data, size);
		verify(token);
		free(token);
	}
	arena_reset(arena);
	return 0;
}
