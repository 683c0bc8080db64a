// test_fuzz_regressions.c: what the libFuzzer targets (test/fuzz/) found, kept as plain checks
// that every build runs; the inputs themselves are replayed from test/fuzz/regressions/.
#include <stdlib.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/jsonh.h"
#include "common/jwt.h"
#include "common/retell/webhook.h"
#include "test/unit/check.h"

// jsonh_get_int64 on {"v": text}: 0 with *out, or the error status.
static int get_int64(const char *text, int64_t *out) {
	char json[128];
	struct err err = {0};
	struct json_object *obj;
	int rc;

	snprintf(json, sizeof(json), "{\"v\":%s}", text);
	obj = jsonh_parse(json, strlen(json), 8, &err);
	if (obj == NULL) {
		return -err.status;
	}
	rc = jsonh_get_int64(obj, "v", 1, -7, out, &err);
	json_object_put(obj);
	return rc < 0 ? err.status : 0;
}

// Doubles outside int64 (fuzz_webhook, fuzz_jwt, fuzz_provider): the range check ran after the
// cast, which is undefined behaviour for 1e37, -1e19 or inf (clang's UBSan stops there).
static void test_int64_from_huge_doubles(void) {
	int64_t v = 0;

	CHECK(get_int64("1.754e37", &v) == 400 && v == -7);
	CHECK(get_int64("-1e19", &v) == 400);
	CHECK(get_int64("9.3e18", &v) == 400);
	CHECK(get_int64("1e400", &v) == 400); // json-c reads it as inf
	CHECK(get_int64("-1e400", &v) == 400);
	CHECK(get_int64("1.5", &v) == 400);
	CHECK(get_int64("1.5e3", &v) == 0 && v == 1500);
	CHECK(get_int64("-2e3", &v) == 0 && v == -2000);
	CHECK(get_int64("9e15", &v) == 0 && v == 9000000000000000LL);
}

// The same values where they arrive: a webhook call's timestamp and a token's exp.
static void test_huge_doubles_in_inputs(void) {
	static const char body[] = "{\"event\":\"call_ended\",\"call\":{\"call_id\":\"c1\","
				   "\"agent_id\":\"a1\",\"end_timestamp\":1.754e37}}";
	struct arena *arena = arena_create();
	struct retell_delivery d;
	struct json_object *root = NULL;
	struct err err = {0};
	const char *secret = "regression-secret-with-at-least-32-characters";
	struct jwt_keys *keys = jwt_keys_create(secret, NULL, &err);
	struct jwt_claims claims;

	CHECK(retell_delivery_parse(body, strlen(body), arena, &d, &root, &err) < 0);
	CHECK(err.status == 400);
	json_object_put(root);
	err_clear(&err);
	char *token =
		jwt_sign_hs256(arena, secret,
			       "{\"role\":\"authenticated\",\"aud\":\"authenticated\",\"exp\":1e400}");
	CHECK(jwt_verify(keys, arena, token, "authenticated", time(NULL), &claims, &err) < 0);
	CHECK(err.status == 401);
	jwt_keys_destroy(keys);
	arena_destroy(arena);
}

int main(void) {
	test_int64_from_huge_doubles();
	test_huge_doubles_in_inputs();
	return check_summary();
}
