// test_hostlist.c: the recording proxy's host allow-list (no SSRF through stored URLs) and the
// Range values it forwards.
#include "common/config.h"
#include "common/hostlist.h"
#include "common/recording.h"
#include "test/unit/check.h"

static void test_match(void) {
	const char *list = " *.retellai.com, *.amazonaws.com ,127.0.0.1,Media.Example.org";

	CHECK(hostlist_match(list, "dxc03zgurdly9.retellai.com"));
	CHECK(hostlist_match(list, "a.b.retellai.com"));
	CHECK(hostlist_match(list, "bucket.s3.us-west-2.amazonaws.com"));
	CHECK(hostlist_match(list, "BUCKET.S3.AMAZONAWS.COM"));
	CHECK(hostlist_match(list, "127.0.0.1"));
	CHECK(hostlist_match(list, "media.example.org"));
	CHECK(hostlist_match(list, "media.example.org.")); // trailing dot: the same host
	CHECK(!hostlist_match(list, "retellai.com"));	   // the wildcard wants a subdomain
	CHECK(!hostlist_match(list, "evilretellai.com"));
	CHECK(!hostlist_match(list, "retellai.com.evil.net"));
	CHECK(!hostlist_match(list, "127.0.0.10"));
	CHECK(!hostlist_match(list, "x.media.example.org")); // exact entries are exact
	CHECK(!hostlist_match(list, "localhost"));
	CHECK(!hostlist_match(list, ""));
	CHECK(!hostlist_match(list, "."));
	CHECK(!hostlist_match(NULL, "127.0.0.1"));
	CHECK(!hostlist_match("*", "anything.example")); // no match-all
	CHECK(!hostlist_match("*.", "anything.example"));
	CHECK(!hostlist_match("", "127.0.0.1"));
	CHECK(!hostlist_match(",,", "127.0.0.1"));
}

static void test_url_host(void) {
	char host[64];

	CHECK(hostlist_url_host("https://Bucket.S3.amazonaws.com/a.wav?sig=1", host,
				sizeof(host)) == 0);
	CHECK_STR_EQ(host, "bucket.s3.amazonaws.com");
	CHECK(hostlist_url_host("http://127.0.0.1:8080/x", host, sizeof(host)) == 0);
	CHECK_STR_EQ(host, "127.0.0.1");
	CHECK(hostlist_url_host("http://[::1]:81/x", host, sizeof(host)) == 0);
	CHECK_STR_EQ(host, "[::1]");
	// userinfo is not the host: curl connects to what follows the @
	CHECK(hostlist_url_host("http://127.0.0.1@evil.example/x", host, sizeof(host)) == 0);
	CHECK_STR_EQ(host, "evil.example");
	CHECK(hostlist_url_host("http://127.0.0.1:80@evil.example/x", host, sizeof(host)) == 0);
	CHECK_STR_EQ(host, "evil.example");
	CHECK(hostlist_url_host("ftp://127.0.0.1/x", host, sizeof(host)) < 0);
	CHECK(hostlist_url_host("file:///etc/passwd", host, sizeof(host)) < 0);
	CHECK(hostlist_url_host("gopher://127.0.0.1/x", host, sizeof(host)) < 0);
	CHECK(hostlist_url_host("/relative/path", host, sizeof(host)) < 0);
	CHECK(hostlist_url_host("127.0.0.1/x", host, sizeof(host)) < 0); // no scheme
	CHECK(hostlist_url_host("", host, sizeof(host)) < 0);
	CHECK(hostlist_url_host(NULL, host, sizeof(host)) < 0);
	// percent-encoded hosts are decoded as curl will connect to them
	CHECK(hostlist_url_host("http://127.0.0.1%2eevil.example/x", host, sizeof(host)) == 0);
	CHECK_STR_EQ(host, "127.0.0.1.evil.example");
	CHECK(hostlist_url_host("http://127.0.0.1\\@evil.example/x", host, sizeof(host)) == 0);
	CHECK_STR_EQ(host, "evil.example");
	CHECK(hostlist_url_host("https://a-very-long-host-name-that-does-not-fit.example.com/",
				host, 16) < 0);
}

static void test_url_allowed(void) {
	const char *list = "*.retellai.com,127.0.0.1";
	struct config cfg = {.recording_hosts = "*.cloudfront.net",
			     .retell_base_url = "http://127.0.0.1:4010",
			     .highlevel_base_url = "https://services.leadconnectorhq.com"};

	CHECK(hostlist_url_allowed(list, "https://x.retellai.com/rec.wav"));
	CHECK(hostlist_url_allowed(list, "http://127.0.0.1:9999/recordings/a.wav"));
	CHECK(!hostlist_url_allowed(list, "http://localhost:9999/recordings/a.wav"));
	CHECK(!hostlist_url_allowed(list, "http://127.0.0.1@localhost:9999/a.wav"));
	CHECK(!hostlist_url_allowed(list, "http://127.0.0.1%2elocalhost:9999/a.wav"));
	CHECK(!hostlist_url_allowed(list, "http://127.0.0.1%00.x/a.wav"));
	CHECK(!hostlist_url_allowed(list, "https://x.retellai.com.evil.example/rec.wav"));
	CHECK(!hostlist_url_allowed(list, "http://169.254.169.254/latest/meta-data/"));
	CHECK(hostlist_recording_url_allowed(&cfg, "https://d1.cloudfront.net/a.wav"));
	CHECK(hostlist_recording_url_allowed(&cfg, "http://127.0.0.1:5555/a.wav")); // base URL host
	CHECK(hostlist_recording_url_allowed(&cfg,
					     "https://services.leadconnectorhq.com/conversations/messages/m/locations/l/recording"));
	CHECK(!hostlist_recording_url_allowed(&cfg, "https://leadconnectorhq.com.evil.example/x"));
	CHECK(!hostlist_recording_url_allowed(&cfg, "http://10.0.0.5/a.wav"));
	cfg.retell_base_url = NULL;
	CHECK(!hostlist_recording_url_allowed(&cfg, "http://127.0.0.1:5555/a.wav"));
}

static void test_range(void) {
	CHECK(recording_range_ok("bytes=0-"));
	CHECK(recording_range_ok("bytes=100-199"));
	CHECK(recording_range_ok("bytes=-500"));
	CHECK(recording_range_ok("bytes=0-1, 5-9"));
	CHECK(!recording_range_ok(NULL));
	CHECK(!recording_range_ok(""));
	CHECK(!recording_range_ok("bytes="));
	CHECK(!recording_range_ok("bytes=100"));
	CHECK(!recording_range_ok("items=0-1"));
	CHECK(!recording_range_ok("bytes=0-1\r\nX-Evil: 1"));
	CHECK(!recording_range_ok("bytes=a-b"));
	char long_range[200];
	memset(long_range, '1', sizeof(long_range));
	memcpy(long_range, "bytes=0-", 8);
	long_range[sizeof(long_range) - 1] = '\0';
	CHECK(!recording_range_ok(long_range));
}

int main(void) {
	test_match();
	test_url_host();
	test_url_allowed();
	test_range();
	return check_summary();
}
