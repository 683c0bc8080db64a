/* sync.c: claiming users, run bookkeeping, cursors and the entry points of every sync. */
#include "common/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/connections.h"
#include "common/db.h"
#include "common/httpc.h"
#include "common/jsonh.h"
#include "common/log.h"
#include "common/search.h"
#include "common/whitelabel.h"

int sync_page_commit(struct app *app, struct sync_run *run, int64_t cursor_ms, struct err *err) {
	const char *params[] = {
		run->user_id,
		run->provider,
		cursor_ms >= 0 ? arena_printf(run->arena, "%lld", (long long)cursor_ms) : NULL,
		arena_printf(run->arena, "%ld", run->id),
		arena_printf(run->arena, "%d", run->pages),
		arena_printf(run->arena, "%d", run->calls_seen),
		arena_printf(run->arena, "%d", run->calls_inserted),
		arena_printf(run->arena, "%d", run->calls_updated),
		arena_printf(run->arena, "%d", run->retries),
	};

	if (db_exec(app->db, run->arena, "sync_page_commit",
		    "WITH state AS (INSERT INTO sync_state (user_id, provider, cursor_ms)"
		    " VALUES ($1::uuid, $2, $3::bigint) ON CONFLICT (user_id, provider) DO UPDATE"
		    " SET cursor_ms = greatest(sync_state.cursor_ms, EXCLUDED.cursor_ms))"
		    " UPDATE sync_runs SET pages = $5::int, calls_seen = $6::int,"
		    " calls_inserted = $7::int, calls_updated = $8::int, retries = $9::int"
		    " WHERE id = $4::bigint",
		    9, params, NULL, err) < 0 ||
	    db_commit(app->db, err) < 0) {
		db_rollback(app->db);
		return -1;
	}
	search_index_soon(app->db, run->arena); // the page's transcripts (0053)
	arena_reset(run->arena);
	return 0;
}

int sync_call_failed(struct err *err, const struct err *why) {
	if (why->status >= 400 && why->status < 500) {
		return err_set(err, 502, "provider_bad_answer", "%s", why->msg);
	}
	return err_set(err, why->status != 0 ? why->status : 500, why->code, "%s", why->msg);
}

int sync_check_deadline(const struct sync_run *run, struct err *err) {
	if (httpc_now_ms() > run->deadline_ms) {
		return err_set(err, 504, "sync_budget_exhausted",
			       "time budget used up; the next sync resumes from the last page stored");
	}
	return 0;
}

static const char *worker_name(struct arena *arena) {
	char host[128] = "unknown";

	gethostname(host, sizeof(host) - 1);
	return arena_printf(arena, "%s:%ld", host, (long)getpid());
}

static int start_run(struct app *app, struct arena *arena, const struct sync_request *rq,
		     struct sync_run *run, struct err *err) {
	static const char *const triggers[] = {"schedule", "manual", "cli"};
	const char *params[] = {run->user_id, run->provider, triggers[rq->trigger], rq->actor_id,
				worker_name(arena)};
	struct db_rows rows;

	if (db_exec(app->db, arena, "sync_run_start",
		    "WITH run AS (INSERT INTO sync_runs (user_id, provider, trigger, requested_by, worker)"
		    " VALUES ($1::uuid, $2, $3, $4::uuid, $5) RETURNING id)"
		    " SELECT (SELECT id FROM run) AS id, (SELECT cursor_ms FROM sync_state"
		    " WHERE user_id = $1::uuid AND provider = $2) AS cursor_ms",
		    5, params, &rows, err) < 0) {
		return -1;
	}
	run->id = strtol(db_get(&rows, 0, "id"), NULL, 10);
	run->cursor_ms = db_get(&rows, 0, "cursor_ms") != NULL
				 ? strtoll(db_get(&rows, 0, "cursor_ms"), NULL, 10)
				 : -1;
	return 0;
}

// "ok", "rate_limited" (the provider's quota stopped the run: not a failure) or "error".
static const char *run_status(const struct err *failure) {
	if (failure == NULL) {
		return "ok";
	}
	return strcmp(failure->code, HTTPC_QUOTA_SPENT) == 0 ? "rate_limited" : "error";
}

static void finish_run(struct app *app, struct arena *arena, const struct sync_run *run,
		       const struct err *failure) {
	struct err err = {0};
	const char *params[] = {
		arena_printf(arena, "%ld", run->id),
		run_status(failure),
		failure != NULL ? failure->msg : NULL,
		arena_printf(arena, "%d", run->pages),
		arena_printf(arena, "%d", run->calls_seen),
		arena_printf(arena, "%d", run->calls_inserted),
		arena_printf(arena, "%d", run->calls_updated),
		arena_printf(arena, "%d", run->retries),
		run->user_id,
		run->provider,
	};

	if (db_exec(app->db, arena, "sync_run_finish",
		    "WITH run AS (UPDATE sync_runs SET finished_at = now(), status = $2, error = $3,"
		    " pages = $4::int, calls_seen = $5::int, calls_inserted = $6::int,"
		    " calls_updated = $7::int, retries = $8::int WHERE id = $1::bigint)"
		    " INSERT INTO sync_state (user_id, provider, last_sync_at, last_status, last_error)"
		    " VALUES ($9::uuid, $10, now(), $2, $3) ON CONFLICT (user_id, provider) DO UPDATE"
		    " SET last_sync_at = now(), last_status = $2, last_error = $3",
		    10, params, NULL, &err) < 0) {
		log_error("cannot record the end of sync run %ld: %s", run->id, err.msg);
	}
}

static void add_user_json(struct sync_summary *s, const struct sync_run *run, const char *status,
			  const char *error) {
	struct json_object *u = json_object_new_object();

	jsonh_add_string(u, "user_id", run->user_id);
	jsonh_add_string(u, "status", status);
	jsonh_add_int64(u, "calls_seen", run->calls_seen);
	jsonh_add_int64(u, "calls_inserted", run->calls_inserted);
	jsonh_add_int64(u, "calls_updated", run->calls_updated);
	jsonh_add_int64(u, "pages", run->pages);
	jsonh_add_int64(u, "retries", run->retries);
	jsonh_add_string(u, "error", error);
	json_object_array_add(s->users, u);
}

// Syncs one claimed user and records the run.
static int run_user(struct app *app, struct arena *arena, const struct sync_provider *p,
		    const struct sync_request *rq, const char *user_id, int64_t round_deadline_ms,
		    struct sync_summary *s, struct err *err) {
	struct sync_run run = {
		.user_id = user_id,
		.provider = p->name,
		.actor_kind = rq->actor_kind,
		.actor_id = rq->actor_id,
		.request_id = rq->request_id,
		.deadline_ms = httpc_now_ms() + app->cfg.sync_user_budget_s * 1000,
	};
	struct err failure = {0};
	int cut = 0;
	int limited;
	int rc;

	if (round_deadline_ms != 0 && round_deadline_ms < run.deadline_ms) {
		run.deadline_ms = round_deadline_ms;
		cut = 1;
	}

	if (start_run(app, arena, rq, &run, err) < 0) {
		return -1;
	}
	run.run_arena = arena_create();
	run.arena = arena_create();
	rc = agents_load_assigned(app->db, run.run_arena, user_id, p->agent_column, &run.agents,
				  &failure);
	// with no agent assigned, no call of the account is the user's to see: nothing to fetch
	if (rc == 0 && run.agents.count > 0) {
		rc = p->sync_user(app, &run, &failure);
	}
	db_rollback(app->db); // an unfinished page is dropped; its calls come again next time
	finish_run(app, arena, &run, rc < 0 ? &failure : NULL);
	arena_destroy(run.arena);
	arena_destroy(run.run_arena);
	// cut by the call's budget, not its own: not a failure, the next call of the round goes on
	cut = cut && rc < 0 && strcmp(failure.code, "sync_budget_exhausted") == 0;
	limited = rc < 0 && strcmp(run_status(&failure), "rate_limited") == 0;
	if (cut) {
		s->remaining++;
	} else if (limited) {
		// pages stored so far keep their cursor: the next run resumes from there
		log_warn("sync %s of user %s stopped after %d pages: %s", p->name, user_id,
			 run.pages, failure.msg);
		s->rate_limited++;
	} else if (rc < 0) {
		log_warn("sync %s of user %s failed after %d pages: %s", p->name, user_id,
			 run.pages, failure.msg);
		s->failed++;
	} else {
		s->synced++;
	}
	s->calls_seen += run.calls_seen;
	s->calls_inserted += run.calls_inserted;
	s->calls_updated += run.calls_updated;
	add_user_json(s, &run, cut ? "partial" : run_status(rc < 0 ? &failure : NULL),
		      rc < 0 && !cut ? failure.msg : NULL);
	if (rc < 0 && !cut && !limited && rq->only_user != NULL) {
		return err_set(err, failure.status != 0 ? failure.status : 502, failure.code, "%s",
			       failure.msg);
	}
	return 0;
}

// A user is claimed by a transaction-scoped advisory lock, held by a transaction left open on
// a connection of its own (locks) while the user syncs; the pages commit on app->db. A lock of
// the session would not survive a pooler in transaction mode (PgBouncer, Supavisor): taken on
// one server connection, released on another. Ending the transaction, or the worker's death
// closing the connection, releases it at once. Nothing is written there: it ends in ROLLBACK.
// 1 when claimed (lock taken, not yet synced this round), 0 when locked elsewhere, 2 when
// already synced this round.
static int claim(struct db *locks, struct arena *arena, const struct sync_provider *p,
		 const char *user_id, const char *round_start, struct err *err) {
	const char *params[] = {arena_printf(arena, "%d", p->lock_class), user_id, p->name,
				round_start};
	struct db_rows rows;

	if (db_begin(locks, err) < 0 ||
	    db_exec(locks, arena, "sync_claim",
		    "SELECT pg_try_advisory_xact_lock($1::int, hashtext($2)) AS locked,"
		    " EXISTS (SELECT 1 FROM sync_state WHERE user_id = $2::uuid AND provider = $3"
		    " AND last_sync_at >= $4::timestamptz AND last_status = 'ok') AS done",
		    4, params, &rows, err) < 0) {
		db_rollback(locks);
		return -1;
	}
	if (strcmp(db_get(&rows, 0, "locked"), "t") != 0) {
		db_rollback(locks);
		return 0;
	}
	if (round_start != NULL && strcmp(db_get(&rows, 0, "done"), "t") == 0) {
		db_rollback(locks);
		return 2;
	}
	return 1;
}

static int list_users(struct app *app, struct arena *arena, const struct sync_provider *p,
		      const struct sync_request *rq, struct db_rows *users, struct err *err) {
	if (connections_active_users(app->db, arena, p->name, rq->only_user, users, err) < 0) {
		return -1;
	}
	if (rq->only_user != NULL && users->nrows == 0) {
		return err_set(err, 404, "not_connected", "this user has no active connection");
	}
	return 0;
}

static void progress(const struct sync_request *rq, const struct sync_provider *p, int done,
		     int total, const struct sync_summary *s) {
	if (rq->show_progress) {
		fprintf(stderr, "\rsync %s: user %d/%d, %ld calls (%ld new)%s", p->name, done,
			total, s->calls_seen, s->calls_inserted, done == total ? "\n" : "");
	}
}

int sync_users(struct app *app, const struct sync_provider *provider, const struct sync_request *rq,
	       struct sync_summary *out, struct err *err) {
	struct arena *arena = arena_create();
	struct db *locks = db_create(app->cfg.database_url);
	struct db_rows users;
	int64_t deadline_ms = rq->budget_ms > 0 ? httpc_now_ms() + rq->budget_ms : 0;
	const char *round;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->users = json_object_new_array();
	if (list_users(app, arena, provider, rq, &users, err) < 0) {
		goto done;
	}
	// the round starts at the listing (every row has it), unless the caller goes on with one
	round = rq->round != NULL ? rq->round
		: users.nrows > 0 ? db_get(&users, 0, "round_start")
				  : NULL;
	snprintf(out->round, sizeof(out->round), "%s", round != NULL ? round : "");
	for (int r = 0; r < users.nrows; r++) {
		const char *user_id = db_get(&users, r, "user_id");
		if (deadline_ms != 0 && httpc_now_ms() >= deadline_ms) {
			out->remaining +=
				users.nrows - r; // the next call of the round goes on here
			break;
		}
		// a named user is synced even if a round already did; a round skips what others did
		int claimed = claim(locks, arena, provider, user_id,
				    rq->only_user != NULL ? NULL : round, err);
		if (claimed < 0) {
			goto done;
		}
		if (claimed == 2) {
			out->skipped++;
			continue;
		}
		if (claimed == 0) {
			out->skipped++;
			out->locked++;
			if (rq->only_user != NULL) {
				err_set(err, 409, "sync_running",
					"a sync of this user is already running");
				goto done;
			}
			continue;
		}
		int failed = run_user(app, arena, provider, rq, user_id, deadline_ms, out, err);
		db_rollback(locks); // releases the claim
		progress(rq, provider, r + 1, users.nrows, out);
		if (failed < 0) {
			goto done;
		}
	}
	rc = 0;
done:
	db_destroy(locks);
	arena_destroy(arena);
	return rc;
}

struct json_object *sync_summary_json(const struct app *app, const struct sync_provider *provider,
				      const struct sync_summary *s, int label_for_client) {
	struct json_object *out = json_object_new_object();
	struct json_object *errors = json_object_new_array();

	for (size_t i = 0; s->users != NULL && i < json_object_array_length(s->users); i++) {
		struct json_object *u = json_object_array_get_idx(s->users, i);
		struct json_object *e = NULL;
		struct json_object *status = NULL;
		if (json_object_object_get_ex(u, "status", &status) &&
		    strcmp(json_object_get_string(status), "error") == 0 &&
		    json_object_object_get_ex(u, "error", &e) && e != NULL) {
			json_object_array_add(errors, json_object_get(e));
		}
	}
	jsonh_add_string(out, "provider",
			 whitelabel_provider_name(&app->cfg, !label_for_client, provider->name));
	jsonh_add_int64(out, "synced_users", s->synced);
	jsonh_add_int64(out, "failed_users", s->failed);
	jsonh_add_int64(out, "skipped_users", s->skipped);
	jsonh_add_int64(out, "rate_limited_users", s->rate_limited);
	jsonh_add_int64(out, "locked_users", s->locked);
	jsonh_add_int64(out, "remaining_users", s->remaining);
	json_object_object_add(out, "done", json_object_new_boolean(s->remaining == 0));
	jsonh_add_string(out, "round", s->round);
	jsonh_add_int64(out, "calls_seen", s->calls_seen);
	jsonh_add_int64(out, "calls_inserted", s->calls_inserted);
	jsonh_add_int64(out, "calls_updated", s->calls_updated);
	json_object_object_add(out, "users",
			       s->users != NULL ? json_object_get(s->users)
						: json_object_new_array());
	json_object_object_add(out, "errors", errors);
	return out;
}

int sync_request_from_http(struct app *app, struct http_request *req, struct sync_request *out) {
	struct auth_caller caller;
	struct json_object *body = NULL;
	const char *requested = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (auth_caller(app, req, &caller) < 0) {
		return -1;
	}
	if (http_json_body(req, &body) < 0 ||
	    jsonh_get_string(body, "user_id", 0, &requested, &req->err) < 0 ||
	    jsonh_get_string(body, "round", 0, &out->round, &req->err) < 0) {
		goto done;
	}
	requested = requested != NULL ? arena_strdup(req->arena, requested) : NULL;
	out->round = out->round != NULL ? arena_strdup(req->arena, out->round) : NULL;
	// an answer before nginx's timeout, with what is left for the next call
	out->budget_ms = app->cfg.sync_request_budget_s * 1000;
	if (caller.kind == AUTH_SERVICE && requested == NULL) {
		out->trigger = SYNC_SCHEDULE;
	} else if (auth_target_user(req, &caller, requested, &out->only_user) < 0) {
		goto done;
	} else {
		out->trigger = SYNC_MANUAL;
	}
	static const char *const kinds[] = {"anon", "client", "admin", "service"};
	out->actor_kind = kinds[caller.kind];
	out->actor_id = caller.user_id;
	out->request_id = req->request_id;
	out->label_for_client = caller.kind == AUTH_CLIENT;
	rc = 0;
done:
	json_object_put(body);
	return rc;
}

int sync_handle_http(struct app *app, struct http_request *req, struct http_response *resp,
		     const struct sync_provider *provider) {
	struct sync_request rq;
	struct sync_summary summary;
	int status;

	if (!http_method_is(req, "POST")) {
		return http_fail(req, 405, "method_not_allowed", "use POST");
	}
	if (sync_request_from_http(app, req, &rq) < 0) {
		return -1;
	}
	if (sync_users(app, provider, &rq, &summary, &req->err) < 0) {
		json_object_put(summary.users);
		return -1;
	}
	status = http_respond_json(resp, 200,
				   sync_summary_json(app, provider, &summary, rq.label_for_client));
	json_object_put(summary.users);
	return status;
}

int sync_cli(struct app *app, int argc, char **argv, const struct sync_provider *provider) {
	struct sync_request rq = {.trigger = SYNC_CLI,
				  .actor_kind = "cli",
				  .show_progress = isatty(STDERR_FILENO)};
	struct sync_summary summary;
	struct err err = {0};
	struct json_object *out;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--all") == 0) {
		rq.only_user = NULL;
	} else if (argc == 3 && strcmp(argv[1], "--user") == 0 && auth_is_uuid(argv[2])) {
		rq.only_user = argv[2];
	} else {
		fprintf(stderr,
			"usage: %s --all | --user USER_ID | --socket PATH | --check-config\n",
			argv[0]);
		return 2;
	}
	if (sync_users(app, provider, &rq, &summary, &err) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err.msg);
		json_object_put(summary.users);
		return 1;
	}
	out = sync_summary_json(app, provider, &summary, 0);
	printf("%s\n", jsonh_to_string(out));
	rc = summary.failed == 0 ? 0 : 1;
	json_object_put(out);
	json_object_put(summary.users);
	return rc;
}
