/* app.c: process start-up and teardown shared by every function. */
#include "common/app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <json-c/json_object.h>

#include "common/db.h"
#include "common/httpc.h"
#include "common/jsonh.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/metrics_gauges.h"
#include "common/readiness.h"

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
	app->db = db_create(app->cfg.database_url);
	metrics_set_gauges(metrics_gauges_render);
	// systemd's RuntimeDirectory= (or deploy/stack's run dir): where the function's workers
	// share their counters; unset (a command-line run), this process counts alone
	return metrics_open(getenv("RUNTIME_DIRECTORY"), name, err);
}

static void app_finish(struct app *app) {
	metrics_close();
	db_destroy(app->db);
	httpc_destroy(app->httpc);
	jwt_keys_destroy(app->jwt);
	crypto_keyring_finish(&app->keyring);
	config_finish(&app->cfg);
}

// The readiness probe of every function: the upgrade waits for it after each restart.
static int answer_ready(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct readiness r;
	struct json_object *obj;

	if (readiness_check(app->db, req->arena, &r, &req->err) < 0) {
		return req->err.status;
	}
	obj = json_object_new_object();
	jsonh_add_string(obj, "status", "ready");
	jsonh_add_string(obj, "function", app->name);
	jsonh_add_string(obj, "version", CALLBRIDGE_VERSION);
	jsonh_add_string(obj, "schema", r.schema);
	jsonh_add_string(obj, "schema_expected", r.expected);
	return http_respond_json(resp, 200, obj);
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

static void app_after_response(void *ctx, struct arena *arena) {
	struct app *app = ctx;

	app->fn->after_response(app, arena);
}

static int serve(struct app *app, const struct app_function *fn, const char *socket_path) {
	struct err err = {0};
	int rc;
	struct http_server srv = {
		.function = fn->name,
		.max_body = fn->max_body != 0 ? fn->max_body : (size_t)app->cfg.max_body_bytes,
		.query_params = fn->query_params,
		.cors_origin = app->cfg.cors_allow_origin,
		.handler = dispatch,
		.ready = answer_ready,
		.ctx = app,
		.threads = (int)app->cfg.threads,
		.thread_begin = app_thread_begin,
		.thread_end = app_thread_end,
		.after_response = fn->after_response != NULL ? app_after_response : NULL,
	};

	srv.listen_fd = http_listen_fd(socket_path, &err);
	if (srv.listen_fd < 0 || (fn->serve_begin != NULL && fn->serve_begin(app, &err) < 0)) {
		log_error("%s", err.msg);
		return 1;
	}
	log_info("serving pid=%ld threads=%d max_body=%zu", (long)getpid(), srv.threads,
		 srv.max_body);
	rc = http_serve(&srv);
	if (fn->serve_end != NULL) {
		fn->serve_end(app);
	}
	return rc;
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
	} else if (argc == 2 && strcmp(argv[1], "--print-config") == 0) {
		check_only = 2;
	} else if (argc > 1 && fn->cli == NULL) {
		fprintf(stderr, "usage: %s [--socket PATH | --check-config | --print-config]\n",
			fn->name);
		return 2;
	}
	if (app_init(&app, fn->name, &err) < 0) {
		fprintf(stderr, "%s: configuration error: %s\n", fn->name, err.msg);
		goto done;
	}
	if (check_only) {
		// the unit's ExecStartPre runs --check-config at every start: one line, not the
		// whole configuration in the journal each time; --print-config shows it on request
		if (check_only == 2) {
			config_dump(&app.cfg, stdout);
		} else {
			printf("%s: configuration ok\n", fn->name);
		}
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
