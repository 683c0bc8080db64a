/* err.c: first-error-wins error values. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *err, int status, const char *code, const char *fmt, ...) {
	va_list ap;

	if (err == NULL || err->status != 0) {
		return -1;
	}
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void err_clear(struct err *err) {
	memset(err, 0, sizeof(*err));
}
