/* metrics.c: the shared counter page of one function and its Prometheus rendering. */
#include "common/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schema_version.h"

static const double latency_bounds_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
#define NBOUNDS (sizeof(latency_bounds_ms) / sizeof(latency_bounds_ms[0]))

/* Bump when the layout changes: a new build then starts a fresh page instead of reading the
 * old one's counters in the wrong places. */
#define PAGE_MAGIC  "callbridge-m\0\0\0"
#define PAGE_LAYOUT 1u

struct page {
	char magic[16];
	uint32_t layout;
	uint32_t size;
	_Atomic uint64_t by_status[6];		       /* index status / 100, 0 for nonsense */
	_Atomic uint64_t latency_buckets[NBOUNDS + 1]; /* not cumulative; the last is +Inf */
	_Atomic uint64_t latency_sum_us;
	_Atomic uint64_t counters[METRICS_COUNTER_COUNT];
};

static struct page *page;
static int page_shared;
static metrics_gauges_fn gauges;

static int page_valid(const struct page *p) {
	return memcmp(p->magic, PAGE_MAGIC, sizeof(p->magic)) == 0 && p->layout == PAGE_LAYOUT &&
	       p->size == sizeof(*p);
}

// Maps path, (re)initialising it under an exclusive flock when it is new or of another layout,
// so two workers starting together agree on one page.
static struct page *map_file(const char *path, struct err *err) {
	struct page *p = MAP_FAILED;
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
		err_set(err, 500, "metrics", "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	if ((size_t)st.st_size != sizeof(*p) && ftruncate(fd, 0) < 0) {
		err_set(err, 500, "metrics", "cannot reset %s: %s", path, strerror(errno));
		goto done;
	}
	if (ftruncate(fd, sizeof(*p)) < 0) {
		err_set(err, 500, "metrics", "cannot size %s: %s", path, strerror(errno));
		goto done;
	}
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err_set(err, 500, "metrics", "cannot map %s: %s", path, strerror(errno));
		goto done;
	}
	if (!page_valid(p)) {
		memset(p, 0, sizeof(*p));
		memcpy(p->magic, PAGE_MAGIC, sizeof(p->magic));
		p->layout = PAGE_LAYOUT;
		p->size = sizeof(*p);
	}
done:
	if (fd >= 0) {
		close(fd); // the mapping stays; closing also drops the flock
	}
	return p == MAP_FAILED ? NULL : p;
}

int metrics_open(const char *dir, const char *function, struct err *err) {
	char path[4096];

	metrics_close();
	if (dir == NULL || dir[0] == '\0') {
		page = calloc(1, sizeof(*page));
		if (page == NULL) {
			abort();
		}
		return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.metrics", dir, function) >= sizeof(path)) {
		return err_set(err, 500, "metrics", "metrics directory path too long");
	}
	page = map_file(path, err);
	if (page == NULL) {
		return -1;
	}
	page_shared = 1;
	return 0;
}

void metrics_close(void) {
	if (page != NULL && page_shared) {
		munmap(page, sizeof(*page));
	} else {
		free(page);
	}
	page = NULL;
	page_shared = 0;
}

static void add(_Atomic uint64_t *slot, uint64_t n) {
	atomic_fetch_add_explicit(slot, n, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *slot) {
	return atomic_load_explicit(slot, memory_order_relaxed);
}

void metrics_add(enum metrics_counter counter, uint64_t n) {
	if (page != NULL && counter < METRICS_COUNTER_COUNT) {
		add(&page->counters[counter], n);
	}
}

void metrics_record_request(int status, double ms) {
	int cls = status / 100;
	size_t b = 0;

	if (page == NULL) {
		return;
	}
	while (b < NBOUNDS && ms > latency_bounds_ms[b]) {
		b++;
	}
	add(&page->by_status[cls >= 1 && cls <= 5 ? cls : 0], 1);
	add(&page->latency_sum_us, ms > 0 ? (uint64_t)(ms * 1000.0) : 0);
	add(&page->latency_buckets[b], 1);
}

void metrics_set_gauges(metrics_gauges_fn render) {
	gauges = render;
}

static const char *const counter_names[METRICS_COUNTER_COUNT] = {
	[METRICS_PROVIDER_REQUESTS] = "callbridge_provider_requests_total",
	[METRICS_PROVIDER_RETRIES] = "callbridge_provider_retries_total",
	[METRICS_PROVIDER_FAILURES] = "callbridge_provider_failures_total",
	[METRICS_PROVIDER_429] = "callbridge_provider_429_total",
	[METRICS_STREAM_BYTES] = "callbridge_stream_bytes_total",
};

static int render_histogram(struct buf *out, const char *fn) {
	uint64_t cumulative = 0;
	int rc = buf_printf(out, "# TYPE callbridge_request_duration_ms histogram\n");

	for (size_t i = 0; i <= NBOUNDS; i++) {
		char le[16] = "+Inf";

		cumulative += get(&page->latency_buckets[i]);
		if (i < NBOUNDS) {
			snprintf(le, sizeof(le), "%g", latency_bounds_ms[i]);
		}
		rc |= buf_printf(out,
				 "callbridge_request_duration_ms_bucket{function=\"%s\",le=\"%s\"} "
				 "%llu\n",
				 fn, le, (unsigned long long)cumulative);
	}
	// the count is the +Inf bucket as read above, so the two always agree within a scrape
	rc |= buf_printf(out, "callbridge_request_duration_ms_sum{function=\"%s\"} %.3f\n", fn,
			 (double)get(&page->latency_sum_us) / 1000.0);
	rc |= buf_printf(out, "callbridge_request_duration_ms_count{function=\"%s\"} %llu\n", fn,
			 (unsigned long long)cumulative);
	return rc;
}

int metrics_render(struct buf *out, const char *function, struct arena *arena, void *ctx) {
	int rc = 0;

	if (page == NULL) {
		return 0;
	}
	rc |= buf_printf(out,
			 "# TYPE callbridge_build_info gauge\n"
			 "callbridge_build_info{function=\"%s\",version=\"%s\",schema=\"%s\"} 1\n",
			 function, CALLBRIDGE_VERSION, CALLBRIDGE_SCHEMA_VERSION);
	rc |= buf_printf(out, "# TYPE callbridge_requests_total counter\n");
	for (int cls = 1; cls <= 5; cls++) {
		rc |= buf_printf(out,
				 "callbridge_requests_total{function=\"%s\",code=\"%dxx\"} %llu\n",
				 function, cls, (unsigned long long)get(&page->by_status[cls]));
	}
	rc |= render_histogram(out, function);
	for (int c = 0; c < METRICS_COUNTER_COUNT; c++) {
		rc |= buf_printf(out, "# TYPE %s counter\n%s{function=\"%s\"} %llu\n",
				 counter_names[c], counter_names[c], function,
				 (unsigned long long)get(&page->counters[c]));
	}
	if (rc == 0 && gauges != NULL) {
		gauges(out, function, arena, ctx);
	}
	return rc != 0 ? -1 : 0;
}
