/* highlevel/sync: the HighLevel half of a call sync (see sync.h): the Voice AI call logs of the
 * user's location created since the cursor (minus the overlap) up to the start of the run,
 * paged by page/pageSize, upserted page by page with the messageId kept for the recording. */
#ifndef COMMON_HIGHLEVEL_SYNC_H
#define COMMON_HIGHLEVEL_SYNC_H

struct sync_provider;

extern const struct sync_provider highlevel_sync_provider;

#endif
