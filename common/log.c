/* log.c: logfmt lines on stderr. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static char process_name[64] = "-";
// each serving thread logs the request it is handling
static _Thread_local char request_id[64] = "-";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level) {
	current_level = level;
}

int log_parse_level(const char *name, enum log_level *out) {
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_enabled(enum log_level level) {
	return level <= current_level;
}

static void copy_token(char *dst, size_t size, const char *src) {
	size_t n = 0;

	// ids come from headers: keep only characters that cannot break the line format
	for (; src != NULL && *src != '\0' && n + 1 < size; src++) {
		char c = *src;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-' || c == '_' || c == '.') {
			dst[n++] = c;
		}
	}
	if (n == 0) {
		dst[n++] = '-';
	}
	dst[n] = '\0';
}

void log_set_process(const char *name) {
	copy_token(process_name, sizeof(process_name), name);
}

void log_set_request_id(const char *id) {
	copy_token(request_id, sizeof(request_id), id);
}

void log_emit(enum log_level level, const char *fmt, ...) {
	int saved_errno = errno;
	char msg[1024];
	char quoted[2100];
	char ts[32];
	size_t q = 0;
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (!log_enabled(level)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (const char *p = msg; *p != '\0' && q + 3 < sizeof(quoted); p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			quoted[q++] = '\\';
			quoted[q++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			quoted[q++] = ' ';
		} else {
			quoted[q++] = (char)c;
		}
	}
	quoted[q] = '\0';
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "ts=%s.%03ldZ level=%s fn=%s req=%s msg=\"%s\"\n", ts,
		now.tv_nsec / 1000000, level_names[level], process_name, request_id, quoted);
	errno = saved_errno;
}
