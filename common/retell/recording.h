/* retell/recording: a Retell call's recording URL renewed. The URL the provider gives is
 * signed and expires; a fresh one comes with the call from GET /v2/get-call and is stored so
 * the next play needs no provider call. */
#ifndef COMMON_RETELL_RECORDING_H
#define COMMON_RETELL_RECORDING_H

#include "common/err.h"

struct app;
struct arena;
struct secrets_use;

/* Fetches retell_call_id with the key of use->user_id (audited as use) and stores its
 * recording URL on calls.id call_id; *url is arena-owned. No URL at the provider: 404
 * "no_recording"; a call answer of another shape: 502; the client's errors otherwise. */
int retell_recording_renew(struct app *app, struct arena *arena, const struct secrets_use *use,
			   const char *call_id, const char *retell_call_id, const char **url,
			   struct err *err) MUSTCHECK;

#endif
