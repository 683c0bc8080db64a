/* highlevel_tokens.c: access tokens refreshed under the api_keys row lock. */
#include "common/highlevel_tokens.h"

#include <inttypes.h>
#include <string.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/db.h"
#include "common/highlevel_client.h"
#include "common/log.h"
#include "common/secrets.h"

#define SERVICE "highlevel"
#define STR_(x) #x
#define STR(x)	STR_(x)

// due: refresh first; valid: the stored access token still works for now.
// clang-format off
#define SELECT_COLUMNS                                                                        \
	"SELECT access_token, refresh_token, location_id, is_active, status,"                 \
	" (token_expires_at IS NULL OR token_expires_at <= now() + interval '"                \
	STR(HIGHLEVEL_REFRESH_AHEAD_S) " seconds') AS due,"                                   \
	" (token_expires_at IS NULL OR token_expires_at > now()) AS valid"                    \
	" FROM api_keys WHERE user_id = $1::uuid AND service = 'highlevel'"
// clang-format on

struct row {
	const char *access_sealed;
	const char *refresh_sealed;
	const char *location_id;
	int due;
	int valid;
};

// Reads the connection row; fails unless it is active and holds an access token.
static int load(struct app *app, struct arena *arena, const char *user_id, int lock,
		struct row *row, struct err *err) {
	const char *params[] = {user_id};
	struct db_rows rows;
	const char *status;

	if (db_exec(app->db, arena, lock ? "highlevel_token_lock" : "highlevel_token_peek",
		    lock ? SELECT_COLUMNS " FOR UPDATE" : SELECT_COLUMNS, 1, params, &rows,
		    err) < 0) {
		return -1;
	}
	status = rows.nrows == 1 ? db_get(&rows, 0, "status") : NULL;
	if (status != NULL && strcmp(status, "refresh_rejected") == 0) {
		return err_set(err, 422, "reconnect_required",
			       "the connected account's authorisation was revoked or has expired;"
			       " authorise it again");
	}
	if (rows.nrows == 0 || strcmp(db_get(&rows, 0, "is_active"), "t") != 0 ||
	    db_get(&rows, 0, "access_token") == NULL) {
		return err_set(err, 404, "not_connected", "no active connection for this user");
	}
	row->access_sealed = db_get(&rows, 0, "access_token");
	row->refresh_sealed = db_get(&rows, 0, "refresh_token");
	row->location_id = db_get(&rows, 0, "location_id");
	row->due = strcmp(db_get(&rows, 0, "due"), "t") == 0;
	row->valid = strcmp(db_get(&rows, 0, "valid"), "t") == 0;
	return 0;
}

static int audit(struct app *app, struct arena *arena, const struct secrets_use *use,
		 const char *purpose, struct err *err) {
	struct secrets_use u = *use;

	u.service = SERVICE;
	u.purpose = purpose;
	return secrets_audit(app, arena, &u, err);
}

// Audits the use and opens the stored access token into out.
static int use_stored(struct app *app, struct arena *arena, const struct secrets_use *use,
		      const struct row *row, struct highlevel_conn *out, struct err *err) {
	if (audit(app, arena, use, use->purpose, err) < 0) {
		return -1;
	}
	out->access_token = secrets_open(app, arena, use->user_id, SERVICE, "access_token",
					 row->access_sealed, err);
	out->location_id = row->location_id;
	return out->access_token != NULL ? 0 : -1;
}

// The provider refused the refresh token: the connection is over until the user authorises
// again. Marked in the open transaction, which the caller commits.
static int mark_rejected(struct app *app, struct arena *arena, const char *user_id,
			 const struct err *why, struct err *err) {
	const char *params[] = {user_id, why->msg};

	log_warn("refresh token of user %s refused by the provider: connection marked inactive",
		 user_id);
	return db_exec(app->db, arena, "highlevel_token_rejected",
		       "UPDATE api_keys SET is_active = false, status = 'refresh_rejected',"
		       " last_error = $2, access_token = NULL, refresh_token = NULL,"
		       " token_expires_at = NULL, updated_at = now()"
		       " WHERE user_id = $1::uuid AND service = 'highlevel'",
		       2, params, NULL, err);
}

// Seals and stores the new pair in the open transaction.
static int store(struct app *app, struct arena *arena, const char *user_id,
		 const struct highlevel_token *tok, struct err *err) {
	const char *access =
		secrets_seal(app, arena, user_id, SERVICE, "access_token", tok->access_token, err);
	const char *refresh = secrets_seal(app, arena, user_id, SERVICE, "refresh_token",
					   tok->refresh_token, err);
	const char *params[] = {user_id, access, refresh,
				arena_printf(arena, "%" PRId64, tok->expires_in), tok->location_id};

	if (access == NULL || refresh == NULL) {
		return -1;
	}
	return db_exec(app->db, arena, "highlevel_token_store",
		       "UPDATE api_keys SET access_token = $2, refresh_token = $3,"
		       " token_expires_at = now() + $4::bigint * interval '1 second',"
		       " location_id = COALESCE($5, location_id), status = 'connected',"
		       " last_error = NULL, token_refreshed_at = now(), updated_at = now()"
		       " WHERE user_id = $1::uuid AND service = 'highlevel'",
		       5, params, NULL, err);
}

// Refreshes with the row locked (transaction open); commits or rolls back before returning.
// *fallback is set when the refresh failed for a passing reason and the caller may use the
// stored token that is still valid.
static int refresh_locked(struct app *app, struct arena *arena, const struct secrets_use *use,
			  const struct row *row, struct highlevel_conn *out, int *fallback,
			  struct err *err) {
	struct highlevel_token tok;
	struct err why = {0};
	char *refresh;
	int rc;

	refresh = secrets_open(app, arena, use->user_id, SERVICE, "refresh_token",
			       row->refresh_sealed, err);
	if (refresh == NULL) {
		db_rollback(app->db);
		return -1;
	}
	rc = highlevel_client_refresh(app, arena, refresh, &tok, &why);
	secrets_wipe(refresh);
	if (rc < 0 && why.status == 422) {
		if (mark_rejected(app, arena, use->user_id, &why, err) < 0 ||
		    db_commit(app->db, err) < 0) {
			db_rollback(app->db);
			return -1;
		}
		struct err ignored = {0};
		(void)!audit(app, arena, use, "token refresh refused by the provider", &ignored);
		return err_set(err, 422, "reconnect_required", "%s", why.msg);
	}
	if (rc < 0) {
		db_rollback(app->db);
		*fallback = row->valid;
		log_warn("token refresh for user %s failed: %s", use->user_id, why.msg);
		return err_set(err, why.status, why.code, "%s", why.msg);
	}
	if (store(app, arena, use->user_id, &tok, err) < 0 || db_commit(app->db, err) < 0) {
		// the provider has rotated the refresh token we could not keep
		log_error("refreshed tokens of user %s could not be stored: %s", use->user_id,
			  err->msg);
		db_rollback(app->db);
		secrets_wipe(tok.access_token);
		secrets_wipe(tok.refresh_token);
		return -1;
	}
	secrets_wipe(tok.refresh_token);
	out->access_token = tok.access_token;
	out->location_id = tok.location_id != NULL ? tok.location_id : row->location_id;
	out->refreshed = 1;
	if (audit(app, arena, use, "token refresh", err) < 0 ||
	    audit(app, arena, use, use->purpose, err) < 0) {
		secrets_wipe(out->access_token);
		out->access_token = NULL;
		return -1;
	}
	return 0;
}

int highlevel_tokens_get(struct app *app, struct arena *arena, const struct secrets_use *use,
			 struct highlevel_conn *out, struct err *err) {
	struct row row = {0};
	int fallback = 0;

	memset(out, 0, sizeof(*out));
	if (load(app, arena, use->user_id, 0, &row, err) < 0) {
		return -1;
	}
	if (!row.due || row.refresh_sealed == NULL) {
		if (row.due && !row.valid) {
			return err_set(err, 422, "reconnect_required",
				       "the connected account's authorisation has expired; authorise it again");
		}
		return use_stored(app, arena, use, &row, out, err);
	}
	// the refresh holds the row until its result is committed; a second process waits here
	if (db_begin(app->db, err) < 0 ||
	    db_exec(app->db, arena, NULL, "SET LOCAL lock_timeout = '40s'", 0, NULL, NULL, err) <
		    0 ||
	    load(app, arena, use->user_id, 1, &row, err) < 0) {
		db_rollback(app->db);
		return -1;
	}
	if (!row.due || row.refresh_sealed == NULL) {
		// another process refreshed while we waited for the row
		db_rollback(app->db);
		return use_stored(app, arena, use, &row, out, err);
	}
	if (refresh_locked(app, arena, use, &row, out, &fallback, err) == 0) {
		return 0;
	}
	if (!fallback) {
		return -1;
	}
	// the provider is down but the stored token has minutes left: serve with it
	err_clear(err);
	return use_stored(app, arena, use, &row, out, err);
}
