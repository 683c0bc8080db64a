/* secrets: provider keys and OAuth tokens sealed at rest in api_keys (AES-256-GCM, bound to
 * their row and column), and the audit trail of every use. Plaintexts never reach a log. The
 * api_keys statements themselves are in connections. */
#ifndef COMMON_SECRETS_H
#define COMMON_SECRETS_H

#include <stddef.h>

#include "common/err.h"

struct app;
struct arena;

/* Seals plaintext for api_keys(user_id, service).column; arena-owned text for the column. */
char *secrets_seal(const struct app *app, struct arena *arena, const char *user_id,
		   const char *service, const char *column, const char *plaintext, struct err *err);

/* Opens a sealed column value; arena-owned plaintext the caller wipes with secrets_wipe. */
char *secrets_open(const struct app *app, struct arena *arena, const char *user_id,
		   const char *service, const char *column, const char *sealed, struct err *err);
void secrets_wipe(char *plaintext);

/* Last four characters of a secret for display ("…abcd"); arena-owned. */
const char *secrets_hint(struct arena *arena, const char *plaintext);

/* Records a use of a stored secret: who (actor kind and id), which user's which service,
 * why, from which function and request. */
struct secrets_use {
	const char *user_id;
	const char *service;
	const char *actor_kind; /* "admin", "client", "service", "provider", "cli" */
	const char *actor_id;	/* may be NULL */
	const char *purpose;
	const char *request_id; /* may be NULL */
};
int secrets_audit(struct app *app, struct arena *arena, const struct secrets_use *use,
		  struct err *err) MUSTCHECK;

#endif
