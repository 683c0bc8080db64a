/* search.c: the transcript search index filled in batches after the answer. */
#include "common/search.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
