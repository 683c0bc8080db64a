/* recording: provider audio passed through to the client without holding it in memory: the
 * upstream status and headers are judged before a byte goes out, then the body is streamed as
 * it arrives (Range / 206 pass through so players can seek). Only hosts hostlist allows are
 * fetched. */
#ifndef COMMON_RECORDING_H
#define COMMON_RECORDING_H

#include "common/err.h"

struct app;
struct http_request;
struct http_response;

enum recording_mode {
	RECORDING_STREAM, /* stream a good answer to the client */
	RECORDING_PROBE,  /* only learn the status (asks for one byte; nothing is sent) */
};

struct recording_result {
	long status;		   /* upstream HTTP status; 0 when none arrived */
	int streamed;		   /* 1 when status and headers went to the client */
	const char *content_range; /* upstream Content-Range (arena-owned) or NULL */
};

/* Fetches url with the given extra request headers (NULL-terminated, may be NULL) plus the
 * client's Range and If-Range when well-formed. In RECORDING_STREAM mode a 200 or 206 audio
 * answer is streamed to resp with its Content-Type, Content-Length, Content-Range and
 * Accept-Ranges when well-formed, the type reduced to an allowed audio type/subtype, and
 * nothing else of the provider's (no host, no provider header, no ETag / Last-Modified); any
 * other answer is not sent and its body is discarded. The whole transfer is bounded by
 * RECORDING_TIMEOUT_MS. Returns 0 once an upstream answer arrived (out->status says which,
 * out->streamed whether it went out); -1 with req->err set when the URL is not allowed
 * (hostlist_recording_url_check, 502 "recording_host_not_allowed") or leads to an internal
 * address (502 "recording_address_not_allowed"), a 200/206 that is not audio (502
 * "recording_not_audio"), or the transfer failed before an answer (502 / 504). */
int recording_fetch(struct app *app, struct http_request *req, struct http_response *resp,
		    const char *url, const char *const *headers, enum recording_mode mode,
		    struct recording_result *out) MUSTCHECK;

/* 1 when value is a Range header we forward: "bytes=" and digits, '-', ',' and spaces, at
 * most 128 characters. */
int recording_range_ok(const char *value);

#endif
