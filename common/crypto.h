/* crypto: the OpenSSL primitives we use: HMAC-SHA256, constant-time compare, AES-256-GCM
 * sealing under a key id, random bytes, hex and base64. */
#ifndef COMMON_CRYPTO_H
#define COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct arena;

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_KEY_LEN	  32
#define CRYPTO_MAX_KEYS	  8

/* Sealing keys: the first one seals, every one opens (rotation). Secrets stay in this struct
 * and are wiped by crypto_keyring_finish. */
struct crypto_keyring {
	int count;
	char ids[CRYPTO_MAX_KEYS][16];
	uint8_t keys[CRYPTO_MAX_KEYS][CRYPTO_KEY_LEN];
};

/* Parses "id:base64key[,id:base64key...]" (32-byte keys, ids [A-Za-z0-9_-]{1,15}). */
int crypto_keyring_parse(struct crypto_keyring *ring, const char *spec, struct err *err) MUSTCHECK;
void crypto_keyring_finish(struct crypto_keyring *ring);
/* A key for one purpose (label, e.g. "recording-link") derived from the ring's sealing key:
 * HMAC-SHA256(sealing key, label). Wipe it with crypto_wipe after use. */
void crypto_keyring_derive(const struct crypto_keyring *ring, const char *label,
			   uint8_t out[CRYPTO_SHA256_LEN]);

void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[CRYPTO_SHA256_LEN]);
/* HMAC over the concatenation a || b, without copying either (webhook body || timestamp). */
void crypto_hmac_sha256_2(const void *key, size_t key_len, const void *a, size_t a_len,
			  const void *b, size_t b_len, uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_sha256(const void *msg, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* 1 when equal; time depends only on len. */
int crypto_equal(const void *a, const void *b, size_t len);
int crypto_random(void *out, size_t len) MUSTCHECK;

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void crypto_hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly out_len bytes from 2*out_len hex chars (either case); -1 on bad input. */
int crypto_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len) MUSTCHECK;

/* base64 (url=1: base64url without padding). Results are arena-owned, NUL-terminated;
 * decode returns -1 on bad input and stores the length in *out_len. */
char *crypto_base64_encode(struct arena *arena, const uint8_t *in, size_t len, int url);
int crypto_base64_decode(struct arena *arena, const char *in, size_t in_len, int url, uint8_t **out,
			 size_t *out_len) MUSTCHECK;

/* Seals plaintext as "<key id>:<base64url(nonce || ciphertext || tag)>" with the ring's first
 * key; aad binds the value to its place (e.g. "api_keys:<user>:<service>"). Arena-owned. */
char *crypto_seal(struct arena *arena, const struct crypto_keyring *ring, const char *aad,
		  const char *plaintext, size_t len, struct err *err);
/* Opens a sealed value with the key its id names. The plaintext is arena-owned and
 * NUL-terminated; wipe it with crypto_wipe when done. 500 on a tampered or unknown-key value. */
char *crypto_open(struct arena *arena, const struct crypto_keyring *ring, const char *aad,
		  const char *sealed, struct err *err);
void crypto_wipe(void *p, size_t len);

/* Raw AES-256-GCM with a caller-given 12-byte nonce (sealing picks a random one; exposed for
 * the NIST vectors). out has len bytes, tag 16. 0 on success, -1 on a bad tag. */
int crypto_gcm(int encrypt, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t nonce[12],
	       const char *aad, const uint8_t *in, size_t len, uint8_t *out,
	       uint8_t tag[16]) MUSTCHECK;

#endif
