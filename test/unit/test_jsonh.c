// test_jsonh.c: bounded parsing and typed getters, and the span scan (jsonspan.h) that must
// agree with that parsing.
#include <stdlib.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/jsonh.h"
#include "common/jsonspan.h"
#include "common/retell/webhook.h"
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
	CHECK(parses("null", 8) == 400);
	CHECK(parses(" \r\nnull\r\n ", 8) == 400);
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

// The call's transcript_object as the scan finds it, or NULL.
static char *span_of(const char *doc) {
	static char out[256];
	struct jsonspan span;

	if (!jsonspan_find(doc, strlen(doc), JSONH_MAX_DEPTH, "call", "transcript_object", &span)) {
		return NULL;
	}
	snprintf(out, sizeof(out), "%.*s", (int)span.len, doc + span.start);
	return out;
}

static void test_span_found(void) {
	CHECK_STR_EQ(span_of("{\"event\":\"call_ended\",\"call\":{\"a\":[1,{\"b\":null}],"
			     "\"transcript_object\":[{\"w\":\"hi\\/\\u00e9\",\"s\":0.5}],\"z\":-1e-7}}"),
		     "[{\"w\":\"hi\\/\\u00e9\",\"s\":0.5}]");
	CHECK_STR_EQ(span_of(" {\"call\" : { \"transcript_object\" :\n [ ] \t} } "), "[ ]");
	CHECK_STR_EQ(span_of("{\"call\":{\"transcript_object\":null}}"), "null");
	CHECK_STR_EQ(span_of("{\"call\":{\"transcript_object\":\"\xc3\xa9\xf0\x9f\x98\x80\"}}"),
		     "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	CHECK_STR_EQ(span_of("{\"call\":{\"transcript_object\":[\"\\ud83d\\ude00\"]}}"),
		     "[\"\\ud83d\\ude00\"]");
}

// A get-call answer is the call itself: outer NULL.
static void test_span_at_the_top(void) {
	static const char doc[] = "{\"call_id\":\"c\",\"transcript_object\":[{\"a\":1}],\"x\":{}}";
	struct jsonspan span;

	CHECK(jsonspan_find(doc, strlen(doc), JSONH_MAX_DEPTH, NULL, "transcript_object", &span));
	CHECK(span.len == 9 && memcmp(doc + span.start, "[{\"a\":1}]", 9) == 0);
	CHECK(!jsonspan_find("{\"x\":{\"transcript_object\":[]}}", 30, JSONH_MAX_DEPTH, NULL,
			     "transcript_object", &span));
}

// Not there, or not sure: the caller parses the document whole.
static void test_span_not_found_or_not_sure(void) {
	static const char *const docs[] = {
		"{\"transcript_object\":[]}",
		"{\"x\":{\"call\":{\"transcript_object\":[]}}}",
		"{\"call\":[{\"transcript_object\":[]}]}",
		"[{\"call\":{\"transcript_object\":[]}}]",
		"{\"call\":{\"transcript_object\":[],\"transcript_object\":[]}}",
		"{\"call\":{\"transcript_object\":[]},\"call\":{}}",
		"{\"call\":{\"transcript\\u005fobject\":[]}}",
		"{\"c\\u0061ll\":{\"transcript_object\":[]}}",
		// invalid anywhere in the document
		"{\"call\":{\"transcript_object\":[1,]}}",
		"{\"call\":{\"transcript_object\":[]},}",
		"{\"call\":{\"transcript_object\":[]}} x",
		"{\"call\":{\"transcript_object\":[01]}}",
		"{\"call\":{\"transcript_object\":[1.]}}",
		"{\"call\":{\"transcript_object\":[-]}}",
		"{\"call\":{\"transcript_object\":[tru]}}",
		"{\"call\":{\"transcript_object\":[\"a\tb\"]}}",
		"{\"call\":{\"transcript_object\":[\"\\x\"]}}",
		"{\"call\":{\"transcript_object\":[\"\\ud83d\"]}}",
		"{\"call\":{\"transcript_object\":[\"\\ude00\"]}}",
		"{\"call\":{\"transcript_object\":[\"\xc0\xaf\"]}}",
		"{\"call\":{\"transcript_object\":[\"\xed\xa0\x80\"]}}",
		"{\"call\":{\"transcript_object\":[\"\xf4\x90\x80\x80\"]}}",
		"{\"call\":{\"transcript_object\":[\"\xff\"]}}",
		"{\"call\":{\"transcript_object\":[\"open]}}",
		"{\"call\":{\"transcript_object\":[]}",
		// numbers json-c might not give back as written
		"{\"call\":{\"transcript_object\":[1e400]}}",
		"{\"call\":{\"transcript_object\":[123456789012345678]}}",
		"",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		if (span_of(docs[i]) != NULL) {
			CHECK(!"span found");
			fprintf(stderr, "  in %s\n", docs[i]);
		}
	}
	// NUL inside the document
	CHECK(!jsonspan_find("{\"call\":{\"transcript_object\":[\"\0\"]}}", 33, JSONH_MAX_DEPTH,
			     "call", "transcript_object", &(struct jsonspan){0}));
}

// Nesting: the scan takes no document json-c would refuse as too deep.
static void test_span_depth_agrees_with_json_c(void) {
	for (int depth = JSONH_MAX_DEPTH - 4; depth <= JSONH_MAX_DEPTH + 2; depth++) {
		char doc[512];
		int n = snprintf(doc, sizeof(doc), "{\"call\":{\"transcript_object\":");

		for (int i = 0; i < depth - 2; i++) {
			doc[n++] = '[';
		}
		for (int i = 0; i < depth - 2; i++) {
			doc[n++] = ']';
		}
		snprintf(doc + n, sizeof(doc) - (size_t)n, "}}");
		CHECK((span_of(doc) != NULL) == (parses(doc, JSONH_MAX_DEPTH) == 0));
	}
}

// A delivery's word timings are stored as sent; one that is not an array is refused as before.
static void test_delivery_keeps_word_timings_as_sent(void) {
	static const char body[] =
		"{\"event\":\"call_ended\",\"call\":{\"call_id\":\"c1\",\"agent_id\":\"a1\","
		"\"transcript\":\"Agent: hi/there\",\"transcript_object\": [{\"role\":\"agent\","
		"\"words\":[{\"word\":\"hi/there\",\"start\":0.25,\"end\":1e-1}]}] }}";
	static const char object[] = "{\"event\":\"call_ended\",\"call\":{\"call_id\":\"c1\","
				     "\"agent_id\":\"a1\",\"transcript_object\":{}}}";
	struct arena *arena = arena_create();
	struct retell_delivery d;
	struct json_object *root = NULL;
	struct err err = {0};

	CHECK(retell_delivery_parse(body, strlen(body), arena, &d, &root, &err) == 0);
	CHECK_STR_EQ(d.rec.transcript_object, "[{\"role\":\"agent\",\"words\":[{\"word\":"
					      "\"hi/there\",\"start\":0.25,\"end\":1e-1}]}]");
	CHECK_STR_EQ(d.rec.transcript, "Agent: hi/there");
	CHECK_STR_EQ(d.call_id, "c1");
	json_object_put(root);
	root = NULL;
	CHECK(retell_delivery_parse(object, strlen(object), arena, &d, &root, &err) < 0);
	CHECK(err.status == 400 && strcmp(err.code, "bad_field") == 0);
	json_object_put(root);
	arena_destroy(arena);
}

int main(void) {
	test_parse_limits();
	test_getters();
	test_span_found();
	test_span_at_the_top();
	test_span_not_found_or_not_sure();
	test_span_depth_agrees_with_json_c();
	test_delivery_keeps_word_timings_as_sent();
	return check_summary();
}
