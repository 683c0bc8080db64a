/* app: a function's process: config -> log -> db / http client / keys -> serve -> teardown
 * (lwan's lwan_main). Handlers receive the struct app as their context: when serving, each of
 * the THREADS serving threads has its own copy, whose db and httpc are that thread's alone
 * (cfg, jwt and keyring are shared and read-only). */
#ifndef COMMON_APP_H
#define COMMON_APP_H

#include "common/config.h"
#include "common/crypto.h"
#include "common/http.h"

struct db;
struct httpc;
struct jwt_keys;

struct app_function;

struct app {
	const char *name;
	const struct app_function *fn;
	struct config cfg;
	struct db *db;
	struct httpc *httpc;
	struct jwt_keys *jwt;
	struct crypto_keyring keyring;
};

struct app_function {
	const char *name; /* the /functions/v1/<name> this executable serves */
	http_handler_fn handler;
	size_t max_body; /* 0: MAX_BODY_BYTES from the config */
	/* The query parameters it takes, NULL-terminated; NULL: none (http_server's query_params).
	 */
	const char *const *query_params;
	/* Optional command-line mode (e.g. `sync-retell-calls --all`): called instead of
	 * serving when argv holds arguments other than --socket; returns the exit status. */
	int (*cli)(struct app *app, int argc, char **argv);
	/* Optional: work after each answer, on the serving thread (http_server's after_response).
	 */
	void (*after_response)(struct app *app, struct arena *arena);
	/* Optional: process-wide set-up before serving (e.g. a background thread; a failure ends
	 * the start with status 1), and its teardown once every serving thread has ended. */
	int (*serve_begin)(struct app *app, struct err *err);
	void (*serve_end)(struct app *app);
};

/* Runs the function: `int main(int c, char **v) { return app_main(c, v, &fn); }`. The process
 * is made non-dumpable first (it will hold keys). Each request's provider calls get a deadline
 * (CALLBRIDGE_DEADLINE_MS from nginx, else REQUEST_DEADLINE_MS; httpc_set_deadline).
 * Options: --socket PATH, --check-config (one line when the config is good), --print-config
 * (every setting, secrets and URL userinfo redacted). A config error lists every problem and
 * exits 1. */
int app_main(int argc, char **argv, const struct app_function *fn);

#endif
