/* highlevel/tokens.c: access tokens refreshed under the api_keys row lock. */
#include "common/highlevel/tokens.h"

#include <string.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/connections.h"
#include "common/db.h"
#include "common/highlevel/client.h"
#include "common/log.h"
#include "common/secrets.h"

#define SERVICE "highlevel"

// Reads the connection row; fails unless it is active and holds an access token.
static int load(struct app *app, struct arena *arena, const char *user_id, int lock,
		struct connections_highlevel *row, struct err *err) {
	if (connections_highlevel_load(app->db, arena, user_id, lock, row, err) < 0) {
		return -1;
	}
	if (row->status != NULL && strcmp(row->status, "refresh_rejected") == 0) {
		return err_set(err, 422, "reconnect_required",
			       "the connected account's authorisation was revoked or has expired;"
			       " authorise it again");
	}
	if (!row->found || !row->active || row->access_sealed == NULL) {
		return err_set(err, 404, "not_connected", "no active connection for this user");
	}
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
		      const struct connections_highlevel *row, struct highlevel_conn *out,
		      struct err *err) {
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
	log_warn("refresh token of user %s refused by the provider: connection marked inactive",
		 user_id);
	return connections_highlevel_rejected(app->db, arena, user_id, why->msg, err);
}

// Seals the pair for api_keys(user_id, 'highlevel').
static int seal(struct app *app, struct arena *arena, const char *user_id,
		const struct highlevel_token *tok, struct connections_tokens *out,
		struct err *err) {
	out->access_sealed =
		secrets_seal(app, arena, user_id, SERVICE, "access_token", tok->access_token, err);
	out->refresh_sealed = secrets_seal(app, arena, user_id, SERVICE, "refresh_token",
					   tok->refresh_token, err);
	out->expires_in = tok->expires_in;
	out->location_id = tok->location_id;
	return out->access_sealed != NULL && out->refresh_sealed != NULL ? 0 : -1;
}

int highlevel_tokens_connect(struct app *app, struct arena *arena, const char *user_id,
			     const struct highlevel_token *tok, struct err *err) {
	struct connections_tokens sealed;

	if (seal(app, arena, user_id, tok, &sealed, err) < 0) {
		return -1;
	}
	return connections_highlevel_connect(app->db, arena, user_id, &sealed, err);
}

// Seals and stores the refreshed pair in the open transaction.
static int store(struct app *app, struct arena *arena, const char *user_id,
		 const struct highlevel_token *tok, struct err *err) {
	struct connections_tokens sealed;

	if (seal(app, arena, user_id, tok, &sealed, err) < 0) {
		return -1;
	}
	return connections_highlevel_refreshed(app->db, arena, user_id, &sealed, err);
}

// Refreshes with the row locked (transaction open); commits or rolls back before returning.
// *fallback is set when the refresh failed for a passing reason and the caller may use the
// stored token that is still valid.
static int refresh_locked(struct app *app, struct arena *arena, const struct secrets_use *use,
			  const struct connections_highlevel *row, struct highlevel_conn *out,
			  int *fallback, struct err *err) {
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
	struct connections_highlevel row = {0};
	struct err failed = {0};
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
	if (refresh_locked(app, arena, use, &row, out, &fallback, &failed) == 0) {
		return 0;
	}
	if (!fallback) {
		return err_set(err, failed.status, failed.code, "%s", failed.msg);
	}
	// the provider is down but the stored token has minutes left: serve with it
	return use_stored(app, arena, use, &row, out, err);
}
