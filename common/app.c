/* app.c: process start-up and teardown shared by every function. */
#include "common/app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/db.h"
#include "common/httpc.h"
#include "common/jwt.h"
#include "common/log.h"

// Provider traffic of this worker, next to the request counters on the metrics page.
static void render_provider_metrics(struct buf *out, const char *function, void *ctx) {
	const struct httpc_counters *c = httpc_counters(ctx);

	(void)!buf_printf(out,
			  "# TYPE callbridge_provider_requests_total counter\n"
			  "callbridge_provider_requests_total{function=\"%s\"} %ld\n"
			  "# TYPE callbridge_provider_retries_total counter\n"
			  "callbridge_provider_retries_total{function=\"%s\"} %ld\n"
			  "# TYPE callbridge_provider_failures_total counter\n"
			  "callbridge_provider_failures_total{function=\"%s\"} %ld\n",
			  function, c->requests, function, c->retries, function, c->failures);
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
	opts.timeout_ms = app->cfg.http_timeout_ms;
	opts.connect_timeout_ms = app->cfg.http_connect_timeout_ms;
	opts.max_response_bytes = (size_t)app->cfg.http_max_response_bytes;
	opts.max_retries = (int)app->cfg.http_max_retries;
	opts.backoff_base_ms = app->cfg.http_backoff_base_ms;
	opts.backoff_max_ms = app->cfg.http_backoff_max_ms;
	app->httpc = httpc_create(&opts);
	http_metrics_set_extra(render_provider_metrics, app->httpc);
	app->db = db_create(app->cfg.database_url);
	return 0;
}

static void app_finish(struct app *app) {
	db_destroy(app->db);
	httpc_destroy(app->httpc);
	jwt_keys_destroy(app->jwt);
	crypto_keyring_finish(&app->keyring);
}

// Every request gets a deadline for its provider calls, below its nginx location's
// fastcgi_read_timeout: CALLBRIDGE_DEADLINE_MS from the location (fastcgi_param), else
// REQUEST_DEADLINE_MS.
static int dispatch(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	const char *param = http_param(req, "CALLBRIDGE_DEADLINE_MS");
	long ms = param != NULL ? strtol(param, NULL, 10) : 0;
	int status;

	if (ms <= 0) {
		ms = app->cfg.request_deadline_ms;
	}
	httpc_set_deadline(app->httpc, httpc_now_ms() + ms);
	status = app->fn->handler(app, req, resp);
	httpc_set_deadline(app->httpc, 0);
	return status;
}

static int serve(struct app *app, const struct app_function *fn, const char *socket_path) {
	struct err err = {0};
	struct http_server srv = {
		.function = fn->name,
		.max_body = fn->max_body != 0 ? fn->max_body : (size_t)app->cfg.max_body_bytes,
		.cors_origin = app->cfg.cors_allow_origin,
		.handler = dispatch,
		.ctx = app,
	};

	srv.listen_fd = http_listen_fd(socket_path, &err);
	if (srv.listen_fd < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	log_info("serving pid=%ld max_body=%zu", (long)getpid(), srv.max_body);
	return http_serve(&srv);
}

int app_main(int argc, char **argv, const struct app_function *fn) {
	struct app app;
	struct err err = {0};
	const char *socket_path = NULL;
	int check_only = 0;
	int rc = 1;

	memset(&app, 0, sizeof(app));
	app.fn = fn;
	// every function holds SECRETS_KEYS and decrypted provider keys: no core dump of them, and
	// no ptrace or /proc/<pid>/mem by another process of the same user
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0) {
		fprintf(stderr, "%s: prctl(PR_SET_DUMPABLE): %s\n", fn->name, strerror(errno));
		return 1;
	}
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
