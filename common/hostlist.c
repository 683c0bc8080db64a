/* hostlist.c: host allow-lists for URLs we are asked to fetch. */
#include "common/hostlist.h"

#include <ctype.h>
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

int hostlist_url_host(const char *url, char *host, size_t size) {
	CURLU *u = curl_url();
	char *scheme = NULL;
	char *h = NULL;
	int rc = -1;

	if (u == NULL || url == NULL) {
		goto done;
	}
	// the same parser the transfer uses, so "http://a@b/" or "http://a\@b/" cannot disagree
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		goto done;
	}
	if ((strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || h[0] == '\0' ||
	    strchr(h, '%') != NULL || strlen(h) >= size) {
		goto done;
	}
	for (size_t i = 0; h[i] != '\0'; i++) {
		host[i] = (char)tolower((unsigned char)h[i]);
	}
	host[strlen(h)] = '\0';
	rc = 0;
done:
	curl_free(scheme);
	curl_free(h);
	curl_url_cleanup(u);
	return rc;
}

int hostlist_url_allowed(const char *list, const char *url) {
	char host[HOST_MAX];

	return hostlist_url_host(url, host, sizeof(host)) == 0 && hostlist_match(list, host);
}

static int same_host(const char *base_url, const char *host) {
	char base[HOST_MAX];

	return base_url != NULL && hostlist_url_host(base_url, base, sizeof(base)) == 0 &&
	       strcmp(base, host) == 0;
}

int hostlist_recording_url_allowed(const struct config *cfg, const char *url) {
	char host[HOST_MAX];

	if (hostlist_url_host(url, host, sizeof(host)) < 0) {
		return 0;
	}
	return hostlist_match(cfg->recording_hosts, host) ||
	       same_host(cfg->retell_base_url, host) || same_host(cfg->highlevel_base_url, host);
}
