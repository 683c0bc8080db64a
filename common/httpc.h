/* httpc: the HTTP client for provider APIs over one reused libcurl handle: timeouts, TLS
 * verification, a response size cap, and retries with exponential backoff and full jitter on
 * 429, 5xx, timeouts and dropped connections, honouring Retry-After. A 429 carrying
 * HighLevel's X-RateLimit-* headers waits X-RateLimit-Interval-Milliseconds (the burst window),
 * and is not retried at all when X-RateLimit-Daily-Remaining is 0 (the daily quota is spent).
 * A client belongs to one thread at a time; the counters are the whole process's. */
#ifndef COMMON_HTTPC_H
#define COMMON_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

struct arena;
struct httpc;

struct httpc_options {
	long timeout_ms;
	long connect_timeout_ms;
	size_t max_response_bytes;
	int max_retries;
	long backoff_base_ms;
	long backoff_max_ms;
};

struct httpc_request {
	const char *method;	    /* "GET", "POST", ... */
	const char *url;	    /* https, or http to a loopback host (tests) */
	const char *const *headers; /* NULL-terminated "Name: value" lines, may be NULL */
	const char *body;	    /* may be NULL */
	size_t body_len;
	int64_t deadline_ms; /* monotonic ms after which no retry starts; 0 = none */
};

struct httpc_response {
	long status;	      /* final HTTP status */
	struct buf body;      /* owned: release with httpc_response_finish */
	int retries;	      /* attempts beyond the first */
	long daily_remaining; /* X-RateLimit-Daily-Remaining of the final answer, -1 if absent */
};

struct httpc_counters {
	long requests;
	long retries;
	long failures;
};

/* Creates a client; destroy with httpc_destroy (NULL accepted). */
struct httpc *httpc_create(const struct httpc_options *opts);
void httpc_destroy(struct httpc *c);

/* Performs req, retrying as described above. Returns 0 with resp filled for any final HTTP
 * answer (the caller judges its status), or -1: 504 "upstream_timeout" after timeouts,
 * 502 "upstream_unreachable" / "upstream_too_large" / "upstream_bad_url". resp must be
 * zero-initialised by the caller and is released with httpc_response_finish. */
int httpc_do(struct httpc *c, const struct httpc_request *req, struct httpc_response *resp,
	     struct err *err) MUSTCHECK;
void httpc_response_finish(struct httpc_response *resp);

/* Streams one GET (no retry: bytes may already be out) to the callbacks; the header callback
 * gets each raw header line; returns the HTTP status or -1 with err set. */
typedef int (*httpc_header_fn)(void *ctx, const char *line, size_t len);
typedef int (*httpc_body_fn)(void *ctx, const char *data, size_t len);
long httpc_stream(struct httpc *c, const char *url, const char *const *headers,
		  httpc_header_fn on_header, httpc_body_fn on_body, void *ctx, struct err *err);

/* Several GETs at once over curl multi (the sync's per-call detail fetches): at most
 * concurrency in flight, each retried like httpc_do in rounds (the round waits for the longest
 * Retry-After). Every item ends with status set (final HTTP status) or err set; returns the
 * number of items that got an HTTP answer. */
struct httpc_batch_item {
	const char *url; /* in */
	long status;	 /* out: final HTTP status, 0 when err is set */
	struct buf body; /* out: owned; release with buf_finish */
	struct err err;	 /* out: transport failure */
};
int httpc_get_batch(struct httpc *c, const char *const *headers, struct httpc_batch_item *items,
		    size_t n, int concurrency, int64_t deadline_ms, int *retries);

/* Delay before retry number attempt (1-based): Retry-After when given (capped at
 * backoff_max_ms), else full jitter over base * 2^(attempt-1). Exposed for tests. */
long httpc_backoff_ms(const struct httpc_options *opts, int attempt, long retry_after_ms);
/* Parses a Retry-After value (delta seconds or HTTP-date) to ms from now; -1 if unusable. */
long httpc_parse_retry_after(const char *value, int64_t now_s);

/* Maps a provider's non-2xx status to err the same way for every provider: 401/403 become
 * 422 with rejected_code / rejected_msg (the credential is refused), 404 stays 404, 429 and
 * everything else 502 with retry advice. Messages never name a provider. Returns -1. */
int httpc_status_error(long status, const char *rejected_code, const char *rejected_msg,
		       struct err *err);

/* The err code of an answer refused because the provider's daily request quota is spent (a 429
 * with X-RateLimit-Daily-Remaining: 0): callers stop until another day; a sync records the user
 * as rate_limited and resumes on its next run. */
#define HTTPC_QUOTA_SPENT "provider_quota_spent"

/* httpc_status_error for a whole answer: a spent daily quota is 429 HTTPC_QUOTA_SPENT, any other
 * status as httpc_status_error maps it. Returns -1. */
int httpc_answer_error(const struct httpc_response *resp, const char *rejected_code,
		       const char *rejected_msg, struct err *err);

/* Percent-encodes s for a URL path segment or query value; arena-owned. */
const char *httpc_escape(struct arena *arena, const char *s);

/* True when the URL's scheme is https, or http to 127.0.0.1 / localhost / [::1]. */
int httpc_url_allowed(const char *url);

/* Provider requests, retries and failures of every client of this process so far. */
struct httpc_counters httpc_counters(void);
int64_t httpc_now_ms(void);

#endif
