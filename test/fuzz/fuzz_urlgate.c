/* fuzz_urlgate.c: the recording URL gate (hostlist_recording_url_check) and the API URL rule
 * (httpc_url_allowed) on fuzzed URLs. Whatever the gate lets through under a production
 * configuration, curl's own parser must read as https on port 443 with no userinfo and a host
 * on the allow-list or a base URL's; under the test stack's loopback configuration the only
 * other thing that passes is the base URL's exact origin.
 * Input: the URL. */
#include <curl/curl.h>

#include "common/config.h"
#include "common/hostlist.h"
#include "common/httpc.h"
#include "test/fuzz/fuzz.h"

static const struct config production = {
	.recording_hosts = "*.retellai.com,*.amazonaws.com,*.cloudfront.net",
	.retell_base_url = "https://api.retellai.com",
	.highlevel_base_url = "https://services.leadconnectorhq.com",
};
static const struct config loopback = {
	.recording_hosts = "127.0.0.1",
	.retell_base_url = "http://127.0.0.1:4010",
	.highlevel_base_url = "http://127.0.0.1:4010",
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc;
	(void)argv;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static char *part(CURLU *u, CURLUPart what, unsigned flags) {
	char *s = NULL;

	return curl_url_get(u, what, &s, flags) == CURLUE_OK ? s : NULL;
}

// What curl itself makes of a URL the gate passed.
static void check_passed(const char *url, int production_cfg) {
	CURLU *u = curl_url();
	char *scheme;
	char *port;
	char *host;
	char *user;
	char *password;

	FUZZ_ASSERT(u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK);
	scheme = part(u, CURLUPART_SCHEME, 0);
	port = part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	host = part(u, CURLUPART_HOST, 0);
	user = part(u, CURLUPART_USER, 0);
	password = part(u, CURLUPART_PASSWORD, 0);
	FUZZ_ASSERT(scheme != NULL && port != NULL && host != NULL);
	FUZZ_ASSERT(user == NULL && password == NULL);
	if (production_cfg) {
		FUZZ_ASSERT(strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0);
	} else if (strcmp(scheme, "https") != 0 || strcmp(port, "443") != 0) {
		FUZZ_ASSERT(strcmp(scheme, "http") == 0 && strcmp(port, "4010") == 0 &&
			    strcmp(host, "127.0.0.1") == 0);
	}
	curl_free(scheme);
	curl_free(port);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *url = fuzz_strndup(data, size);
	struct hostlist_fetch fetch;

	if (hostlist_recording_url_check(&production, url, &fetch) == 0) {
		FUZZ_ASSERT(!fetch.allow_loopback);
		check_passed(url, 1);
	}
	if (hostlist_recording_url_check(&loopback, url, &fetch) == 0) {
		FUZZ_ASSERT(fetch.allow_loopback);
		check_passed(url, 0);
	}
	if (httpc_url_allowed(url) && strncmp(url, "https://", 8) != 0) {
		FUZZ_ASSERT(hostlist_url_loopback_http(url));
	}
	free(url);
	return 0;
}
