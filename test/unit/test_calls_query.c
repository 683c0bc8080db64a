// test_calls_query.c: the list-calls / call-stats query string: who sees which calls, each
// filter's accepted forms, the cursor, and the 400 (never naming a provider) for bad values.
#include <string.h>

#include "common/arena.h"
#include "common/auth.h"
#include "common/calls_query.h"
#include "common/http.h"
#include "test/unit/check.h"

#define USER  "11111111-2222-3333-4444-555555555555"
#define OTHER "99999999-8888-7777-6666-555555555555"

static struct arena *arena;
static struct http_request req;

static const struct auth_caller client = {AUTH_CLIENT, USER};
static const struct auth_caller admin = {AUTH_ADMIN, OTHER};
static const struct auth_caller anon = {AUTH_ANON, NULL};

// Parses query as caller; returns the status (0 when accepted).
static int parse(const char *query, const struct auth_caller *caller, enum calls_query_kind kind,
		 struct calls_query *q) {
	arena_reset(arena);
	memset(&req, 0, sizeof(req));
	req.arena = arena;
	req.query = query;
	return calls_query_parse(&req, caller, NULL, kind, q) == 0 ? 0 : req.err.status;
}

static void test_scope(void) {
	struct calls_query q;

	CHECK(parse("", &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK(!q.is_admin);
	CHECK_STR_EQ(q.scope_user, USER);
	CHECK(parse("user_id=" USER, &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK_STR_EQ(q.scope_user, USER);
	// a client asking for another user learns nothing: 404, as for a user that does not exist
	CHECK(parse("user_id=" OTHER, &client, CALLS_QUERY_LIST, &q) == 404);
	CHECK(parse("", &anon, CALLS_QUERY_LIST, &q) == 401);
	CHECK(parse("", &admin, CALLS_QUERY_LIST, &q) == 0);
	CHECK(q.is_admin && q.scope_user == NULL);
	CHECK(parse("user_id=" USER, &admin, CALLS_QUERY_STATS, &q) == 0);
	CHECK_STR_EQ(q.scope_user, USER);
	CHECK(parse("user_id=nope", &admin, CALLS_QUERY_LIST, &q) == 400);
	CHECK_STR_EQ(req.err.code, "bad_parameter");
}

static void test_filters(void) {
	struct calls_query q;

	CHECK(parse("source_platform=highlevel&agent_id=" OTHER
		    "&from=2024-05-01&to=2024-05-02T00:00:00%2B02:00&status=ended"
		    "&direction=inbound&call_type=web_call&q=50%25_off%5C",
		    &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK_STR_EQ(q.source_platform, "highlevel");
	CHECK_STR_EQ(q.agent_id, OTHER);
	CHECK_STR_EQ(q.from, "2024-05-01T00:00:00.000000+00:00");
	CHECK_STR_EQ(q.to, "2024-05-02T00:00:00.000000+02:00");
	CHECK_STR_EQ(q.status, "ended");
	CHECK_STR_EQ(q.direction, "inbound");
	CHECK_STR_EQ(q.call_type, "web_call");
	// the user's %, _ and \ match themselves inside the ILIKE pattern
	CHECK_STR_EQ(q.search, "%50\\%\\_off\\\\%");
	// empty values are no filter
	CHECK(parse("source_platform=&from=&status=&q=", &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK(q.source_platform == NULL && q.from == NULL && q.status == NULL && q.search == NULL);
	// an unencoded '+' in the offset arrives as a space and still reads as '+'
	CHECK(parse("from=2024-05-01T10:00:00+02:00", &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK_STR_EQ(q.from, "2024-05-01T10:00:00.000000+02:00");
}

static void test_refused(void) {
	static const char *const bad[] = {
		"source_platform=vapi",
		"agent_id=123",
		"from=yesterday",
		"to=2024-02-30",
		"from=2024-05-02&to=2024-05-01",
		"from=2024-05-01&to=2024-05-01",
		"status=Ended",
		"status=a-b",
		"status=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"direction=sideways",
		"call_type=sms",
		"limit=0",
		"limit=201",
		"limit=-5",
		"limit=5x",
		"limit=+5",
		"cursor=!!!",
		"cursor=bm90IGEgY3Vyc29y", // "not a cursor"
	};
	struct calls_query q;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status = parse(bad[i], &client, CALLS_QUERY_LIST, &q);
		CHECK(status == 400);
		if (status != 400) {
			fprintf(stderr, "  \"%s\" gave %d\n", bad[i], status);
		}
		CHECK_STR_EQ(req.err.code, "bad_parameter");
		// white-label: a client's error never lists the providers
		CHECK(strstr(req.err.msg, "retell") == NULL &&
		      strstr(req.err.msg, "highlevel") == NULL);
	}
	char long_q[CALLS_QUERY_MAX_SEARCH + 8] = "q=";
	memset(long_q + 2, 'x', CALLS_QUERY_MAX_SEARCH + 1);
	long_q[CALLS_QUERY_MAX_SEARCH + 3] = '\0';
	CHECK(parse(long_q, &client, CALLS_QUERY_LIST, &q) == 400);
}

static void test_page(void) {
	struct calls_query q;
	const char *cursor;

	CHECK(parse("", &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK(q.limit == CALLS_QUERY_DEFAULT_LIMIT && q.after_id == NULL);
	CHECK(parse("limit=200", &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK(q.limit == 200);
	// the stats ignore the paging parameters
	CHECK(parse("limit=0&cursor=!!!", &client, CALLS_QUERY_STATS, &q) == 0);
	// a cursor is what calls_query_cursor wrote after a row
	arena_reset(arena);
	cursor = calls_query_cursor(arena, "2024-05-01T10:00:00.000000+00:00", OTHER);
	struct arena *keep = arena_create();
	const char *query = arena_printf(keep, "cursor=%s", cursor);
	CHECK(parse(query, &client, CALLS_QUERY_LIST, &q) == 0);
	CHECK_STR_EQ(q.after_started_at, "2024-05-01T10:00:00.000000+00:00");
	CHECK_STR_EQ(q.after_id, OTHER);
	arena_destroy(keep);
}

int main(void) {
	arena = arena_create();
	test_scope();
	test_filters();
	test_refused();
	test_page();
	arena_destroy(arena);
	return check_summary();
}
