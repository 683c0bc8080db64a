/* auth.c: JWT verification plus the profile lookup that decides admin. */
#include "common/auth.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/app.h"
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

int auth_caller(struct app *app, struct http_request *req, struct auth_caller *out) {
	const char *token = http_bearer(req);
	struct jwt_claims claims;

	out->kind = AUTH_ANON;
	out->user_id = NULL;
	if (token == NULL) {
		return err_set(&req->err, 401, "unauthorized", "missing bearer token");
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
