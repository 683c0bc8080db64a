/* retell/sync: the Retell half of a call sync (see sync.h): list calls since the cursor with
 * POST /v3/list-calls, fetch what the list omits per call, upsert page by page. */
#ifndef COMMON_RETELL_SYNC_H
#define COMMON_RETELL_SYNC_H

struct sync_provider;

extern const struct sync_provider retell_sync_provider;

#endif
