/* metrics_gauges: the domain gauges of the metrics page, read from the database at scrape
 * time (they are the same for every function, so any worker of any function can answer):
 * the webhook inbox backlog and, per provider, the last successful sync and its age. */
#ifndef COMMON_METRICS_GAUGES_H
#define COMMON_METRICS_GAUGES_H

#include "common/buf.h"

struct arena;

/* A metrics_gauges_fn; ctx is the rendering thread's struct app (its own database
 * connection). A database it cannot reach renders
 * callbridge_database_up 0 and no other gauge. */
void metrics_gauges_render(struct buf *out, const char *function, struct arena *arena, void *ctx);

#endif
