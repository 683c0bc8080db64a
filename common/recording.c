/* recording.c: the streaming recording proxy. */
#include "common/recording.h"

#include <ctype.h>
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

// The upstream headers we read; everything else the provider sends stays here. Its validators
// (ETag, Last-Modified) stay too: they describe the provider's object, not our answer.
enum { H_TYPE, H_LENGTH, H_RANGE, H_ACCEPT_RANGES, H_COUNT };
static const char *const passed[H_COUNT] = {"Content-Type", "Content-Length", "Content-Range",
					    "Accept-Ranges"};
// The characters each value may hold: a value with any other (a bare CR would break the
// answer's head) is dropped. The type is reduced instead (audio_type).
static const char *const value_chars[H_COUNT] = {NULL, "0123456789", "bytes0123456789-/* ",
						 "bytesnone"};

struct transfer {
	struct http_request *req;
	struct http_response *resp;
	enum recording_mode mode;
	long status;
	int headers_done;
	int streaming;
	int client_gone;
	int not_audio;
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

// The provider's Content-Type reduced to a lower-case type/subtype we allow (parameters
// dropped), or NULL: audio/<token>, application/ogg, and octet-stream (what storage buckets
// label audio uploaded without a type).
static const char *audio_type(struct arena *arena, const char *value) {
	static const char *const other[] = {"application/ogg", "application/octet-stream",
					    "binary/octet-stream"};
	static const char token[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/.+-";
	char type[64];
	// type/subtype ends at the first character no token has: ';', a space, a bare CR...
	size_t n = value != NULL ? strspn(value, token) : 0;

	if (n == 0 || n >= sizeof(type)) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		type[i] = (char)tolower((unsigned char)value[i]);
	}
	type[n] = '\0';
	if (strncmp(type, "audio/", 6) == 0 && n > 6 && strchr(type + 6, '/') == NULL) {
		return arena_strdup(arena, type);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		if (strcmp(type, other[i]) == 0) {
			return other[i];
		}
	}
	return NULL;
}

// 1 when each of the len bytes at v (not NUL-terminated: curl's header line) is in chars.
static int only(const char *v, size_t len, const char *chars) {
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\0' || strchr(chars, v[i]) == NULL) {
			return 0;
		}
	}
	return 1;
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
			size_t vlen = (size_t)(end - v);
			if (value_chars[i] != NULL && !only(v, vlen, value_chars[i])) {
				t->values[i] = NULL;
				continue;
			}
			t->values[i] = arena_strndup(t->req->arena, v, vlen);
		}
	}
}

// Headers complete: stream a good answer now, before any body byte arrives.
static int begin(struct transfer *t) {
	struct http_response *resp = t->resp;
	const char *type = audio_type(t->req->arena, t->values[H_TYPE]);

	t->headers_done = 1;
	if (t->mode != RECORDING_STREAM || (t->status != 200 && t->status != 206)) {
		return 0;
	}
	if (type == NULL) {
		t->not_audio = 1; // an HTML page or no type at all is not relayed
		return 0;
	}
	resp->content_type = type;
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
	struct hostlist_fetch fetch;
	struct httpc_stream_opts opts = {0, app->cfg.recording_timeout_ms};
	long rc;

	memset(out, 0, sizeof(*out));
	if (hostlist_recording_url_check(&app->cfg, url, &fetch) < 0) {
		char host[256] = "?";
		(void)!hostlist_url_host(url, host, sizeof(host));
		log_warn("refused to fetch a recording from %s: not https:443 to a RECORDING_HOSTS "
			 "host, or userinfo",
			 host);
		return err_set(&req->err, 502, "recording_host_not_allowed",
			       "the recording is stored at an address this server may not fetch");
	}
	opts.allow_loopback = fetch.allow_loopback;
	rc = httpc_stream(app->httpc, url, request_headers(req, headers, mode), &opts, on_header,
			  on_body, &t, &transport);
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
	if (t.not_audio) {
		log_warn("recording answer %ld is not audio: not relayed", t.status);
		return err_set(&req->err, 502, "recording_not_audio",
			       "the recording could not be fetched; retry later");
	}
	if (out->status == 0) {
		return err_set(&req->err, transport.status != 0 ? transport.status : 502,
			       transport.status != 0 ? transport.code : "recording_unavailable",
			       "the recording could not be fetched; retry later");
	}
	return 0;
}
