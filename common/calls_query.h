/* calls_query: which calls a caller may see, the dashboard's filters over them, and the SQL
 * that reads them (list-calls, call-stats). Every value reaches PostgreSQL as a parameter. */
#ifndef COMMON_CALLS_QUERY_H
#define COMMON_CALLS_QUERY_H

#include "common/err.h"

struct app;
struct arena;
struct auth_caller;
struct config;
struct db_rows;
struct http_request;
struct json_object;

#define CALLS_QUERY_MAX_PARAMS	  16
#define CALLS_QUERY_DEFAULT_LIMIT 50
#define CALLS_QUERY_MAX_LIMIT	  200
#define CALLS_QUERY_MAX_SEARCH	  200

enum calls_query_kind { CALLS_QUERY_LIST, CALLS_QUERY_STATS };

/* A parsed request. Strings are arena-owned and already validated; NULL means "no filter". */
struct calls_query {
	int is_admin;		      /* admin or service role: real provider names */
	const char *scope_user;	      /* NULL: every call (admins only); else the calls of
				       * the agents assigned to this user */
	const char *source_platform;  /* "retell" | "highlevel" */
	const char *agent_id;	      /* agents.id */
	const char *from;	      /* started_at >= from (canonical ISO 8601, UTC offset) */
	const char *to;		      /* started_at < to */
	const char *status;	      /* call_status */
	const char *direction;	      /* inbound | outbound */
	const char *call_type;	      /* phone_call | web_call */
	const char *search;	      /* ILIKE pattern "%q%" with \, % and _ escaped */
	const char *tz;		      /* stats only: the IANA zone of by_day's days ("UTC") */
	int limit;		      /* list only: page size */
	const char *after_started_at; /* list only: the cursor's position, NULL on page one */
	const char *after_id;
};

/* One statement and its text parameters (arena-owned). */
struct calls_sql {
	const char *text;
	int nparams;
	const char *params[CALLS_QUERY_MAX_PARAMS];
};

/* The query parameters of list-calls and call-stats, NULL-terminated (app_function's
 * query_params). */
extern const char *const calls_query_list_params[];
extern const char *const calls_query_stats_params[];

/* Identifies the caller (auth_caller: 401 / 503) and parses the query string into out.
 *   user_id          clients: only their own (another id is 404); admins/service: act for that
 *                    user (see the calls of the agents assigned to them); absent: all calls
 *   source_platform  retell | highlevel          agent_id   uuid
 *   provider         the name the caller is shown: a client's label ("Provider A"), an
 *                    admin's provider name ("Retell"); narrows source_platform
 *   from, to         ISO 8601 (date, or date and time with Z / +-HH:MM; no zone means UTC);
 *                    from inclusive, to exclusive
 *   status           call_status ([a-z_]{1,32})   direction  inbound | outbound
 *   call_type        phone_call | web_call        q          search in summary and transcript
 *   limit, cursor    list only: 1..200 (default 50); the `next` of the previous page
 *   tz               stats only: IANA zone the days of by_day are counted in (default UTC)
 * A bad value is 400 with a message that names the parameter but never a provider. */
int calls_query_from_request(struct app *app, struct http_request *req, enum calls_query_kind kind,
			     struct calls_query *out) MUSTCHECK;

/* The same parsing for a caller already identified (the --print-sql mode uses it); cfg gives
 * the labels a client's provider filter names (NULL: no label matches). */
int calls_query_parse(struct http_request *req, const struct auth_caller *caller,
		      const struct config *cfg, enum calls_query_kind kind,
		      struct calls_query *out) MUSTCHECK;

/* One page of calls, newest first, limit + 1 rows so the caller knows whether a next page
 * exists. Columns: id, started_at, ended_at (ISO 8601 UTC, microseconds), duration_seconds,
 * cost (numeric text), direction, call_type, call_status, sentiment, call_successful (t/f),
 * summary, from_number, to_number, agent_id, agent_name, source_platform. */
void calls_query_list_sql(const struct calls_query *q, struct arena *arena, struct calls_sql *out);

/* Aggregates over the same calls: one row per grouping, `grouping` = total | platform | day,
 * then platform, day (YYYY-MM-DD in q->tz), calls, minutes (2 decimals), cost (4 decimals),
 * average_duration_seconds (2 decimals, NULL if no durations), success_rate (4 decimals, NULL
 * if call_successful is never known), positive, negative, neutral, unknown. Totals come first,
 * platforms and days in ascending order. */
void calls_query_stats_sql(const struct calls_query *q, struct arena *arena, struct calls_sql *out);

/* One call whole (get-call): the list's columns, then transcript, transcript_object, analysis
 * (call_analysis), latency (JSON texts), disconnection_reason, in_voicemail (t/f),
 * provider_call_id, has_recording (t/f). scope_user as in struct calls_query: NULL for admins,
 * else the call must be of an agent assigned to that user (no row otherwise). */
void calls_query_call_sql(const char *call_id, const char *scope_user, struct arena *arena,
			  struct calls_sql *out);

/* A row of calls_query_list_sql or calls_query_call_sql as the dashboard's call object: the
 * provider as the caller may see it (label for clients), source_platform for admins only.
 * The caller owns the object. */
struct json_object *calls_query_row_json(const struct config *cfg, int is_admin,
					 const struct db_rows *rows, int r);

/* A row of calls_query_call_sql as get-call's answer: calls_query_row_json's fields, then
 * transcript, word_timings, analysis, latency, disconnection_reason, in_voicemail,
 * has_recording, and for admins provider_call_id. The caller owns the object. */
struct json_object *calls_query_detail_json(const struct config *cfg, int is_admin,
					    const struct db_rows *rows, int r);

/* The opaque cursor after a row: base64url of "started_at|id" (arena-owned). */
char *calls_query_cursor(struct arena *arena, const char *started_at, const char *id);

/* Command-line mode `<function> --print-sql QUERY_STRING client|admin|service [USER_ID]`:
 * prints {"sql": ..., "params": [...]} for that request, so operators and tests can EXPLAIN
 * exactly what the function runs. Returns the exit status. */
int calls_query_print_sql(const struct config *cfg, int argc, char **argv,
			  enum calls_query_kind kind);

#endif
