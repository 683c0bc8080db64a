/* jsonh: json-c with limits: bounded parsing, typed getters that fill err with 400, and
 * small builders. json-c owns the json_ prefix, hence jsonh_. */
#ifndef COMMON_JSONH_H
#define COMMON_JSONH_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json_object.h>

#include "common/err.h"

#define JSONH_MAX_DEPTH 64

/* Parses exactly len bytes as one strict, UTF-8-valid JSON value no deeper than max_depth.
 * The caller owns the result (json_object_put). 400 "bad_json" on anything else, and 400
 * "bad_request" for a bare null (NULL is the failure return). */
struct json_object *jsonh_parse(const char *data, size_t len, int max_depth, struct err *err);

/* Typed getters on an object. Missing or null members give *out = fallback and 0 unless
 * required; a member of the wrong type is 400. Strings are borrowed from obj and must not
 * contain NUL bytes (400: the database cannot store them). */
int jsonh_get_string(struct json_object *obj, const char *key, int required, const char **out,
		     struct err *err) MUSTCHECK;
int jsonh_get_int64(struct json_object *obj, const char *key, int required, int64_t fallback,
		    int64_t *out, struct err *err) MUSTCHECK;
/* *out is -1 when absent, else 0 or 1. */
int jsonh_get_bool(struct json_object *obj, const char *key, int required, int *out,
		   struct err *err) MUSTCHECK;
/* Borrowed member of the given type (json_type_object, json_type_array) or NULL if absent. */
int jsonh_get_typed(struct json_object *obj, const char *key, int required, int type,
		    struct json_object **out, struct err *err) MUSTCHECK;

/* Compact serialisation owned by obj (valid until obj is changed or put). */
const char *jsonh_to_string(struct json_object *obj);

/* Adds key: value, value may be NULL (JSON null); the added objects are owned by obj. */
void jsonh_add_string(struct json_object *obj, const char *key, const char *value);
void jsonh_add_int64(struct json_object *obj, const char *key, int64_t value);
void jsonh_add_bool(struct json_object *obj, const char *key, int value);
/* Adds raw JSON text (e.g. a jsonb column); text that does not parse becomes null. */
void jsonh_add_raw(struct json_object *obj, const char *key, const char *json_text);

#endif
