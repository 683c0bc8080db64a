/* connections: every statement on api_keys, the table of each user's provider connections (a
 * Retell API key, HighLevel OAuth tokens). Values arrive here already sealed and leave sealed;
 * sealing and opening stay in secrets. */
#ifndef COMMON_CONNECTIONS_H
#define COMMON_CONNECTIONS_H

#include <stdint.h>

#include "common/err.h"

struct app;
struct arena;
struct db;
struct db_rows;
struct secrets_use;

/* Opens the active api_keys(use->user_id, use->service) access token and audits the use.
 * No active connection: 404 "not_connected". The plaintext is arena-owned; wipe it. */
int connections_load_access_token(struct app *app, struct arena *arena,
				  const struct secrets_use *use, char **plaintext,
				  struct err *err) MUSTCHECK;

/* The users with an active connection of service (only_user alone when not NULL), ordered by
 * id: rows of user_id and round_start (the statement's now(), as text). */
int connections_active_users(struct db *db, struct arena *arena, const char *service,
			     const char *only_user, struct db_rows *users,
			     struct err *err) MUSTCHECK;

/* The first user (by assignment) with an active connection of service to whom agent_id (our
 * agents.id) is assigned: whose connection fetches that agent's calls. *user_id is NULL when
 * there is none. */
int connections_agent_owner(struct db *db, struct arena *arena, const char *agent_id,
			    const char *service, const char **user_id, struct err *err) MUSTCHECK;

/* Retell: stores a sealed key (active), replacing what the user had. */
int connections_retell_connect(struct db *db, struct arena *arena, const char *user_id,
			       const char *sealed_key, const char *key_hint,
			       struct err *err) MUSTCHECK;

/* Retell: the connection's status: one row (is_active, key_hint, since, last_sync_at,
 * last_status, last_error) or none. */
int connections_retell_status(struct db *db, struct arena *arena, const char *user_id,
			      struct db_rows *rows, struct err *err) MUSTCHECK;

/* Retell: deactivates the connection and erases its key. *removed is 0 when there was no
 * active one; *assigned_agents counts the user's Retell agents, which stay assigned. */
int connections_retell_disconnect(struct db *db, struct arena *arena, const char *user_id,
				  int *removed, long *assigned_agents, struct err *err) MUSTCHECK;

/* Retell: the active keys that could have signed a webhook delivery for provider agent
 * agent_id: only user_id's when not NULL; else the workspaces known to list the agent
 * (agents_learn_retell_workspaces), and only when none is known, every connected one. Rows of
 * user_id, access_token (sealed) and agent_uuid (set when the agent is assigned to that user),
 * owners of the agent first, at most CONNECTIONS_MAX_SIGNERS: a delivery costs that many
 * signature checks at worst, however many workspaces are connected (a never-listed agent's
 * delivery to the account-level URL is then verified among the most recently connected keys;
 * the per-user URL always works). */
#define CONNECTIONS_MAX_SIGNERS 8
int connections_retell_signers(struct db *db, struct arena *arena, const char *agent_id,
			       const char *user_id, struct db_rows *rows,
			       struct err *err) MUSTCHECK;

/* Both providers' connection status of user_id, one row each (highlevel, then retell), whether
 * or not the user ever connected: service, is_active (t/f, NULL: never), status, key_hint,
 * location_id, token_expires_at, since, last_sync_at (ISO 8601 UTC), last_sync_status,
 * last_error (the connection's, else the last sync's), agents (JSON array of the assigned
 * agents of that provider, {id, name} by name). */
int connections_status(struct db *db, struct arena *arena, const char *user_id,
		       struct db_rows *rows, struct err *err) MUSTCHECK;

/* HighLevel: deactivates the connection and erases its tokens (status 'disconnected').
 * *removed is 0 when there was no active one. Assigned agents stay assigned. */
int connections_highlevel_disconnect(struct db *db, struct arena *arena, const char *user_id,
				     int *removed, struct err *err) MUSTCHECK;

/* HighLevel: the connection row. found is 0 when the user has none. */
struct connections_highlevel {
	int found;
	int active;
	const char *status;	    /* connected | refresh_rejected | ... */
	const char *access_sealed;  /* NULL when none is stored */
	const char *refresh_sealed; /* NULL when none is stored */
	const char *location_id;
	int due;   /* the access token expires within refresh_ahead_s (or its expiry is unknown) */
	int valid; /* the access token has not expired yet */
};
/* lock: SELECT ... FOR UPDATE, inside the caller's transaction. */
int connections_highlevel_load(struct db *db, struct arena *arena, const char *user_id, int lock,
			       struct connections_highlevel *out, struct err *err) MUSTCHECK;

/* HighLevel: a new authorization: stores the sealed pair (active, status 'connected'). */
struct connections_tokens {
	const char *access_sealed;
	const char *refresh_sealed;
	int64_t expires_in; /* seconds from now */
	const char *location_id;
};
int connections_highlevel_connect(struct db *db, struct arena *arena, const char *user_id,
				  const struct connections_tokens *tokens,
				  struct err *err) MUSTCHECK;

/* HighLevel: a refreshed pair replaces the stored one (location kept when tokens has none). */
int connections_highlevel_refreshed(struct db *db, struct arena *arena, const char *user_id,
				    const struct connections_tokens *tokens,
				    struct err *err) MUSTCHECK;

/* HighLevel: the provider refused the refresh token: inactive, status 'refresh_rejected' with
 * reason as last_error, tokens erased. */
int connections_highlevel_rejected(struct db *db, struct arena *arena, const char *user_id,
				   const char *reason, struct err *err) MUSTCHECK;

#endif
