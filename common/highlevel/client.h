/* highlevel/client: the HighLevel (LeadConnector) API v2 over httpc (base URL from config so
 * tests use a fake): the OAuth token endpoint, Voice AI agents and call logs, and the
 * recording URL. Provider failures map to clear errors: a rejected token 422, an unknown id
 * 404, rate limits and 5xx (after retries) 502 with retry advice, timeouts 504. Messages never
 * name the provider: callers may pass them on to clients. */
#ifndef COMMON_HIGHLEVEL_CLIENT_H
#define COMMON_HIGHLEVEL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct app;
struct arena;
struct json_object;

/* The Version header each endpoint we call documents (docs/providers.md): 2021-04-15 for every
 * /voice-ai/... endpoint and for the conversations recording; 2021-07-28 belongs to others
 * (e.g. /oauth/locationToken) we do not call; POST /oauth/token takes none. */
#define HIGHLEVEL_VERSION_VOICE_AI  "2021-04-15"
#define HIGHLEVEL_VERSION_RECORDING "2021-04-15"
#define HIGHLEVEL_PAGE_SIZE	    50 /* the largest pageSize the list calls accept */
/* the white-label authorise page (docs/oauth/Authorization.md) */
#define HIGHLEVEL_AUTHORIZE_URL "https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation"
#define HIGHLEVEL_SCOPES \
	"voice-ai-agents.readonly voice-ai-dashboard.readonly conversations/message.readonly"

/* What the token endpoint answered. Strings are arena-owned; the two tokens are secrets: wipe
 * them with secrets_wipe once stored. */
struct highlevel_token {
	char *access_token;
	char *refresh_token;
	int64_t expires_in; /* seconds */
	const char *location_id;
	const char *user_type; /* "Location" expected */
	const char *scope;
};

/* 1 when HIGHLEVEL_CLIENT_ID, _SECRET and _REDIRECT_URI are all set. */
int highlevel_client_configured(const struct app *app);

/* The page the browser is sent to so the user picks a location and grants our scopes;
 * arena-owned. */
const char *highlevel_client_authorize_url(const struct app *app, struct arena *arena,
					   const char *state);

/* POST /oauth/token, grant_type=authorization_code, user_type=Location. A code the provider
 * refuses (expired, used, not ours) is 400 "invalid_code"; refused app credentials 502. */
int highlevel_client_exchange_code(struct app *app, struct arena *arena, const char *code,
				   struct highlevel_token *out, struct err *err) MUSTCHECK;

/* POST /oauth/token, grant_type=refresh_token. A refresh token the provider refuses (400
 * invalid_grant, 401) is 422 "refresh_rejected": the connection cannot be used again until the
 * user authorises anew. Refused app credentials (invalid_client) are 502 "provider_rejected_app"
 * instead: the refresh token is still good once the configuration is fixed. */
int highlevel_client_refresh(struct app *app, struct arena *arena, const char *refresh_token,
			     struct highlevel_token *out, struct err *err) MUSTCHECK;

/* One page of a list call: items borrowed from root, which highlevel_page_finish releases. */
struct highlevel_page {
	struct json_object *root;
	struct json_object *items; /* array: agents or callLogs */
	int64_t total;
	int page;
	int page_size;
	int more;    /* 1 while page * page_size < total and this page was full */
	int retries; /* retried attempts spent on this page */
};
void highlevel_page_finish(struct highlevel_page *page);

/* GET /voice-ai/agents?locationId=&page=&pageSize=50 (page is 1-based). */
int highlevel_client_list_agents(struct app *app, struct arena *arena, const char *access_token,
				 const char *location_id, int page, struct highlevel_page *out,
				 struct err *err) MUSTCHECK;

/* A listed agent; strings borrowed from the page's tree. */
struct highlevel_agent {
	const char *id;
	const char *name; /* agentName, NULL when absent or not a string */
};
/* The page's agents that have a non-empty string id (other items are skipped), in an
 * arena-owned array; a name holding a NUL byte: 502 "provider_bad_answer". */
int highlevel_client_agents(struct arena *arena, const struct highlevel_page *page,
			    struct highlevel_agent **agents, size_t *n, struct err *err) MUSTCHECK;

/* GET /voice-ai/dashboard/call-logs?locationId=&startDate=&endDate=&page=&pageSize=
 * &sortBy=createdAt&sort=ascend: the location's call logs created in [start_ms, end_ms] (epoch
 * milliseconds), oldest first (sort counts only with sortBy; alone it would be newest first).
 * A spent daily quota is 429 HTTPC_QUOTA_SPENT. */
struct highlevel_call_filter {
	const char *location_id;
	int64_t start_ms;
	int64_t end_ms;
	int page;	     /* 1-based */
	int page_size;	     /* 1..50; 0 = 50 */
	int64_t deadline_ms; /* monotonic; 0 = none */
};
int highlevel_client_list_call_logs(struct app *app, struct arena *arena, const char *access_token,
				    const struct highlevel_call_filter *filter,
				    struct highlevel_page *out, struct err *err) MUSTCHECK;

/* The Conversations recording of a call log's messageId: the audio itself, fetched with the
 * location's token (highlevel_client_headers with HIGHLEVEL_VERSION_RECORDING). Arena-owned. */
const char *highlevel_client_recording_url(const struct app *app, struct arena *arena,
					   const char *message_id, const char *location_id);

/* The request headers of an API call, NULL-terminated: Authorization, Version (the endpoint's,
 * HIGHLEVEL_VERSION_*) and Accept (accept: the media types, "application/json" for the API, any
 * for the recording audio). The
 * Authorization line holds the token: wipe it with secrets_wipe(headers[0]) after the
 * request. Arena-owned. */
const char **highlevel_client_headers(struct arena *arena, const char *access_token,
				      const char *version, const char *accept);

/* Maps a provider HTTP status of an API call to err (never for the token endpoint). */
int highlevel_client_status_error(long status, struct err *err);

#endif
