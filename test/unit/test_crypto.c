// test_crypto.c: HMAC against RFC 4231, AES-256-GCM against the GCM spec's vectors, sealing, and
// the OAuth flow's PKCE check (RFC 7636).
#include <stdlib.h>

#include "common/arena.h"
#include "common/crypto.h"
#include "common/oauth.h"
#include "test/unit/check.h"

static void hex(const uint8_t *in, size_t len, char *out) {
	crypto_hex_encode(in, len, out);
}

static void test_hmac_rfc4231(void) {
	uint8_t key[131];
	uint8_t mac[32];
	char out[65];

	memset(key, 0x0b, 20);
	crypto_hmac_sha256(key, 20, "Hi There", 8, mac);
	hex(mac, 32, out);
	CHECK_STR_EQ(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex(mac, 32, out);
	CHECK_STR_EQ(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key, 0xaa, sizeof(key));
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	crypto_hmac_sha256(key, 131, m6, strlen(m6), mac);
	hex(mac, 32, out);
	CHECK_STR_EQ(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

	// the two-part form equals the one-part form over the concatenation
	uint8_t mac2[32];
	crypto_hmac_sha256_2("Jefe", 4, "what do ya ", 11, "want for nothing?", 17, mac2);
	crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	CHECK(crypto_equal(mac, mac2, 32));
}

static void test_gcm_vectors(void) {
	uint8_t key[32] = {0};
	uint8_t nonce[12] = {0};
	uint8_t zeros[16] = {0};
	uint8_t out[16];
	uint8_t tag[16];
	uint8_t back[16];
	char h[33];

	// GCM spec test case 13: K = 0^256, IV = 0^96, empty P
	CHECK(crypto_gcm(1, key, nonce, "", zeros, 0, out, tag) == 0);
	hex(tag, 16, h);
	CHECK_STR_EQ(h, "530f8afbc74536b9a963b4f1c4cb738b");
	// test case 14: P = 0^128
	CHECK(crypto_gcm(1, key, nonce, "", zeros, 16, out, tag) == 0);
	hex(out, 16, h);
	CHECK_STR_EQ(h, "cea7403d4d606b6e074ec5d3baf39d18");
	hex(tag, 16, h);
	CHECK_STR_EQ(h, "d0d1c8a799996bf0265b98b5d48ab919");
	CHECK(crypto_gcm(0, key, nonce, "", out, 16, back, tag) == 0);
	CHECK(memcmp(back, zeros, 16) == 0);
	tag[0] ^= 1;
	CHECK(crypto_gcm(0, key, nonce, "", out, 16, back, tag) < 0);
}

static void test_seal_open_rotation(void) {
	struct arena *arena = arena_create();
	struct crypto_keyring old_ring;
	struct crypto_keyring new_ring;
	struct err err = {0};
	const char *k1 = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	const char *k2k1 =
		"k2:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=,k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

	CHECK(crypto_keyring_parse(&old_ring, k1, &err) == 0);
	CHECK(crypto_keyring_parse(&new_ring, k2k1, &err) == 0);
	char *sealed = crypto_seal(arena, &old_ring, "api_keys:u1:retell", "key_secret", 10, &err);
	CHECK(sealed != NULL && strncmp(sealed, "k1:", 3) == 0);
	CHECK(sealed != NULL && strstr(sealed, "key_secret") == NULL);
	// a ring that seals with k2 still opens k1 values
	CHECK_STR_EQ(crypto_open(arena, &new_ring, "api_keys:u1:retell", sealed, &err),
		     "key_secret");
	char *resealed =
		crypto_seal(arena, &new_ring, "api_keys:u1:retell", "key_secret", 10, &err);
	CHECK(resealed != NULL && strncmp(resealed, "k2:", 3) == 0);
	// another row's aad, a tampered value or an unknown key id do not open
	CHECK(crypto_open(arena, &new_ring, "api_keys:u2:retell", sealed, &err) == NULL);
	CHECK(err.status == 500);
	err_clear(&err);
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
	CHECK(crypto_open(arena, &new_ring, "api_keys:u1:retell", sealed, &err) == NULL);
	err_clear(&err);
	CHECK(crypto_open(arena, &old_ring, "api_keys:u1:retell", resealed, &err) == NULL);
	err_clear(&err);
	CHECK(crypto_open(arena, &old_ring, "x", "garbage-without-colon", &err) == NULL);
	err_clear(&err);
	// bad key specs are refused
	CHECK(crypto_keyring_parse(&old_ring, "k1:c2hvcnQ=", &err) < 0);
	err_clear(&err);
	CHECK(crypto_keyring_parse(&old_ring, "bad id:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
				   &err) < 0);
	err_clear(&err);
	CHECK(crypto_keyring_parse(&old_ring, "", &err) < 0);
	crypto_keyring_finish(&new_ring);
	arena_destroy(arena);
}

static void test_hex_base64(void) {
	struct arena *arena = arena_create();
	uint8_t bytes[4];
	uint8_t *out = NULL;
	size_t len = 0;

	CHECK(crypto_hex_decode("DEADbeef", 8, bytes, 4) == 0 && bytes[0] == 0xde &&
	      bytes[3] == 0xef);
	CHECK(crypto_hex_decode("deadbee", 7, bytes, 4) < 0);
	CHECK(crypto_hex_decode("deadbeeg", 8, bytes, 4) < 0);
	CHECK_STR_EQ(crypto_base64_encode(arena, (const uint8_t *)"foobar", 6, 0), "Zm9vYmFy");
	CHECK_STR_EQ(crypto_base64_encode(arena, (const uint8_t *)"foob", 4, 0), "Zm9vYg==");
	CHECK_STR_EQ(crypto_base64_encode(arena, (const uint8_t *)"\xfb\xff", 2, 1), "-_8");
	CHECK(crypto_base64_decode(arena, "Zm9vYg==", 8, 0, &out, &len) == 0 && len == 4 &&
	      memcmp(out, "foob", 4) == 0);
	CHECK(crypto_base64_decode(arena, "-_8", 3, 1, &out, &len) == 0 && len == 2 &&
	      out[0] == 0xfb);
	CHECK(crypto_base64_decode(arena, "Zm9v!", 5, 0, &out, &len) < 0);
	CHECK(crypto_base64_decode(arena, "Z", 1, 0, &out, &len) < 0);
	CHECK(crypto_equal("abc", "abc", 3) && !crypto_equal("abc", "abd", 3));
	arena_destroy(arena);
}

// RFC 7636 appendix B's pair, and what a finish must refuse (common/oauth.h)
static void test_oauth_pkce(void) {
	static const char verifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	static const char challenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	struct arena *arena = arena_create();

	CHECK(oauth_challenge_valid(challenge));
	CHECK(!oauth_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
	CHECK(!oauth_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMx"));
	CHECK(!oauth_challenge_valid(NULL));
	CHECK(oauth_verifier_matches(arena, verifier, challenge));
	CHECK(!oauth_verifier_matches(arena, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
				      challenge));
	CHECK(!oauth_verifier_matches(arena, challenge, challenge));
	CHECK(!oauth_verifier_matches(arena, "short", challenge));
	CHECK(!oauth_verifier_matches(arena, NULL, challenge));
	CHECK(!oauth_verifier_matches(arena, verifier, NULL));
	CHECK(oauth_param_valid("hlcode_0123", OAUTH_MAX_CODE_LEN));
	CHECK(!oauth_param_valid("a b", OAUTH_MAX_CODE_LEN));
	CHECK(!oauth_param_valid("a\x7f", OAUTH_MAX_CODE_LEN));
	CHECK(!oauth_param_valid("Zo\xc3\xab", OAUTH_MAX_CODE_LEN));
	CHECK(!oauth_param_valid("", OAUTH_MAX_CODE_LEN));
	CHECK(!oauth_param_valid("abcd", 3));
	arena_destroy(arena);
}

int main(void) {
	test_oauth_pkce();
	test_hmac_rfc4231();
	test_gcm_vectors();
	test_seal_open_rotation();
	test_hex_base64();
	return check_summary();
}
