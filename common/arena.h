/* arena: per-request bump allocator; everything it hands out is freed at once by arena_reset. */
#ifndef COMMON_ARENA_H
#define COMMON_ARENA_H

#include <stddef.h>

#include "common/err.h"

struct arena;

/* Creates an empty arena; free with arena_destroy. Aborts on OOM (the worker is restarted). */
struct arena *arena_create(void);
/* Frees every block; NULL is accepted. */
void arena_destroy(struct arena *arena);
/* Frees what the request allocated but keeps the first block for the next request. */
void arena_reset(struct arena *arena);

/* Each returns memory owned by the arena, valid until the next arena_reset; never NULL. */
void *arena_alloc(struct arena *arena, size_t size);
char *arena_strdup(struct arena *arena, const char *s);
char *arena_strndup(struct arena *arena, const char *s, size_t n);
char *arena_printf(struct arena *arena, const char *fmt, ...) ATTRIB_PRINTF(2, 3)
	__attribute__((nonnull(2)));

#endif
