/* hostlist.c: host allow-lists for URLs we are asked to fetch. */
#include "common/hostlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/config.h"

#define HOST_MAX 256

// Compares the entry list[0..len) with host; host has no trailing dot.
static int entry_matches(const char *entry, size_t len, const char *host, size_t host_len) {
	if (len >= 2 && entry[0] == '*' && entry[1] == '.') {
		size_t suffix = len - 1; // ".domain"
		return suffix > 1 && host_len > suffix &&
		       strncasecmp(host + host_len - suffix, entry + 1, suffix) == 0;
	}
	return len > 0 && len == host_len && entry[0] != '*' && strncasecmp(entry, host, len) == 0;
}

int hostlist_match(const char *list, const char *host) {
	size_t host_len;

	if (list == NULL || host == NULL) {
		return 0;
	}
	host_len = strlen(host);
	if (host_len > 0 && host[host_len - 1] == '.') {
		host_len--; // "example.com." names the same host as "example.com"
	}
	if (host_len == 0) {
		return 0;
	}
	while (*list != '\0') {
		const char *end = list + strcspn(list, ",");
		const char *a = list;
		const char *b = end;

		while (a < b && isspace((unsigned char)*a)) {
			a++;
		}
		while (b > a && isspace((unsigned char)b[-1])) {
			b--;
		}
		if (entry_matches(a, (size_t)(b - a), host, host_len)) {
			return 1;
		}
		list = *end == ',' ? end + 1 : end;
	}
	return 0;
}

// The parts of a URL that decide where curl connects, as curl's own parser reads them.
struct url_parts {
	char scheme[8];
	char host[HOST_MAX];
	long port;	  /* explicit or the scheme's default */
	int has_userinfo; /* "user@", "user:@", ":pw@" */
};

static int parse_url(const char *url, struct url_parts *out) {
	CURLU *u = curl_url();
	char *scheme = NULL;
	char *h = NULL;
	char *port = NULL;
	char *user = NULL;
	char *password = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (u == NULL || url == NULL) {
		goto done;
	}
	// the same parser the transfer uses, so "http://a@b/" or "http://a\@b/" cannot disagree
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		goto done;
	}
	if ((strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || h[0] == '\0' ||
	    strchr(h, '%') != NULL || strlen(h) >= sizeof(out->host)) {
		goto done;
	}
	out->has_userinfo = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
			    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK;
	snprintf(out->scheme, sizeof(out->scheme), "%s", scheme);
	for (size_t i = 0; h[i] != '\0'; i++) {
		out->host[i] = (char)tolower((unsigned char)h[i]);
	}
	out->port = strtol(port, NULL, 10);
	rc = 0;
done:
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return rc;
}

int hostlist_url_host(const char *url, char *host, size_t size) {
	struct url_parts p;

	if (parse_url(url, &p) < 0 || strlen(p.host) >= size) {
		return -1;
	}
	memcpy(host, p.host, strlen(p.host) + 1);
	return 0;
}

int hostlist_url_allowed(const char *list, const char *url) {
	char host[HOST_MAX];

	return hostlist_url_host(url, host, sizeof(host)) == 0 && hostlist_match(list, host);
}

int hostlist_is_loopback(const char *host) {
	struct in_addr a;

	return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	       (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127);
}

int hostlist_url_loopback_http(const char *url) {
	struct url_parts p;

	return parse_url(url, &p) == 0 && strcmp(p.scheme, "http") == 0 && !p.has_userinfo &&
	       hostlist_is_loopback(p.host);
}

// How a configured provider base URL relates to the URL we were handed.
static void judge_base(const char *base_url, const struct url_parts *p, int *same_host,
		       int *same_origin, int *loopback) {
	struct url_parts b;

	if (base_url == NULL || parse_url(base_url, &b) < 0) {
		return;
	}
	*loopback |= hostlist_is_loopback(b.host);
	if (strcmp(b.host, p->host) == 0) {
		*same_host = 1;
		*same_origin |= strcmp(b.scheme, p->scheme) == 0 && b.port == p->port;
	}
}

int hostlist_recording_url_check(const struct config *cfg, const char *url,
				 struct hostlist_fetch *out) {
	struct url_parts p;
	int same_host = 0;
	int same_origin = 0;
	int loopback = 0;

	memset(out, 0, sizeof(*out));
	if (parse_url(url, &p) < 0 || p.has_userinfo) {
		return -1;
	}
	judge_base(cfg->retell_base_url, &p, &same_host, &same_origin, &loopback);
	judge_base(cfg->highlevel_base_url, &p, &same_host, &same_origin, &loopback);
	out->allow_loopback = loopback;
	if (same_origin) {
		return 0; // exactly where a configured provider API lives
	}
	if (strcmp(p.scheme, "https") != 0 || p.port != 443) {
		return -1;
	}
	return same_host || hostlist_match(cfg->recording_hosts, p.host) ? 0 : -1;
}
