/* http: the only FastCGI code (fcgiapp.h, never fcgi_stdio.h): the accept loop, requests,
 * JSON responses and errors, CORS, streaming, and one access-log line per request. Request
 * counts and latencies go to metrics.c, which also renders the internal metrics page. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

struct arena;
struct json_object;

struct http_request {
	struct arena *arena;  /* per-request memory, reset after the response */
	struct err err;	      /* rendered as the JSON error when the handler fails */
	const char *function; /* this executable's function name */
	const char *method;
	const char *path;    /* URI path without the query */
	const char *subpath; /* what follows /functions/v1/<function>, "" if nothing */
	const char *query;   /* raw query string, "" if none */
	const char *request_id;
	const char *body; /* NUL-terminated copy, body_len bytes (may contain NULs) */
	size_t body_len;
	char **env;	      /* FastCGI params, arena copies */
	void *fcgx;	      /* the libfcgi request: private to http.c */
	int internal;	      /* a scrape or probe from nginx's internal locations: not counted */
	const char *log_user; /* the caller's user id (or "service") for the access line, or NULL */
};

struct http_response {
	int status;
	const char *content_type; /* default application/json */
	struct buf headers;	  /* extra "Name: value\r\n" lines */
	struct buf body;
	int streaming; /* headers already sent by http_stream_begin */
	size_t streamed_bytes;
	const char *cors_origin;
	void *out; /* FCGX_Stream: private to http.c */
};

/* The function a handler implements: returns the HTTP status of its answer, or -1 after a
 * callee failed and set req->err (http_serve answers req->err.status then). */
typedef int (*http_handler_fn)(void *ctx, struct http_request *req, struct http_response *resp);

struct http_server {
	const char *function; /* name, e.g. "retell-webhook" */
	int listen_fd;
	size_t max_body;
	/* The query parameters the function takes, NULL-terminated (NULL: none): any other is
	 * 400 unknown_parameter naming it, before the handler runs (supabase-js's
	 * forceFunctionRegion is always let through). */
	const char *const *query_params;
	const char *cors_origin;
	http_handler_fn handler;
	/* answers nginx's /internal/ready/<fn> probe (ready: 200; not: an error status) */
	http_handler_fn ready;
	void *ctx;
	int threads; /* requests served at once (serving threads); < 1 means 1 */
	/* Optional: each serving thread's handler context, made from ctx on that thread before its
	 * first request (e.g. its own database connection) and released by thread_end. Without
	 * them every thread is handed ctx itself. */
	void *(*thread_begin)(void *ctx);
	void (*thread_end)(void *thread_ctx);
	/* Optional: run on the serving thread after each response has gone out, before its arena
	 * is reset (work that must not delay an answer). */
	void (*after_response)(void *thread_ctx, struct arena *arena);
};

/* Serves requests on srv->threads threads until SIGTERM/SIGINT/SIGUSR1, then returns 0 once
 * every thread has finished the request it was serving. Every request's arena memory is freed
 * after its response. */
int http_serve(const struct http_server *srv);

/* Picks the listening socket: systemd (LISTEN_FDS, fd 3), socket_path (created, mode 0660),
 * or fd 0 as spawn-fcgi leaves it. -1 with err set on failure. */
int http_listen_fd(const char *socket_path, struct err *err) MUSTCHECK;

/* FastCGI param (e.g. "REQUEST_METHOD") or NULL. */
const char *http_param(const struct http_request *req, const char *name);
/* Request header by its HTTP name, case-insensitive ("x-retell-signature"), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* URL-decoded query parameter (arena-owned) or NULL. */
const char *http_query(const struct http_request *req, const char *name);
/* The Bearer token of the Authorization header or NULL. */
const char *http_bearer(const struct http_request *req);

int http_method_is(const struct http_request *req, const char *method);

/* Parses the body as a JSON object into *root (caller puts it); -1 with req->err 400 or 415
 * (not application/json) otherwise. No body at all is {}, whatever the Content-Type. */
int http_json_body(struct http_request *req, struct json_object **root) MUSTCHECK;

/* Sets req->err and returns the status, for a handler's own return statement only:
 * `return http_fail(req, 405, "method_not_allowed", ...)`. Helpers that fail return
 * err_set(&req->err, ...), which is -1, and the handler returns that -1 as it is. */
int http_fail(struct http_request *req, int status, const char *code, const char *fmt, ...)
	ATTRIB_PRINTF(4, 5);

/* Serialises obj as the body, takes ownership of obj (puts it), returns status. */
int http_respond_json(struct http_response *resp, int status, struct json_object *obj);
/* Adds a response header; CR and LF in value are replaced so nothing can be injected. */
void http_add_header(struct http_response *resp, const char *name, const char *value);

/* Streaming: sends status and headers now (Content-Length only if the caller added one), then
 * body chunks. After http_stream_begin the handler's return value is only logged. */
int http_stream_begin(struct http_response *resp, int status) MUSTCHECK;
int http_stream_write(struct http_response *resp, const void *data, size_t len) MUSTCHECK;

#endif
