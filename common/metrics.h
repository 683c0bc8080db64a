/* metrics: one function's counters, shared by all of its workers (multiwatch's N processes and
 * their threads) and rendered summed by whichever worker a scrape reaches.
 *
 * The counters live in a page mmap'd MAP_SHARED from <dir>/<function>.metrics (dir is systemd's
 * $RUNTIME_DIRECTORY, or deploy/stack's run dir). Every update is one C11 relaxed atomic add on
 * that page, so the totals need no lock, survive the restart of any one worker (the file stays)
 * and never go back while the function runs. Without a dir the page is private to the process
 * (command-line runs, unit tests).
 *
 * Ownership: the page is the process's from metrics_open to metrics_close; the update calls are
 * safe from any thread and before metrics_open (they do nothing then). */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

struct arena;

enum metrics_counter {
	METRICS_PROVIDER_REQUESTS, /* calls to Retell / HighLevel, each attempt */
	METRICS_PROVIDER_RETRIES,  /* attempts beyond the first (429, 5xx, timeouts) */
	METRICS_PROVIDER_FAILURES, /* calls that failed after every retry */
	METRICS_PROVIDER_429,	   /* provider answers 429 Too Many Requests */
	METRICS_STREAM_BYTES,	   /* body bytes streamed to clients (recordings) */
	METRICS_COUNTER_COUNT
};

/* Maps (creating it when needed) the function's shared page under dir; dir NULL or "" gives a
 * process-private page. A page of another layout (an older build) is replaced. -1 with err set
 * when the file cannot be created or mapped. */
int metrics_open(const char *dir, const char *function, struct err *err) MUSTCHECK;
void metrics_close(void);

void metrics_add(enum metrics_counter counter, uint64_t n);
/* One answered request: its status class and its latency histogram. */
void metrics_record_request(int status, double ms);

/* Gauges computed when a scrape is rendered (e.g. from the database), after the counters;
 * ctx is what the rendering thread passes to metrics_render (its own struct app). */
typedef void (*metrics_gauges_fn)(struct buf *out, const char *function, struct arena *arena,
				  void *ctx);
void metrics_set_gauges(metrics_gauges_fn render);

/* Prometheus text of every counter summed over the workers, build_info, then the gauges.
 * -1 when out's maximum was reached. */
int metrics_render(struct buf *out, const char *function, struct arena *arena, void *ctx) MUSTCHECK;

#endif
