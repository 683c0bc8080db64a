/* retell_sync.c: Retell call sync for one user. */
#include "common/retell_sync.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/calls.h"
#include "common/db.h"
#include "common/httpc.h"
#include "common/jsonh.h"
#include "common/log.h"
#include "common/retell_call.h"
#include "common/retell_client.h"
#include "common/secrets.h"
#include "common/sync.h"

#define PAGE_SIZE 1000

struct agent_map {
	int count;
	const char **retell_ids;	/* NULL-terminated, for the list filter */
	const char **uuids;
};

static int load_agents(struct app *app, struct sync_run *run, struct agent_map *map,
		       struct err *err)
{
	const char *params[] = {run->user_id};
	struct db_rows rows;

	if (db_exec(app->db, run->arena, "retell_sync_agents",
		    "SELECT a.retell_agent_id, a.id FROM user_agents ua JOIN agents a ON a.id = ua.agent_id"
		    " WHERE ua.user_id = $1::uuid AND a.retell_agent_id IS NOT NULL ORDER BY 1",
		    1, params, &rows, err) < 0) {
		return -1;
	}
	map->count = rows.nrows;
	map->retell_ids = arena_alloc(run->arena, sizeof(char *) * (size_t)(rows.nrows + 1));
	map->uuids = arena_alloc(run->arena, sizeof(char *) * (size_t)(rows.nrows + 1));
	for (int r = 0; r < rows.nrows; r++) {
		map->retell_ids[r] = arena_strdup(run->arena, db_get(&rows, r, "retell_agent_id"));
		map->uuids[r] = arena_strdup(run->arena, db_get(&rows, r, "id"));
	}
	map->retell_ids[rows.nrows] = NULL;
	return 0;
}

static const char *agent_uuid(const struct agent_map *map, const char *retell_id)
{
	for (int i = 0; i < map->count; i++) {
		if (strcmp(map->retell_ids[i], retell_id) == 0) {
			return map->uuids[i];
		}
	}
	return NULL;
}

// The page's ids whose stored row already has transcript and recording: no detail fetch.
static int complete_ids(struct app *app, struct arena *arena, struct json_object *items,
			struct json_object **complete, struct err *err)
{
	struct json_object *ids = json_object_new_array();
	struct db_rows rows;
	int rc;

	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *id = NULL;
		if (json_object_object_get_ex(json_object_array_get_idx(items, i), "call_id", &id)) {
			json_object_array_add(ids, json_object_get(id));
		}
	}
	const char *params[] = {jsonh_to_string(ids)};
	rc = db_exec(app->db, arena, "retell_sync_complete",
		     "SELECT jsonb_object_agg(retell_call_id, true) AS ids FROM calls"
		     " WHERE retell_call_id IN (SELECT jsonb_array_elements_text($1::jsonb))"
		     " AND transcript IS NOT NULL AND recording_url IS NOT NULL",
		     1, params, &rows, err);
	json_object_put(ids);
	if (rc < 0) {
		return -1;
	}
	*complete = jsonh_parse("{}", 2, 2, err);
	if (db_get(&rows, 0, "ids") != NULL) {
		json_object_put(*complete);
		*complete = jsonh_parse(db_get(&rows, 0, "ids"), strlen(db_get(&rows, 0, "ids")),
					JSONH_MAX_DEPTH, err);
	}
	return *complete != NULL ? 0 : -1;
}

static int needs_detail(struct json_object *item, struct json_object *complete)
{
	const char *id = NULL;
	const char *status = NULL;
	struct err ignored = {0};

	if (jsonh_get_string(item, "call_id", 1, &id, &ignored) < 0 ||
	    jsonh_get_string(item, "call_status", 0, &status, &ignored) < 0) {
		return 0;
	}
	// calls still running or never connected have no transcript or recording yet
	if (status != NULL && (strcmp(status, "registered") == 0 || strcmp(status, "ongoing") == 0 ||
			       strcmp(status, "not_connected") == 0)) {
		return 0;
	}
	return !json_object_object_get_ex(complete, id, NULL);
}

// Replaces, in items, the calls the list shortened by their full form, fetched concurrently.
static int fetch_details(struct app *app, struct sync_run *run, const char *api_key,
			 struct json_object *items, struct err *err)
{
	size_t n = json_object_array_length(items);
	struct httpc_batch_item *batch = arena_alloc(run->arena, sizeof(*batch) * (n + 1));
	size_t *index = arena_alloc(run->arena, sizeof(*index) * (n + 1));
	struct json_object *complete = NULL;
	size_t count = 0;
	int rc = -1;
	char *auth = arena_printf(run->arena, "Authorization: Bearer %s", api_key);
	const char *headers[] = {auth, "Accept: application/json", NULL};

	if (complete_ids(app, run->arena, items, &complete, err) < 0) {
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(items, i);
		struct json_object *id = NULL;
		if (needs_detail(item, complete) && json_object_object_get_ex(item, "call_id", &id)) {
			memset(&batch[count], 0, sizeof(batch[count]));
			batch[count].url = retell_client_call_url(app, run->arena,
								  json_object_get_string(id));
			index[count++] = i;
		}
	}
	httpc_get_batch(app->httpc, headers, batch, count, (int)app->cfg.sync_detail_concurrency,
			run->deadline_ms, &run->retries);
	for (size_t b = 0; b < count; b++) {
		struct json_object *full = NULL;
		if (batch[b].status == 0) {
			err_set(err, batch[b].err.status, batch[b].err.code, "%s", batch[b].err.msg);
			goto done;
		}
		if (batch[b].status != 200) {
			retell_client_status_error(batch[b].status, err);
			goto done;
		}
		full = jsonh_parse(batch[b].body.data, batch[b].body.len, JSONH_MAX_DEPTH, err);
		if (full == NULL || !json_object_is_type(full, json_type_object)) {
			json_object_put(full);
			err_clear(err);
			err_set(err, 502, "provider_bad_answer", "provider call is not an object");
			goto done;
		}
		json_object_array_put_idx(items, index[b], full);
	}
	rc = 0;
done:
	for (size_t b = 0; b < count; b++) {
		buf_finish(&batch[b].body);
	}
	secrets_wipe(auth);
	json_object_put(complete);
	return rc;
}

// Upserts a page in one transaction and moves the cursor past it.
static int store_page(struct app *app, struct sync_run *run, const struct agent_map *agents,
		      struct json_object *items, struct err *err)
{
	int64_t cursor = run->cursor_ms;

	if (db_begin(app->db, err) < 0) {
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct call_record rec;
		struct calls_result result;
		if (retell_call_parse(json_object_array_get_idx(items, i), run->arena, &rec, err) < 0) {
			// the provider sent something we cannot store: name it, do not skip it silently
			err->status = 502;
			return -1;
		}
		if (calls_upsert_retell(app->db, run->arena, &rec, run->user_id,
					agent_uuid(agents, rec.agent_id), &result, err) < 0) {
			return -1;
		}
		run->calls_seen++;
		run->calls_inserted += result.inserted;
		run->calls_updated += !result.inserted;
		if (rec.start_ms > cursor) {
			cursor = rec.start_ms;
		}
	}
	run->pages++;
	run->cursor_ms = cursor;
	return sync_page_commit(app, run, cursor, err);
}

static int sync_user(struct app *app, struct sync_run *run, struct err *err)
{
	struct secrets_use use = {run->user_id, "retell", run->actor_kind, run->actor_id,
				  "sync calls", run->request_id};
	struct agent_map agents;
	struct arena *keep = run->arena;
	char *key = NULL;
	char *next = NULL;
	int rc = -1;

	// the agent list and the key live in the run's arena; pages get their own, reset per page
	if (load_agents(app, run, &agents, err) < 0) {
		return -1;
	}
	if (agents.count == 0) {
		return 0;	// nothing assigned: no call of this workspace is ours to show
	}
	if (secrets_load_access_token(app, keep, &use, &key, err) < 0) {
		return -1;
	}
	struct retell_call_filter filter = {
		.since_ms = run->cursor_ms < 0 ? 0 : run->cursor_ms - app->cfg.sync_overlap_ms,
		.agent_ids = agents.retell_ids,
		.limit = PAGE_SIZE,
		.deadline_ms = run->deadline_ms,
	};
	run->arena = arena_create();
	do {
		struct retell_page page;
		int stored;

		if (httpc_now_ms() > run->deadline_ms) {
			err_set(err, 504, "sync_budget_exhausted",
				"time budget used up; the next sync resumes from the last page stored");
			goto done;
		}
		if (retell_client_list_calls(app, run->arena, key, &filter, next, &page, err) < 0) {
			goto done;
		}
		free(next);
		next = NULL;
		run->retries += page.retries;
		stored = fetch_details(app, run, key, page.items, err) == 0 &&
			 store_page(app, run, &agents, page.items, err) == 0;
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
	arena_destroy(run->arena);
	run->arena = keep;
	secrets_wipe(key);
	return rc;
}

const struct sync_provider retell_sync_provider = {
	.name = "retell",
	.sync_user = sync_user,
};
