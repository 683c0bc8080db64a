/* jwt.c: JWS compact verification over OpenSSL. */
#include "common/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_util.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/arena.h"
#include "common/crypto.h"
#include "common/jsonh.h"

#define MAX_JWKS 8
#define LEEWAY_S 30

struct jwk {
	char kid[128];
	int is_ec;
	EVP_PKEY *pkey;
};

struct jwt_keys {
	char *hs_secret;
	int count;
	struct jwk keys[MAX_JWKS];
};

static BIGNUM *b64_bn(struct arena *arena, struct json_object *jwk, const char *name) {
	const char *s = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	struct err ignored = {0};

	if (jsonh_get_string(jwk, name, 1, &s, &ignored) < 0 ||
	    crypto_base64_decode(arena, s, strlen(s), 1, &bytes, &len) < 0) {
		return NULL;
	}
	return BN_bin2bn(bytes, (int)len, NULL);
}

static EVP_PKEY *rsa_from_jwk(struct arena *arena, struct json_object *jwk) {
	BIGNUM *n = b64_bn(arena, jwk, "n");
	BIGNUM *e = b64_bn(arena, jwk, "e");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pkey = NULL;

	if (n != NULL && e != NULL && bld != NULL && ctx != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) > 0) {
		if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
			pkey = NULL;
		}
	}
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return pkey;
}

static EVP_PKEY *ec_from_jwk(struct arena *arena, struct json_object *jwk) {
	const char *xs = NULL;
	const char *ys = NULL;
	const char *crv = NULL;
	uint8_t *x = NULL;
	uint8_t *y = NULL;
	size_t xl = 0;
	size_t yl = 0;
	uint8_t point[65];
	struct err ignored = {0};
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (jsonh_get_string(jwk, "crv", 1, &crv, &ignored) < 0 || strcmp(crv, "P-256") != 0 ||
	    jsonh_get_string(jwk, "x", 1, &xs, &ignored) < 0 ||
	    jsonh_get_string(jwk, "y", 1, &ys, &ignored) < 0 ||
	    crypto_base64_decode(arena, xs, strlen(xs), 1, &x, &xl) < 0 ||
	    crypto_base64_decode(arena, ys, strlen(ys), 1, &y, &yl) < 0 || xl != 32 || yl != 32) {
		return NULL;
	}
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"prime256v1", 0);
	params[1] =
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static int load_jwks(struct jwt_keys *keys, const char *path, struct err *err) {
	struct json_object *root = json_object_from_file(path);
	struct json_object *list = NULL;
	struct arena *arena = arena_create();
	int rc = -1;

	if (root == NULL || jsonh_get_typed(root, "keys", 1, json_type_array, &list, err) < 0) {
		err_set(err, 500, "config", "JWT_JWKS_FILE %s: not a JWKS document", path);
		goto done;
	}
	for (size_t i = 0; i < json_object_array_length(list) && keys->count < MAX_JWKS; i++) {
		struct json_object *jwk = json_object_array_get_idx(list, i);
		const char *kty = NULL;
		const char *kid = NULL;
		struct jwk *k = &keys->keys[keys->count];

		if (jsonh_get_string(jwk, "kty", 1, &kty, err) < 0 ||
		    jsonh_get_string(jwk, "kid", 0, &kid, err) < 0) {
			goto done;
		}
		k->is_ec = strcmp(kty, "EC") == 0;
		k->pkey = k->is_ec		    ? ec_from_jwk(arena, jwk)
			  : strcmp(kty, "RSA") == 0 ? rsa_from_jwk(arena, jwk)
						    : NULL;
		if (k->pkey == NULL) {
			continue; // key types we do not verify with (e.g. "oct") are skipped
		}
		snprintf(k->kid, sizeof(k->kid), "%s", kid != NULL ? kid : "");
		keys->count++;
	}
	rc = 0;
done:
	json_object_put(root);
	arena_destroy(arena);
	return rc;
}

struct jwt_keys *jwt_keys_create(const char *hs_secret, const char *jwks_path, struct err *err) {
	struct jwt_keys *keys = calloc(1, sizeof(*keys));

	if (keys == NULL) {
		abort();
	}
	if (hs_secret != NULL && (keys->hs_secret = strdup(hs_secret)) == NULL) {
		abort();
	}
	if (jwks_path != NULL && load_jwks(keys, jwks_path, err) < 0) {
		jwt_keys_destroy(keys);
		return NULL;
	}
	return keys;
}

void jwt_keys_destroy(struct jwt_keys *keys) {
	if (keys == NULL) {
		return;
	}
	for (int i = 0; i < keys->count; i++) {
		EVP_PKEY_free(keys->keys[i].pkey);
	}
	if (keys->hs_secret != NULL) {
		crypto_wipe(keys->hs_secret, strlen(keys->hs_secret));
		free(keys->hs_secret);
	}
	free(keys);
}

static const struct jwk *find_key(const struct jwt_keys *keys, const char *kid, int want_ec) {
	for (int i = 0; i < keys->count; i++) {
		const struct jwk *k = &keys->keys[i];
		if (k->is_ec == want_ec && (kid == NULL || strcmp(k->kid, kid) == 0)) {
			return k;
		}
	}
	return NULL;
}

// ES256 signatures are raw r || s; OpenSSL verifies DER.
static int es256_to_der(const uint8_t *sig, size_t len, uint8_t **der, int *der_len) {
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = NULL;
	BIGNUM *ss = NULL;

	*der = NULL;
	if (s == NULL || len != 64) {
		ECDSA_SIG_free(s);
		return -1;
	}
	r = BN_bin2bn(sig, 32, NULL);
	ss = BN_bin2bn(sig + 32, 32, NULL);
	if (r == NULL || ss == NULL || !ECDSA_SIG_set0(s, r, ss)) {
		BN_free(r);
		BN_free(ss);
		ECDSA_SIG_free(s);
		return -1;
	}
	*der_len = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	return *der_len > 0 ? 0 : -1;
}

static int verify_pkey(const struct jwk *k, const char *input, size_t input_len, const uint8_t *sig,
		       size_t sig_len) {
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *der = NULL;
	int der_len = 0;
	int ok = 0;

	if (k->is_ec) {
		if (es256_to_der(sig, sig_len, &der, &der_len) < 0) {
			goto done;
		}
		sig = der;
		sig_len = (size_t)der_len;
	}
	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)input, input_len) == 1;
done:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

static int check_signature(const struct jwt_keys *keys, struct json_object *header,
			   const char *input, size_t input_len, const uint8_t *sig, size_t sig_len,
			   struct err *err) {
	const char *alg = NULL;
	const char *kid = NULL;
	uint8_t mac[CRYPTO_SHA256_LEN];
	struct err inner = {0};

	if (jsonh_get_string(header, "alg", 1, &alg, &inner) < 0 ||
	    jsonh_get_string(header, "kid", 0, &kid, &inner) < 0) {
		// a malformed header is an authentication failure like any other token fault
		return err_set(err, 401, "invalid_token", "malformed header: %s", inner.msg);
	}
	if (strcmp(alg, "HS256") == 0 && keys->hs_secret != NULL) {
		crypto_hmac_sha256(keys->hs_secret, strlen(keys->hs_secret), input, input_len, mac);
		if (sig_len == sizeof(mac) && crypto_equal(mac, sig, sizeof(mac))) {
			return 0;
		}
		return err_set(err, 401, "invalid_token", "bad signature");
	}
	if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
		const struct jwk *k = find_key(keys, kid, alg[0] == 'E');
		if (k != NULL && verify_pkey(k, input, input_len, sig, sig_len)) {
			return 0;
		}
		return err_set(err, 401, "invalid_token",
			       k == NULL ? "unknown key" : "bad signature");
	}
	return err_set(err, 401, "invalid_token", "algorithm not accepted");
}

// Supabase's legacy API keys (the anon and service_role keys of Project Settings > API) are
// HS256 JWTs with iss "supabase", ref, role, iat and exp, and no aud and no sub: they name a
// role, never a user. Only they may omit aud; a user's session token must carry it.
static int is_supabase_api_key(struct json_object *payload) {
	const char *iss = NULL;
	const char *role = NULL;
	struct err ignored = {0};

	return jsonh_get_string(payload, "iss", 0, &iss, &ignored) == 0 && iss != NULL &&
	       strcmp(iss, "supabase") == 0 &&
	       jsonh_get_string(payload, "role", 0, &role, &ignored) == 0 && role != NULL &&
	       (strcmp(role, "service_role") == 0 || strcmp(role, "anon") == 0) &&
	       !json_object_object_get_ex(payload, "sub", NULL);
}

static int check_audience(struct json_object *payload, const char *audience, struct err *err) {
	struct json_object *aud = NULL;

	if (!json_object_object_get_ex(payload, "aud", &aud)) {
		if (is_supabase_api_key(payload)) {
			return 0;
		}
		return err_set(err, 401, "invalid_token", "no audience");
	}
	if (json_object_is_type(aud, json_type_string)) {
		if (strcmp(json_object_get_string(aud), audience) == 0) {
			return 0;
		}
	} else if (json_object_is_type(aud, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(aud); i++) {
			struct json_object *a = json_object_array_get_idx(aud, i);
			if (json_object_is_type(a, json_type_string) &&
			    strcmp(json_object_get_string(a), audience) == 0) {
				return 0;
			}
		}
	}
	return err_set(err, 401, "invalid_token", "wrong audience");
}

static struct json_object *decode_part(struct arena *arena, const char *s, size_t len,
				       struct err *err) {
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	struct err inner = {0};
	struct json_object *obj;

	if (crypto_base64_decode(arena, s, len, 1, &raw, &raw_len) < 0) {
		err_set(err, 401, "invalid_token", "malformed token");
		return NULL;
	}
	obj = jsonh_parse((const char *)raw, raw_len, 16, &inner);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		err_set(err, 401, "invalid_token", "malformed token");
		return NULL;
	}
	return obj;
}

static int read_claims(struct arena *arena, struct json_object *payload, const char *audience,
		       time_t now, struct jwt_claims *claims, struct err *err) {
	const char *s = NULL;
	int64_t nbf = 0;
	struct err inner = {0};

	if (jsonh_get_int64(payload, "exp", 1, 0, &claims->exp, &inner) < 0 ||
	    jsonh_get_int64(payload, "nbf", 0, 0, &nbf, &inner) < 0) {
		return err_set(err, 401, "invalid_token", "bad exp or nbf");
	}
	if (claims->exp + LEEWAY_S < (int64_t)now) {
		return err_set(err, 401, "invalid_token", "token expired");
	}
	if (nbf > (int64_t)now + LEEWAY_S) {
		return err_set(err, 401, "invalid_token", "token not yet valid");
	}
	if (check_audience(payload, audience, err) < 0) {
		return -1;
	}
	if (jsonh_get_string(payload, "role", 1, &s, &inner) < 0) {
		return err_set(err, 401, "invalid_token", "no role");
	}
	claims->role = arena_strdup(arena, s);
	if (jsonh_get_string(payload, "sub", 0, &s, &inner) < 0) {
		return err_set(err, 401, "invalid_token", "bad sub");
	}
	claims->sub = s != NULL ? arena_strdup(arena, s) : NULL;
	if (jsonh_get_string(payload, "email", 0, &s, &inner) < 0) {
		s = NULL;
	}
	claims->email = s != NULL ? arena_strdup(arena, s) : NULL;
	return 0;
}

int jwt_verify(const struct jwt_keys *keys, struct arena *arena, const char *token,
	       const char *audience, time_t now, struct jwt_claims *claims, struct err *err) {
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	struct json_object *header = NULL;
	struct json_object *payload = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc = -1;

	memset(claims, 0, sizeof(*claims));
	if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL || strlen(token) > 16384) {
		return err_set(err, 401, "invalid_token", "malformed token");
	}
	if (crypto_base64_decode(arena, dot2 + 1, strlen(dot2 + 1), 1, &sig, &sig_len) < 0) {
		return err_set(err, 401, "invalid_token", "malformed signature");
	}
	header = decode_part(arena, token, (size_t)(dot1 - token), err);
	if (header == NULL ||
	    check_signature(keys, header, token, (size_t)(dot2 - token), sig, sig_len, err) < 0) {
		goto done;
	}
	payload = decode_part(arena, dot1 + 1, (size_t)(dot2 - dot1 - 1), err);
	if (payload == NULL || read_claims(arena, payload, audience, now, claims, err) < 0) {
		goto done;
	}
	rc = 0;
done:
	json_object_put(header);
	json_object_put(payload);
	return rc;
}

char *jwt_sign_hs256(struct arena *arena, const char *secret, const char *payload_json) {
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	uint8_t mac[CRYPTO_SHA256_LEN];
	char *input = arena_printf(arena, "%s.%s",
				   crypto_base64_encode(arena, (const uint8_t *)header,
							strlen(header), 1),
				   crypto_base64_encode(arena, (const uint8_t *)payload_json,
							strlen(payload_json), 1));

	crypto_hmac_sha256(secret, strlen(secret), input, strlen(input), mac);
	return arena_printf(arena, "%s.%s", input,
			    crypto_base64_encode(arena, mac, sizeof(mac), 1));
}
