/* calls_query: which calls a caller may see, the dashboard's filters over them, and the SQL
 * that reads them (list-calls, call-stats). Every value reaches PostgreSQL as a parameter. */
#ifndef COMMON_CALLS_QUERY_H
#define COMMON_CALLS_QUERY_H

#include "common/err.h"

struct app;
struct arena;
struct auth_caller;
struct http_request;

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

/* Identifies the caller (auth_caller: 401 / 503) and parses the query string into out.
 *   user_id          clients: only their own (another id is 404); admins/service: act for that
 *                    user (see the calls of the agents assigned to them); absent: all calls
 *   source_platform  retell | highlevel          agent_id   uuid
 *   from, to         ISO 8601 (date, or date and time with Z / +-HH:MM; no zone means UTC);
 *                    from inclusive, to exclusive
 *   status           call_status ([a-z_]{1,32})   direction  inbound | outbound
 *   call_type        phone_call | web_call        q          search in summary and transcript
 *   limit, cursor    list only: 1..200 (default 50); the `next` of the previous page
 * A bad value is 400 with a message that names the parameter but never a provider. */
int calls_query_from_request(struct app *app, struct http_request *req, enum calls_query_kind kind,
			     struct calls_query *out) MUSTCHECK;

/* The same parsing for a caller already identified (the --print-sql mode uses it). */
int calls_query_parse(struct http_request *req, const struct auth_caller *caller,
		      enum calls_query_kind kind, struct calls_query *out) MUSTCHECK;

/* One page of calls, newest first, limit + 1 rows so the caller knows whether a next page
 * exists. Columns: id, started_at, ended_at (ISO 8601 UTC, microseconds), duration_seconds,
 * cost (numeric text), direction, call_type, call_status, sentiment, call_successful (t/f),
 * summary, from_number, to_number, agent_id, agent_name, source_platform. */
void calls_query_list_sql(const struct calls_query *q, struct arena *arena, struct calls_sql *out);

/* Aggregates over the same calls: one row per grouping, `grouping` = total | platform | day,
 * then platform, day (YYYY-MM-DD, UTC), calls, minutes (2 decimals), cost (4 decimals),
 * average_duration_seconds (2 decimals, NULL if no durations), success_rate (4 decimals, NULL
 * if call_successful is never known), positive, negative, neutral, unknown. Totals come first,
 * platforms and days in ascending order. */
void calls_query_stats_sql(const struct calls_query *q, struct arena *arena, struct calls_sql *out);

/* The opaque cursor after a row: base64url of "started_at|id" (arena-owned). */
char *calls_query_cursor(struct arena *arena, const char *started_at, const char *id);

/* Command-line mode `<function> --print-sql QUERY_STRING client|admin|service [USER_ID]`:
 * prints {"sql": ..., "params": [...]} for that request, so operators and tests can EXPLAIN
 * exactly what the function runs. Returns the exit status. */
int calls_query_print_sql(int argc, char **argv, enum calls_query_kind kind);

#endif
