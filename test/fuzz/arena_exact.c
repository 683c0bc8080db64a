/* arena_exact.c: the arena API for the fuzz build only: every allocation is its own malloc of
 * exactly the size asked for, so AddressSanitizer sees the bounds that common/arena.c's blocks
 * hide. Same contract as common/arena.h. */
#include "common/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	void *mem;
};

struct arena {
	struct chunk *head;
};

struct arena *arena_create(void) {
	struct arena *arena = calloc(1, sizeof(*arena));

	if (arena == NULL) {
		abort();
	}
	return arena;
}

void arena_reset(struct arena *arena) {
	while (arena->head != NULL) {
		struct chunk *next = arena->head->next;
		free(arena->head->mem);
		free(arena->head);
		arena->head = next;
	}
}

void arena_destroy(struct arena *arena) {
	if (arena == NULL) {
		return;
	}
	arena_reset(arena);
	free(arena);
}

void *arena_alloc(struct arena *arena, size_t size) {
	struct chunk *c = malloc(sizeof(*c));

	if (c == NULL) {
		abort();
	}
	// malloc(0) under ASan is a distinct pointer no byte of which may be touched
	c->mem = malloc(size);
	if (c->mem == NULL) {
		abort();
	}
	c->next = arena->head;
	arena->head = c;
	return c->mem;
}

char *arena_strndup(struct arena *arena, const char *s, size_t n) {
	char *p = arena_alloc(arena, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *arena, const char *s) {
	return arena_strndup(arena, s, strlen(s));
}

char *arena_printf(struct arena *arena, const char *fmt, ...) {
	va_list ap;
	char probe[1];
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(probe, sizeof(probe), fmt, ap);
	va_end(ap);
	if (n < 0) {
		n = 0;
	}
	p = arena_alloc(arena, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
