/* isotime.c: a strict ISO 8601 reader for query parameters and cursors. */
#include "common/isotime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"

static int read_digits(const char **p, int n, int *out) {
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i])) {
			return -1;
		}
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, char c) {
	if (**p != c) {
		return -1;
	}
	(*p)++;
	return 0;
}

static int days_in_month(int year, int month) {
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

// Hinnant's days_from_civil: days since 1970-01-01 in the proleptic Gregorian calendar.
static int64_t days_from_civil(int y, int m, int d) {
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static int parse_time(const char **p, struct isotime *t) {
	if (read_digits(p, 2, &t->hour) < 0 || expect(p, ':') < 0 ||
	    read_digits(p, 2, &t->minute) < 0) {
		return -1;
	}
	if (expect(p, ':') == 0 && read_digits(p, 2, &t->second) < 0) {
		return -1;
	}
	if (expect(p, '.') == 0 || expect(p, ',') == 0) {
		int n = 0;
		// PostgreSQL keeps microseconds: further digits are cut, not rounded
		for (; isdigit((unsigned char)**p) && n < 9; n++, (*p)++) {
			if (n < 6) {
				t->micros = t->micros * 10 + (**p - '0');
			}
		}
		if (n == 0) {
			return -1;
		}
		for (; n < 6; n++) {
			t->micros *= 10;
		}
	}
	return 0;
}

// A zone after the time: Z, +-HH, +-HHMM or +-HH:MM. A space stands for '+' because an
// unencoded '+' in a query string arrives decoded as a space.
static int parse_zone(const char **p, struct isotime *t) {
	int sign;
	int hours;
	int minutes = 0;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return 0;
	}
	if (**p != '+' && **p != '-' && **p != ' ') {
		return **p == '\0' ? 0 : -1;
	}
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (read_digits(p, 2, &hours) < 0) {
		return -1;
	}
	if (**p != '\0') {
		(void)expect(p, ':'); // +HH:MM and +HHMM are both ISO 8601
		if (read_digits(p, 2, &minutes) < 0) {
			return -1;
		}
	}
	if (hours > 23 || minutes > 59) {
		return -1;
	}
	t->offset_min = sign * (hours * 60 + minutes);
	return 0;
}

int isotime_parse(const char *s, struct isotime *t) {
	const char *p = s;

	memset(t, 0, sizeof(*t));
	if (read_digits(&p, 4, &t->year) < 0 || expect(&p, '-') < 0 ||
	    read_digits(&p, 2, &t->month) < 0 || expect(&p, '-') < 0 ||
	    read_digits(&p, 2, &t->day) < 0) {
		return -1;
	}
	if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
		p++;
		if (parse_time(&p, t) < 0 || parse_zone(&p, t) < 0) {
			return -1;
		}
	}
	if (*p != '\0' || t->year < 1 || t->month < 1 || t->month > 12 || t->day < 1 ||
	    t->day > days_in_month(t->year, t->month) || t->hour > 23 || t->minute > 59 ||
	    t->second > 59) {
		return -1;
	}
	return 0;
}

int64_t isotime_micros(const struct isotime *t) {
	int64_t secs = days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 +
		       t->minute * 60 + t->second - (int64_t)t->offset_min * 60;

	return secs * 1000000 + t->micros;
}

char *isotime_format(struct arena *arena, const struct isotime *t) {
	int off = t->offset_min < 0 ? -t->offset_min : t->offset_min;

	return arena_printf(arena, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld%c%02d:%02d", t->year,
			    t->month, t->day, t->hour, t->minute, t->second, t->micros,
			    t->offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

static int zone_name_is_plain(const char *name) {
	size_t len = strlen(name);

	if (len == 0 || len > 64 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") !=
		    len) {
		return 0;
	}
	// every segment starts with a letter or digit: no "", ".", ".." or hidden file
	for (const char *seg = name;; seg++) {
		if (!isalnum((unsigned char)seg[0])) {
			return 0;
		}
		seg = strchr(seg, '/');
		if (seg == NULL) {
			break;
		}
	}
	return 1;
}

int isotime_zone_is_valid(const char *name) {
	char path[128];
	char magic[4];
	FILE *f;
	int ok;

	if (!zone_name_is_plain(name)) {
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", ISOTIME_ZONEINFO_DIR, name);
	f = fopen(path, "rb"); // a directory ("America") opens but reads nothing
	if (f == NULL) {
		return 0;
	}
	ok = fread(magic, 1, sizeof(magic), f) == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}
