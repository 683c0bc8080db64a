/* retell/client: the Retell AI REST API over httpc (base URL from config so tests use a fake).
 * Provider failures map to clear errors: a rejected key 422, an unknown id 404, rate limits and
 * 5xx (after retries) 502 with retry advice, timeouts 504. Messages never name the provider. */
#ifndef COMMON_RETELL_CLIENT_H
#define COMMON_RETELL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct app;
struct arena;
struct json_object;

/* One page of a list call: items borrowed from root, which the caller puts. */
struct retell_page {
	struct json_object *root;
	struct json_object *items; /* array */
	const char *next_key;	   /* pagination_key for the next page, NULL at the end */
	int retries;		   /* retried attempts spent on this page */
};

/* POST /v2/list-agents?limit=1000[&pagination_key=...] with filter_criteria.channel = voice
 * (chat agents are listed too otherwise); when the workspace answers 404 or 405 there, falls
 * back to the legacy GET /list-agents (one page holding every agent). The v2 items are short
 * (agent_id, agent_name, channel, tags, user_modified_timestamp): the details come from
 * retell_client_agent_details. */
int retell_client_list_agents(struct app *app, const char *api_key, const char *pagination_key,
			      struct retell_page *page, struct err *err) MUSTCHECK;

/* A listed agent. Strings are borrowed from the page's tree. */
struct retell_agent {
	const char *agent_id; /* required */
	const char *name;
	const char *voice_id;
	const char *language;
	int published;	 /* -1 absent, 0, 1 */
	int64_t version; /* -1 absent */
};
/* Reads one item of a list-agents page, or a whole agent; an item of another shape: 502
 * "provider_bad_answer". */
int retell_client_agent(struct json_object *item, struct retell_agent *out,
			struct err *err) MUSTCHECK;

/* GET /get-agent/{agent_id} for each of the n agents, app->cfg.sync_detail_concurrency at a
 * time: fills their voice_id, language, published and version (arena-owned strings). An agent
 * deleted since it was listed (404) keeps what the list said; any other failure is err. */
int retell_client_agent_details(struct app *app, struct arena *arena, const char *api_key,
				struct retell_agent *agents, size_t n, struct err *err) MUSTCHECK;

/* POST /v3/list-calls: calls with start_timestamp >= since_ms (ascending) of the given agents
 * (NULL-terminated provider agent ids; NULL = all), limit per page (1..1000). */
struct retell_call_filter {
	int64_t since_ms;
	const char *const *agent_ids;
	int limit;
	int64_t deadline_ms; /* monotonic; 0 = none */
};
int retell_client_list_calls(struct app *app, struct arena *arena, const char *api_key,
			     const struct retell_call_filter *filter, const char *pagination_key,
			     struct retell_page *page, struct err *err) MUSTCHECK;

/* GET /v2/get-call/{call_id}: *call is a new tree the caller puts. */
int retell_client_get_call(struct app *app, struct arena *arena, const char *api_key,
			   const char *call_id, struct json_object **call,
			   struct err *err) MUSTCHECK;

/* The GET /v2/get-call URL of call_id (escaped), arena-owned: the sync fetches many at once. */
const char *retell_client_call_url(struct app *app, struct arena *arena, const char *call_id);

/* Releases a page's tree. */
void retell_page_finish(struct retell_page *page);

/* Maps a provider HTTP status to err (shared with the batch fetches of the sync). */
int retell_client_status_error(long status, struct err *err);

#endif
