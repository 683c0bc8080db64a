/* httpc.c: libcurl easy handle with retries. */
#include "common/httpc.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/arena.h"
#include "common/crypto.h"
#include "common/log.h"

struct httpc {
	CURL *easy;
	struct httpc_options opts;
};

// Process-wide: a process has one client per serving thread, the metrics page shows their sum.
static struct {
	atomic_long requests;
	atomic_long retries;
	atomic_long failures;
} totals;

static pthread_once_t curl_started = PTHREAD_ONCE_INIT;

struct transfer {
	struct buf *body;
	long retry_after_ms;
	long interval_ms;     /* X-RateLimit-Interval-Milliseconds, -1 if absent */
	long daily_remaining; /* X-RateLimit-Daily-Remaining, -1 if absent */
	int too_large;
};

int64_t httpc_now_ms(void) {
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct httpc *httpc_create(const struct httpc_options *opts) {
	struct httpc *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		abort();
	}
	// libcurl (and the TLS setup it brings) is started on first use: most functions never
	// call a provider, and an idle worker should not carry it
	c->opts = *opts;
	return c;
}

void httpc_destroy(struct httpc *c) {
	if (c == NULL) {
		return;
	}
	curl_easy_cleanup(c->easy);
	free(c);
}

void httpc_response_finish(struct httpc_response *resp) {
	buf_finish(&resp->body);
}

struct httpc_counters httpc_counters(void) {
	return (struct httpc_counters){
		.requests = atomic_load(&totals.requests),
		.retries = atomic_load(&totals.retries),
		.failures = atomic_load(&totals.failures),
	};
}

int httpc_status_error(long status, const char *rejected_code, const char *rejected_msg,
		       struct err *err) {
	if (status == 401 || status == 403) {
		return err_set(err, 422, rejected_code, "%s", rejected_msg);
	}
	if (status == 404) {
		return err_set(err, 404, "provider_not_found", "provider does not know this id");
	}
	if (status == 429) {
		return err_set(err, 502, "provider_rate_limited",
			       "provider rate limit reached; retry in a minute");
	}
	if (status >= 500) {
		return err_set(err, 502, "provider_error", "provider error (%ld); retry later",
			       status);
	}
	return err_set(err, 502, "provider_error", "provider refused the request (%ld)", status);
}

int httpc_answer_error(const struct httpc_response *resp, const char *rejected_code,
		       const char *rejected_msg, struct err *err) {
	if (resp->status == 429 && resp->daily_remaining == 0) {
		return err_set(err, 429, HTTPC_QUOTA_SPENT,
			       "the provider's daily request quota is used up; try again tomorrow");
	}
	return httpc_status_error(resp->status, rejected_code, rejected_msg, err);
}

const char *httpc_escape(struct arena *arena, const char *s) {
	char *e = curl_easy_escape(NULL, s, 0);
	const char *out;

	if (e == NULL) {
		abort(); // only an allocation failure makes curl refuse
	}
	out = arena_strdup(arena, e);
	curl_free(e);
	return out;
}

int httpc_url_allowed(const char *url) {
	static const char *const loopback[] = {"http://127.0.0.1:", "http://127.0.0.1/",
					       "http://localhost:", "http://localhost/",
					       "http://[::1]:",	    "http://[::1]/"};

	if (strncmp(url, "https://", 8) == 0) {
		return 1;
	}
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		if (strncmp(url, loopback[i], strlen(loopback[i])) == 0) {
			return 1;
		}
	}
	return 0;
}

long httpc_parse_retry_after(const char *value, int64_t now_s) {
	char *end = NULL;
	long secs;
	time_t when;

	while (*value == ' ') {
		value++;
	}
	if (isdigit((unsigned char)*value)) {
		secs = strtol(value, &end, 10);
		return secs >= 0 && secs < 86400 ? secs * 1000 : -1;
	}
	when = curl_getdate(value, NULL);
	if (when < 0) {
		return -1;
	}
	return when > now_s ? (long)(when - now_s) * 1000 : 0;
}

long httpc_backoff_ms(const struct httpc_options *opts, int attempt, long retry_after_ms) {
	long ceiling = opts->backoff_base_ms;
	uint32_t r = 0;

	if (retry_after_ms >= 0) {
		return retry_after_ms < opts->backoff_max_ms ? retry_after_ms
							     : opts->backoff_max_ms;
	}
	for (int i = 1; i < attempt && ceiling < opts->backoff_max_ms; i++) {
		ceiling *= 2;
	}
	if (ceiling > opts->backoff_max_ms) {
		ceiling = opts->backoff_max_ms;
	}
	if (crypto_random(&r, sizeof(r)) < 0) {
		r = (uint32_t)httpc_now_ms();
	}
	// full jitter keeps many workers retrying after one outage from marching in step
	return (long)(r % (uint32_t)(ceiling + 1));
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
	struct transfer *t = ud;

	if (buf_append(t->body, data, size * n) < 0) {
		t->too_large = 1;
		return 0;
	}
	return size * n;
}

// The value of header `name` (lowercase, with the colon) in line, NUL-terminated in value;
// NULL when line is another header or the value does not fit.
static const char *header_value(const char *line, size_t len, const char *name, char *value,
				size_t size) {
	size_t n = strlen(name);

	if (len <= n || len >= n + size || strncasecmp(line, name, n) != 0) {
		return NULL;
	}
	memcpy(value, line + n, len - n);
	value[len - n] = '\0';
	value[strcspn(value, "\r\n")] = '\0';
	return value;
}

// A non-negative count from a header value, or -1.
static long header_count(const char *value) {
	char *end = NULL;
	long v = strtol(value, &end, 10);

	return end != value && v >= 0 ? v : -1;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud) {
	struct transfer *t = ud;
	size_t len = size * n;
	char value[128];

	if (header_value(line, len, "retry-after:", value, sizeof(value)) != NULL) {
		t->retry_after_ms = httpc_parse_retry_after(value, (int64_t)time(NULL));
	} else if (header_value(line, len, "x-ratelimit-interval-milliseconds:", value,
				sizeof(value)) != NULL) {
		t->interval_ms = header_count(value);
	} else if (header_value(line, len, "x-ratelimit-daily-remaining:", value, sizeof(value)) !=
		   NULL) {
		t->daily_remaining = header_count(value);
	}
	return len;
}

static struct curl_slist *make_headers(const char *const *headers) {
	struct curl_slist *list = NULL;

	for (; headers != NULL && *headers != NULL; headers++) {
		struct curl_slist *next = curl_slist_append(list, *headers);
		if (next == NULL) {
			abort();
		}
		list = next;
	}
	// curl adds "Expect: 100-continue" to large POSTs; providers answer faster without it
	return curl_slist_append(list, "Expect:");
}

static void start_curl_globally(void) {
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void start_curl(struct httpc *c) {
	if (c->easy == NULL) {
		// curl_global_init is not thread-safe: the first thread to need it runs it, once
		pthread_once(&curl_started, start_curl_globally);
		c->easy = curl_easy_init();
		if (c->easy == NULL) {
			abort();
		}
	}
}

static void setup(struct httpc *c, const char *method, const char *url, struct curl_slist *hdrs) {
	CURL *e;

	start_curl(c);
	e = c->easy;

	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "callbridge/0.1");
}

// One attempt; returns 1 when it should be retried, 0 when final, -1 on a final error.
static int attempt(struct httpc *c, const struct httpc_request *req, struct curl_slist *hdrs,
		   struct httpc_response *resp, long *retry_after_ms, struct err *err) {
	struct transfer t = {.body = &resp->body,
			     .retry_after_ms = -1,
			     .interval_ms = -1,
			     .daily_remaining = -1};
	CURLcode rc;

	buf_reset(&resp->body);
	setup(c, req->method, req->url, hdrs);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, &t);
	if (req->body != NULL) {
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	atomic_fetch_add(&totals.requests, 1);
	rc = curl_easy_perform(c->easy);
	*retry_after_ms = t.retry_after_ms;
	if (t.too_large) {
		err_set(err, 502, "upstream_too_large", "provider answer exceeds the size limit");
		return -1;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		err_set(err, 504, "upstream_timeout", "provider did not answer in time");
		return 1;
	}
	if (rc != CURLE_OK) {
		err_set(err, 502, "upstream_unreachable", "provider unreachable: %s",
			curl_easy_strerror(rc));
		return 1;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->daily_remaining = t.daily_remaining;
	if (resp->status == 429) {
		// a burst limit lifts after its interval; a spent daily quota not today: no retry
		if (*retry_after_ms < 0) {
			*retry_after_ms = t.interval_ms;
		}
		return t.daily_remaining == 0 ? 0 : 1;
	}
	return resp->status >= 500 ? 1 : 0;
}

int httpc_do(struct httpc *c, const struct httpc_request *req, struct httpc_response *resp,
	     struct err *err) {
	struct curl_slist *hdrs = NULL;
	struct err last = {0};
	long retry_after_ms = -1;
	int rc = -1;

	if (resp->body.max == 0) {
		buf_init(&resp->body, c->opts.max_response_bytes);
	}
	if (!httpc_url_allowed(req->url)) {
		return err_set(err, 502, "upstream_bad_url", "provider URL must use https");
	}
	hdrs = make_headers(req->headers);
	for (int n = 0;; n++) {
		int again;

		err_clear(&last);
		resp->status = 0;
		again = attempt(c, req, hdrs, resp, &retry_after_ms, &last);
		if (again <= 0 || n >= c->opts.max_retries) {
			rc = again < 0 || resp->status == 0 ? -1 : 0;
			break;
		}
		long delay = httpc_backoff_ms(&c->opts, n + 1, retry_after_ms);
		if (req->deadline_ms != 0 && httpc_now_ms() + delay > req->deadline_ms) {
			rc = resp->status == 0 ? -1 : 0;
			break;
		}
		log_info("retrying %s %s in %ld ms (status %ld)", req->method, req->url, delay,
			 resp->status);
		atomic_fetch_add(&totals.retries, 1);
		resp->retries++;
		struct timespec ts = {delay / 1000, delay % 1000 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (rc < 0) {
		atomic_fetch_add(&totals.failures, 1);
		err_set(err, last.status != 0 ? last.status : 502,
			last.status != 0 ? last.code : "upstream_error", "%s",
			last.status != 0 ? last.msg : "provider error");
	}
	curl_slist_free_all(hdrs);
	return rc;
}

struct stream_ctx {
	httpc_header_fn on_header;
	httpc_body_fn on_body;
	void *ctx;
};

static size_t stream_header(char *line, size_t size, size_t n, void *ud) {
	struct stream_ctx *s = ud;

	return s->on_header(s->ctx, line, size * n) < 0 ? 0 : size * n;
}

static size_t stream_body(char *data, size_t size, size_t n, void *ud) {
	struct stream_ctx *s = ud;

	return s->on_body(s->ctx, data, size * n) < 0 ? 0 : size * n;
}

long httpc_stream(struct httpc *c, const char *url, const char *const *headers,
		  httpc_header_fn on_header, httpc_body_fn on_body, void *ctx, struct err *err) {
	struct stream_ctx s = {on_header, on_body, ctx};
	struct curl_slist *hdrs = NULL;
	long status = -1;
	CURLcode rc;

	if (!httpc_url_allowed(url)) {
		return err_set(err, 502, "upstream_bad_url", "provider URL must use https");
	}
	hdrs = make_headers(headers);
	setup(c, "GET", url, hdrs);
	// a recording may take longer than an API answer, but a stalled one must still end
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, c->opts.timeout_ms / 1000 + 1);
	curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, NULL);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, stream_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, stream_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &s);
	atomic_fetch_add(&totals.requests, 1);
	rc = curl_easy_perform(c->easy);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		err_set(err, 504, "upstream_timeout", "provider did not answer in time");
	} else {
		err_set(err, 502, "upstream_unreachable", "provider transfer failed: %s",
			curl_easy_strerror(rc));
	}
	curl_slist_free_all(hdrs);
	return status;
}

struct batch_slot {
	CURL *easy;
	struct httpc_batch_item *item;
	struct transfer t;
};

// Starts item on a free slot's handle.
static void batch_start(struct httpc *c, CURLM *multi, struct batch_slot *slot,
			struct httpc_batch_item *item, struct curl_slist *hdrs) {
	CURL *e = slot->easy;

	slot->item = item;
	if (item->body.max == 0) {
		buf_init(&item->body, c->opts.max_response_bytes);
	}
	buf_reset(&item->body);
	slot->t = (struct transfer){.body = &item->body,
				    .retry_after_ms = -1,
				    .interval_ms = -1,
				    .daily_remaining = -1};
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, item->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "callbridge/0.1");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &slot->t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &slot->t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, slot);
	curl_multi_add_handle(multi, e);
	atomic_fetch_add(&totals.requests, 1);
}

// Judges a finished transfer: 1 = retry it, 0 = final.
static int batch_finish(struct batch_slot *slot, CURLcode rc, long *retry_after_ms) {
	struct httpc_batch_item *item = slot->item;

	err_clear(&item->err);
	item->status = 0;
	if (slot->t.retry_after_ms > *retry_after_ms) {
		*retry_after_ms = slot->t.retry_after_ms;
	}
	if (slot->t.too_large) {
		err_set(&item->err, 502, "upstream_too_large",
			"provider answer exceeds the size limit");
		return 0;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		err_set(&item->err, 504, "upstream_timeout", "provider did not answer in time");
		return 1;
	}
	if (rc != CURLE_OK) {
		err_set(&item->err, 502, "upstream_unreachable", "provider unreachable: %s",
			curl_easy_strerror(rc));
		return 1;
	}
	curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &item->status);
	return item->status == 429 || item->status >= 500;
}

// Runs one round over the pending items; those to retry are moved to the front of pending.
static size_t batch_round(struct httpc *c, CURLM *multi, struct batch_slot *slots, int nslots,
			  struct httpc_batch_item **pending, size_t npending,
			  struct curl_slist *hdrs, long *retry_after_ms) {
	size_t next = 0;
	size_t nretry = 0;
	int active = 0;

	while (next < npending || active > 0) {
		for (int s = 0; s < nslots && next < npending; s++) {
			if (slots[s].item == NULL) {
				batch_start(c, multi, &slots[s], pending[next++], hdrs);
				active++;
			}
		}
		int running = 0;
		curl_multi_perform(multi, &running);
		CURLMsg *msg;
		int left = 0;
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct batch_slot *slot = NULL;
			if (msg->msg != CURLMSG_DONE) {
				continue;
			}
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
			curl_multi_remove_handle(multi, slot->easy);
			if (batch_finish(slot, msg->data.result, retry_after_ms)) {
				// earlier entries are all started, so the front is free to reuse
				pending[nretry++] = slot->item;
			}
			slot->item = NULL;
			active--;
		}
		if (active > 0) {
			curl_multi_poll(multi, NULL, 0, 100, NULL);
		}
	}
	return nretry;
}

int httpc_get_batch(struct httpc *c, const char *const *headers, struct httpc_batch_item *items,
		    size_t n, int concurrency, int64_t deadline_ms, int *retries) {
	CURLM *multi = NULL;
	struct curl_slist *hdrs = make_headers(headers);
	struct batch_slot *slots = calloc((size_t)concurrency, sizeof(*slots));
	struct httpc_batch_item **pending = calloc(n + 1, sizeof(*pending));
	size_t npending = n;
	int answered = 0;

	start_curl(c);
	multi = curl_multi_init();

	if (multi == NULL || slots == NULL || pending == NULL) {
		abort();
	}
	for (int s = 0; s < concurrency; s++) {
		slots[s].easy = curl_easy_init();
	}
	for (size_t i = 0; i < n; i++) {
		pending[i] = &items[i];
	}
	for (int round = 0; npending > 0; round++) {
		long retry_after_ms = -1;
		npending = batch_round(c, multi, slots, concurrency, pending, npending, hdrs,
				       &retry_after_ms);
		if (npending == 0 || round >= c->opts.max_retries) {
			break;
		}
		long delay = httpc_backoff_ms(&c->opts, round + 1, retry_after_ms);
		if (deadline_ms != 0 && httpc_now_ms() + delay > deadline_ms) {
			break;
		}
		atomic_fetch_add(&totals.retries, (long)npending);
		*retries += (int)npending;
		struct timespec ts = {delay / 1000, delay % 1000 * 1000000L};
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		answered += items[i].status != 0;
	}
	for (int s = 0; s < concurrency; s++) {
		curl_easy_cleanup(slots[s].easy);
	}
	free(slots);
	free(pending);
	curl_slist_free_all(hdrs);
	curl_multi_cleanup(multi);
	return answered;
}
