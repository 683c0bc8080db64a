/* hostlist: which hosts a stored URL may send us to (no SSRF through the recording proxy): a
 * comma list of exact host names and "*.domain" wildcards, matched against the host libcurl
 * itself would connect to. */
#ifndef COMMON_HOSTLIST_H
#define COMMON_HOSTLIST_H

#include <stddef.h>

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

/* 1 when a recording may be fetched from url: its host is in cfg->recording_hosts or is the
 * host of the configured provider base URLs (RETELL_BASE_URL, HIGHLEVEL_BASE_URL). */
int hostlist_recording_url_allowed(const struct config *cfg, const char *url);

#endif
