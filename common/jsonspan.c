/* jsonspan.c: a validating JSON scan that records one member's span. */
#include "common/jsonspan.h"

#include <string.h>

// The containers the scan is in: the top-level object, the outer member's object, or any other.
enum level { TOP, OUTER, ELSEWHERE };

// json-c holds an integer in an int64 and any other number in a double: longer numbers, or
// exponents of three digits, might not come back as written
#define MAX_NUMBER_LEN	 17
#define MAX_EXPONENT_LEN 2

struct scan {
	const char *doc;
	const char *p;
	const char *end;
	int max_depth;
	const char *outer;
	const char *inner;
	int outer_seen;
	int inner_seen;
	struct jsonspan span;
};

static int scan_value(struct scan *s, int depth, enum level level);

static void skip_ws(struct scan *s) {
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
		s->p++;
	}
}

static int is_digit(const struct scan *s, const char *p) {
	return p < s->end && *p >= '0' && *p <= '9';
}

// Length of the well-formed UTF-8 sequence at p (no overlong forms, surrogates or code points
// above U+10FFFF), 0 if there is none.
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (p[0] < 0x80) {
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		lo = p[0] == 0xE0 ? 0xA0 : 0x80;
		hi = p[0] == 0xED ? 0x9F : 0xBF;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		lo = p[0] == 0xF0 ? 0x90 : 0x80;
		hi = p[0] == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF) {
			return 0;
		}
	}
	return n;
}

static int hex4(const struct scan *s, const char *p, unsigned *out) {
	*out = 0;
	if (s->end - p < 4) {
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned v;

		if (c >= '0' && c <= '9') {
			v = (unsigned)(c - '0');
		} else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
			v = (unsigned)((c | 0x20) - 'a' + 10);
		} else {
			return -1;
		}
		*out = *out << 4 | v;
	}
	return 0;
}

// \uXXXX at p (past the backslash and 'u'), a surrogate only as a whole pair.
static int scan_unicode_escape(struct scan *s, const char **p) {
	unsigned u, low;

	if (hex4(s, *p, &u) < 0 || (u >= 0xDC00 && u <= 0xDFFF)) {
		return -1;
	}
	*p += 4;
	if (u >= 0xD800 && u <= 0xDBFF) {
		if (s->end - *p < 6 || (*p)[0] != '\\' || (*p)[1] != 'u' ||
		    hex4(s, *p + 2, &low) < 0 || low < 0xDC00 || low > 0xDFFF) {
			return -1;
		}
		*p += 6;
	}
	return 0;
}

// The string at s->p; *raw is its text between the quotes, which is its value when *plain.
static int scan_string(struct scan *s, const char **raw, size_t *raw_len, int *plain) {
	const char *p = s->p + 1;

	*plain = 1;
	while (p < s->end) {
		unsigned char c = (unsigned char)*p;
		size_t n;

		if (c == '"') {
			*raw = s->p + 1;
			*raw_len = (size_t)(p - *raw);
			s->p = p + 1;
			return 0;
		}
		if (c < 0x20) {
			return -1;
		}
		if (c != '\\') {
			n = utf8_sequence((const unsigned char *)p, (const unsigned char *)s->end);
			if (n == 0) {
				return -1;
			}
			p += n;
			continue;
		}
		*plain = 0;
		if (s->end - p < 2) {
			return -1;
		}
		c = (unsigned char)p[1];
		p += 2;
		if (c == 'u') {
			if (scan_unicode_escape(s, &p) < 0) {
				return -1;
			}
		} else if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL) {
			return -1;
		}
	}
	return -1;
}

static int scan_digits(const struct scan *s, const char **p) {
	const char *start = *p;

	while (is_digit(s, *p)) {
		(*p)++;
	}
	return *p > start ? 0 : -1;
}

static int scan_number(struct scan *s) {
	const char *p = s->p;
	const char *exponent;

	if (p < s->end && *p == '-') {
		p++;
	}
	if (p < s->end && *p == '0') {
		p++;
	} else if (scan_digits(s, &p) < 0) {
		return -1;
	}
	if (p < s->end && *p == '.') {
		p++;
		if (scan_digits(s, &p) < 0) {
			return -1;
		}
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < s->end && (*p == '+' || *p == '-')) {
			p++;
		}
		exponent = p;
		if (scan_digits(s, &p) < 0 || p - exponent > MAX_EXPONENT_LEN) {
			return -1;
		}
	}
	if (p - s->p > MAX_NUMBER_LEN) {
		return -1;
	}
	s->p = p;
	return 0;
}

static int scan_literal(struct scan *s, const char *word) {
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
		return -1;
	}
	s->p += n;
	return 0;
}

static int key_is(const char *key, size_t len, const char *want) {
	return strlen(want) == len && memcmp(key, want, len) == 0;
}

// One member's value; the wanted ones are counted (a second one: not sure) and the inner one's
// span is kept.
static int scan_member_value(struct scan *s, int depth, enum level level, const char *key,
			     size_t key_len, int plain) {
	const char *start;

	if (level == ELSEWHERE) {
		return scan_value(s, depth, ELSEWHERE);
	}
	if (!plain) {
		return -1; // an escaped key might spell a wanted one
	}
	if (level == TOP && key_is(key, key_len, s->outer)) {
		return ++s->outer_seen > 1 ? -1 : scan_value(s, depth, OUTER);
	}
	if (level == OUTER && key_is(key, key_len, s->inner)) {
		if (++s->inner_seen > 1) {
			return -1;
		}
		skip_ws(s);
		start = s->p;
		if (scan_value(s, depth, ELSEWHERE) < 0) {
			return -1;
		}
		s->span = (struct jsonspan){(size_t)(start - s->doc), (size_t)(s->p - start)};
		return 0;
	}
	return scan_value(s, depth, ELSEWHERE);
}

// Past a container's opening bracket: 1 when it is empty (closed at once), 0 when it is not.
static int open_container(struct scan *s, int depth, char close) {
	if (depth > s->max_depth) {
		return -1;
	}
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 1;
	}
	return 0;
}

// After a member or an element: 1 at the container's end, 0 past the comma before the next.
static int after_item(struct scan *s, char close) {
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 1;
	}
	if (s->p >= s->end || *s->p != ',') {
		return -1;
	}
	s->p++;
	return 0;
}

static int scan_object(struct scan *s, int depth, enum level level) {
	int rc = open_container(s, depth, '}');

	while (rc == 0) {
		const char *key;
		size_t key_len;
		int plain;

		skip_ws(s);
		if (s->p >= s->end || *s->p != '"' || scan_string(s, &key, &key_len, &plain) < 0) {
			return -1;
		}
		skip_ws(s);
		if (s->p >= s->end || *s->p != ':') {
			return -1;
		}
		s->p++;
		if (scan_member_value(s, depth, level, key, key_len, plain) < 0) {
			return -1;
		}
		rc = after_item(s, '}');
	}
	return rc < 0 ? -1 : 0;
}

static int scan_array(struct scan *s, int depth) {
	int rc = open_container(s, depth, ']');

	while (rc == 0) {
		if (scan_value(s, depth, ELSEWHERE) < 0) {
			return -1;
		}
		rc = after_item(s, ']');
	}
	return rc < 0 ? -1 : 0;
}

// level says which object this value would be (TOP, OUTER); arrays' elements are ELSEWHERE.
static int scan_value(struct scan *s, int depth, enum level level) {
	const char *raw;
	size_t raw_len;
	int plain;

	skip_ws(s);
	if (s->p >= s->end) {
		return -1;
	}
	switch (*s->p) {
	case '{':
		return scan_object(s, depth + 1, level);
	case '[':
		return scan_array(s, depth + 1);
	case '"':
		return scan_string(s, &raw, &raw_len, &plain);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		return scan_number(s);
	}
}

int jsonspan_find(const char *doc, size_t len, int max_depth, const char *outer, const char *inner,
		  struct jsonspan *span) {
	struct scan s = {
		.doc = doc,
		.p = doc,
		.end = doc + len,
		.max_depth = max_depth,
		.outer = outer,
		.inner = inner,
	};

	if (scan_value(&s, 0, outer != NULL ? TOP : OUTER) < 0) {
		return 0;
	}
	skip_ws(&s);
	if (s.p != s.end || s.inner_seen != 1) {
		return 0;
	}
	*span = s.span;
	return 1;
}
