/* secrets.c: api_keys value sealing and the key usage audit. */
#include "common/secrets.h"

#include <string.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/crypto.h"
#include "common/db.h"

static const char *aad_for(struct arena *arena, const char *user_id, const char *service,
			   const char *column) {
	// binding to the row and column keeps a sealed value from being moved to another user
	return arena_printf(arena, "api_keys:%s:%s:%s", user_id, service, column);
}

char *secrets_seal(const struct app *app, struct arena *arena, const char *user_id,
		   const char *service, const char *column, const char *plaintext,
		   struct err *err) {
	return crypto_seal(arena, &app->keyring, aad_for(arena, user_id, service, column),
			   plaintext, strlen(plaintext), err);
}

char *secrets_open(const struct app *app, struct arena *arena, const char *user_id,
		   const char *service, const char *column, const char *sealed, struct err *err) {
	if (sealed == NULL) {
		err_set(err, 500, "secret_missing", "no stored secret");
		return NULL;
	}
	return crypto_open(arena, &app->keyring, aad_for(arena, user_id, service, column), sealed,
			   err);
}

void secrets_wipe(char *plaintext) {
	if (plaintext != NULL) {
		crypto_wipe(plaintext, strlen(plaintext));
	}
}

const char *secrets_hint(struct arena *arena, const char *plaintext) {
	size_t len = strlen(plaintext);

	// short secrets would be half revealed by four characters
	return len < 16 ? "…" : arena_printf(arena, "…%s", plaintext + len - 4);
}

int secrets_audit(struct app *app, struct arena *arena, const struct secrets_use *use,
		  struct err *err) {
	const char *params[] = {use->user_id, use->service, use->actor_id,  use->actor_kind,
				use->purpose, app->name,    use->request_id};

	return db_exec(app->db, arena, "secrets_audit",
		       "INSERT INTO key_usage_audit (user_id, service, actor_id, actor_kind, purpose,"
		       " function_name, request_id) VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7)",
		       7, params, NULL, err);
}
