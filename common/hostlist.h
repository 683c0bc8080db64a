/* hostlist: which hosts a stored URL may send us to (no SSRF through the recording proxy): a
 * comma list of exact host names and "*.domain" wildcards, matched against the host libcurl
 * itself would connect to. */
#ifndef COMMON_HOSTLIST_H
#define COMMON_HOSTLIST_H

#include <stddef.h>

#include "common/err.h"

struct config;

/* 1 when host (lower case, no port) matches an entry of list: an exact name, or "*.domain"
 * for any name ending in ".domain" (not domain itself). Case-insensitive; spaces around
 * entries and one trailing dot of host are ignored; "*" alone matches nothing. */
int hostlist_match(const char *list, const char *host);

/* The host of an http or https URL as libcurl parses it (percent-encoding decoded, as curl
 * connects), lower-cased into host (IPv6 in brackets). -1 for another scheme, a URL libcurl
 * refuses, no host, a host with '%' left, or one that does not fit in size bytes. */
int hostlist_url_host(const char *url, char *host, size_t size);

/* 1 when url is http(s) and its host matches list. */
int hostlist_url_allowed(const char *list, const char *url);

/* 1 for "localhost", "[::1]" and 127.x.x.x addresses (as hostlist_url_host writes them). */
int hostlist_is_loopback(const char *host);

/* 1 when url is plain http to a loopback host with no userinfo (the test stack's providers). */
int hostlist_url_loopback_http(const char *url);

/* How a recording URL that passed hostlist_recording_url_check may be fetched. */
struct hostlist_fetch {
	int allow_loopback; /* a configured provider base URL is on loopback (the test stack) */
};

/* 0 when a recording may be fetched from url (as curl parses it): no userinfo, and either
 * https on port 443 to a host in cfg->recording_hosts or to the host of a configured provider
 * base URL (RETELL_BASE_URL, HIGHLEVEL_BASE_URL), or exactly the scheme, host and port of a
 * configured base URL (the test stack's fake provider speaks http on a loopback port; in
 * production both are https:443). Fills out; -1 when the URL may not be fetched. Where the
 * host's addresses may lead is checked at connect time (netaddr). */
int hostlist_recording_url_check(const struct config *cfg, const char *url,
				 struct hostlist_fetch *out) MUSTCHECK;

#endif
