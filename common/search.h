/* search: the transcript search index (migration 0053), filled off the webhook's request path.
 * Every change of a call's transcript leaves a pending row (a trigger, in the writer's own
 * transaction); the webhook's indexer thread, poked after a delivery's answer, moves the
 * pending calls' transcripts into the trigram-indexed side table, at most once per
 * SEARCH_INTERVAL_MS. list-calls and call-stats search pending calls by their own transcript,
 * so a search never misses a call. */
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

/* After a committed sync page, or on the indexer thread: runs search_index_pending until the
 * backlog is done or SEARCH_RUNS batches, unless another thread of the process is indexing.
 * Failures are logged (the rows stay pending). */
void search_index_soon(struct db *db, struct arena *arena);

/* The indexer thread waits this long after a run before the next: under load one transaction
 * indexes what many deliveries stored, and a delivery pays no round trip for it. */
#define SEARCH_INTERVAL_MS 100

struct search_indexer;

/* Starts a process's indexer thread, with its own connection to database_url (copied) and
 * every signal blocked. NULL when the thread cannot start (err set). Freed by
 * search_indexer_stop. */
struct search_indexer *search_indexer_start(const char *database_url, struct err *err);

/* Asks for a run (cheap, never blocks on the database): the next one starts at once when the
 * thread is idle, else SEARCH_INTERVAL_MS after the current one. NULL is accepted. */
void search_indexer_poke(struct search_indexer *ix);

/* Ends the thread after its current run; a poke not yet served leaves its rows pending (the
 * next delivery's indexer takes them). NULL is accepted. */
void search_indexer_stop(struct search_indexer *ix);

#endif
