/* search.c: the transcript search index filled in batches after the answer. */
#include "common/search.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/db.h"
#include "common/log.h"

// pg_try_advisory_xact_lock key: one indexer at a time, so an older copy of a transcript
// (an earlier snapshot) is never written over a newer one
#define SEARCH_LOCK "727053"

// The oldest pending rows (skipping those another transaction holds), the current transcript
// of their calls: stored, or removed when it is gone; the pending rows are deleted with it.
// clang-format off
static const char index_sql[] =
	"WITH batch AS (DELETE FROM call_transcript_pending WHERE id IN (SELECT id"
	" FROM call_transcript_pending ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED)"
	" RETURNING call_id),"
	" latest AS (SELECT c.id, c.transcript FROM calls c"
	" WHERE c.id IN (SELECT call_id FROM batch)),"
	" gone AS (DELETE FROM call_transcript_search s WHERE s.call_id IN (SELECT call_id FROM batch)"
	" AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.id = s.call_id AND l.transcript IS NOT NULL)),"
	" stored AS (INSERT INTO call_transcript_search (call_id, transcript)"
	" SELECT id, transcript FROM latest WHERE transcript IS NOT NULL"
	" ON CONFLICT (call_id) DO UPDATE SET transcript = EXCLUDED.transcript)"
	" SELECT count(*) AS taken FROM batch";
// clang-format on

int search_index_pending(struct db *db, struct arena *arena, int batch, int *taken,
			 struct err *err) {
	const char *params[] = {arena_printf(arena, "%d", batch)};
	struct db_rows rows;

	*taken = 0;
	if (db_begin(db, err) < 0) {
		return -1;
	}
	if (db_exec(db, arena, "search_lock",
		    "SELECT pg_try_advisory_xact_lock(" SEARCH_LOCK ") AS locked", 0, NULL, &rows,
		    err) < 0 ||
	    db_exec(db, arena, "search_commit_async", "SET LOCAL synchronous_commit = off", 0, NULL,
		    NULL, err) < 0) {
		goto fail;
	}
	// the lock is taken before the batch's statement: its snapshot sees the last indexer's
	if (strcmp(db_get(&rows, 0, "locked"), "t") == 0) {
		if (db_exec(db, arena, "search_index", index_sql, 1, params, &rows, err) < 0) {
			goto fail;
		}
		*taken = (int)strtol(db_get(&rows, 0, "taken"), NULL, 10);
	}
	return db_commit(db, err);
fail:
	db_rollback(db);
	return -1;
}

void search_index_soon(struct db *db, struct arena *arena) {
	static atomic_int indexing;
	struct err err = {0};
	int taken;

	if (atomic_exchange(&indexing, 1)) {
		return;
	}
	for (int run = 0; run < SEARCH_RUNS; run++) {
		if (search_index_pending(db, arena, SEARCH_BATCH, &taken, &err) < 0) {
			log_warn("transcript search index: %s (the calls stay pending)", err.msg);
			break;
		}
		if (taken < SEARCH_BATCH) {
			break;
		}
	}
	atomic_store(&indexing, 0);
}

struct search_indexer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; // on CLOCK_MONOTONIC, for the interval
	int poked;
	int stopping;
	struct db *db;
};

static void deadline_after_interval(struct timespec *ts) {
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += SEARCH_INTERVAL_MS * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static void *indexer_main(void *arg) {
	struct search_indexer *ix = arg;
	struct arena *arena = arena_create();
	struct timespec until;

	pthread_mutex_lock(&ix->lock);
	while (!ix->stopping) {
		if (!ix->poked) {
			pthread_cond_wait(&ix->wake, &ix->lock);
			continue;
		}
		ix->poked = 0;
		pthread_mutex_unlock(&ix->lock);
		search_index_soon(ix->db, arena);
		arena_reset(arena);
		pthread_mutex_lock(&ix->lock);
		// pokes during the interval are served together by the next run
		deadline_after_interval(&until);
		while (!ix->stopping &&
		       pthread_cond_timedwait(&ix->wake, &ix->lock, &until) != ETIMEDOUT) {
		}
	}
	pthread_mutex_unlock(&ix->lock);
	arena_destroy(arena);
	return NULL;
}

// What start made, once the thread has ended (or never ran).
static void indexer_free(struct search_indexer *ix) {
	db_destroy(ix->db);
	pthread_cond_destroy(&ix->wake);
	pthread_mutex_destroy(&ix->lock);
	free(ix);
}

struct search_indexer *search_indexer_start(const char *database_url, struct err *err) {
	struct search_indexer *ix = calloc(1, sizeof(*ix));
	pthread_condattr_t attr;
	sigset_t all, old;
	int rc;

	if (ix == NULL) {
		err_set(err, 500, "internal", "cannot allocate the search indexer");
		return NULL;
	}
	pthread_mutex_init(&ix->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ix->wake, &attr);
	pthread_condattr_destroy(&attr);
	ix->db = db_create(database_url);
	// the stop signals belong to the serving loop's sigtimedwait: never delivered here
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ix->thread, NULL, indexer_main, ix);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		err_set(err, 500, "internal", "cannot start the search indexer: %s", strerror(rc));
		indexer_free(ix);
		return NULL;
	}
	return ix;
}

void search_indexer_poke(struct search_indexer *ix) {
	if (ix == NULL) {
		return;
	}
	pthread_mutex_lock(&ix->lock);
	if (!ix->poked) {
		ix->poked = 1;
		pthread_cond_signal(&ix->wake);
	}
	pthread_mutex_unlock(&ix->lock);
}

void search_indexer_stop(struct search_indexer *ix) {
	if (ix == NULL) {
		return;
	}
	pthread_mutex_lock(&ix->lock);
	ix->stopping = 1;
	pthread_cond_signal(&ix->wake);
	pthread_mutex_unlock(&ix->lock);
	pthread_join(ix->thread, NULL);
	indexer_free(ix);
}
