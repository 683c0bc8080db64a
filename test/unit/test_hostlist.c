// test_hostlist.c: the recording proxy's host allow-list (no SSRF through stored URLs) and the
// Range values it forwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/config.h"
#include "common/hostlist.h"
#include "common/httpc.h"
#include "common/netaddr.h"
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

static int recording_ok(const struct config *cfg, const char *url) {
	struct hostlist_fetch fetch;

	return hostlist_recording_url_check(cfg, url, &fetch) == 0;
}

static int addr4_ok(const char *text, int allow_loopback) {
	struct sockaddr_in a = {.sin_family = AF_INET};

	CHECK(inet_pton(AF_INET, text, &a.sin_addr) == 1);
	return netaddr_public((struct sockaddr *)&a, sizeof(a), allow_loopback);
}

static int addr6_ok(const char *text, int allow_loopback) {
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};

	CHECK(inet_pton(AF_INET6, text, &a.sin6_addr) == 1);
	return netaddr_public((struct sockaddr *)&a, sizeof(a), allow_loopback);
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
	CHECK(recording_ok(&cfg, "https://d1.cloudfront.net/a.wav"));
	CHECK(recording_ok(&cfg, "https://d1.cloudfront.net:443/a.wav"));
	CHECK(recording_ok(&cfg, "http://127.0.0.1:4010/a.wav")); // the base URL's origin
	CHECK(recording_ok(&cfg,
			   "https://services.leadconnectorhq.com/conversations/messages/m/locations/l/recording"));
	CHECK(!recording_ok(&cfg, "https://leadconnectorhq.com.evil.example/x"));
	CHECK(!recording_ok(&cfg, "http://10.0.0.5/a.wav"));
	// issue 16, finding 4: the scheme, the port and userinfo, on the parsed URL
	CHECK(!recording_ok(&cfg, "http://d1.cloudfront.net/a.wav"));	    // plain http
	CHECK(!recording_ok(&cfg, "https://d1.cloudfront.net:6379/a.wav")); // another port
	CHECK(!recording_ok(&cfg, "http://127.0.0.1:5555/a.wav"));	    // base host, other port
	CHECK(!recording_ok(&cfg, "https://127.0.0.1:4010/a.wav")); // base port, other scheme
	CHECK(!recording_ok(&cfg, "http://localhost:@d1.cloudfront.net/a.wav"));
	CHECK(!recording_ok(&cfg, "https://user@d1.cloudfront.net/a.wav"));
	CHECK(!recording_ok(&cfg, "https://:pw@d1.cloudfront.net/a.wav"));
	CHECK(!recording_ok(&cfg, "http://x@127.0.0.1:4010/a.wav"));
	CHECK(!recording_ok(&cfg, "ftp://d1.cloudfront.net/a.wav"));
	struct hostlist_fetch fetch;
	CHECK(hostlist_recording_url_check(&cfg, "https://d1.cloudfront.net/a.wav", &fetch) == 0 &&
	      fetch.allow_loopback); // a base URL is on loopback
	cfg.retell_base_url = NULL;
	CHECK(!recording_ok(&cfg, "http://127.0.0.1:4010/a.wav"));
	CHECK(hostlist_recording_url_check(&cfg, "https://d1.cloudfront.net/a.wav", &fetch) == 0 &&
	      !fetch.allow_loopback);
}

static void test_addresses(void) {
	CHECK(addr4_ok("52.10.1.2", 0));
	CHECK(addr4_ok("100.20.5.228", 0));
	CHECK(!addr4_ok("10.1.2.3", 0));
	CHECK(!addr4_ok("172.16.0.1", 0));
	CHECK(!addr4_ok("172.31.255.255", 0));
	CHECK(addr4_ok("172.32.0.1", 0));
	CHECK(!addr4_ok("192.168.1.1", 0));
	CHECK(!addr4_ok("169.254.169.254", 1)); // metadata service, even with loopback allowed
	CHECK(!addr4_ok("100.64.0.1", 0));
	CHECK(!addr4_ok("0.0.0.0", 0));
	CHECK(!addr4_ok("224.0.0.1", 0));
	CHECK(!addr4_ok("255.255.255.255", 0));
	CHECK(!addr4_ok("127.0.0.1", 0));
	CHECK(addr4_ok("127.0.0.1", 1));
	CHECK(addr6_ok("2600:1f14::1", 0));
	CHECK(!addr6_ok("::1", 0));
	CHECK(addr6_ok("::1", 1));
	CHECK(!addr6_ok("::", 1));
	CHECK(!addr6_ok("fd00::1", 0));
	CHECK(!addr6_ok("fe80::1", 0));
	CHECK(!addr6_ok("ff02::1", 0));
	CHECK(!addr6_ok("::ffff:10.0.0.1", 0));
	CHECK(!addr6_ok("::ffff:169.254.169.254", 1));
	CHECK(addr6_ok("::ffff:52.10.1.2", 0));
	CHECK(!addr6_ok("64:ff9b::a00:1", 0));
	CHECK(!netaddr_public(NULL, 0, 1));
}

static int on_line(void *ctx, const char *line, size_t len) {
	(void)ctx, (void)line, (void)len;
	return 0;
}

// A loopback listener: with allow_loopback 0 curl must not even connect (nothing waits in its
// backlog); with 1, a forked child answers and the status comes back.
static void test_connect_guard(void) {
	struct httpc_options o = {2000, 1000, 1 << 20, 0, 1, 1};
	struct httpc *c = httpc_create(&o);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct err err = {0};
	char url[64];

	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0 &&
	      getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/a.wav", ntohs(a.sin_port));
	struct httpc_stream_opts guarded = {0, 5000};
	CHECK(httpc_stream(c, url, NULL, &guarded, on_line, on_line, NULL, &err) == -1);
	CHECK_STR_EQ(err.code, "recording_address_not_allowed");
	struct pollfd p = {fd, POLLIN, 0};
	CHECK(poll(&p, 1, 100) == 0); // no connection was made

	pid_t child = fork();
	if (child == 0) {
		int conn = accept(fd, NULL, NULL);
		char buf[4096];
		static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
		(void)!read(conn, buf, sizeof(buf));
		(void)!write(conn, answer, sizeof(answer) - 1);
		_exit(0);
	}
	struct httpc_stream_opts local = {1, 5000};
	err_clear(&err);
	CHECK(httpc_stream(c, url, NULL, &local, on_line, on_line, NULL, &err) == 200);
	waitpid(child, NULL, 0);
	close(fd);
	httpc_destroy(c);
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
	test_addresses();
	test_connect_guard();
	test_range();
	return check_summary();
}
