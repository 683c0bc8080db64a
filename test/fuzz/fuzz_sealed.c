/* fuzz_sealed.c: the encrypted-value decoder on fuzzed input: crypto_open (key id, base64url,
 * AES-256-GCM under the column's AAD), crypto_base64_decode in both alphabets, and the
 * SECRETS_KEYS parser.
 * Input: "<aad>\n<sealed value>" (no '\n': the value alone under a fixed AAD); a first byte 1
 * makes the rest a SECRETS_KEYS spec, 2 plain base64, 3 base64url. */
#include "common/arena.h"
#include "common/crypto.h"
#include "test/fuzz/fuzz.h"

// The seeds are sealed under these keys (see make-corpus); k1 seals, both open.
#define KEYS                                               \
	"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=," \
	"k2:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE="
#define AAD "api_keys:6f1c2a1e-1111-4222-8333-944455556666:retell:access_token"

static struct arena *arena;
static struct crypto_keyring ring;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	struct err err = {0};

	(void)argc;
	(void)argv;
	arena = arena_create();
	if (crypto_keyring_parse(&ring, KEYS, &err) < 0) {
		abort();
	}
	return 0;
}

// A value sealed now opens to the same bytes, under its AAD only.
static void check_seal_roundtrip(const char *aad, const char *plain, size_t len) {
	struct err err = {0};
	char *sealed = crypto_seal(arena, &ring, aad, plain, len, &err);
	char *opened;

	FUZZ_ASSERT(sealed != NULL && strncmp(sealed, "k1:", 3) == 0);
	opened = crypto_open(arena, &ring, aad, sealed, &err);
	FUZZ_ASSERT(opened != NULL && memcmp(opened, plain, len) == 0 && opened[len] == '\0');
	crypto_wipe(opened, len);
	FUZZ_ASSERT(crypto_open(arena, &ring, arena_printf(arena, "%s.", aad), sealed, &err) ==
		    NULL);
	FUZZ_ASSERT(err.status == 500);
}

static void check_open(const uint8_t *data, size_t size) {
	char *aad = NULL;
	char *sealed = NULL;
	size_t len = 0;
	struct err err = {0};
	char *plain;

	fuzz_split(data, size, &aad, &sealed, &len);
	plain = crypto_open(arena, &ring, aad != NULL ? aad : AAD, sealed, &err);
	if (plain == NULL) {
		FUZZ_ASSERT(err.status == 500);
	} else {
		fuzz_touch(plain);
	}
	check_seal_roundtrip(aad != NULL ? aad : AAD, sealed, len);
	free(aad);
	free(sealed);
}

// Whatever decodes re-encodes to text that decodes to the same bytes.
static void check_base64(const uint8_t *data, size_t size, int url) {
	char *text = fuzz_strndup(data, size);
	uint8_t *out = NULL;
	uint8_t *again = NULL;
	size_t len = 0;
	size_t again_len = 0;
	char *encoded;

	if (crypto_base64_decode(arena, text, size, url, &out, &len) == 0) {
		FUZZ_ASSERT(len <= size / 4 * 3 + 2);
		encoded = crypto_base64_encode(arena, out, len, url);
		FUZZ_ASSERT(crypto_base64_decode(arena, encoded, strlen(encoded), url, &again,
						 &again_len) == 0);
		FUZZ_ASSERT(again_len == len && (len == 0 || memcmp(again, out, len) == 0));
	}
	free(text);
}

static void check_keyring(const uint8_t *data, size_t size) {
	char *spec = fuzz_strndup(data, size);
	struct crypto_keyring r;
	struct err err = {0};

	if (crypto_keyring_parse(&r, spec, &err) == 0) {
		FUZZ_ASSERT(r.count >= 1 && r.count <= CRYPTO_MAX_KEYS);
		for (int i = 0; i < r.count; i++) {
			FUZZ_ASSERT(strlen(r.ids[i]) >= 1 && strlen(r.ids[i]) <= 15);
		}
		crypto_keyring_finish(&r);
	} else {
		FUZZ_ASSERT(err.status == 500);
	}
	free(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size > 0 && data[0] == 1) {
		check_keyring(data + 1, size - 1);
	} else if (size > 0 && (data[0] == 2 || data[0] == 3)) {
		check_base64(data + 1, size - 1, data[0] == 3);
	} else {
		check_open(data, size);
	}
	arena_reset(arena);
	return 0;
}
