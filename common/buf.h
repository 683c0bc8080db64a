/* buf: a growing byte buffer with a hard maximum (curl's dynbuf); always NUL-terminated. */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stddef.h>

#include "common/err.h"

struct buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* appends that would pass it fail and free the buffer */
};

/* Prepares an empty buffer that may grow to max bytes; release with buf_finish. */
void buf_init(struct buf *b, size_t max);
/* Frees the data; a zeroed struct is accepted. */
void buf_finish(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Append; -1 when the maximum would be passed (the buffer is then freed and empty). */
int buf_append(struct buf *b, const void *data, size_t len) MUSTCHECK;
int buf_append_str(struct buf *b, const char *s) MUSTCHECK;
int buf_printf(struct buf *b, const char *fmt, ...) ATTRIB_PRINTF(2, 3) MUSTCHECK;

#endif
