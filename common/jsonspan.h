/* jsonspan: the raw text of one member of a JSON document, found by a validating scan that
 * builds no tree. A Retell delivery is mostly its call's word timings (thousands of small
 * objects): the webhook stores their text as sent and gives json-c only the rest. */
#ifndef COMMON_JSONSPAN_H
#define COMMON_JSONSPAN_H

#include <stddef.h>

/* Where a value lies in the document: doc[start, start + len). */
struct jsonspan {
	size_t start;
	size_t len;
};

/* Scans all of doc (len bytes) as one RFC 8259 value, UTF-8 strings, containers nested
 * at most max_depth deep (as jsonh_parse), and looks for the top-level object's member outer, an
 * object, and its member inner (outer NULL: the top-level object's member inner). 1 and *span set
 * when that member is there and the document is valid; 0 otherwise, and also whenever the scan
 * cannot be sure it agrees with a full parser (a key written with an escape, a duplicated outer or
 * inner key, a number json-c could not hold): the caller then parses the document whole. */
int jsonspan_find(const char *doc, size_t len, int max_depth, const char *outer, const char *inner,
		  struct jsonspan *span);

#endif
