/* calls_query.c: caller scope, filters, cursors and the SQL shared by list-calls and call-stats. */
#include "common/calls_query.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/crypto.h"
#include "common/db.h"
#include "common/http.h"
#include "common/isotime.h"
#include "common/jsonh.h"
#include "common/whitelabel.h"

#define BAD "bad_parameter"

// clang-format off
#define FILTER_PARAMS "user_id", "source_platform", "provider", "agent_id", "from", "to", \
	"status", "direction", "call_type", "q"
// clang-format on
const char *const calls_query_list_params[] = {FILTER_PARAMS, "limit", "cursor", NULL};
const char *const calls_query_stats_params[] = {FILTER_PARAMS, "tz", NULL};

// ---------------------------------------------------------------------------------------------
// parameters

static int param_timestamp(struct http_request *req, const char *name, const char **out,
			   int64_t *micros) {
	const char *v = http_query(req, name);
	struct isotime t;

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	if (isotime_parse(v, &t) < 0) {
		return err_set(&req->err, 400, BAD,
			       "%s must be an ISO 8601 date or timestamp"
			       " (e.g. 2024-05-01T00:00:00Z)",
			       name);
	}
	*out = isotime_format(req->arena, &t);
	*micros = isotime_micros(&t);
	return 0;
}

static int param_enum(struct http_request *req, const char *name, const char *a, const char *b,
		      const char **out) {
	const char *v = http_query(req, name);

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	if (strcmp(v, a) != 0 && strcmp(v, b) != 0) {
		return err_set(&req->err, 400, BAD, "%s must be %s or %s", name, a, b);
	}
	*out = v;
	return 0;
}

static int param_uuid(struct http_request *req, const char *name, const char **out) {
	const char *v = http_query(req, name);

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	if (!auth_is_uuid(v)) {
		return err_set(&req->err, 400, BAD, "%s must be a uuid", name);
	}
	*out = v;
	return 0;
}

static int param_platform(struct http_request *req, const char **out) {
	const char *v = http_query(req, "source_platform");

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	// the message must not list the values: clients never read a provider's name
	if (!whitelabel_is_platform(v)) {
		return err_set(&req->err, 400, BAD, "unknown source_platform");
	}
	*out = v;
	return 0;
}

// provider: the name the caller is shown (a client's label, an admin's provider name), the
// dashboard's filter dropdown; it narrows source_platform, never widens it.
static int param_provider(struct http_request *req, const struct config *cfg, int is_admin,
			  const char **platform) {
	const char *v = http_query(req, "provider");
	const char *named;

	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	named = whitelabel_platform_named(cfg, is_admin, v);
	if (named == NULL) {
		return err_set(&req->err, 400, BAD, "unknown provider");
	}
	if (*platform != NULL && strcmp(*platform, named) != 0) {
		return err_set(&req->err, 400, BAD, "provider and source_platform disagree");
	}
	*platform = named;
	return 0;
}

static int param_status(struct http_request *req, const char **out) {
	const char *v = http_query(req, "status");
	size_t len;

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	len = strspn(v, "abcdefghijklmnopqrstuvwxyz_");
	if (len != strlen(v) || len > 32) {
		return err_set(&req->err, 400, BAD,
			       "status must be 1 to 32 characters of a-z and _");
	}
	*out = v;
	return 0;
}

// q becomes an ILIKE pattern: the user's %, _ and \ match themselves.
static int param_search(struct http_request *req, const char **out) {
	const char *v = http_query(req, "q");
	char *pat;
	size_t o = 0;

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	if (strlen(v) > CALLS_QUERY_MAX_SEARCH) {
		return err_set(&req->err, 400, BAD, "q must be at most %d bytes",
			       CALLS_QUERY_MAX_SEARCH);
	}
	pat = arena_alloc(req->arena, strlen(v) * 2 + 3);
	pat[o++] = '%';
	for (; *v != '\0'; v++) {
		if (*v == '%' || *v == '_' || *v == '\\') {
			pat[o++] = '\\';
		}
		pat[o++] = *v;
	}
	pat[o++] = '%';
	pat[o] = '\0';
	*out = pat;
	return 0;
}

static int param_tz(struct http_request *req, const char **out) {
	const char *v = http_query(req, "tz");

	*out = "UTC";
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	if (!isotime_zone_is_valid(v)) {
		return err_set(&req->err, 400, BAD,
			       "tz must be an IANA time zone name (e.g. Europe/Berlin)");
	}
	*out = v;
	return 0;
}

static int param_limit(struct http_request *req, int *out) {
	const char *v = http_query(req, "limit");
	char *end;
	long n;

	*out = CALLS_QUERY_DEFAULT_LIMIT;
	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || n < 1 ||
	    n > CALLS_QUERY_MAX_LIMIT) {
		return err_set(&req->err, 400, BAD, "limit must be an integer from 1 to %d",
			       CALLS_QUERY_MAX_LIMIT);
	}
	*out = (int)n;
	return 0;
}

static int param_cursor(struct http_request *req, struct calls_query *q) {
	const char *v = http_query(req, "cursor");
	uint8_t *raw;
	size_t len;
	char *text;
	char *bar;
	struct isotime t;

	if (v == NULL || v[0] == '\0') {
		return 0;
	}
	if (strlen(v) > 256 || crypto_base64_decode(req->arena, v, strlen(v), 1, &raw, &len) < 0) {
		goto bad;
	}
	text = arena_strndup(req->arena, (const char *)raw, len);
	bar = strchr(text, '|');
	if (strlen(text) != len || bar == NULL) {
		goto bad;
	}
	*bar = '\0';
	if (isotime_parse(text, &t) < 0 || !auth_is_uuid(bar + 1)) {
		goto bad;
	}
	q->after_started_at = isotime_format(req->arena, &t);
	q->after_id = bar + 1;
	return 0;
bad:
	return err_set(&req->err, 400, BAD,
		       "cursor is not valid; pass the `next` of the previous page");
}

static int parse_scope(struct http_request *req, const struct auth_caller *caller,
		       struct calls_query *q) {
	const char *user;

	if (param_uuid(req, "user_id", &user) < 0) {
		return -1;
	}
	q->is_admin = caller->kind == AUTH_ADMIN || caller->kind == AUTH_SERVICE;
	if (q->is_admin) {
		q->scope_user = user;
		return 0;
	}
	if (caller->user_id == NULL) {
		return err_set(&req->err, 401, "unauthorized", "a signed-in user is required");
	}
	// a client asking for someone else learns nothing, not even that the user exists
	if (user != NULL && strcasecmp(user, caller->user_id) != 0) {
		return err_set(&req->err, 404, "not_found", "no such user");
	}
	q->scope_user = caller->user_id;
	return 0;
}

static int parse_filters(struct http_request *req, const struct config *cfg,
			 struct calls_query *q) {
	int64_t from_us = 0;
	int64_t to_us = 0;

	if (param_platform(req, &q->source_platform) < 0 ||
	    param_provider(req, cfg, q->is_admin, &q->source_platform) < 0 ||
	    param_uuid(req, "agent_id", &q->agent_id) < 0 ||
	    param_timestamp(req, "from", &q->from, &from_us) < 0 ||
	    param_timestamp(req, "to", &q->to, &to_us) < 0 || param_status(req, &q->status) < 0 ||
	    param_enum(req, "direction", "inbound", "outbound", &q->direction) < 0 ||
	    param_enum(req, "call_type", "phone_call", "web_call", &q->call_type) < 0 ||
	    param_search(req, &q->search) < 0) {
		return -1;
	}
	if (q->from != NULL && q->to != NULL && from_us >= to_us) {
		return err_set(&req->err, 400, BAD, "from must be before to");
	}
	return 0;
}

int calls_query_parse(struct http_request *req, const struct auth_caller *caller,
		      const struct config *cfg, enum calls_query_kind kind,
		      struct calls_query *out) {
	memset(out, 0, sizeof(*out));
	if (parse_scope(req, caller, out) < 0 || parse_filters(req, cfg, out) < 0) {
		return -1;
	}
	if (kind == CALLS_QUERY_LIST &&
	    (param_limit(req, &out->limit) < 0 || param_cursor(req, out) < 0)) {
		return -1;
	}
	if (kind == CALLS_QUERY_STATS && param_tz(req, &out->tz) < 0) {
		return -1;
	}
	return 0;
}

int calls_query_from_request(struct app *app, struct http_request *req, enum calls_query_kind kind,
			     struct calls_query *out) {
	struct auth_caller caller;

	if (auth_caller(app, req, &caller) < 0) {
		return -1;
	}
	return calls_query_parse(req, &caller, &app->cfg, kind, out);
}

char *calls_query_cursor(struct arena *arena, const char *started_at, const char *id) {
	const char *text = arena_printf(arena, "%s|%s", started_at, id);

	return crypto_base64_encode(arena, (const uint8_t *)text, strlen(text), 1);
}

// ---------------------------------------------------------------------------------------------
// SQL

struct sqlb {
	struct arena *arena;
	char *text;
	struct calls_sql *out;
};

static void sqlb_add(struct sqlb *b, const char *piece) {
	b->text = arena_printf(b->arena, "%s%s", b->text, piece);
}

// Binds value as the next parameter and returns its placeholder ("$3").
static const char *sqlb_param(struct sqlb *b, const char *value) {
	// the statements have at most a dozen placeholders; more is a bug in this file
	if (b->out->nparams == CALLS_QUERY_MAX_PARAMS) {
		abort();
	}
	b->out->params[b->out->nparams++] = value;
	return arena_printf(b->arena, "$%d", b->out->nparams);
}

// Appends " AND <before>$n<after>" when value is set.
static void sqlb_cond(struct sqlb *b, const char *before, const char *value, const char *after) {
	if (value != NULL) {
		const char *p = sqlb_param(b, value);
		sqlb_add(b, arena_printf(b->arena, " AND %s%s%s", before, p, after));
	}
}

static void sqlb_init(struct sqlb *b, struct arena *arena, struct calls_sql *out) {
	memset(out, 0, sizeof(*out));
	b->arena = arena;
	b->text = arena_strdup(arena, "");
	b->out = out;
}

#define NOT_PENDING "NOT EXISTS (SELECT 1 FROM call_transcript_pending q WHERE q.call_id = c.id)"

static void add_filters(struct sqlb *b, const struct calls_query *q) {
	// calls without a start have no place in a time-ordered list or a day: left out of both
	sqlb_add(b, " AND c.started_at IS NOT NULL");
	sqlb_cond(b, "c.source_platform = ", q->source_platform, "");
	sqlb_cond(b, "c.agent_id = ", q->agent_id, "::uuid");
	sqlb_cond(b, "c.started_at >= ", q->from, "::timestamptz");
	sqlb_cond(b, "c.started_at < ", q->to, "::timestamptz");
	sqlb_cond(b, "c.call_status = ", q->status, "");
	sqlb_cond(b, "c.direction = ", q->direction, "");
	sqlb_cond(b, "c.call_type = ", q->call_type, "");
	if (q->search != NULL) {
		// summary or transcript: a call's indexed transcript (0053) unless a change of it
		// is still pending, then its own
		const char *p = sqlb_param(b, q->search);
		sqlb_add(b, arena_printf(b->arena,
					 " AND (c.summary ILIKE %s"
					 " OR (" NOT_PENDING " AND EXISTS (SELECT 1"
					 " FROM call_transcript_search s WHERE s.call_id = c.id"
					 " AND s.transcript ILIKE %s))"
					 " OR (NOT " NOT_PENDING " AND c.transcript ILIKE %s))",
					 p, p, p));
	}
}

static void add_keyset(struct sqlb *b, const struct calls_query *q) {
	if (q->after_started_at != NULL) {
		const char *ts = sqlb_param(b, q->after_started_at);
		const char *id = sqlb_param(b, q->after_id);
		sqlb_add(b, arena_printf(b->arena,
					 " AND (c.started_at, c.id)"
					 " < (%s::timestamptz, %s::uuid)",
					 ts, id));
	}
}

#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

// clang-format off
#define LIST_COLUMNS \
	"SELECT c.id, " ISO_UTC("c.started_at") " AS started_at, " \
	ISO_UTC("c.ended_at") " AS ended_at, c.duration_seconds, c.cost::text AS cost, " \
	"c.direction, c.call_type, c.call_status, c.sentiment, c.call_successful, c.summary, " \
	"c.from_number, c.to_number, c.agent_id, a.name AS agent_name, c.source_platform"
// clang-format on

// what the per-agent subquery hands to LIST_COLUMNS (never the transcript: only filtered on)
// clang-format off
#define INNER_COLUMNS \
	"c.id, c.started_at, c.ended_at, c.duration_seconds, c.cost, c.direction, c.call_type, " \
	"c.call_status, c.sentiment, c.call_successful, c.summary, c.from_number, c.to_number, " \
	"c.agent_id, c.source_platform"
// clang-format on

#define ORDER_NEWEST " ORDER BY c.started_at DESC, c.id DESC"

// clang-format off
#define CALL_COLUMNS LIST_COLUMNS \
	", c.transcript, c.transcript_object::text AS transcript_object," \
	" c.call_analysis::text AS analysis, c.latency::text AS latency, c.disconnection_reason," \
	" c.in_voicemail, coalesce(c.retell_call_id, c.highlevel_call_id) AS provider_call_id," \
	" (c.recording_url IS NOT NULL OR c.retell_call_id IS NOT NULL" \
	" OR c.highlevel_message_id IS NOT NULL) AS has_recording"
// clang-format on

void calls_query_call_sql(const char *call_id, const char *scope_user, struct arena *arena,
			  struct calls_sql *out) {
	struct sqlb b;
	const char *id;

	sqlb_init(&b, arena, out);
	id = sqlb_param(&b, call_id);
	sqlb_add(&b,
		 arena_printf(arena,
			      CALL_COLUMNS " FROM calls c LEFT JOIN agents a ON a.id = c.agent_id"
					   " WHERE c.id = %s::uuid",
			      id));
	if (scope_user != NULL) {
		// who may see a call is whom its agent is assigned to, as in the list
		const char *user = sqlb_param(&b, scope_user);
		sqlb_add(&b,
			 arena_printf(arena,
				      " AND EXISTS (SELECT 1 FROM user_agents ua"
				      " WHERE ua.agent_id = c.agent_id AND ua.user_id = %s::uuid)",
				      user));
	}
	out->text = b.text;
}

static void add_int_or_null(struct json_object *obj, const char *key, const char *text) {
	if (text == NULL) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	jsonh_add_int64(obj, key, strtoll(text, NULL, 10));
}

static void add_bool_or_null(struct json_object *obj, const char *key, const char *text) {
	if (text == NULL) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	jsonh_add_bool(obj, key, text[0] == 't');
}

struct json_object *calls_query_row_json(const struct config *cfg, int is_admin,
					 const struct db_rows *rows, int r) {
	// cost stays numeric text: money never goes through a double
	static const char *const text_columns[] = {
		"started_at",  "ended_at",  "cost",    "direction",   "call_type",
		"call_status", "sentiment", "summary", "from_number", "to_number",
	};
	struct json_object *call = json_object_new_object();
	const char *agent_id = db_get(rows, r, "agent_id");
	const char *platform = db_get(rows, r, "source_platform");

	jsonh_add_string(call, "id", db_get(rows, r, "id"));
	for (size_t i = 0; i < sizeof(text_columns) / sizeof(text_columns[0]); i++) {
		jsonh_add_string(call, text_columns[i], db_get(rows, r, text_columns[i]));
	}
	add_int_or_null(call, "duration_seconds", db_get(rows, r, "duration_seconds"));
	add_bool_or_null(call, "call_successful", db_get(rows, r, "call_successful"));
	if (agent_id != NULL) {
		struct json_object *agent = json_object_new_object();
		jsonh_add_string(agent, "id", agent_id);
		jsonh_add_string(agent, "name", db_get(rows, r, "agent_name"));
		json_object_object_add(call, "agent", agent);
	} else {
		json_object_object_add(call, "agent", NULL);
	}
	jsonh_add_string(call, "provider", whitelabel_provider_name(cfg, is_admin, platform));
	if (is_admin) {
		jsonh_add_string(call, "source_platform", platform);
	}
	return call;
}

void calls_query_list_sql(const struct calls_query *q, struct arena *arena, struct calls_sql *out) {
	struct sqlb b;
	const char *user;
	const char *limit;

	sqlb_init(&b, arena, out);
	if (q->scope_user == NULL) {
		// every call: one walk down calls(started_at DESC, id DESC), or the agent's index
		sqlb_add(&b, LIST_COLUMNS
			 " FROM calls c LEFT JOIN agents a ON a.id = c.agent_id WHERE true");
		add_filters(&b, q);
		add_keyset(&b, q);
		limit = sqlb_param(&b, arena_printf(arena, "%d", q->limit + 1));
		sqlb_add(&b, arena_printf(arena, ORDER_NEWEST " LIMIT %s::int", limit));
		out->text = b.text;
		return;
	}
	// A user's calls are those of their agents: the newest page of each agent from
	// calls(agent_id, started_at DESC, id DESC), then the newest of those. Reads at most
	// (limit + 1) rows per agent, however many calls the user has.
	// The agent names are joined to the final page only.
	user = sqlb_param(&b, q->scope_user);
	sqlb_add(&b, LIST_COLUMNS " FROM (SELECT c.* FROM user_agents ua"
				  " CROSS JOIN LATERAL (SELECT " INNER_COLUMNS
				  " FROM calls c WHERE c.agent_id = ua.agent_id");
	add_filters(&b, q);
	add_keyset(&b, q);
	limit = sqlb_param(&b, arena_printf(arena, "%d", q->limit + 1));
	sqlb_add(&b,
		 arena_printf(arena, ORDER_NEWEST " LIMIT %s::int) c WHERE ua.user_id = %s::uuid",
			      limit, user));
	sqlb_cond(&b, "ua.agent_id = ", q->agent_id, "::uuid");
	sqlb_add(&b,
		 arena_printf(arena,
			      ORDER_NEWEST " LIMIT %s::int) c"
					   " LEFT JOIN agents a ON a.id = c.agent_id" ORDER_NEWEST,
			      limit));
	out->text = b.text;
}

// Two steps: the calls are aggregated once per (platform, day in q->tz), a plain GROUP BY that
// PostgreSQL can hash in parallel; the totals, platforms and days are then sums of those few
// hundred rows (GROUPING SETS directly over the calls would aggregate every call three times).
// Averages are sums over counts so they stay exact across the two steps.
#define SENTIMENT "lower(c.sentiment)"

void calls_query_stats_sql(const struct calls_query *q, struct arena *arena,
			   struct calls_sql *out) {
	struct sqlb b;
	const char *tz;

	sqlb_init(&b, arena, out);
	tz = sqlb_param(&b, q->tz != NULL ? q->tz : "UTC");
	sqlb_add(&b,
		 "SELECT CASE GROUPING(g.platform, g.day) WHEN 3 THEN 'total'"
		 " WHEN 1 THEN 'platform' ELSE 'day' END AS grouping,"
		 " g.platform, g.day::text AS day,"
		 " coalesce(sum(g.calls), 0) AS calls,"
		 " round(coalesce(sum(g.seconds), 0) / 60.0, 2)::text AS minutes,"
		 " round(coalesce(sum(g.cost), 0), 4)::text AS cost,"
		 " round(sum(g.seconds) / nullif(sum(g.timed), 0), 2)::text"
		 " AS average_duration_seconds,"
		 " round(sum(g.successful) / nullif(sum(g.judged), 0), 4)::text AS success_rate,"
		 " coalesce(sum(g.positive), 0) AS positive,"
		 " coalesce(sum(g.negative), 0) AS negative,"
		 " coalesce(sum(g.neutral), 0) AS neutral, coalesce(sum(g.unknown), 0) AS unknown"
		 " FROM (SELECT c.source_platform AS platform,");
	sqlb_add(&b,
		 arena_printf(arena, " (c.started_at AT TIME ZONE %s::text)::date AS day,", tz));
	sqlb_add(&b, " count(*) AS calls,"
		     " sum(c.duration_seconds) AS seconds, count(c.duration_seconds) AS timed,"
		     " sum(c.cost) AS cost, count(c.call_successful) AS judged,"
		     " count(*) FILTER (WHERE c.call_successful) AS successful,"
		     " count(*) FILTER (WHERE " SENTIMENT " = 'positive') AS positive,"
		     " count(*) FILTER (WHERE " SENTIMENT " = 'negative') AS negative,"
		     " count(*) FILTER (WHERE " SENTIMENT " = 'neutral') AS neutral,"
		     " count(*) FILTER (WHERE c.sentiment IS NULL"
		     " OR " SENTIMENT " NOT IN ('positive', 'negative', 'neutral')) AS unknown"
		     " FROM calls c");
	if (q->scope_user != NULL) {
		sqlb_add(&b, arena_printf(arena,
					  " JOIN user_agents ua ON ua.agent_id = c.agent_id"
					  " AND ua.user_id = %s::uuid",
					  sqlb_param(&b, q->scope_user)));
	}
	sqlb_add(&b, " WHERE true");
	add_filters(&b, q);
	sqlb_add(&b, " GROUP BY 1, 2) g GROUP BY GROUPING SETS ((), (g.platform), (g.day))"
		     " ORDER BY GROUPING(g.platform, g.day) DESC, g.platform, g.day");
	out->text = b.text;
}

struct json_object *calls_query_detail_json(const struct config *cfg, int is_admin,
					    const struct db_rows *rows, int r) {
	struct json_object *call = calls_query_row_json(cfg, is_admin, rows, r);

	jsonh_add_string(call, "transcript", db_get(rows, r, "transcript"));
	jsonh_add_raw(call, "word_timings", db_get(rows, r, "transcript_object"));
	jsonh_add_raw(call, "analysis", db_get(rows, r, "analysis"));
	jsonh_add_raw(call, "latency", db_get(rows, r, "latency"));
	jsonh_add_string(call, "disconnection_reason", db_get(rows, r, "disconnection_reason"));
	add_bool_or_null(call, "in_voicemail", db_get(rows, r, "in_voicemail"));
	add_bool_or_null(call, "has_recording", db_get(rows, r, "has_recording"));
	if (is_admin) {
		jsonh_add_string(call, "provider_call_id", db_get(rows, r, "provider_call_id"));
	}
	return call;
}

// ---------------------------------------------------------------------------------------------
// --print-sql

static int caller_from_args(int argc, char **argv, struct auth_caller *caller) {
	const char *role = argv[3];

	caller->user_id = argc > 4 ? argv[4] : NULL;
	if (strcmp(role, "client") == 0 && caller->user_id != NULL) {
		caller->kind = AUTH_CLIENT;
	} else if (strcmp(role, "admin") == 0 && caller->user_id != NULL) {
		caller->kind = AUTH_ADMIN;
	} else if (strcmp(role, "service") == 0) {
		caller->kind = AUTH_SERVICE;
	} else {
		return -1;
	}
	return 0;
}

int calls_query_print_sql(const struct config *cfg, int argc, char **argv,
			  enum calls_query_kind kind) {
	struct arena *arena = arena_create();
	struct http_request req = {.arena = arena};
	struct auth_caller caller;
	struct calls_query q;
	struct calls_sql sql;
	struct json_object *obj = NULL;
	struct json_object *params;
	int rc = 2;

	if (argc < 4 || argc > 5 || strcmp(argv[1], "--print-sql") != 0 ||
	    caller_from_args(argc, argv, &caller) < 0) {
		fprintf(stderr,
			"usage: %s --print-sql QUERY_STRING client|admin USER_ID | service\n",
			argv[0]);
		goto done;
	}
	req.query = argv[2];
	if (calls_query_parse(&req, &caller, cfg, kind, &q) < 0) {
		fprintf(stderr, "%s: %d %s: %s\n", argv[0], req.err.status, req.err.code,
			req.err.msg);
		rc = 1;
		goto done;
	}
	if (kind == CALLS_QUERY_LIST) {
		calls_query_list_sql(&q, arena, &sql);
	} else {
		calls_query_stats_sql(&q, arena, &sql);
	}
	obj = json_object_new_object();
	params = json_object_new_array();
	jsonh_add_string(obj, "sql", sql.text);
	for (int i = 0; i < sql.nparams; i++) {
		json_object_array_add(params, json_object_new_string(sql.params[i]));
	}
	json_object_object_add(obj, "params", params);
	printf("%s\n", jsonh_to_string(obj));
	rc = 0;
done:
	json_object_put(obj);
	arena_destroy(arena);
	return rc;
}
