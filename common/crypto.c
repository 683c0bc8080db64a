/* crypto.c: thin, checked wrappers over OpenSSL 3. */
#include "common/crypto.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/arena.h"

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN   16

void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[CRYPTO_SHA256_LEN]) {
	crypto_hmac_sha256_2(key, key_len, msg, msg_len, "", 0, out);
}

void crypto_hmac_sha256_2(const void *key, size_t key_len, const void *a, size_t a_len,
			  const void *b, size_t b_len, uint8_t out[CRYPTO_SHA256_LEN]) {
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t got = 0;

	if (ctx == NULL || !EVP_MAC_init(ctx, key, key_len, params) ||
	    !EVP_MAC_update(ctx, a, a_len) || !EVP_MAC_update(ctx, b, b_len) ||
	    !EVP_MAC_final(ctx, out, &got, CRYPTO_SHA256_LEN)) {
		// only a broken OpenSSL gets here; an all-zero MAC never verifies anything
		memset(out, 0, CRYPTO_SHA256_LEN);
	}
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

void crypto_sha256(const void *msg, size_t len, uint8_t out[CRYPTO_SHA256_LEN]) {
	unsigned int n = CRYPTO_SHA256_LEN;

	if (!EVP_Digest(msg, len, out, &n, EVP_sha256(), NULL)) {
		memset(out, 0, CRYPTO_SHA256_LEN);
	}
}

int crypto_equal(const void *a, const void *b, size_t len) {
	return CRYPTO_memcmp(a, b, len) == 0;
}

int crypto_random(void *out, size_t len) {
	return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

void crypto_wipe(void *p, size_t len) {
	if (p != NULL) {
		OPENSSL_cleanse(p, len);
	}
}

void crypto_hex_encode(const uint8_t *in, size_t len, char *out) {
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c) {
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int crypto_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len) {
	if (in_len != 2 * out_len) {
		return -1;
	}
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_value(in[2 * i]);
		int lo = hex_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *crypto_base64_encode(struct arena *arena, const uint8_t *in, size_t len, int url) {
	const char *alphabet = url ? b64_url : b64_std;
	char *out = arena_alloc(arena, (len + 2) / 3 * 4 + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = len - i;
		if (left > 1) {
			v |= (uint32_t)in[i + 1] << 8;
		}
		if (left > 2) {
			v |= in[i + 2];
		}
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		if (left > 1) {
			out[o++] = alphabet[v >> 6 & 63];
		} else if (!url) {
			out[o++] = '=';
		}
		if (left > 2) {
			out[o++] = alphabet[v & 63];
		} else if (!url) {
			out[o++] = '=';
		}
	}
	out[o] = '\0';
	return out;
}

static int b64_value(char c, int url) {
	const char *alphabet = url ? b64_url : b64_std;
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

int crypto_base64_decode(struct arena *arena, const char *in, size_t in_len, int url, uint8_t **out,
			 size_t *out_len) {
	uint8_t *o = arena_alloc(arena, in_len / 4 * 3 + 3);
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (in_len > 0 && in[in_len - 1] == '=') {
		in_len--;
	}
	if (in_len % 4 == 1) {
		return -1;
	}
	for (size_t i = 0; i < in_len; i++) {
		int v = b64_value(in[i], url);
		if (v < 0) {
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (uint8_t)(acc >> bits);
		}
	}
	*out = o;
	*out_len = n;
	return 0;
}

static int valid_key_id(const char *id, size_t len) {
	if (len == 0 || len > 15) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_')) {
			return 0;
		}
	}
	return 1;
}

int crypto_keyring_parse(struct crypto_keyring *ring, const char *spec, struct err *err) {
	struct arena *arena = arena_create();
	const char *p = spec;
	int rc = -1;

	memset(ring, 0, sizeof(*ring));
	while (*p != '\0') {
		const char *colon = strchr(p, ':');
		const char *end = strchr(p, ',');
		uint8_t *key = NULL;
		size_t key_len = 0;

		if (end == NULL) {
			end = p + strlen(p);
		}
		if (colon == NULL || colon > end || !valid_key_id(p, (size_t)(colon - p))) {
			err_set(err, 500, "config", "key entry %d: expected id:base64key",
				ring->count + 1);
			goto done;
		}
		if (ring->count == CRYPTO_MAX_KEYS) {
			err_set(err, 500, "config", "at most %d keys", CRYPTO_MAX_KEYS);
			goto done;
		}
		if (crypto_base64_decode(arena, colon + 1, (size_t)(end - colon - 1), 0, &key,
					 &key_len) < 0 ||
		    key_len != CRYPTO_KEY_LEN) {
			err_set(err, 500, "config", "key %.*s: not 32 bytes of base64",
				(int)(colon - p), p);
			goto done;
		}
		memcpy(ring->ids[ring->count], p, (size_t)(colon - p));
		memcpy(ring->keys[ring->count], key, CRYPTO_KEY_LEN);
		crypto_wipe(key, key_len);
		ring->count++;
		p = *end == ',' ? end + 1 : end;
	}
	if (ring->count == 0) {
		err_set(err, 500, "config", "no key given");
		goto done;
	}
	rc = 0;
done:
	arena_destroy(arena);
	if (rc < 0) {
		crypto_keyring_finish(ring);
	}
	return rc;
}

void crypto_keyring_derive(const struct crypto_keyring *ring, const char *label,
			   uint8_t out[CRYPTO_SHA256_LEN]) {
	crypto_hmac_sha256(ring->keys[0], sizeof(ring->keys[0]), label, strlen(label), out);
}

void crypto_keyring_finish(struct crypto_keyring *ring) {
	crypto_wipe(ring, sizeof(*ring));
}

int crypto_gcm(int encrypt, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t nonce[12],
	       const char *aad, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]) {
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	int ok = ctx != NULL;

	ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, encrypt);
	ok = ok && EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad));
	ok = ok && EVP_CipherUpdate(ctx, out, &n, in, (int)len);
	if (!encrypt) {
		ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag);
	}
	ok = ok && EVP_CipherFinal_ex(ctx, out + n, &n);
	if (encrypt) {
		ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag);
	}
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

char *crypto_seal(struct arena *arena, const struct crypto_keyring *ring, const char *aad,
		  const char *plaintext, size_t len, struct err *err) {
	size_t total = GCM_NONCE_LEN + len + GCM_TAG_LEN;
	uint8_t *blob = arena_alloc(arena, total);

	if (ring->count == 0) {
		err_set(err, 500, "internal", "no sealing key configured");
		return NULL;
	}
	if (crypto_random(blob, GCM_NONCE_LEN) < 0 ||
	    crypto_gcm(1, ring->keys[0], blob, aad, (const uint8_t *)plaintext, len,
		       blob + GCM_NONCE_LEN, blob + GCM_NONCE_LEN + len) < 0) {
		err_set(err, 500, "internal", "sealing failed");
		return NULL;
	}
	return arena_printf(arena, "%s:%s", ring->ids[0],
			    crypto_base64_encode(arena, blob, total, 1));
}

char *crypto_open(struct arena *arena, const struct crypto_keyring *ring, const char *aad,
		  const char *sealed, struct err *err) {
	const char *colon = strchr(sealed, ':');
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	size_t len;
	char *plain;

	for (int i = 0; colon != NULL && i < ring->count; i++) {
		if (strlen(ring->ids[i]) != (size_t)(colon - sealed) ||
		    memcmp(ring->ids[i], sealed, (size_t)(colon - sealed)) != 0) {
			continue;
		}
		if (crypto_base64_decode(arena, colon + 1, strlen(colon + 1), 1, &blob, &blob_len) <
			    0 ||
		    blob_len < GCM_NONCE_LEN + GCM_TAG_LEN) {
			break;
		}
		len = blob_len - GCM_NONCE_LEN - GCM_TAG_LEN;
		plain = arena_alloc(arena, len + 1);
		if (crypto_gcm(0, ring->keys[i], blob, aad, blob + GCM_NONCE_LEN, len,
			       (uint8_t *)plain, blob + GCM_NONCE_LEN + len) < 0) {
			crypto_wipe(plain, len);
			break;
		}
		plain[len] = '\0';
		return plain;
	}
	err_set(err, 500, "secret_unreadable", "stored secret cannot be decrypted");
	return NULL;
}
