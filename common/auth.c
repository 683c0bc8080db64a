/* auth.c: JWT verification plus the profile lookup that decides admin. */
#include "common/auth.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/app.h"
#include "common/crypto.h"
#include "common/db.h"
#include "common/jwt.h"

int auth_is_uuid(const char *s) {
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (s == NULL || strlen(s) != sizeof(shape) - 1) {
		return 0;
	}
	for (size_t i = 0; shape[i] != '\0'; i++) {
		char c = s[i];
		int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			  (c >= 'A' && c <= 'F');
		if (shape[i] == '-' ? c != '-' : !hex) {
			return 0;
		}
	}
	return 1;
}

int auth_user_kind(struct app *app, struct http_request *req, const char *user_id,
		   enum auth_kind *kind) {
	const char *params[] = {user_id};
	struct db_rows rows;
	const char *role;

	if (db_exec(app->db, req->arena, "auth_profile_role",
		    "SELECT role FROM profiles WHERE id = $1", 1, params, &rows, &req->err) < 0) {
		return -1;
	}
	role = rows.nrows == 1 ? db_get(&rows, 0, "role") : NULL;
	*kind = role != NULL && strcmp(role, "admin") == 0 ? AUTH_ADMIN : AUTH_CLIENT;
	return 0;
}

// 1 when key is one of the comma-separated keys of list. Every listed key of the same length
// is compared in full (CRYPTO_memcmp), so the time taken says nothing about a match.
static int listed_secret_key(const char *list, const char *key) {
	size_t key_len = strlen(key);
	int found = 0;

	while (list != NULL && *list != '\0') {
		size_t len = strcspn(list, ",");
		found |= len == key_len && crypto_equal(list, key, len);
		list += len + (list[len] == ',');
	}
	return found;
}

// Supabase's opaque API keys: sb_secret_... is the service role when SUPABASE_SECRET_KEYS
// lists it; any other (sb_publishable_..., an unknown or revoked secret) signs nobody in.
static int opaque_key_caller(struct app *app, struct http_request *req, const char *key,
			     struct auth_caller *out) {
	if (strncmp(key, "sb_secret_", 10) == 0 &&
	    listed_secret_key(app->cfg.supabase_secret_keys, key)) {
		out->kind = AUTH_SERVICE;
		return 0;
	}
	return err_set(&req->err, 401, "unauthorized",
		       strncmp(key, "sb_secret_", 10) == 0 ? "unknown secret key"
							   : "a signed-in user is required");
}

int auth_caller(struct app *app, struct http_request *req, struct auth_caller *out) {
	const char *token = http_bearer(req);
	const char *apikey = http_header(req, "apikey");
	struct jwt_claims claims;

	out->kind = AUTH_ANON;
	out->user_id = NULL;
	if (token == NULL && apikey != NULL && strncmp(apikey, "sb_", 3) == 0) {
		token = apikey; // a secret key may come alone in apikey, as Supabase's clients send
				// it
	}
	if (token == NULL) {
		return err_set(&req->err, 401, "unauthorized", "missing bearer token");
	}
	if (strncmp(token, "sb_", 3) == 0) {
		return opaque_key_caller(app, req, token, out);
	}
	if (jwt_verify(app->jwt, req->arena, token, app->cfg.jwt_audience, time(NULL), &claims,
		       &req->err) < 0) {
		return -1;
	}
	if (strcmp(claims.role, "service_role") == 0) {
		out->kind = AUTH_SERVICE;
		req->log_user = "service";
		return 0;
	}
	if (strcmp(claims.role, "authenticated") != 0 || !auth_is_uuid(claims.sub)) {
		return err_set(&req->err, 401, "unauthorized", "a signed-in user is required");
	}
	if (auth_user_kind(app, req, claims.sub, &out->kind) < 0) {
		return -1;
	}
	out->user_id = claims.sub;
	req->log_user = claims.sub; // a verified uuid: the access line's user=
	return 0;
}

int auth_require_admin(struct http_request *req, const struct auth_caller *caller) {
	if (caller->kind == AUTH_ADMIN || caller->kind == AUTH_SERVICE) {
		return 0;
	}
	return err_set(&req->err, 403, "forbidden", "admin only");
}

int auth_target_user(struct http_request *req, const struct auth_caller *caller,
		     const char *requested, const char **user_id) {
	*user_id = NULL;
	if (requested != NULL && !auth_is_uuid(requested)) {
		return err_set(&req->err, 400, "bad_field", "user_id must be a uuid");
	}
	if (caller->kind == AUTH_ADMIN || caller->kind == AUTH_SERVICE) {
		if (requested == NULL) {
			return err_set(&req->err, 400, "missing_field", "missing field: user_id");
		}
		*user_id = requested;
		return 0;
	}
	if (requested != NULL && strcasecmp(requested, caller->user_id) != 0) {
		return err_set(&req->err, 403, "forbidden", "you may only act for yourself");
	}
	*user_id = caller->user_id;
	return 0;
}

int auth_user_exists(struct app *app, struct http_request *req, const char *user_id) {
	const char *params[] = {user_id};
	struct db_rows rows;

	if (db_exec(app->db, req->arena, "auth_user_exists",
		    "SELECT 1 FROM auth.users WHERE id = $1::uuid", 1, params, &rows,
		    &req->err) < 0) {
		return -1;
	}
	return rows.nrows == 1 ? 0 : err_set(&req->err, 404, "not_found", "no such user");
}
