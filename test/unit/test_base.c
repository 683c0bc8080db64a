// test_base.c: err, buf, arena, config, log levels and the HTTP client's backoff rules.
#include <stdlib.h>
#include <time.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "common/httpc.h"
#include "common/log.h"
#include "test/unit/check.h"

static void test_err(void) {
	struct err err = {0};

	CHECK(err_set(&err, 400, "first", "a %d", 1) == -1);
	CHECK(err_set(&err, 500, "second", "b") == -1);
	CHECK(err.status == 400);
	CHECK_STR_EQ(err.code, "first");
	CHECK_STR_EQ(err.msg, "a 1");
	err_clear(&err);
	CHECK(err.status == 0);
}

static void test_buf(void) {
	struct buf b;

	buf_init(&b, 10);
	CHECK(buf_append_str(&b, "hello") == 0);
	CHECK(buf_printf(&b, "%d", 1234) == 0);
	CHECK_STR_EQ(b.data, "hello1234");
	CHECK(buf_append_str(&b, "xx") < 0); // past the maximum: freed and empty
	CHECK(b.data == NULL && b.len == 0);
	CHECK(buf_append_str(&b, "again") == 0); // and reusable
	CHECK_STR_EQ(b.data, "again");
	buf_finish(&b);
	buf_init(&b, 1 << 20);
	int all_ok = 1;
	for (int i = 0; i < 1000; i++) {
		all_ok &= buf_printf(&b, "%0600d", i) == 0;
	}
	CHECK(all_ok);
	CHECK(b.len == 600000);
	buf_finish(&b);
	buf_finish(&b);
}

static void test_arena(void) {
	struct arena *a = arena_create();

	for (int round = 0; round < 3; round++) {
		int all_ok = 1;
		for (int i = 0; i < 2000; i++) {
			char *p = arena_printf(a, "item-%d", i);
			all_ok &= strncmp(p, "item-", 5) == 0;
		}
		CHECK(all_ok);
		char *big = arena_alloc(a, 1 << 20);
		memset(big, 1, 1 << 20);
		CHECK(((uintptr_t)arena_alloc(a, 3) % _Alignof(max_align_t)) == 0);
		CHECK_STR_EQ(arena_strndup(a, "abcdef", 3), "abc");
		arena_reset(a);
	}
	arena_destroy(a);
	arena_destroy(NULL);
}

static void test_config(void) {
	struct config cfg;
	struct err err = {0};

	unsetenv("DATABASE_URL");
	unsetenv("SECRETS_KEYS");
	unsetenv("JWT_SECRET");
	unsetenv("JWT_JWKS_FILE");
	CHECK(config_load(&cfg, &err) < 0);
	CHECK(strstr(err.msg, "DATABASE_URL") != NULL && strstr(err.msg, "SECRETS_KEYS") != NULL &&
	      strstr(err.msg, "JWT_SECRET") != NULL);
	err_clear(&err);
	setenv("DATABASE_URL", "postgresql://u:hunter2@h/db", 1);
	setenv("SECRETS_KEYS", "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1);
	setenv("JWT_SECRET", "jwt-secret-value", 1);
	setenv("HTTP_TIMEOUT_MS", "12x", 1);
	CHECK(config_load(&cfg, &err) < 0 && strstr(err.msg, "HTTP_TIMEOUT_MS") != NULL);
	// a short JWT secret, an all-zero sealing key, a placeholder: every one named at once
	CHECK(strstr(err.msg, "JWT_SECRET is under 32 bytes") != NULL);
	err_clear(&err);
	setenv("SECRETS_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1);
	setenv("SUPABASE_SECRET_KEYS", "sb_publishable_0123456789abcdefghijklmnop", 1);
	setenv("HIGHLEVEL_CLIENT_SECRET", "change-me", 1);
	CHECK(config_load(&cfg, &err) < 0);
	CHECK(strstr(err.msg, "SECRETS_KEYS has a key of one repeated byte") != NULL &&
	      strstr(err.msg, "SUPABASE_SECRET_KEYS lists a key") != NULL &&
	      strstr(err.msg, "HIGHLEVEL_CLIENT_SECRET holds a placeholder") != NULL &&
	      strstr(err.msg, "openssl rand") != NULL);
	err_clear(&err);
	unsetenv("SUPABASE_SECRET_KEYS");
	unsetenv("HIGHLEVEL_CLIENT_SECRET");
	setenv("SECRETS_KEYS", "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1);
	setenv("JWT_SECRET", "jwt-secret-value-of-at-least-32-bytes", 1);
	setenv("HTTP_TIMEOUT_MS", "2500", 1);
	CHECK(config_load(&cfg, &err) == 0);
	CHECK(cfg.http_timeout_ms == 2500);
	CHECK_STR_EQ(cfg.retell_base_url, "https://api.retellai.com");
	CHECK_STR_EQ(cfg.label_retell, "Provider B");

	char *dump = NULL;
	size_t dump_len = 0;
	FILE *f = open_memstream(&dump, &dump_len);
	config_dump(&cfg, f);
	fclose(f);
	CHECK(strstr(dump, "hunter2") == NULL && strstr(dump, "jwt-secret-value") == NULL &&
	      strstr(dump, "AAECAw") == NULL);
	CHECK(strstr(dump, "DATABASE_URL=(set)") != NULL &&
	      strstr(dump, "HTTP_TIMEOUT_MS=2500") != NULL);
	free(dump);
}

static void test_backoff(void) {
	struct httpc_options o = {.backoff_base_ms = 100, .backoff_max_ms = 1000};

	for (int attempt = 1; attempt <= 8; attempt++) {
		long ceiling = 100L << (attempt - 1);
		if (ceiling > 1000) {
			ceiling = 1000;
		}
		int in_range = 1;
		for (int i = 0; i < 50; i++) {
			long d = httpc_backoff_ms(&o, attempt, -1);
			in_range &= d >= 0 && d <= ceiling;
		}
		CHECK(in_range);
	}
	CHECK(httpc_backoff_ms(&o, 1, 700) == 700);
	CHECK(httpc_backoff_ms(&o, 1, 5000) == 1000);
	CHECK(httpc_parse_retry_after("3", 0) == 3000);
	CHECK(httpc_parse_retry_after(" 0", 0) == 0);
	CHECK(httpc_parse_retry_after("soon", 0) == -1);
	CHECK(httpc_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10000);
	CHECK(httpc_url_allowed("https://api.retellai.com/v2/get-call/x"));
	CHECK(httpc_url_allowed("http://127.0.0.1:8080/x"));
	CHECK(!httpc_url_allowed("http://api.retellai.com/x"));
	CHECK(!httpc_url_allowed("file:///etc/passwd"));
	CHECK(!httpc_url_allowed("http://127.0.0.1.evil.com/x"));
	CHECK(!httpc_url_allowed("http://localhost:@evil.example/x")); // userinfo, not the host
	CHECK(!httpc_url_allowed("http://127.0.0.1:@evil.example/x"));
}

static void test_log_level(void) {
	enum log_level level;

	CHECK(log_parse_level("debug", &level) == 0 && level == LOG_DEBUG);
	CHECK(log_parse_level("loud", &level) < 0);
	log_set_level(LOG_WARN);
	CHECK(!log_enabled(LOG_INFO) && log_enabled(LOG_ERROR));
}

int main(void) {
	test_err();
	test_buf();
	test_arena();
	test_config();
	test_backoff();
	test_log_level();
	return check_summary();
}
