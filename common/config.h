/* config: every setting comes from the environment (secrets also from systemd credentials)
 * through one table, checked at start-up. */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdio.h>

#include "common/err.h"

struct config {
	const char *database_url;
	const char *jwt_secret;
	const char *jwt_jwks_file;
	const char *jwt_audience;
	const char *supabase_secret_keys;
	const char *secrets_keys;
	const char *retell_base_url;
	const char *highlevel_base_url;
	const char *highlevel_client_id;
	const char *highlevel_client_secret;
	const char *highlevel_redirect_uri;
	const char *oauth_return_url; /* the dashboard page the OAuth redirect ends on, or NULL */
	const char *recording_hosts;
	const char *cors_allow_origin;
	const char *label_highlevel;
	const char *label_retell;
	const char *log_level;
	long max_body_bytes;
	long threads; /* requests one process serves at once, each with its own db connection */
	long http_timeout_ms;
	long http_connect_timeout_ms;
	long http_max_response_bytes;
	long http_max_retries;
	long http_backoff_base_ms;
	long http_backoff_max_ms;
	long recording_timeout_ms;
	long request_deadline_ms;
	long sync_overlap_ms;
	long sync_user_budget_s;
	long sync_request_budget_s;
	long sync_detail_concurrency;
	char *owned[8]; /* secrets read from $CREDENTIALS_DIRECTORY; freed by config_finish */
	size_t nowned;
};

/* Fills cfg from the environment (values are borrowed from environ, valid for the process).
 * A secret is read first from systemd's $CREDENTIALS_DIRECTORY (LoadCredential=), as a file
 * named NAME or callbridge_NAME, then from the environment. Every problem is listed in
 * err->msg, not only the first; placeholder and weak secrets are problems (the example file's
 * values, a JWT_SECRET under 32 bytes, a sealing key of one repeated byte), so neither
 * --check-config nor a function starts with them. Release with config_finish, also after a
 * failure. */
int config_load(struct config *cfg, struct err *err) MUSTCHECK;
void config_finish(struct config *cfg);

/* Prints NAME=value lines, secrets shown as "(set)" / "(unset)". */
void config_dump(const struct config *cfg, FILE *out);

#endif
