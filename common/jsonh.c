/* jsonh.c: json-c with depth, size, UTF-8 and type checks. */
#include "common/jsonh.h"

#include <string.h>

#include <json-c/json_tokener.h>

struct json_object *jsonh_parse(const char *data, size_t len, int max_depth, struct err *err) {
	struct json_tokener *tok = json_tokener_new_ex(max_depth);
	struct json_object *obj = NULL;
	enum json_tokener_error jerr;

	if (tok == NULL) {
		err_set(err, 500, "internal", "out of memory");
		return NULL;
	}
	if (len > (size_t)INT32_MAX) {
		err_set(err, 413, "payload_too_large", "body too large");
		goto done;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		// the tokener waits for more input; tell it the body ended
		obj = json_tokener_parse_ex(tok, "", -1);
		jerr = json_tokener_get_error(tok);
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
		err_set(err, 400, "bad_json", "invalid JSON: %s", json_tokener_error_desc(jerr));
		goto done;
	}
	if ((size_t)json_tokener_get_parse_end(tok) != len) {
		// a second value or garbage after the first one
		size_t end = json_tokener_get_parse_end(tok);
		while (end < len && strchr(" \t\r\n", data[end]) != NULL && data[end] != '\0') {
			end++;
		}
		if (end != len) {
			json_object_put(obj);
			obj = NULL;
			err_set(err, 400, "bad_json", "invalid JSON: trailing data");
		}
	}
	if (obj == NULL && err->status == 0) {
		// a bare null is valid JSON, but NULL is this function's failure
		err_set(err, 400, "bad_request", "expected a JSON object, not null");
	}
done:
	json_tokener_free(tok);
	return obj;
}

static int member(struct json_object *obj, const char *key, int required, struct json_object **out,
		  struct err *err) {
	*out = NULL;
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		return err_set(err, 400, "bad_request", "expected a JSON object");
	}
	if (!json_object_object_get_ex(obj, key, out) ||
	    json_object_is_type(*out, json_type_null)) {
		*out = NULL;
		if (required) {
			return err_set(err, 400, "missing_field", "missing field: %s", key);
		}
	}
	return 0;
}

int jsonh_get_string(struct json_object *obj, const char *key, int required, const char **out,
		     struct err *err) {
	struct json_object *v;

	*out = NULL;
	if (member(obj, key, required, &v, err) < 0) {
		return -1;
	}
	if (v == NULL) {
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		return err_set(err, 400, "bad_field", "field %s must be a string", key);
	}
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v)) {
		*out = NULL;
		return err_set(err, 400, "bad_field", "field %s contains a NUL byte", key);
	}
	return 0;
}

int jsonh_get_int64(struct json_object *obj, const char *key, int required, int64_t fallback,
		    int64_t *out, struct err *err) {
	struct json_object *v;

	*out = fallback;
	if (member(obj, key, required, &v, err) < 0) {
		return -1;
	}
	if (v == NULL) {
		return 0;
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);
		// integral doubles (1.5e3) are fine; fractions and out-of-range values are not. The
		// range check comes first: casting a double outside int64 (1e300, inf) is
		// undefined.
		if (!(d >= -9.0e15 && d <= 9.0e15) || d != (double)(int64_t)d) {
			return err_set(err, 400, "bad_field", "field %s must be an integer", key);
		}
		*out = (int64_t)d;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int)) {
		return err_set(err, 400, "bad_field", "field %s must be an integer", key);
	}
	*out = json_object_get_int64(v);
	// json-c saturates on overflow; anything that large is not a real timestamp or duration
	if (*out >= INT64_MAX || *out <= INT64_MIN) {
		*out = fallback;
		return err_set(err, 400, "bad_field", "field %s is out of range", key);
	}
	return 0;
}

int jsonh_get_bool(struct json_object *obj, const char *key, int required, int *out,
		   struct err *err) {
	struct json_object *v;

	*out = -1;
	if (member(obj, key, required, &v, err) < 0) {
		return -1;
	}
	if (v == NULL) {
		return 0;
	}
	if (!json_object_is_type(v, json_type_boolean)) {
		return err_set(err, 400, "bad_field", "field %s must be true or false", key);
	}
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

int jsonh_get_typed(struct json_object *obj, const char *key, int required, int type,
		    struct json_object **out, struct err *err) {
	if (member(obj, key, required, out, err) < 0) {
		return -1;
	}
	if (*out != NULL && !json_object_is_type(*out, (enum json_type)type)) {
		*out = NULL;
		return err_set(err, 400, "bad_field", "field %s must be %s", key,
			       type == json_type_array ? "an array" : "an object");
	}
	return 0;
}

const char *jsonh_to_string(struct json_object *obj) {
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
}

void jsonh_add_string(struct json_object *obj, const char *key, const char *value) {
	json_object_object_add(obj, key, value != NULL ? json_object_new_string(value) : NULL);
}

void jsonh_add_int64(struct json_object *obj, const char *key, int64_t value) {
	json_object_object_add(obj, key, json_object_new_int64(value));
}

void jsonh_add_bool(struct json_object *obj, const char *key, int value) {
	json_object_object_add(obj, key, json_object_new_boolean(value));
}

void jsonh_add_raw(struct json_object *obj, const char *key, const char *json_text) {
	struct json_object *v = json_text != NULL ? json_tokener_parse(json_text) : NULL;

	json_object_object_add(obj, key, v);
}
