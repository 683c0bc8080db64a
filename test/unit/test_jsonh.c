// test_jsonh.c: bounded parsing and typed getters.
#include <stdlib.h>

#include <json-c/json_object.h>

#include "common/jsonh.h"
#include "test/unit/check.h"

static int parses(const char *text, int depth) {
	struct err err = {0};
	struct json_object *obj = jsonh_parse(text, strlen(text), depth, &err);
	int ok = obj != NULL;

	json_object_put(obj);
	return ok ? 0 : err.status;
}

static void test_parse_limits(void) {
	char deep[20001];

	CHECK(parses("{\"a\":1}", 8) == 0);
	CHECK(parses("  [1,2]  \n", 8) == 0);
	CHECK(parses("{\"a\":1} {}", 8) == 400);
	CHECK(parses("{\"a\":1", 8) == 400);
	CHECK(parses("[1,]", 8) == 400);
	CHECK(parses("{\"a\":tru}", 8) == 400);
	CHECK(parses("", 8) == 400);
	CHECK(parses("{\"a\":\"\xff\xfe\"}", 8) == 400); // invalid UTF-8
	for (int i = 0; i < 10000; i++) {
		deep[i] = '[';
		deep[20000 - 1 - i] = ']';
	}
	deep[20000] = '\0';
	CHECK(parses(deep, JSONH_MAX_DEPTH) == 400);
	// NUL inside the body ends the JSON early: trailing garbage
	CHECK(jsonh_parse("{}\0{}", 5, 8, &(struct err){0}) == NULL);
}

static void test_getters(void) {
	struct err err = {0};
	const char *text =
		"{\"s\":\"x\",\"n\":42,\"big\":99999999999999999999999,\"f\":1.5,"
		"\"d\":1e3,\"b\":true,\"z\":null,\"nul\":\"a\\u0000b\",\"o\":{},\"a\":[]}";
	struct json_object *obj = jsonh_parse(text, strlen(text), 8, &err);
	const char *s = NULL;
	int64_t n = 0;
	int b = 0;
	struct json_object *sub = NULL;

	CHECK(obj != NULL);
	CHECK(jsonh_get_string(obj, "s", 1, &s, &err) == 0 && strcmp(s, "x") == 0);
	CHECK(jsonh_get_string(obj, "z", 0, &s, &err) == 0 && s == NULL);
	CHECK(jsonh_get_string(obj, "missing", 0, &s, &err) == 0 && s == NULL);
	CHECK(jsonh_get_int64(obj, "n", 1, 0, &n, &err) == 0 && n == 42);
	CHECK(jsonh_get_int64(obj, "d", 1, 0, &n, &err) == 0 && n == 1000);
	CHECK(jsonh_get_bool(obj, "b", 1, &b, &err) == 0 && b == 1);
	CHECK(jsonh_get_bool(obj, "missing", 0, &b, &err) == 0 && b == -1);
	CHECK(jsonh_get_typed(obj, "o", 1, json_type_object, &sub, &err) == 0 && sub != NULL);
	CHECK(err.status == 0);

	CHECK(jsonh_get_string(obj, "missing", 1, &s, &err) < 0 && err.status == 400);
	CHECK_STR_EQ(err.code, "missing_field");
	err_clear(&err);
	CHECK(jsonh_get_string(obj, "n", 0, &s, &err) < 0 && err.status == 400);
	err_clear(&err);
	CHECK(jsonh_get_string(obj, "nul", 0, &s, &err) < 0 && err.status == 400);
	err_clear(&err);
	CHECK(jsonh_get_int64(obj, "big", 0, 0, &n, &err) < 0 && err.status == 400);
	err_clear(&err);
	CHECK(jsonh_get_int64(obj, "f", 0, 0, &n, &err) < 0 && err.status == 400);
	err_clear(&err);
	CHECK(jsonh_get_int64(obj, "s", 0, 0, &n, &err) < 0);
	err_clear(&err);
	CHECK(jsonh_get_typed(obj, "a", 0, json_type_object, &sub, &err) < 0 && sub == NULL);
	err_clear(&err);
	// the first error wins
	CHECK(jsonh_get_string(obj, "n", 0, &s, &err) < 0);
	CHECK(jsonh_get_string(obj, "missing", 1, &s, &err) < 0);
	CHECK_STR_EQ(err.code, "bad_field");
	json_object_put(obj);

	struct json_object *out = json_object_new_object();
	jsonh_add_string(out, "k", "v\"/");
	jsonh_add_string(out, "n", NULL);
	jsonh_add_int64(out, "i", -5);
	jsonh_add_bool(out, "t", 1);
	jsonh_add_raw(out, "r", "{\"x\":[1]}");
	CHECK_STR_EQ(jsonh_to_string(out),
		     "{\"k\":\"v\\\"/\",\"n\":null,\"i\":-5,\"t\":true,\"r\":{\"x\":[1]}}");
	json_object_put(out);
}

int main(void) {
	test_parse_limits();
	test_getters();
	return check_summary();
}
