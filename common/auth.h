/* auth: who is calling: anonymous, a client, an admin (profiles.role in our database, never a
 * claim), or the service role (scheduled jobs). */
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include "common/err.h"

struct app;
struct http_request;

enum auth_kind { AUTH_ANON, AUTH_CLIENT, AUTH_ADMIN, AUTH_SERVICE };

struct auth_caller {
	enum auth_kind kind;
	const char *user_id; /* arena-owned; NULL for anon and service */
};

/* Identifies the caller from the Bearer token: a user's JWT (aud checked), Supabase's legacy
 * service_role key (the service role; the anon key is nobody), or an opaque sb_secret_ key
 * listed in SUPABASE_SECRET_KEYS (Bearer, or apikey alone). No token or an invalid one: 401.
 * A token whose user has no profile counts as a client. Database trouble: 503. */
int auth_caller(struct app *app, struct http_request *req, struct auth_caller *out) MUSTCHECK;

/* What user_id is now: AUTH_ADMIN when profiles.role says admin, else AUTH_CLIENT (no profile
 * included). Database trouble: 503. */
int auth_user_kind(struct app *app, struct http_request *req, const char *user_id,
		   enum auth_kind *kind) MUSTCHECK;

/* Convenience checks that set req->err: 403 unless admin or service role. */
int auth_require_admin(struct http_request *req, const struct auth_caller *caller) MUSTCHECK;

/* The user a request acts for: admins and the service role name one (requested, required);
 * a client acts only for themselves (requested NULL or their own id, else 403). A malformed
 * uuid is 400. */
int auth_target_user(struct http_request *req, const struct auth_caller *caller,
		     const char *requested, const char **user_id) MUSTCHECK;

/* 0 when user_id names a user in auth.users, else req->err 404 (or 503) and -1. */
int auth_user_exists(struct app *app, struct http_request *req, const char *user_id) MUSTCHECK;

/* 1 when s is a canonical uuid (lower or upper hex). */
int auth_is_uuid(const char *s);

#endif
