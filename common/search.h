/* search: the transcript search index (migration 0053), filled off the webhook's request path.
 * Every change of a call's transcript leaves a pending row (a trigger, in the writer's own
 * transaction); after a serving thread has answered, search_index_soon moves a batch of
 * pending calls' transcripts into the trigram-indexed side table. list-calls and call-stats
 * search pending calls by their own transcript, so a search never misses a call. */
#ifndef COMMON_SEARCH_H
#define COMMON_SEARCH_H

#include "common/err.h"

struct arena;
struct db;

/* Calls indexed per transaction, and transactions per search_index_soon at most. */
#define SEARCH_BATCH 500
#define SEARCH_RUNS  4

/* Indexes up to batch pending calls in one transaction, unless another indexer (any process)
 * holds the index lock; *taken counts the pending rows done (0 when locked out). Derived data
 * committed without waiting for the flush: a lost commit leaves its rows pending. */
int search_index_pending(struct db *db, struct arena *arena, int batch, int *taken,
			 struct err *err) MUSTCHECK;

/* After an answer (a serving thread) or a committed sync page: runs search_index_pending until
 * the backlog is done or SEARCH_RUNS batches, unless another thread of the process is indexing
 * (under load one thread indexes what many stored). Failures are logged (rows stay pending). */
void search_index_soon(struct db *db, struct arena *arena);

#endif
