// test_isotime.c: ISO 8601 as the dashboards send it: what parses, what is refused, the one
// canonical form it is rewritten to, and the instant it names.
#include <stdint.h>

#include "common/arena.h"
#include "common/isotime.h"
#include "test/unit/check.h"

// The canonical text of s, or NULL when it does not parse.
static const char *canonical(struct arena *arena, const char *s) {
	struct isotime t;

	return isotime_parse(s, &t) == 0 ? isotime_format(arena, &t) : NULL;
}

static void test_accepted(struct arena *arena) {
	CHECK_STR_EQ(canonical(arena, "2024-05-01"), "2024-05-01T00:00:00.000000+00:00");
	CHECK_STR_EQ(canonical(arena, "2024-05-01T10:20:30Z"), "2024-05-01T10:20:30.000000+00:00");
	CHECK_STR_EQ(canonical(arena, "2024-05-01t10:20:30z"), "2024-05-01T10:20:30.000000+00:00");
	CHECK_STR_EQ(canonical(arena, "2024-05-01 10:20"), "2024-05-01T10:20:00.000000+00:00");
	CHECK_STR_EQ(canonical(arena, "2024-05-01T10:20:30.5+02:00"),
		     "2024-05-01T10:20:30.500000+02:00");
	CHECK_STR_EQ(canonical(arena, "2024-05-01T10:20:30-0530"),
		     "2024-05-01T10:20:30.000000-05:30");
	CHECK_STR_EQ(canonical(arena, "2024-05-01T10:20:30+01"),
		     "2024-05-01T10:20:30.000000+01:00");
	// an unencoded '+' in a query string arrives as a space
	CHECK_STR_EQ(canonical(arena, "2024-05-01T10:20:30 02:00"),
		     "2024-05-01T10:20:30.000000+02:00");
	// nine fraction digits are cut to microseconds, not rounded
	CHECK_STR_EQ(canonical(arena, "2024-05-01T10:20:30.123456789Z"),
		     "2024-05-01T10:20:30.123456+00:00");
	CHECK_STR_EQ(canonical(arena, "2024-02-29"), "2024-02-29T00:00:00.000000+00:00");
}

static void test_refused(struct arena *arena) {
	static const char *const bad[] = {
		"",
		"2024",
		"2024-5-1",
		"2024-05-01T",
		"2024-05-01T10",
		"2024-05-01T24:00:00Z",
		"2024-05-01T10:60:00Z",
		"2024-05-01T10:20:60Z", // no leap second
		"2023-02-29",		// not a leap year
		"2024-04-31",
		"2024-13-01",
		"2024-00-10",
		"2024-05-01T10:20:30.Z",
		"2024-05-01T10:20:30.1234567890Z", // ten fraction digits
		"2024-05-01T10:20:30+2",
		"2024-05-01T10:20:30+24:00",
		"2024-05-01T10:20:30Zjunk",
		"2024-05-01 junk",
		"yesterday",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = canonical(arena, bad[i]);
		CHECK(got == NULL);
		if (got != NULL) {
			fprintf(stderr, "  accepted \"%s\" as %s\n", bad[i], got);
		}
	}
}

static void test_micros(void) {
	struct isotime a;
	struct isotime b;

	CHECK(isotime_parse("1970-01-01T00:00:00Z", &a) == 0);
	CHECK(isotime_micros(&a) == 0);
	CHECK(isotime_parse("1970-01-02T00:00:00.000001Z", &a) == 0);
	CHECK(isotime_micros(&a) == 86400LL * 1000000 + 1);
	// one instant in two zones
	CHECK(isotime_parse("2024-05-01T12:00:00+02:00", &a) == 0);
	CHECK(isotime_parse("2024-05-01T10:00:00Z", &b) == 0);
	CHECK(isotime_micros(&a) == isotime_micros(&b));
	CHECK(isotime_micros(&b) == 1714557600LL * 1000000);
	CHECK(isotime_parse("2024-05-01T05:30:00-04:30", &a) == 0);
	CHECK(isotime_micros(&a) == isotime_micros(&b));
	CHECK(isotime_parse("2000-03-01", &a) == 0); // past a leap day of a century leap year
	CHECK(isotime_micros(&a) == 951868800LL * 1000000);
}

int main(void) {
	struct arena *arena = arena_create();

	test_accepted(arena);
	test_refused(arena);
	test_micros();
	arena_destroy(arena);
	return check_summary();
}
