/* http.c: FastCGI accept loop (a pool of serving threads) and request/response helpers. */
#define _GNU_SOURCE /* strcasestr */
#include "common/http.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json_object.h>
#include <systemd/sd-daemon.h>

#include "common/arena.h"
#include "common/jsonh.h"
#include "common/log.h"
#include "common/metrics.h"

#define FUNCTIONS_PREFIX "/functions/v1/"
// functions-js adds it with its region option (and sends x-region): nothing to act on here
#define SUPABASE_REGION_PARAM "forceFunctionRegion"

static atomic_int stop_requested;

int http_listen_fd(const char *socket_path, struct err *err) {
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	int fd;

	if (pid != NULL && fds != NULL && strtol(pid, NULL, 10) == (long)getpid() &&
	    strtol(fds, NULL, 10) >= 1) {
		return 3; // systemd socket activation: SD_LISTEN_FDS_START
	}
	if (socket_path == NULL) {
		return 0; // spawn-fcgi and multiwatch hand the socket over as stdin
	}
	unlink(socket_path);
	fd = FCGX_OpenSocket(socket_path, 128);
	if (fd < 0) {
		return err_set(err, 500, "listen", "cannot listen on %s: %s", socket_path,
			       strerror(errno));
	}
	chmod(socket_path, 0660);
	return fd;
}

const char *http_param(const struct http_request *req, const char *name) {
	return FCGX_GetParam(name, req->env);
}

const char *http_header(const struct http_request *req, const char *name) {
	char key[128] = "HTTP_";
	size_t n = 5;

	for (; *name != '\0' && n + 1 < sizeof(key); name++, n++) {
		key[n] = *name == '-' ? '_'
				      : (char)(*name >= 'a' && *name <= 'z' ? *name - 32 : *name);
	}
	key[n] = '\0';
	if (strcmp(key, "HTTP_CONTENT_TYPE") == 0) {
		return http_param(req, "CONTENT_TYPE");
	}
	return http_param(req, key);
}

static int hexval(char c) {
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Decodes %XX and '+'; NULL when the result would hold a NUL byte (%00), which nothing
// downstream could store or compare safely.
static char *url_decode(struct arena *arena, const char *s, size_t len) {
	char *out = arena_alloc(arena, len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		if (c == '\0') {
			return NULL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

const char *http_query(const struct http_request *req, const char *name) {
	size_t name_len = strlen(name);
	const char *p = req->query;

	while (*p != '\0') {
		const char *end = p + strcspn(p, "&");
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (eq != NULL && (size_t)(eq - p) == name_len && memcmp(p, name, name_len) == 0) {
			return url_decode(req->arena, eq + 1, (size_t)(end - eq - 1));
		}
		p = *end == '&' ? end + 1 : end;
	}
	return NULL;
}

// The first parameter name of the query that is not in allowed (decoded, arena-owned), or NULL.
static const char *unknown_query_param(const struct http_request *req, const char *const *allowed) {
	const char *p = req->query;

	while (*p != '\0') {
		const char *end = p + strcspn(p, "&");
		size_t len = strcspn(p, "=&");
		int known = len == 0 || (len == strlen(SUPABASE_REGION_PARAM) &&
					 memcmp(p, SUPABASE_REGION_PARAM, len) == 0);

		for (const char *const *a = allowed; !known && a != NULL && *a != NULL; a++) {
			known = strlen(*a) == len && memcmp(p, *a, len) == 0;
		}
		if (!known) {
			const char *name = url_decode(req->arena, p, len < 64 ? len : 64);
			return name != NULL ? name : "?";
		}
		p = *end == '&' ? end + 1 : end;
	}
	return NULL;
}

const char *http_bearer(const struct http_request *req) {
	const char *auth = http_header(req, "authorization");

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		return NULL;
	}
	auth += 7;
	while (*auth == ' ') {
		auth++;
	}
	return *auth != '\0' ? auth : NULL;
}

int http_method_is(const struct http_request *req, const char *method) {
	return strcmp(req->method, method) == 0;
}

int http_json_body(struct http_request *req, struct json_object **root) {
	const char *type = http_header(req, "content-type");
	size_t n = strlen("application/json");

	*root = NULL;
	if (req->body_len == 0) {
		// supabase-js's functions.invoke(name) sends no body and no Content-Type
		*root = json_object_new_object();
		return 0;
	}
	if (type == NULL || strncasecmp(type, "application/json", n) != 0 ||
	    (type[n] != '\0' && type[n] != ';' && type[n] != ' ')) {
		return err_set(&req->err, 415, "unsupported_media_type", "send application/json");
	}
	*root = jsonh_parse(req->body, req->body_len, JSONH_MAX_DEPTH, &req->err);
	if (*root == NULL) {
		return -1;
	}
	if (!json_object_is_type(*root, json_type_object)) {
		json_object_put(*root);
		*root = NULL;
		return err_set(&req->err, 400, "bad_request", "body must be a JSON object");
	}
	return 0;
}

int http_fail(struct http_request *req, int status, const char *code, const char *fmt, ...) {
	va_list ap;
	char msg[sizeof(req->err.msg)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(&req->err, status, code, "%s", msg);
	return req->err.status;
}

int http_respond_json(struct http_response *resp, int status, struct json_object *obj) {
	const char *text = jsonh_to_string(obj);

	buf_reset(&resp->body);
	if (buf_append_str(&resp->body, text) < 0) {
		status = 500;
	}
	json_object_put(obj);
	resp->status = status;
	return status;
}

void http_add_header(struct http_response *resp, const char *name, const char *value) {
	size_t start = resp->headers.len;

	if (buf_printf(&resp->headers, "%s: %s\r\n", name, value) < 0) {
		return;
	}
	// a provider or user value echoed in a header must not be able to start a new one
	for (size_t i = start; i + 2 < resp->headers.len; i++) {
		if (resp->headers.data[i] == '\r' || resp->headers.data[i] == '\n') {
			resp->headers.data[i] = ' ';
		}
	}
}

static const char *reason(int status) {
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 302:
		return "Found";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status < 500 ? "Error" : "Internal Server Error";
	}
}

// libfcgi's own printf lacks %zu and friends, so the head is formatted with snprintf.
static int write_head(struct http_response *resp, int status, long content_length) {
	char head[1024];
	int n;

	n = snprintf(head, sizeof(head),
		     "Status: %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Access-Control-Allow-Origin: %s\r\n"
		     // the same list as nginx/callbridge-cors.conf (test_dashboard_cors.py)
		     "Access-Control-Allow-Headers: authorization, x-client-info, apikey, content-type, "
		     "x-region, x-retry-count, traceparent, tracestate, baggage\r\n"
		     "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n"
		     "Access-Control-Expose-Headers: Content-Range, Accept-Ranges, Content-Length, "
		     "X-Request-Id\r\n"
		     "Vary: Origin\r\n"
		     "X-Content-Type-Options: nosniff\r\n",
		     status, reason(status),
		     resp->content_type != NULL ? resp->content_type : "application/json",
		     resp->cors_origin);
	if (n < 0 || (size_t)n >= sizeof(head) || FCGX_PutStr(head, n, resp->out) != n) {
		return -1;
	}
	if (resp->headers.len > 0 && FCGX_PutStr(resp->headers.data, (int)resp->headers.len,
						 resp->out) != (int)resp->headers.len) {
		return -1;
	}
	if (content_length >= 0) {
		n = snprintf(head, sizeof(head), "Content-Length: %ld\r\n", content_length);
		if (FCGX_PutStr(head, n, resp->out) != n) {
			return -1;
		}
	}
	return FCGX_PutS("\r\n", resp->out) < 0 ? -1 : 0;
}

int http_stream_begin(struct http_response *resp, int status) {
	resp->status = status;
	resp->streaming = 1;
	return write_head(resp, status, -1);
}

int http_stream_write(struct http_response *resp, const void *data, size_t len) {
	if (len > 0 && FCGX_PutStr(data, (int)len, resp->out) != (int)len) {
		return -1; // the client went away
	}
	resp->streamed_bytes += len;
	metrics_add(METRICS_STREAM_BYTES, len);
	return 0;
}

static void send_response(struct http_response *resp) {
	if (write_head(resp, resp->status, (long)resp->body.len) == 0 && resp->body.len > 0) {
		FCGX_PutStr(resp->body.data, (int)resp->body.len, resp->out);
	}
}

static const char *public_message(const struct err *err, int status) {
	// 500 is a bug or a database error: its detail is for the log, not the caller
	if (status == 500 || err->msg[0] == '\0') {
		return status >= 500 ? "internal error" : reason(status);
	}
	return err->msg;
}

static void render_error(struct http_request *req, struct http_response *resp) {
	struct json_object *obj = json_object_new_object();
	const char *code = req->err.code[0] != '\0' ? req->err.code : "error";

	jsonh_add_string(obj, "error", code);
	jsonh_add_string(obj, "message", public_message(&req->err, resp->status));
	resp->content_type = "application/json";
	http_respond_json(resp, resp->status, obj);
}

static char **copy_env(struct arena *arena, char **env) {
	size_t n = 0;
	char **copy;

	while (env != NULL && env[n] != NULL) {
		n++;
	}
	copy = arena_alloc(arena, sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		copy[i] = arena_strdup(arena, env[i]);
	}
	copy[n] = NULL;
	return copy;
}

static const char *param_or(struct http_request *req, const char *name, const char *fallback) {
	const char *v = http_param(req, name);

	return v != NULL ? v : fallback;
}

static void init_request(struct http_request *req, const struct http_server *srv,
			 FCGX_Request *fx) {
	const char *uri;
	const char *q;
	size_t prefix_len = strlen(FUNCTIONS_PREFIX) + strlen(srv->function);

	req->function = srv->function;
	req->env = copy_env(req->arena, fx->envp);
	req->fcgx = fx;
	req->method = param_or(req, "REQUEST_METHOD", "GET");
	req->query = param_or(req, "QUERY_STRING", "");
	req->request_id = param_or(req, "REQUEST_ID", "-");
	uri = param_or(req, "DOCUMENT_URI", param_or(req, "REQUEST_URI", "/"));
	q = strchr(uri, '?');
	req->path = q != NULL ? arena_strndup(req->arena, uri, (size_t)(q - uri)) : uri;
	req->subpath = "";
	if (strncmp(req->path, FUNCTIONS_PREFIX, strlen(FUNCTIONS_PREFIX)) == 0 &&
	    strncmp(req->path + strlen(FUNCTIONS_PREFIX), srv->function, strlen(srv->function)) ==
		    0) {
		req->subpath = req->path + prefix_len;
	}
	log_set_request_id(req->request_id);
}

// Reads the declared body; returns 0, or the status to answer with.
static int read_body(struct http_request *req, const struct http_server *srv, FCGX_Stream *in) {
	const char *cl = http_param(req, "CONTENT_LENGTH");
	char *end = NULL;
	long long len = 0;
	char *body;
	size_t got = 0;

	if (cl != NULL && cl[0] != '\0') {
		errno = 0;
		len = strtoll(cl, &end, 10);
		if (errno != 0 || *end != '\0' || len < 0) {
			return http_fail(req, 400, "bad_request", "invalid Content-Length");
		}
	}
	if ((unsigned long long)len > srv->max_body) {
		return http_fail(req, 413, "payload_too_large", "body larger than %zu bytes",
				 srv->max_body);
	}
	body = arena_alloc(req->arena, (size_t)len + 1);
	while (got < (size_t)len) {
		int n = FCGX_GetStr(body + got, (int)((size_t)len - got), in);
		if (n <= 0) {
			return http_fail(req, 400, "bad_request",
					 "body shorter than Content-Length");
		}
		got += (size_t)n;
	}
	body[got] = '\0';
	req->body = body;
	req->body_len = got;
	return 0;
}

static int answer_alive(struct http_response *resp) {
	struct json_object *obj = json_object_new_object();

	jsonh_add_string(obj, "status", "alive");
	return http_respond_json(resp, 200, obj);
}

static int dispatch(const struct http_server *srv, void *ctx, struct http_request *req,
		    struct http_response *resp) {
	const char *internal = http_param(req, "CALLBRIDGE_METRICS");
	const char *probe = http_param(req, "CALLBRIDGE_PROBE");
	const char *unknown;

	if (internal != NULL && strcmp(internal, "1") == 0) {
		// only nginx's internal location sets this param; clients cannot
		resp->content_type = "text/plain; version=0.0.4";
		req->internal = 1; // a scrape is not a request to count
		return metrics_render(&resp->body, srv->function, req->arena, ctx) < 0 ? 500 : 200;
	}
	if (probe != NULL && srv->ready != NULL) {
		// /internal/live|ready/<fn>, also only from nginx: alive is answering at all
		req->internal = 1;
		return strcmp(probe, "ready") == 0 ? srv->ready(ctx, req, resp)
						   : answer_alive(resp);
	}
	if (http_method_is(req, "OPTIONS")) {
		http_add_header(resp, "Access-Control-Max-Age", "86400");
		return 204;
	}
	unknown = unknown_query_param(req, srv->query_params);
	if (unknown != NULL) {
		return http_fail(req, 400, "unknown_parameter", "unknown query parameter '%s'",
				 unknown);
	}
	return srv->handler(ctx, req, resp);
}

static double elapsed_ms(const struct timespec *start) {
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1000.0 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static void handle_one(const struct http_server *srv, void *ctx, FCGX_Request *fx,
		       struct arena *arena, struct http_response *resp) {
	struct http_request req = {.arena = arena};
	struct log_access access;
	struct timespec start;
	double ms;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &start);
	buf_reset(&resp->headers);
	buf_reset(&resp->body);
	resp->status = 0;
	resp->content_type = NULL;
	resp->streaming = 0;
	resp->streamed_bytes = 0;
	resp->out = fx->out;
	init_request(&req, srv, fx);
	// a NUL smuggled in as %00 would make a parameter look absent and drop its filter
	status = strcasestr(req.query, "%00") != NULL
			 ? http_fail(&req, 400, "bad_request",
				     "the query string contains a NUL byte")
			 : read_body(&req, srv, fx->in);
	if (status == 0) {
		status = dispatch(srv, ctx, &req, resp);
	}
	if (status == -1 && req.err.status != 0) {
		// the one convention: a handler whose helper failed returns -1 with req->err set
		status = req.err.status;
	}
	if (status < 100 || status > 599) {
		log_error("handler returned status %d", status);
		status = http_fail(&req, 500, "internal", "internal error");
	}
	if (!resp->streaming) {
		resp->status = status;
		if (status >= 400 && resp->body.len == 0) {
			render_error(&req, resp);
		}
		send_response(resp);
	}
	ms = elapsed_ms(&start);
	if (!req.internal) {
		metrics_record_request(resp->status, ms);
	}
	access.status = resp->status;
	access.dur_ms = ms;
	access.bytes = resp->streaming ? resp->streamed_bytes : resp->body.len;
	access.user = req.log_user;
	if (resp->status >= 400) {
		// 5xx at warn: the internal reason is for the operator, the caller saw a generic
		// one
		log_access(resp->status >= 500 ? LOG_WARN : LOG_INFO, &access, "%s %s error=%s: %s",
			   req.method, req.path, req.err.code, req.err.msg);
	} else {
		log_access(LOG_INFO, &access, "%s %s", req.method, req.path);
	}
	log_set_request_id(NULL);
}

// ---- the serving threads
// Each thread accepts and serves one request at a time with its own FastCGI request, arena,
// response buffers and handler context (its own database connection and HTTP client), so a
// process serves srv->threads requests at once while they wait on the database or a provider.
// The main thread only waits for the stop signal.

#define WAKE_SIGNAL SIGUSR2

struct serving_thread {
	const struct http_server *srv;
	pthread_t id;
	atomic_int in_accept; /* blocked in accept(): the stop must interrupt it */
	atomic_int done;
	pthread_cond_t turn; /* signalled when this thread may accept next */
	int has_turn;
	struct serving_thread *next_idle;
};

// One thread at a time accepts (libfcgi's own lock is per process, fcntl). The next one to accept
// is the thread that became idle last (a stack): at low concurrency the same few threads serve
// every request, keep their connections warm, and the others never open one.
static struct {
	pthread_mutex_t lock;
	int accepting; /* a thread accepts, or has been handed the turn */
	struct serving_thread *idle;
} turns = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void on_wake(int sig) {
	(void)sig; // only interrupts accept() (EINTR); the loop then sees stop_requested
}

// Waits for this thread's turn (under turns.lock); 0 when it has it, -1 when stopping.
static int wait_for_turn(struct serving_thread *t) {
	if (turns.accepting) {
		t->has_turn = 0;
		t->next_idle = turns.idle;
		turns.idle = t;
		while (!t->has_turn && !stop_requested) {
			pthread_cond_wait(&t->turn, &turns.lock);
		}
	}
	turns.accepting = 1;
	return stop_requested ? -1 : 0;
}

static void pass_turn(void) {
	struct serving_thread *next = turns.idle;

	turns.accepting = next != NULL;
	if (next != NULL) {
		turns.idle = next->next_idle;
		next->has_turn = 1;
		pthread_cond_signal(&next->turn);
	}
}

static int accept_next(struct serving_thread *t, FCGX_Request *fx) {
	int rc = -1;

	pthread_mutex_lock(&turns.lock);
	if (wait_for_turn(t) < 0) {
		pthread_mutex_unlock(&turns.lock);
		return -1;
	}
	pthread_mutex_unlock(&turns.lock);
	atomic_store(&t->in_accept, 1);
	if (!stop_requested) {
		rc = FCGX_Accept_r(fx);
	}
	atomic_store(&t->in_accept, 0);
	pthread_mutex_lock(&turns.lock);
	pass_turn();
	pthread_mutex_unlock(&turns.lock);
	return rc;
}

static void *serving_thread_main(void *arg) {
	struct serving_thread *t = arg;
	const struct http_server *srv = t->srv;
	void *ctx = srv->thread_begin != NULL ? srv->thread_begin(srv->ctx) : srv->ctx;
	struct arena *arena = arena_create();
	struct http_response resp = {.cors_origin = srv->cors_origin};
	FCGX_Request fx;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	buf_init(&resp.headers, 64 * 1024);
	buf_init(&resp.body, 64L << 20);
	FCGX_InitRequest(&fx, srv->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	while (accept_next(t, &fx) >= 0) {
		handle_one(srv, ctx, &fx, arena, &resp);
		FCGX_Finish_r(&fx);
		if (srv->after_response != NULL) {
			srv->after_response(ctx, arena);
		}
		arena_reset(arena);
	}
	FCGX_Free(&fx, 1);
	buf_finish(&resp.headers);
	buf_finish(&resp.body);
	arena_destroy(arena);
	if (srv->thread_end != NULL) {
		srv->thread_end(ctx);
	}
	atomic_store(&t->done, 1);
	return NULL;
}

// Waits for SIGTERM, SIGINT or SIGUSR1 (multiwatch's graceful stop), or for every thread to
// have ended on its own (the listening socket failed).
static void wait_for_stop(const sigset_t *stop, struct serving_thread *threads, int n) {
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};

	while (!stop_requested) {
		int running = 0;

		if (sigtimedwait(stop, NULL, &tick) > 0) {
			break;
		}
		for (int i = 0; i < n; i++) {
			running += !atomic_load(&threads[i].done);
		}
		if (running == 0) {
			break;
		}
	}
}

// Each thread finishes the request it is serving; one blocked in accept() is woken (again,
// until it has gone: a wake between its stop check and accept() would otherwise be lost).
static void stop_threads(struct serving_thread *threads, int n) {
	const struct timespec pause = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
	int running;

	pthread_mutex_lock(&turns.lock);
	stop_requested = 1;
	for (int i = 0; i < n; i++) {
		pthread_cond_signal(&threads[i].turn);
	}
	pthread_mutex_unlock(&turns.lock);
	FCGX_ShutdownPending();
	do {
		running = 0;
		for (int i = 0; i < n; i++) {
			if (atomic_load(&threads[i].done)) {
				continue;
			}
			running++;
			if (atomic_load(&threads[i].in_accept)) {
				pthread_kill(threads[i].id, WAKE_SIGNAL);
			}
		}
		if (running > 0) {
			nanosleep(&pause, NULL);
		}
	} while (running > 0);
	for (int i = 0; i < n; i++) {
		pthread_join(threads[i].id, NULL);
		pthread_cond_destroy(&threads[i].turn);
	}
}

int http_serve(const struct http_server *srv) {
	int n = srv->threads > 0 ? srv->threads : 1;
	struct serving_thread *threads = calloc((size_t)n, sizeof(*threads));
	struct sigaction sa;
	sigset_t stop;
	int started = 0;

	if (threads == NULL) {
		log_error("cannot allocate %d serving threads", n);
		return 1;
	}
	// the stop signals are taken by sigtimedwait in this thread only: blocked here before the
	// threads start, so they inherit the mask. SIGUSR1 is multiwatch's graceful-stop signal
	// (Debian 12's multiwatch 1.0.0 maps --signal names to the wrong numbers).
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGUSR1);
	sigaddset(&stop, WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	sigdelset(&stop, WAKE_SIGNAL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake; // no SA_RESTART: accept() must return so the loop can end
	sigaction(WAKE_SIGNAL, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	FCGX_Init();
	for (; started < n; started++) {
		threads[started].srv = srv;
		pthread_cond_init(&threads[started].turn, NULL);
		if (pthread_create(&threads[started].id, NULL, serving_thread_main,
				   &threads[started]) != 0) {
			log_error("cannot start serving thread %d of %d", started + 1, n);
			pthread_cond_destroy(&threads[started].turn);
			break;
		}
	}
	// Type=notify: started once the threads accept, the stop signals already in place (a
	// no-op without NOTIFY_SOCKET: deploy/stack, the command line)
	if (started > 0) {
		sd_notify(0, "READY=1\nSTATUS=serving");
		wait_for_stop(&stop, threads, started);
		sd_notify(0, "STOPPING=1");
	}
	stop_threads(threads,
		     started); // the stop signals stay blocked: a second one changes nothing
	free(threads);
	log_info("stopped");
	return started == n ? 0 : 1;
}
