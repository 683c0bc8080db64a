/* isotime: ISO 8601 timestamps as dashboards send them, checked strictly and rewritten in one
 * canonical form PostgreSQL reads as timestamptz. */
#ifndef COMMON_ISOTIME_H
#define COMMON_ISOTIME_H

#include <stdint.h>

#include "common/err.h"

struct arena;

struct isotime {
	int year, month, day, hour, minute, second;
	long micros;
	int offset_min; /* east of UTC */
};

/* Parses a date (YYYY-MM-DD, midnight) or a date and time: T, t or a space, HH:MM[:SS[.f]]
 * (up to 9 fraction digits, cut to microseconds), then Z, +-HH, +-HHMM, +-HH:MM or nothing
 * (UTC). A space before the offset reads as '+': an unencoded '+' in a query string arrives
 * as a space. Calendar-checked (no February 30, no second 60). -1 on anything else. */
int isotime_parse(const char *s, struct isotime *out) MUSTCHECK;

/* Microseconds since 1970-01-01T00:00:00Z, for comparing two parsed times. */
int64_t isotime_micros(const struct isotime *t);

/* "YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM" (arena-owned). */
char *isotime_format(struct arena *arena, const struct isotime *t);

/* 1 when name is an IANA time zone ("Europe/Berlin", "UTC"): at most 64 characters of
 * A-Z a-z 0-9 _ + - and /, no empty or dot-led segment, and a TZif file of that name in
 * ISOTIME_ZONEINFO_DIR, the tz database PostgreSQL reads too (Debian builds it with the system
 * tzdata). Abbreviations and POSIX rules ("EST5EDT,M3.2.0") are not zones here. */
#define ISOTIME_ZONEINFO_DIR "/usr/share/zoneinfo"
int isotime_zone_is_valid(const char *name);

#endif
