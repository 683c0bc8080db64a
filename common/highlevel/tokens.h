/* highlevel/tokens: a usable access token for a user's HighLevel connection. Tokens expire
 * (about a day) and each refresh token works once, so a refresh happens ahead of expiry inside
 * a transaction holding the api_keys row (SELECT ... FOR UPDATE): the rotated refresh token is
 * stored with the new access token or not at all, and a second process asking at the same time
 * waits for the row and then finds the fresh token. */
#ifndef COMMON_HIGHLEVEL_TOKENS_H
#define COMMON_HIGHLEVEL_TOKENS_H

#include "common/err.h"

struct app;
struct arena;
struct highlevel_token;
struct secrets_use;

/* A token is refreshed when it expires within this many seconds. */
#define HIGHLEVEL_REFRESH_AHEAD_S 300

struct highlevel_conn {
	char *access_token;	 /* arena-owned plaintext: secrets_wipe it when done */
	const char *location_id; /* arena-owned; the location the token is scoped to */
	int refreshed;		 /* 1 when this call refreshed the token */
};

/* Fills out with use->user_id's HighLevel access token (use->service is ignored: always
 * "highlevel"), refreshing it first when it expires within HIGHLEVEL_REFRESH_AHEAD_S. Every
 * use is audited with use->purpose, a refresh once more. Uses the process's database
 * connection and its own transaction: never call it inside one.
 * Errors: 404 "not_connected" (no active connection); 422 "reconnect_required" when the
 * provider refused the refresh token, now or earlier (the connection is then marked inactive
 * with status 'refresh_rejected' and last_error, and no refresh is tried again); 502/504 when
 * the provider is unreachable and the stored token has already expired (a token still valid
 * for a few minutes is used instead); 503 when the row stayed locked too long. */
int highlevel_tokens_get(struct app *app, struct arena *arena, const struct secrets_use *use,
			 struct highlevel_conn *out, struct err *err) MUSTCHECK;

/* Seals and stores the tokens of a new authorization as user_id's active connection. */
int highlevel_tokens_connect(struct app *app, struct arena *arena, const char *user_id,
			     const struct highlevel_token *tok, struct err *err) MUSTCHECK;

#endif
