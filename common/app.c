/* app.c: process start-up and teardown shared by every function. */
#include "common/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/db.h"
#include "common/httpc.h"
#include "common/jwt.h"
#include "common/log.h"

// Provider traffic of this worker (all its threads), next to the request counters.
static void render_provider_metrics(struct buf *out, const char *function, void *ctx) {
	const struct httpc_counters totals = httpc_counters();
	const struct httpc_counters *c = &totals;

	(void)ctx;
	(void)!buf_printf(out,
			  "# TYPE callbridge_provider_requests_total counter\n"
			  "callbridge_provider_requests_total{function=\"%s\"} %ld\n"
			  "# TYPE callbridge_provider_retries_total counter\n"
			  "callbridge_provider_retries_total{function=\"%s\"} %ld\n"
			  "# TYPE callbridge_provider_failures_total counter\n"
			  "callbridge_provider_failures_total{function=\"%s\"} %ld\n",
			  function, c->requests, function, c->retries, function, c->failures);
}

static struct httpc_options httpc_options_of(const struct config *cfg) {
	return (struct httpc_options){
		.timeout_ms = cfg->http_timeout_ms,
		.connect_timeout_ms = cfg->http_connect_timeout_ms,
		.max_response_bytes = (size_t)cfg->http_max_response_bytes,
		.max_retries = (int)cfg->http_max_retries,
		.backoff_base_ms = cfg->http_backoff_base_ms,
		.backoff_max_ms = cfg->http_backoff_max_ms,
	};
}

static int app_init(struct app *app, const char *name, struct err *err) {
	enum log_level level;
	struct httpc_options opts;

	app->name = name;
	log_set_process(name);
	if (config_load(&app->cfg, err) < 0) {
		return -1;
	}
	if (log_parse_level(app->cfg.log_level, &level) < 0) {
		return err_set(err, 500, "config", "LOG_LEVEL must be error|warn|info|debug");
	}
	log_set_level(level);
	if (crypto_keyring_parse(&app->keyring, app->cfg.secrets_keys, err) < 0) {
		return -1;
	}
	app->jwt = jwt_keys_create(app->cfg.jwt_secret, app->cfg.jwt_jwks_file, err);
	if (app->jwt == NULL) {
		return -1;
	}
	opts = httpc_options_of(&app->cfg);
	app->httpc = httpc_create(&opts);
	http_metrics_set_extra(render_provider_metrics, NULL);
	app->db = db_create(app->cfg.database_url);
	return 0;
}

static void app_finish(struct app *app) {
	db_destroy(app->db);
	httpc_destroy(app->httpc);
	jwt_keys_destroy(app->jwt);
	crypto_keyring_finish(&app->keyring);
}

// A serving thread's app: config, JWT keys and keyring are the process's (read-only once
// started); the database connection and the HTTP client are the thread's own.
static void *app_thread_begin(void *ctx) {
	const struct app *process = ctx;
	struct app *app = malloc(sizeof(*app));
	struct httpc_options opts = httpc_options_of(&process->cfg);

	if (app == NULL) {
		abort();
	}
	*app = *process;
	app->db = db_create(process->cfg.database_url);
	app->httpc = httpc_create(&opts);
	return app;
}

static void app_thread_end(void *ctx) {
	struct app *app = ctx;

	db_destroy(app->db);
	httpc_destroy(app->httpc);
	free(app);
}

static int serve(struct app *app, const struct app_function *fn, const char *socket_path) {
	struct err err = {0};
	struct http_server srv = {
		.function = fn->name,
		.max_body = fn->max_body != 0 ? fn->max_body : (size_t)app->cfg.max_body_bytes,
		.query_params = fn->query_params,
		.cors_origin = app->cfg.cors_allow_origin,
		.handler = fn->handler,
		.ctx = app,
		.threads = (int)app->cfg.threads,
		.thread_begin = app_thread_begin,
		.thread_end = app_thread_end,
	};

	srv.listen_fd = http_listen_fd(socket_path, &err);
	if (srv.listen_fd < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	log_info("serving pid=%ld threads=%d max_body=%zu", (long)getpid(), srv.threads,
		 srv.max_body);
	return http_serve(&srv);
}

int app_main(int argc, char **argv, const struct app_function *fn) {
	struct app app;
	struct err err = {0};
	const char *socket_path = NULL;
	int check_only = 0;
	int rc = 1;

	memset(&app, 0, sizeof(app));
	if (argc >= 3 && strcmp(argv[1], "--socket") == 0) {
		socket_path = argv[2];
	} else if (argc == 2 && strcmp(argv[1], "--check-config") == 0) {
		check_only = 1;
	} else if (argc > 1 && fn->cli == NULL) {
		fprintf(stderr, "usage: %s [--socket PATH | --check-config]\n", fn->name);
		return 2;
	}
	if (app_init(&app, fn->name, &err) < 0) {
		fprintf(stderr, "%s: configuration error: %s\n", fn->name, err.msg);
		goto done;
	}
	if (check_only) {
		config_dump(&app.cfg, stdout);
		rc = 0;
	} else if (argc > 1 && socket_path == NULL) {
		rc = fn->cli(&app, argc, argv);
	} else {
		rc = serve(&app, fn, socket_path);
	}
done:
	app_finish(&app);
	return rc;
}
