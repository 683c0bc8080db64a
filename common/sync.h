/* sync: the provider-independent part of a call sync: which users to sync (claimed through
 * PostgreSQL transaction-scoped advisory locks so several workers on several hosts never sync
 * a user twice at once, also behind a pooler in transaction mode), the user's assigned
 * agents, the run's and the page's memory, the sync_runs row, the per-page cursor, and the HTTP
 * and command-line entry points. A provider supplies a table (struct sync_provider: its name,
 * lock class, agent column) and sync_user. */
#ifndef COMMON_SYNC_H
#define COMMON_SYNC_H

#include <stdint.h>

#include "common/agents.h"
#include "common/err.h"

struct app;
struct arena;
struct auth_caller;
struct http_request;
struct http_response;
struct json_object;

enum sync_trigger { SYNC_SCHEDULE, SYNC_MANUAL, SYNC_CLI };

/* One user's run. The provider reads user_id / cursor_ms / deadline_ms / agents, keeps what
 * lasts the run (its key or token) in run_arena, uses arena for the current page (reset by
 * sync_page_commit), and adds to the counters. Both arenas belong to the framework. */
struct sync_run {
	long id; /* sync_runs.id */
	const char *user_id;
	const char *provider;
	const char *actor_kind; /* who asked, for the key audit: service, admin, client, cli */
	const char *actor_id;
	const char *request_id;
	int64_t cursor_ms;	       /* start of the last committed call, -1 if never synced */
	int64_t deadline_ms;	       /* monotonic; past it the provider stops and reports */
	struct agents_assigned agents; /* the user's agents of this provider (never empty) */
	struct arena *run_arena;       /* lives as long as the run */
	struct arena *arena;	       /* the current page's memory */
	int calls_seen;
	int calls_inserted;
	int calls_updated;
	int pages;
	int retries;
};

struct sync_provider {
	const char *name; /* sync_state.provider and api_keys.service: "retell", "highlevel" */
	int lock_class;	  /* advisory lock class of its runs (the user id's hash is the object) */
	enum agents_column agent_column; /* which provider id the user's agents are listed by */
	/* Syncs run->user_id from run->cursor_ms on: for each page, db_begin, upsert its calls,
	 * then sync_page_commit. Returns 0, or -1 with err set (the run is recorded as failed).
	 * Not called when the user has no agent of this provider assigned. */
	int (*sync_user)(struct app *app, struct sync_run *run, struct err *err);
};

/* A provider's call the run could not read or store (why): the caller's request was read
 * before the run, so a 4xx here means provider data, not the caller's: 502
 * "provider_bad_answer" with why's message; other failures keep theirs. Returns -1. */
int sync_call_failed(struct err *err, const struct err *why);

/* -1 with 504 "sync_budget_exhausted" once run->deadline_ms has passed, else 0. */
int sync_check_deadline(const struct sync_run *run, struct err *err) MUSTCHECK;

/* Stores the page's new cursor and the run's counters, then commits the page's transaction
 * (opened by the provider with db_begin). Resets run->arena. */
int sync_page_commit(struct app *app, struct sync_run *run, int64_t cursor_ms,
		     struct err *err) MUSTCHECK;

/* What a sync call did; users is a JSON array the caller owns (json_object_put). */
struct sync_summary {
	int synced;
	int failed;
	int skipped;   /* locked + already synced in this round */
	int locked;    /* being synced by another worker right now */
	int remaining; /* left for the next call of the round: not reached, or cut by the budget */
	int rate_limited; /* stopped by the provider's quota (HTTPC_QUOTA_SPENT); resume next run */
	char round[48];	  /* the round's start (a timestamp): pass it back to go on */
	long calls_seen;
	long calls_inserted;
	long calls_updated;
	struct json_object *users;
};

/* Syncs one user (only_user) or every user with an active connection of the provider.
 * A single user that is not connected: 404; being synced elsewhere: 409. */
struct sync_request {
	enum sync_trigger trigger;
	const char *only_user; /* NULL: all users */
	const char *actor_kind;
	const char *actor_id;
	const char *request_id;
	int show_progress;    /* a progress line on stderr (terminal) */
	int label_for_client; /* white-label the provider name in the summary */
	/* Continues a round (a sync_summary's round): users synced well since then are skipped.
	 * NULL starts a new round now. */
	const char *round;
	/* 0, or the whole call's time budget: no user is started past it, a user's run is cut at
	 * it (resuming from its cursor next call), and the rest is reported as remaining */
	int64_t budget_ms;
};
int sync_users(struct app *app, const struct sync_provider *provider,
	       const struct sync_request *request, struct sync_summary *out,
	       struct err *err) MUSTCHECK;

/* The summary as the functions answer it (new object, caller puts). */
struct json_object *sync_summary_json(const struct app *app, const struct sync_provider *provider,
				      const struct sync_summary *summary, int label_for_client);

/* Reads a sync request from HTTP: POST; service role without user_id = every user (the daily
 * job), {"round": ...} going on with an unfinished round; admins name a user_id; a user syncs
 * themselves. The budget is SYNC_REQUEST_BUDGET_S, below nginx's timeout. Fills request
 * (arena strings). */
int sync_request_from_http(struct app *app, struct http_request *req,
			   struct sync_request *out) MUSTCHECK;

/* The whole HTTP handler body for a one-provider sync function. */
int sync_handle_http(struct app *app, struct http_request *req, struct http_response *resp,
		     const struct sync_provider *provider);

/* Command-line mode: `--all` or `--user ID`; prints the summary JSON, exit 0 when no user
 * failed. */
int sync_cli(struct app *app, int argc, char **argv, const struct sync_provider *provider);

#endif
