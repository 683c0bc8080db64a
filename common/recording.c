/* recording.c: the streaming recording proxy. */
#include "common/recording.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/hostlist.h"
#include "common/http.h"
#include "common/httpc.h"
#include "common/log.h"

#define MAX_RANGE_LEN	  128
#define MAX_DISCARD	  (256 * 1024) /* an error body we read and drop before giving up */
#define MAX_EXTRA_HEADERS 8

// The upstream headers we pass on; everything else the provider sends stays here.
enum { H_TYPE, H_LENGTH, H_RANGE, H_ACCEPT_RANGES, H_ETAG, H_LAST_MODIFIED, H_COUNT };
static const char *const passed[H_COUNT] = {"Content-Type",  "Content-Length", "Content-Range",
					    "Accept-Ranges", "ETag",	       "Last-Modified"};

struct transfer {
	struct http_request *req;
	struct http_response *resp;
	enum recording_mode mode;
	long status;
	int headers_done;
	int streaming;
	int client_gone;
	size_t discarded;
	const char *values[H_COUNT];
};

int recording_range_ok(const char *value) {
	size_t len = value != NULL ? strlen(value) : 0;

	if (len <= 6 || len > MAX_RANGE_LEN || strncmp(value, "bytes=", 6) != 0) {
		return 0;
	}
	return strspn(value + 6, "0123456789-, ") == len - 6 && strchr(value + 6, '-') != NULL;
}

static int is_audio(const char *type) {
	static const char *const ok[] = {"audio/", "video/", "application/octet-stream",
					 "binary/octet-stream", "application/ogg"};

	if (type == NULL) {
		return 1; // no type: the client's player sniffs the format
	}
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (strncasecmp(type, ok[i], strlen(ok[i])) == 0) {
			return 1;
		}
	}
	return 0;
}

static void capture(struct transfer *t, const char *line, size_t len) {
	const char *colon = memchr(line, ':', len);
	const char *v;
	const char *end = line + len;

	if (colon == NULL) {
		return;
	}
	for (int i = 0; i < H_COUNT; i++) {
		size_t n = strlen(passed[i]);
		if ((size_t)(colon - line) == n && strncasecmp(line, passed[i], n) == 0) {
			for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++) {
			}
			while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) {
				end--;
			}
			t->values[i] = arena_strndup(t->req->arena, v, (size_t)(end - v));
		}
	}
}

// Headers complete: stream a good answer now, before any body byte arrives.
static int begin(struct transfer *t) {
	struct http_response *resp = t->resp;

	t->headers_done = 1;
	if (t->mode != RECORDING_STREAM || (t->status != 200 && t->status != 206) ||
	    !is_audio(t->values[H_TYPE])) {
		return 0;
	}
	resp->content_type = t->values[H_TYPE] != NULL ? t->values[H_TYPE]
						       : "application/octet-stream";
	for (int i = H_LENGTH; i < H_COUNT; i++) {
		if (t->values[i] != NULL) {
			http_add_header(resp, passed[i], t->values[i]);
		}
	}
	if (t->values[H_ACCEPT_RANGES] == NULL) {
		http_add_header(resp, "Accept-Ranges", "bytes");
	}
	http_add_header(resp, "Cache-Control", "private, max-age=0");
	http_add_header(resp, "Content-Disposition", "inline");
	t->streaming = 1;
	if (http_stream_begin(resp, (int)t->status) < 0) {
		t->client_gone = 1;
		return -1;
	}
	return 0;
}

static int on_header(void *ctx, const char *line, size_t len) {
	struct transfer *t = ctx;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		// a new status line (an interim 1xx came first): start over
		const char *sp = memchr(line, ' ', len);
		t->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		memset(t->values, 0, sizeof(t->values));
		t->headers_done = 0;
		return 0;
	}
	if ((len == 2 && line[0] == '\r') || (len == 1 && line[0] == '\n')) {
		return t->status >= 200 && !t->headers_done ? begin(t) : 0;
	}
	capture(t, line, len);
	return 0;
}

static int on_body(void *ctx, const char *data, size_t len) {
	struct transfer *t = ctx;

	if (!t->streaming) {
		// an error page or a probe: never shown to the client, read a little then hang up
		t->discarded += len;
		return t->discarded > MAX_DISCARD ? -1 : 0;
	}
	if (http_stream_write(t->resp, data, len) < 0) {
		t->client_gone = 1;
		return -1;
	}
	return 0;
}

static const char *const *request_headers(struct http_request *req, const char *const *extra,
					  enum recording_mode mode) {
	const char **h = arena_alloc(req->arena, sizeof(char *) * (MAX_EXTRA_HEADERS + 3));
	const char *range = http_header(req, "range");
	const char *if_range = http_header(req, "if-range");
	int n = 0;

	for (; extra != NULL && *extra != NULL && n < MAX_EXTRA_HEADERS; extra++) {
		h[n++] = *extra;
	}
	if (mode == RECORDING_PROBE) {
		h[n++] = "Range: bytes=0-0";
	} else if (recording_range_ok(range)) {
		h[n++] = arena_printf(req->arena, "Range: %s", range);
		if (if_range != NULL && strlen(if_range) < 128 &&
		    strpbrk(if_range, "\r\n") == NULL) {
			h[n++] = arena_printf(req->arena, "If-Range: %s", if_range);
		}
	}
	h[n] = NULL;
	return h;
}

int recording_fetch(struct app *app, struct http_request *req, struct http_response *resp,
		    const char *url, const char *const *headers, enum recording_mode mode,
		    struct recording_result *out) {
	struct transfer t = {.req = req, .resp = resp, .mode = mode};
	struct err transport = {0};
	long rc;

	memset(out, 0, sizeof(*out));
	if (!hostlist_recording_url_allowed(&app->cfg, url)) {
		char host[256] = "?";
		(void)!hostlist_url_host(url, host, sizeof(host));
		log_warn("refused to fetch a recording from host %s: not in RECORDING_HOSTS", host);
		return err_set(&req->err, 502, "recording_host_not_allowed",
			       "the recording is stored at an address this server may not fetch");
	}
	rc = httpc_stream(app->httpc, url, request_headers(req, headers, mode), on_header, on_body,
			  &t, &transport);
	out->status = t.headers_done ? t.status : 0;
	out->streamed = t.streaming;
	out->content_range = t.values[H_RANGE];
	if (t.client_gone) {
		log_info("client left after %zu recording bytes", resp->streamed_bytes);
		return 0;
	}
	if (rc < 0 && t.streaming) {
		log_warn("recording transfer broke after %zu bytes: %s", resp->streamed_bytes,
			 transport.msg);
		return 0; // headers are out: the client sees a short body
	}
	if (out->status == 0) {
		return err_set(&req->err, transport.status != 0 ? transport.status : 502,
			       transport.status != 0 ? transport.code : "recording_unavailable",
			       "the recording could not be fetched; retry later");
	}
	return 0;
}
