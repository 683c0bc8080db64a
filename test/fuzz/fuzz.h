/* fuzz.h: what the libFuzzer targets share: the entry points' prototypes, exact-size copies of
 * the input and a sink that makes ASan read every byte of a string the code under test returns. */
#ifndef TEST_FUZZ_FUZZ_H
#define TEST_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// A fixed clock (2026-01-01T00:00:00Z) so an input behaves the same on every run.
#define FUZZ_NOW_S  1767225600LL
#define FUZZ_NOW_MS (FUZZ_NOW_S * 1000)

// A property the target checks failed: abort, so libFuzzer saves the input as a crash.
#define FUZZ_ASSERT(cond)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                     \
			abort();                                                            \
		}                                                                           \
	} while (0)

// A NUL-terminated heap copy of exactly len bytes (+1), as the handlers get bodies and headers.
static inline char *fuzz_strndup(const uint8_t *data, size_t len) {
	char *s = malloc(len + 1);

	if (s == NULL) {
		abort();
	}
	if (len > 0) {
		memcpy(s, data, len);
	}
	s[len] = '\0';
	return s;
}

// Splits data at the first '\n': *head gets what precedes it (NULL when there is no '\n'), and
// the rest is returned in *tail. Both are fuzz_strndup copies the caller frees.
static inline void fuzz_split(const uint8_t *data, size_t size, char **head, char **tail,
			      size_t *tail_len) {
	const uint8_t *nl = size > 0 ? memchr(data, '\n', size) : NULL;

	if (nl == NULL) {
		*head = NULL;
		*tail = fuzz_strndup(data, size);
		*tail_len = size;
		return;
	}
	*head = fuzz_strndup(data, (size_t)(nl - data));
	*tail_len = size - (size_t)(nl - data) - 1;
	*tail = fuzz_strndup(nl + 1, *tail_len);
}

static volatile size_t fuzz_sink;

// Reads a returned string to its end (ASan checks the bytes are still valid memory).
static inline void fuzz_touch(const char *s) {
	if (s != NULL) {
		fuzz_sink += strlen(s);
	}
}

#endif
