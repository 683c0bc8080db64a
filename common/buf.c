/* buf.c: capped dynamic buffer. */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max) {
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_finish(struct buf *b) {
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_reset(struct buf *b) {
	b->len = 0;
	if (b->data != NULL) {
		b->data[0] = '\0';
	}
}

static int grow(struct buf *b, size_t need) {
	size_t cap = b->cap != 0 ? b->cap : 256;
	char *data;

	while (cap < need) {
		cap *= 2;
	}
	data = realloc(b->data, cap);
	if (data == NULL) {
		abort();
	}
	b->data = data;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len) {
	if (len > b->max || b->len > b->max - len) {
		buf_finish(b);
		return -1;
	}
	if (b->len + len + 1 > b->cap && grow(b, b->len + len + 1) < 0) {
		return -1;
	}
	if (len > 0) {
		memcpy(b->data + b->len, data, len);
	}
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s) {
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...) {
	char small[512];
	va_list ap;
	int n;
	int rc;
	char *big;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return -1;
	}
	if ((size_t)n < sizeof(small)) {
		return buf_append(b, small, (size_t)n);
	}
	big = malloc((size_t)n + 1);
	if (big == NULL) {
		abort();
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}
