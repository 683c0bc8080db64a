/* retell/sync.c: Retell call sync for one user. */
#include "common/retell/sync.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/calls.h"
#include "common/connections.h"
#include "common/db.h"
#include "common/httpc.h"
#include "common/jsonh.h"
#include "common/retell/call.h"
#include "common/retell/client.h"
#include "common/secrets.h"
#include "common/sync.h"

#define PAGE_SIZE	      1000
#define DETAIL_CHUNK_PER_SLOT 4

// The page's ids whose stored row already has transcript and recording: no detail fetch.
static int complete_ids(struct app *app, struct arena *arena, struct json_object *items,
			struct json_object **complete, struct err *err) {
	struct json_object *ids = json_object_new_array();
	const char *text = NULL;
	struct err bad = {0};
	int rc;

	*complete = NULL;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *id = NULL;
		if (json_object_object_get_ex(json_object_array_get_idx(items, i), "call_id",
					      &id)) {
			json_object_array_add(ids, json_object_get(id));
		}
	}
	rc = calls_retell_complete(app->db, arena, jsonh_to_string(ids), &text, err);
	json_object_put(ids);
	if (rc < 0) {
		return -1;
	}
	// our own database's jsonb output: it parses unless something is badly wrong
	*complete = jsonh_parse(text, strlen(text), JSONH_MAX_DEPTH, &bad);
	if (*complete == NULL) {
		return err_set(err, 500, "internal", "stored call ids: %s", bad.msg);
	}
	return 0;
}

static int needs_detail(struct json_object *item, struct json_object *complete) {
	const char *id = NULL;
	const char *status = NULL;
	struct err ignored = {0};

	if (jsonh_get_string(item, "call_id", 1, &id, &ignored) < 0 ||
	    jsonh_get_string(item, "call_status", 0, &status, &ignored) < 0) {
		return 0;
	}
	// calls still running or never connected have no transcript or recording yet
	if (status != NULL &&
	    (strcmp(status, "registered") == 0 || strcmp(status, "ongoing") == 0 ||
	     strcmp(status, "not_connected") == 0)) {
		return 0;
	}
	return !json_object_object_get_ex(complete, id, NULL);
}

// Parses and upserts one call (its word timings as sent, or NULL: the tree's), moving *cursor
// past its start.
static int upsert_call(struct app *app, struct sync_run *run, struct json_object *call,
		       const char *word_timings, int64_t *cursor, struct err *err) {
	struct retell_call rec;
	struct calls_result result;
	struct err why = {0};

	// a call we cannot read or store fails the run (502), never skipped
	if (retell_call_parse(call, run->arena, &rec, &why) < 0) {
		return sync_call_failed(err, &why);
	}
	if (word_timings != NULL) {
		rec.transcript_object = word_timings;
	}
	if (calls_upsert_retell(app->db, run->arena, &rec, run->user_id,
				agents_assigned_uuid(&run->agents, rec.agent_id), &result,
				&why) < 0) {
		return sync_call_failed(err, &why);
	}
	run->calls_seen++;
	run->calls_inserted += result.inserted;
	run->calls_updated += !result.inserted;
	if (rec.start_ms > *cursor) {
		*cursor = rec.start_ms;
	}
	return 0;
}

// Fetches n full calls at once and upserts each as soon as it is parsed: a parsed call with
// its word-level transcript takes about a megabyte, so only one chunk is ever held, and each
// call's text copies (its own arena) go once it is stored.
static int fetch_and_upsert(struct app *app, struct sync_run *run, const char *api_key,
			    struct httpc_batch_item *batch, size_t n, int64_t *cursor,
			    struct err *err) {
	char *auth = arena_printf(run->arena, "Authorization: Bearer %s", api_key);
	const char *headers[] = {auth, "Accept: application/json", NULL};
	struct arena *one_call = arena_create();
	int rc = 0;

	httpc_get_batch(app->httpc, headers, batch, n, (int)app->cfg.sync_detail_concurrency,
			run->deadline_ms, &run->retries);
	secrets_wipe(auth);
	for (size_t b = 0; b < n && rc == 0; b++) {
		struct json_object *full = NULL;
		const char *word_timings = NULL;
		struct err bad = {0};
		if (batch[b].status == 0) {
			rc = err_set(err, batch[b].err.status, batch[b].err.code, "%s",
				     batch[b].err.msg);
		} else if (batch[b].status != 200) {
			rc = retell_client_status_error(batch[b].status, err);
		} else if ((full = retell_call_document_parse(batch[b].body.data, batch[b].body.len,
							      NULL, one_call, &word_timings,
							      &bad)) == NULL) {
			rc = err_set(err, 502, "provider_bad_answer",
				     "provider answered malformed JSON");
		} else {
			rc = upsert_call(app, run, full, word_timings, cursor, err);
		}
		json_object_put(full);
		arena_reset(one_call);
	}
	for (size_t b = 0; b < n; b++) {
		buf_finish(&batch[b].body);
		memset(&batch[b], 0, sizeof(batch[b]));
	}
	arena_destroy(one_call);
	return rc;
}

// The workspace whose key listed these calls owns their agents: its deliveries are verified
// with that key (connections_retell_signers).
static int learn_workspace(struct app *app, struct sync_run *run, struct json_object *items,
			   struct err *err) {
	struct json_object *ids = json_object_new_array();
	int rc;

	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *agent = NULL;
		if (json_object_object_get_ex(json_object_array_get_idx(items, i), "agent_id",
					      &agent) &&
		    json_object_is_type(agent, json_type_string)) {
			json_object_array_add(ids, json_object_get(agent));
		}
	}
	rc = json_object_array_length(ids) == 0
		     ? 0
		     : agents_learn_retell_workspace(app->db, run->arena, run->user_id,
						     jsonh_to_string(ids), err);
	json_object_put(ids);
	return rc;
}

// Stores a page in one transaction: calls the list gave in full directly, the others fetched
// in chunks; then moves the cursor past the page.
static int store_page(struct app *app, struct sync_run *run, const char *api_key,
		      struct json_object *items, struct err *err) {
	size_t chunk = (size_t)app->cfg.sync_detail_concurrency * DETAIL_CHUNK_PER_SLOT;
	struct httpc_batch_item *batch = arena_alloc(run->arena, sizeof(*batch) * chunk);
	struct json_object *complete = NULL;
	int64_t cursor = run->cursor_ms;
	size_t pending = 0;
	int rc = -1;

	memset(batch, 0, sizeof(*batch) * chunk);
	if (complete_ids(app, run->arena, items, &complete, err) < 0 ||
	    db_begin(app->db, err) < 0) {
		goto done;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *item = json_object_array_get_idx(items, i);
		struct json_object *id = NULL;

		if (!needs_detail(item, complete) ||
		    !json_object_object_get_ex(item, "call_id", &id)) {
			if (upsert_call(app, run, item, NULL, &cursor, err) < 0) {
				goto done;
			}
			continue;
		}
		batch[pending++].url =
			retell_client_call_url(app, run->arena, json_object_get_string(id));
		if (pending == chunk) {
			if (fetch_and_upsert(app, run, api_key, batch, pending, &cursor, err) < 0) {
				goto done;
			}
			pending = 0;
		}
	}
	if (pending > 0 && fetch_and_upsert(app, run, api_key, batch, pending, &cursor, err) < 0) {
		goto done;
	}
	run->pages++;
	run->cursor_ms = cursor;
	rc = learn_workspace(app, run, items, err) < 0 ? -1
						       : sync_page_commit(app, run, cursor, err);
done:
	json_object_put(complete);
	return rc;
}

static int sync_user(struct app *app, struct sync_run *run, struct err *err) {
	struct secrets_use use = {run->user_id,	 "retell",     run->actor_kind,
				  run->actor_id, "sync calls", run->request_id};
	struct retell_call_filter filter = {
		.since_ms = run->cursor_ms < 0 ? 0 : run->cursor_ms - app->cfg.sync_overlap_ms,
		.agent_ids = run->agents.provider_ids,
		.limit = PAGE_SIZE,
		.deadline_ms = run->deadline_ms,
	};
	char *key = NULL;
	char *next = NULL;
	int rc = -1;

	if (connections_load_access_token(app, run->run_arena, &use, &key, err) < 0) {
		return -1;
	}
	do {
		struct retell_page page;
		int stored;

		if (sync_check_deadline(run, err) < 0 ||
		    retell_client_list_calls(app, run->arena, key, &filter, next, &page, err) < 0) {
			goto done;
		}
		free(next);
		next = NULL;
		run->retries += page.retries;
		stored = store_page(app, run, key, page.items, err) == 0;
		if (stored && page.next_key != NULL && (next = strdup(page.next_key)) == NULL) {
			abort();
		}
		retell_page_finish(&page);
		if (!stored) {
			goto done;
		}
	} while (next != NULL);
	rc = 0;
done:
	free(next);
	secrets_wipe(key);
	return rc;
}

const struct sync_provider retell_sync_provider = {
	.name = "retell",
	.lock_class = 727101,
	.agent_column = AGENTS_RETELL_ID,
	.sync_user = sync_user,
};
