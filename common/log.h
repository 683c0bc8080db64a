/* log: one structured line per event on the process's stderr (journald), never a secret. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>

#include "common/err.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Sets the level below which nothing is formatted; parsed from "error|warn|info|debug". */
void log_set_level(enum log_level level);
int log_parse_level(const char *name, enum log_level *out) MUSTCHECK;

/* Sets the process name and the current request id printed on every line (copied; NULL clears). */
void log_set_process(const char *name);
void log_set_request_id(const char *id);

/* Prints `ts=... level=... fn=... req=... msg="..."` with the message quoted and escaped.
 * errno is preserved. */
void log_emit(enum log_level level, const char *fmt, ...) ATTRIB_PRINTF(2, 3);
int log_enabled(enum log_level level);

/* What the access line of a request carries as its own logfmt fields. */
struct log_access {
	int status;
	double dur_ms;
	size_t bytes;
	const char *user; /* an id or "service", never a name or an email; NULL prints "-" */
};

/* The request's one line: `... msg="..." status=200 dur_ms=1.4 bytes=96 user=<id>`. */
void log_access(enum log_level level, const struct log_access *a, const char *fmt, ...)
	ATTRIB_PRINTF(3, 4);

#define log_error(...) log_emit(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_emit(LOG_WARN, __VA_ARGS__)
#define log_info(...)                                    \
	do {                                             \
		if (log_enabled(LOG_INFO)) {             \
			log_emit(LOG_INFO, __VA_ARGS__); \
		}                                        \
	} while (0)
#define log_debug(...)                                    \
	do {                                              \
		if (log_enabled(LOG_DEBUG)) {             \
			log_emit(LOG_DEBUG, __VA_ARGS__); \
		}                                         \
	} while (0)

#endif
