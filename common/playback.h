/* playback: signed playback links for the recording function. An <audio> element cannot send
 * a bearer token, so a signed-in viewer asks for a link of ours, valid for an hour, that stands
 * in for their token on one call (and still only while they may see it). */
#ifndef COMMON_PLAYBACK_H
#define COMMON_PLAYBACK_H

#include "common/err.h"

struct app;
struct arena;
struct auth_caller;
struct http_request;

#define PLAYBACK_LINK_TTL_S 3600

/* The link's path and query for call_id (our calls.id) as caller, arena-owned; *expires is
 * its end (epoch seconds). */
const char *playback_link(const struct app *app, struct arena *arena, const char *call_id,
			  const struct auth_caller *caller, long *expires);

/* 1 when the request carries a link's signature (sig=), so playback_caller applies. */
int playback_is_link(const struct http_request *req);

/* The viewer a link was made for, from the request's query (viewer, kind, expires, sig) and
 * call_id: 401 "bad_link" when malformed, forged or expired. */
int playback_caller(const struct app *app, struct http_request *req, const char *call_id,
		    struct auth_caller *caller) MUSTCHECK;

#endif
