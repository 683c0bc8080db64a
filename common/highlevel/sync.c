/* highlevel/sync.c: HighLevel call sync for one user. */
#include "common/highlevel/sync.h"

#include <string.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/calls.h"
#include "common/db.h"
#include "common/highlevel/call.h"
#include "common/highlevel/client.h"
#include "common/highlevel/tokens.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/secrets.h"
#include "common/sync.h"

#define FIRST_SYNC_MS 1420070400000LL /* 2015-01-01: a first sync asks for everything */

// Where the run stands across pages.
struct progress {
	int64_t last_ms; /* createdAt of the previous log, to check the order */
	int64_t max_ms;	 /* newest createdAt seen */
	int ordered;	 /* every log so far came oldest first */
};

// Upserts a page's logs of assigned agents in one transaction and commits it with the cursor.
static int store_page(struct app *app, struct sync_run *run, struct json_object *items,
		      struct progress *pr, struct err *err) {
	if (db_begin(app->db, err) < 0) {
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct highlevel_call rec;
		struct calls_result result;
		struct err why = {0};
		const char *uuid;

		// a call log we cannot read or store fails the run (502), never skipped
		if (highlevel_call_parse(json_object_array_get_idx(items, i), run->arena, &rec,
					 &why) < 0) {
			return sync_call_failed(err, &why);
		}
		pr->ordered &= rec.start_ms >= pr->last_ms;
		pr->last_ms = rec.start_ms;
		pr->max_ms = rec.start_ms > pr->max_ms ? rec.start_ms : pr->max_ms;
		uuid = agents_assigned_uuid(&run->agents, rec.agent_id);
		if (uuid == NULL) {
			continue; // an agent not assigned to this user: not theirs to see
		}
		if (calls_upsert_highlevel(app->db, run->arena, &rec, run->user_id, uuid, &result,
					   &why) < 0) {
			return sync_call_failed(err, &why);
		}
		run->calls_seen++;
		run->calls_inserted += result.inserted;
		run->calls_updated += !result.inserted;
	}
	run->pages++;
	// a cursor may only pass what is stored: while logs come oldest first every page does;
	// otherwise it moves once the whole window is stored (see sync_user)
	if (pr->ordered && pr->max_ms > run->cursor_ms) {
		run->cursor_ms = pr->max_ms;
	}
	return sync_page_commit(app, run, run->cursor_ms, err);
}

// One page; a token that stopped working mid-run (it expired) is fetched anew once.
static int list_page(struct app *app, struct sync_run *run, struct highlevel_conn *conn,
		     const struct highlevel_call_filter *filter, struct highlevel_page *page,
		     int *renewed, struct err *err) {
	struct secrets_use use = {run->user_id,	 "highlevel",  run->actor_kind,
				  run->actor_id, "sync calls", run->request_id};
	struct err first = {0};

	if (highlevel_client_list_call_logs(app, run->arena, conn->access_token, filter, page,
					    &first) == 0) {
		return 0;
	}
	run->retries += page->retries;
	if (*renewed || strcmp(first.code, "provider_rejected_token") != 0) {
		return err_set(err, first.status, first.code, "%s", first.msg);
	}
	*renewed = 1;
	secrets_wipe(conn->access_token);
	if (highlevel_tokens_get(app, run->run_arena, &use, conn, err) < 0) {
		return -1;
	}
	return highlevel_client_list_call_logs(app, run->arena, conn->access_token, filter, page,
					       err);
}

static int sync_pages(struct app *app, struct sync_run *run, struct highlevel_conn *conn,
		      struct err *err) {
	struct highlevel_call_filter filter = {
		.location_id = conn->location_id,
		.start_ms = run->cursor_ms < 0 ? FIRST_SYNC_MS
					       : run->cursor_ms - app->cfg.sync_overlap_ms,
		.end_ms = (int64_t)time(NULL) * 1000,
		.page_size = HIGHLEVEL_PAGE_SIZE,
		.deadline_ms = run->deadline_ms,
	};
	struct progress pr = {.last_ms = 0, .max_ms = run->cursor_ms, .ordered = 1};
	int renewed = 0;
	int more = 1;

	if (filter.start_ms < FIRST_SYNC_MS) {
		filter.start_ms = FIRST_SYNC_MS;
	}
	for (filter.page = 1; more; filter.page++) {
		struct highlevel_page page;
		int stored;

		if (sync_check_deadline(run, err) < 0 ||
		    list_page(app, run, conn, &filter, &page, &renewed, err) < 0) {
			return -1;
		}
		run->retries += page.retries;
		stored = store_page(app, run, page.items, &pr, err) == 0;
		more = page.more;
		highlevel_page_finish(&page);
		if (!stored) {
			return -1;
		}
	}
	if (!pr.ordered && pr.max_ms > run->cursor_ms) {
		log_warn("call logs of user %s did not come oldest first: cursor moved at the end",
			 run->user_id);
		run->cursor_ms = pr.max_ms;
		if (db_begin(app->db, err) < 0 ||
		    sync_page_commit(app, run, run->cursor_ms, err) < 0) {
			return -1;
		}
	}
	return 0;
}

static int sync_user(struct app *app, struct sync_run *run, struct err *err) {
	struct secrets_use use = {run->user_id,	 "highlevel",  run->actor_kind,
				  run->actor_id, "sync calls", run->request_id};
	struct highlevel_conn conn = {0};
	int rc = -1;

	if (highlevel_tokens_get(app, run->run_arena, &use, &conn, err) < 0) {
		return -1;
	}
	if (conn.location_id == NULL) {
		// the provider granted a token without a location: its fault, like bad data
		err_set(err, 502, "no_location", "the connection has no location");
	} else {
		rc = sync_pages(app, run, &conn, err);
	}
	secrets_wipe(conn.access_token);
	return rc;
}

const struct sync_provider highlevel_sync_provider = {
	.name = "highlevel",
	.lock_class = 727102,
	.agent_column = AGENTS_HIGHLEVEL_ID,
	.sync_user = sync_user,
};
