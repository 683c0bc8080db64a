/* arena.c: linked blocks, the first kept across requests so a quiet handler does not malloc. */
#include "common/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (64 * 1024)

struct block {
	struct block *next;
	size_t size;
	size_t used;
	max_align_t data[];
};

struct arena {
	struct block *head;
};

static struct block *block_new(size_t size) {
	struct block *b = malloc(sizeof(*b) + size);

	if (b == NULL) {
		abort();
	}
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *arena_create(void) {
	struct arena *arena = malloc(sizeof(*arena));

	if (arena == NULL) {
		abort();
	}
	arena->head = block_new(BLOCK_SIZE);
	return arena;
}

static void free_blocks(struct block *b) {
	while (b != NULL) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

void arena_destroy(struct arena *arena) {
	if (arena == NULL) {
		return;
	}
	free_blocks(arena->head);
	free(arena);
}

void arena_reset(struct arena *arena) {
	struct block *first = arena->head;

	// blocks are pushed at the head, so the original block is the last one
	while (first->next != NULL) {
		struct block *next = first->next;
		free(first);
		first = next;
	}
	first->used = 0;
	arena->head = first;
}

void *arena_alloc(struct arena *arena, size_t size) {
	const size_t align = _Alignof(max_align_t);
	size_t need = (size + align - 1) / align * align;
	struct block *b = arena->head;
	void *p;

	if (need == 0) {
		need = align;
	}
	if (b->size - b->used < need) {
		b = block_new(need > BLOCK_SIZE ? need : BLOCK_SIZE);
		b->next = arena->head;
		arena->head = b;
	}
	p = (char *)b->data + b->used;
	b->used += need;
	return p;
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

	// a real one-byte buffer: gcc's sanitizer build warns on vsnprintf(NULL, 0, ...)
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
