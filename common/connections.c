/* connections.c: the api_keys statements. */
#include "common/connections.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/db.h"
#include "common/highlevel/tokens.h"
#include "common/secrets.h"

#define STR_(x) #x
#define STR(x)	STR_(x)

int connections_load_access_token(struct app *app, struct arena *arena,
				  const struct secrets_use *use, char **plaintext,
				  struct err *err) {
	const char *params[] = {use->user_id, use->service};
	struct db_rows rows;

	*plaintext = NULL;
	if (db_exec(app->db, arena, "connections_access_token",
		    "SELECT access_token FROM api_keys WHERE user_id = $1::uuid AND service = $2"
		    " AND is_active AND access_token IS NOT NULL",
		    2, params, &rows, err) < 0) {
		return -1;
	}
	if (rows.nrows == 0) {
		return err_set(err, 404, "not_connected", "no active connection for this user");
	}
	if (secrets_audit(app, arena, use, err) < 0) {
		return -1;
	}
	*plaintext = secrets_open(app, arena, use->user_id, use->service, "access_token",
				  db_get(&rows, 0, "access_token"), err);
	return *plaintext != NULL ? 0 : -1;
}

int connections_active_users(struct db *db, struct arena *arena, const char *service,
			     const char *only_user, struct db_rows *users, struct err *err) {
	const char *params[] = {service, only_user};

	return db_exec(db, arena, "connections_active_users",
		       "SELECT user_id, now()::text AS round_start FROM api_keys WHERE service = $1"
		       " AND is_active AND ($2::uuid IS NULL OR user_id = $2::uuid) ORDER BY user_id",
		       2, params, users, err);
}

int connections_agent_owner(struct db *db, struct arena *arena, const char *agent_id,
			    const char *service, const char **user_id, struct err *err) {
	const char *params[] = {agent_id, service};
	struct db_rows rows;

	*user_id = NULL;
	if (db_exec(db, arena, "connections_agent_owner",
		    "SELECT ua.user_id FROM user_agents ua"
		    " JOIN api_keys k ON k.user_id = ua.user_id AND k.service = $2 AND k.is_active"
		    " WHERE ua.agent_id = $1::uuid ORDER BY ua.created_at LIMIT 1",
		    2, params, &rows, err) < 0) {
		return -1;
	}
	*user_id = rows.nrows == 1 ? db_get(&rows, 0, "user_id") : NULL;
	return 0;
}

int connections_retell_connect(struct db *db, struct arena *arena, const char *user_id,
			       const char *sealed_key, const char *key_hint, struct err *err) {
	const char *params[] = {user_id, sealed_key, key_hint};

	return db_exec(db, arena, "connections_retell_connect",
		       "INSERT INTO api_keys (user_id, service, access_token, refresh_token,"
		       " token_expires_at, location_id, is_active, key_hint)"
		       " VALUES ($1::uuid, 'retell', $2, NULL, NULL, NULL, true, $3)"
		       " ON CONFLICT (user_id, service) DO UPDATE SET access_token = EXCLUDED.access_token,"
		       " refresh_token = NULL, token_expires_at = NULL, location_id = NULL,"
		       " is_active = true, key_hint = EXCLUDED.key_hint, updated_at = now()",
		       3, params, NULL, err);
}

int connections_retell_status(struct db *db, struct arena *arena, const char *user_id,
			      struct db_rows *rows, struct err *err) {
	const char *params[] = {user_id};

	return db_exec(db, arena, "connections_retell_status",
		       "SELECT k.is_active, k.key_hint,"
		       " to_char(k.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS since,"
		       " to_char(s.last_sync_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_sync_at,"
		       " s.last_status, s.last_error"
		       " FROM api_keys k LEFT JOIN sync_state s ON s.user_id = k.user_id AND s.provider = 'retell'"
		       " WHERE k.user_id = $1::uuid AND k.service = 'retell'",
		       1, params, rows, err);
}

int connections_retell_disconnect(struct db *db, struct arena *arena, const char *user_id,
				  int *removed, long *assigned_agents, struct err *err) {
	const char *params[] = {user_id};
	struct db_rows rows;

	*removed = 0;
	*assigned_agents = 0;
	// the sealed key is erased, not kept: a disconnected workspace must be re-entered anyway
	if (db_exec(db, arena, "connections_retell_disconnect",
		    "WITH off AS (UPDATE api_keys SET is_active = false, access_token = NULL,"
		    " key_hint = NULL, updated_at = now() WHERE user_id = $1::uuid AND service = 'retell'"
		    " AND is_active"
		    " RETURNING 1)"
		    " SELECT (SELECT count(*) FROM off) AS removed,"
		    " (SELECT count(*) FROM user_agents WHERE user_id = $1::uuid"
		    " AND source_platform = 'retell') AS assigned_agents",
		    1, params, &rows, err) < 0) {
		return -1;
	}
	*removed = strcmp(db_get(&rows, 0, "removed"), "0") != 0;
	*assigned_agents = strtol(db_get(&rows, 0, "assigned_agents"), NULL, 10);
	return 0;
}

int connections_retell_signers(struct db *db, struct arena *arena, const char *agent_id,
			       const char *user_id, struct db_rows *rows, struct err *err) {
	const char *params[] = {agent_id, user_id};

	// owners: the workspaces that listed the agent with the key stored now (a key stored
	// later may be another workspace's); when there are any, only they are tried
	// every delivery runs it: prepared, or parse and plan were most of its cost
	return db_exec_prepared(db, arena, "connections_retell_signers",
				"WITH owners AS (SELECT w.user_id FROM retell_agent_workspaces w"
				" JOIN api_keys k ON k.user_id = w.user_id AND k.service = 'retell'"
				" AND k.is_active AND w.learned_at >= k.updated_at"
				" WHERE w.retell_agent_id = $1)"
				" SELECT k.user_id, k.access_token, ua.agent_id AS agent_uuid"
				" FROM api_keys k"
				" LEFT JOIN agents a ON a.retell_agent_id = $1"
				" LEFT JOIN user_agents ua ON ua.agent_id = a.id AND ua.user_id = k.user_id"
				" WHERE k.service = 'retell' AND k.is_active"
				" AND ($2::uuid IS NULL OR k.user_id = $2::uuid)"
				" AND ($2::uuid IS NOT NULL OR NOT EXISTS (SELECT 1 FROM owners)"
				" OR k.user_id IN (SELECT user_id FROM owners))"
				" ORDER BY (ua.agent_id IS NULL), k.updated_at DESC"
				" LIMIT " STR(CONNECTIONS_MAX_SIGNERS),
				2, params, rows, err);
}

// due: refresh first; valid: the stored access token still works for now.
// clang-format off
#define HIGHLEVEL_SELECT                                                                      \
	"SELECT access_token, refresh_token, location_id, is_active, status,"                 \
	" (token_expires_at IS NULL OR token_expires_at <= now() + interval '"                \
	STR(HIGHLEVEL_REFRESH_AHEAD_S) " seconds') AS due,"                                   \
	" (token_expires_at IS NULL OR token_expires_at > now()) AS valid"                    \
	" FROM api_keys WHERE user_id = $1::uuid AND service = 'highlevel'"
// clang-format on

int connections_highlevel_load(struct db *db, struct arena *arena, const char *user_id, int lock,
			       struct connections_highlevel *out, struct err *err) {
	const char *params[] = {user_id};
	struct db_rows rows;

	memset(out, 0, sizeof(*out));
	if (db_exec(db, arena, lock ? "connections_highlevel_lock" : "connections_highlevel_peek",
		    lock ? HIGHLEVEL_SELECT " FOR UPDATE" : HIGHLEVEL_SELECT, 1, params, &rows,
		    err) < 0) {
		return -1;
	}
	if (rows.nrows == 0) {
		return 0;
	}
	out->found = 1;
	out->active = strcmp(db_get(&rows, 0, "is_active"), "t") == 0;
	out->status = db_get(&rows, 0, "status");
	out->access_sealed = db_get(&rows, 0, "access_token");
	out->refresh_sealed = db_get(&rows, 0, "refresh_token");
	out->location_id = db_get(&rows, 0, "location_id");
	out->due = strcmp(db_get(&rows, 0, "due"), "t") == 0;
	out->valid = strcmp(db_get(&rows, 0, "valid"), "t") == 0;
	return 0;
}

// $1..$5 of both token statements: user, access, refresh, expires_in, location.
static void tokens_params(struct arena *arena, const char *user_id,
			  const struct connections_tokens *t, const char *params[5]) {
	params[0] = user_id;
	params[1] = t->access_sealed;
	params[2] = t->refresh_sealed;
	params[3] = arena_printf(arena, "%" PRId64, t->expires_in);
	params[4] = t->location_id;
}

int connections_highlevel_connect(struct db *db, struct arena *arena, const char *user_id,
				  const struct connections_tokens *t, struct err *err) {
	const char *params[5];

	tokens_params(arena, user_id, t, params);

	return db_exec(db, arena, "connections_highlevel_connect",
		       "INSERT INTO api_keys (user_id, service, access_token, refresh_token,"
		       " token_expires_at, location_id, is_active, status, last_error, token_refreshed_at)"
		       " VALUES ($1::uuid, 'highlevel', $2, $3, now() + $4::bigint * interval '1 second',"
		       " $5, true, 'connected', NULL, now())"
		       " ON CONFLICT (user_id, service) DO UPDATE SET access_token = EXCLUDED.access_token,"
		       " refresh_token = EXCLUDED.refresh_token,"
		       " token_expires_at = EXCLUDED.token_expires_at, location_id = EXCLUDED.location_id,"
		       " is_active = true, status = 'connected', last_error = NULL,"
		       " token_refreshed_at = now(), updated_at = now()",
		       5, params, NULL, err);
}

int connections_highlevel_refreshed(struct db *db, struct arena *arena, const char *user_id,
				    const struct connections_tokens *t, struct err *err) {
	const char *params[5];

	tokens_params(arena, user_id, t, params);

	return db_exec(db, arena, "connections_highlevel_refreshed",
		       "UPDATE api_keys SET access_token = $2, refresh_token = $3,"
		       " token_expires_at = now() + $4::bigint * interval '1 second',"
		       " location_id = COALESCE($5, location_id), status = 'connected',"
		       " last_error = NULL, token_refreshed_at = now(), updated_at = now()"
		       " WHERE user_id = $1::uuid AND service = 'highlevel'",
		       5, params, NULL, err);
}

int connections_highlevel_rejected(struct db *db, struct arena *arena, const char *user_id,
				   const char *reason, struct err *err) {
	const char *params[] = {user_id, reason};

	return db_exec(db, arena, "connections_highlevel_rejected",
		       "UPDATE api_keys SET is_active = false, status = 'refresh_rejected',"
		       " last_error = $2, access_token = NULL, refresh_token = NULL,"
		       " token_expires_at = NULL, updated_at = now()"
		       " WHERE user_id = $1::uuid AND service = 'highlevel'",
		       2, params, NULL, err);
}

#define ISO_UTC_S(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

int connections_status(struct db *db, struct arena *arena, const char *user_id,
		       struct db_rows *rows, struct err *err) {
	const char *params[] = {user_id};

	return db_exec(db, arena, "connections_status",
		       "SELECT p.service, k.is_active, k.status, k.key_hint, k.location_id,"
		       " " ISO_UTC_S(
			       "k.token_expires_at") " AS token_expires_at,"
						     " " ISO_UTC_S(
							     "k.updated_at") " AS since,"
									     " " ISO_UTC_S(
										     "s.last_sync_at") " AS last_sync_at, s.last_status AS last_sync_status,"
												       " coalesce(k.last_error, s.last_error) AS last_error,"
												       " coalesce((SELECT json_agg(json_build_object('id', a.id, 'name', a.name)"
												       " ORDER BY a.name, a.id) FROM user_agents ua JOIN agents a ON a.id = ua.agent_id"
												       " WHERE ua.user_id = $1::uuid AND a.source_platform = p.service), '[]')::text AS agents"
												       " FROM (VALUES ('highlevel'), ('retell')) p (service)"
												       " LEFT JOIN api_keys k ON k.user_id = $1::uuid AND k.service = p.service"
												       " LEFT JOIN sync_state s ON s.user_id = $1::uuid AND s.provider = p.service"
												       " ORDER BY p.service",
		       1, params, rows, err);
}

int connections_highlevel_disconnect(struct db *db, struct arena *arena, const char *user_id,
				     int *removed, struct err *err) {
	const char *params[] = {user_id};
	struct db_rows rows;

	*removed = 0;
	if (db_exec(db, arena, "connections_highlevel_disconnect",
		    "UPDATE api_keys SET is_active = false, status = 'disconnected', last_error = NULL,"
		    " access_token = NULL, refresh_token = NULL, token_expires_at = NULL,"
		    " updated_at = now()"
		    " WHERE user_id = $1::uuid AND service = 'highlevel' AND is_active RETURNING 1",
		    1, params, &rows, err) < 0) {
		return -1;
	}
	*removed = rows.nrows > 0;
	return 0;
}
