/* config.c: the settings table (like pgbouncer's bouncer_params[]). */
#include "common/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"

#define CREDENTIAL_MAX 65536

enum config_type { CONFIG_STR, CONFIG_SECRET, CONFIG_LONG };

struct config_param {
	const char *name;
	enum config_type type;
	int required;
	const char *fallback;
	size_t offset;
	long min;
	long max;
};

#define STR(name, req, def, field) \
	{ name, CONFIG_STR, req, def, offsetof(struct config, field), 0, 0 }
#define SECRET(name, req, field) \
	{ name, CONFIG_SECRET, req, NULL, offsetof(struct config, field), 0, 0 }
#define LONG(name, def, field, lo, hi) \
	{ name, CONFIG_LONG, 0, def, offsetof(struct config, field), lo, hi }

static const struct config_param params[] = {
	SECRET("DATABASE_URL", 1, database_url),
	SECRET("JWT_SECRET", 0, jwt_secret),
	STR("JWT_JWKS_FILE", 0, NULL, jwt_jwks_file),
	STR("JWT_AUDIENCE", 0, "authenticated", jwt_audience),
	SECRET("SUPABASE_SECRET_KEYS", 0, supabase_secret_keys),
	SECRET("SECRETS_KEYS", 1, secrets_keys),
	STR("RETELL_BASE_URL", 0, "https://api.retellai.com", retell_base_url),
	STR("HIGHLEVEL_BASE_URL", 0, "https://services.leadconnectorhq.com", highlevel_base_url),
	STR("HIGHLEVEL_CLIENT_ID", 0, NULL, highlevel_client_id),
	SECRET("HIGHLEVEL_CLIENT_SECRET", 0, highlevel_client_secret),
	STR("HIGHLEVEL_REDIRECT_URI", 0, NULL, highlevel_redirect_uri),
	STR("OAUTH_RETURN_URL", 0, NULL, oauth_return_url),
	STR("RECORDING_HOSTS", 0, "*.retellai.com,*.amazonaws.com,*.cloudfront.net",
	    recording_hosts),
	STR("CORS_ALLOW_ORIGIN", 0, "*", cors_allow_origin),
	STR("PROVIDER_LABEL_HIGHLEVEL", 0, "Provider A", label_highlevel),
	STR("PROVIDER_LABEL_RETELL", 0, "Provider B", label_retell),
	STR("LOG_LEVEL", 0, "info", log_level),
	LONG("MAX_BODY_BYTES", "1048576", max_body_bytes, 1024, 64L << 20),
	LONG("THREADS", "4", threads, 1, 256),
	LONG("HTTP_TIMEOUT_MS", "10000", http_timeout_ms, 100, 600000),
	LONG("HTTP_CONNECT_TIMEOUT_MS", "3000", http_connect_timeout_ms, 50, 60000),
	LONG("HTTP_MAX_RESPONSE_BYTES", "33554432", http_max_response_bytes, 1024, 1L << 30),
	LONG("HTTP_MAX_RETRIES", "5", http_max_retries, 0, 20),
	LONG("HTTP_BACKOFF_BASE_MS", "250", http_backoff_base_ms, 1, 60000),
	LONG("HTTP_BACKOFF_MAX_MS", "20000", http_backoff_max_ms, 1, 600000),
	LONG("REQUEST_DEADLINE_MS", "25000", request_deadline_ms, 100, 3600000),
	LONG("RECORDING_TIMEOUT_MS", "120000", recording_timeout_ms, 1000, 3600000),
	LONG("SYNC_OVERLAP_MS", "3600000", sync_overlap_ms, 0, 7L * 86400000),
	LONG("SYNC_USER_BUDGET_S", "600", sync_user_budget_s, 1, 86400),
	LONG("SYNC_REQUEST_BUDGET_S", "540", sync_request_budget_s, 1, 86400),
	LONG("SYNC_DETAIL_CONCURRENCY", "8", sync_detail_concurrency, 1, 64),
};

// The dashboard page the OAuth redirect sends the browser to: an origin and a path of ours,
// from config only (the redirect never takes a URL from the request: no open redirect), with
// nothing after the path, since the outcome is appended as the query.
static int is_return_url(const char *url) {
	const char *host = strncmp(url, "https://", 8) == 0  ? url + 8
			   : strncmp(url, "http://", 7) == 0 ? url + 7
							     : NULL;
	size_t host_len;

	if (host == NULL) {
		return 0;
	}
	host_len = strcspn(host, "/");
	return host_len > 0 && strcspn(host, "?#@ \t\r\n\\") == strlen(host) &&
	       strspn(host,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") >=
		       host_len;
}

static void append_problem(char *msg, size_t size, const char *name, const char *what) {
	size_t used = strlen(msg);

	if (used < size) {
		snprintf(msg + used, size - used, "%s%s %s", used > 0 ? "; " : "", name, what);
	}
}

// Reads dir/name whole; NULL when there is no such file. *bad is set when it exists but cannot
// be used (unreadable, too large, a NUL byte). One trailing newline is dropped (editors add it).
static char *read_credential(const char *dir, const char *name, int *bad) {
	char path[4096];
	char *data = NULL;
	size_t n = 0;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (f = fopen(path, "rb")) == NULL) {
		*bad = errno != ENOENT;
		return NULL;
	}
	data = malloc(CREDENTIAL_MAX + 1);
	if (data == NULL) {
		abort();
	}
	n = fread(data, 1, CREDENTIAL_MAX + 1, f);
	*bad = ferror(f) || n > CREDENTIAL_MAX || memchr(data, '\0', n) != NULL;
	fclose(f);
	if (*bad) {
		free(data);
		return NULL;
	}
	if (n > 0 && data[n - 1] == '\n') {
		n--;
	}
	if (n > 0 && data[n - 1] == '\r') {
		n--;
	}
	data[n] = '\0';
	return data;
}

// A secret from systemd's credentials ($CREDENTIALS_DIRECTORY, LoadCredential=): the file named
// like the variable (LoadCredential=NAME:path) or callbridge_NAME (LoadCredential=callbridge:dir
// loads every file of dir under that prefix). It wins over the environment.
static const char *credential(struct config *cfg, const char *name, char *problems, size_t size) {
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char prefixed[64];
	char *value;
	int bad = 0;

	if (dir == NULL || dir[0] == '\0' ||
	    cfg->nowned >= sizeof(cfg->owned) / sizeof(cfg->owned[0])) {
		return NULL;
	}
	snprintf(prefixed, sizeof(prefixed), "callbridge_%s", name);
	value = read_credential(dir, name, &bad);
	if (value == NULL && !bad) {
		value = read_credential(dir, prefixed, &bad);
	}
	if (bad) {
		append_problem(problems, size, name, "credential is unreadable or not text");
	}
	if (value != NULL) {
		cfg->owned[cfg->nowned++] = value;
	}
	return value;
}

// What deploy/callbridge.env.example and well-known templates (Supabase's self-hosting example)
// put where a secret goes: a value holding one was never replaced.
static const char *const placeholders[] = {"change-me", "changeme", "your-super-secret"};

static const char *placeholder_in(const char *value) {
	for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
		if (value != NULL && strstr(value, placeholders[i]) != NULL) {
			return placeholders[i];
		}
	}
	return NULL;
}

static int one_repeated_byte(const uint8_t *key, size_t len) {
	for (size_t i = 1; i < len; i++) {
		if (key[i] != key[0]) {
			return 0;
		}
	}
	return 1;
}

// Placeholders, HS256 secrets too short to resist a guess (RFC 7518 3.2: at least the hash's
// 32 bytes), sealing keys that are one byte repeated (the example's all-zero key), and opaque
// keys that are not Supabase secret keys: each is a problem of its own.
static void find_weak_secrets(const struct config *cfg, char *problems, size_t size) {
	struct crypto_keyring ring;
	struct err parse = {0};
	const char *list = cfg->supabase_secret_keys;

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const char *value;

		memcpy(&value, (const char *)cfg + params[i].offset, sizeof(value));
		if (params[i].type == CONFIG_SECRET && placeholder_in(value) != NULL) {
			append_problem(problems, size, params[i].name, "holds a placeholder");
		}
	}
	if (cfg->jwt_secret != NULL && placeholder_in(cfg->jwt_secret) == NULL &&
	    strlen(cfg->jwt_secret) < 32) {
		append_problem(problems, size, "JWT_SECRET", "is under 32 bytes");
	}
	if (cfg->secrets_keys != NULL &&
	    crypto_keyring_parse(&ring, cfg->secrets_keys, &parse) < 0) {
		append_problem(problems, size, "SECRETS_KEYS", "is not id:base64 (32 bytes),...");
	} else if (cfg->secrets_keys != NULL) {
		for (int k = 0; k < ring.count; k++) {
			if (one_repeated_byte(ring.keys[k], CRYPTO_KEY_LEN)) {
				append_problem(problems, size, "SECRETS_KEYS",
					       "has a key of one repeated byte");
				break;
			}
		}
		crypto_keyring_finish(&ring);
	}
	while (list != NULL && *list != '\0') {
		size_t len = strcspn(list, ",");
		if (len < 32 || strncmp(list, "sb_secret_", 10) != 0) {
			append_problem(problems, size, "SUPABASE_SECRET_KEYS",
				       "lists a key that is not sb_secret_...");
			break;
		}
		list += len + (list[len] == ',');
	}
}

int config_load(struct config *cfg, struct err *err) {
	char problems[sizeof(err->msg)] = "";

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct config_param *p = &params[i];
		const char *value = p->type == CONFIG_SECRET
					    ? credential(cfg, p->name, problems, sizeof(problems))
					    : NULL;
		char *field = (char *)cfg + p->offset;

		if (value == NULL) {
			value = getenv(p->name);
		}

		if (value == NULL || value[0] == '\0') {
			value = p->fallback;
		}
		if (value == NULL) {
			if (p->required) {
				append_problem(problems, sizeof(problems), p->name, "is required");
			}
			continue;
		}
		if (p->type != CONFIG_LONG) {
			memcpy(field, &value, sizeof(value));
			continue;
		}
		char *end = NULL;
		errno = 0;
		long n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < p->min || n > p->max) {
			append_problem(problems, sizeof(problems), p->name,
				       "is not a number in range");
			continue;
		}
		memcpy(field, &n, sizeof(n));
	}
	if (cfg->oauth_return_url != NULL && !is_return_url(cfg->oauth_return_url)) {
		append_problem(problems, sizeof(problems), "OAUTH_RETURN_URL",
			       "must be http(s)://host[:port][/path], no query, fragment or user");
	}
	if (cfg->jwt_secret == NULL && cfg->jwt_jwks_file == NULL) {
		append_problem(problems, sizeof(problems), "JWT_SECRET",
			       "or JWT_JWKS_FILE is required");
	}
	find_weak_secrets(cfg, problems, sizeof(problems));
	if (problems[0] != '\0') {
		// how to make real ones (deploy/callbridge.env.example says the same)
		if (strstr(problems, "SECRET") != NULL) {
			append_problem(problems, sizeof(problems), "(generate secrets with",
				       "openssl rand -base64 32)");
		}
		return err_set(err, 500, "config", "%s", problems);
	}
	return 0;
}

void config_finish(struct config *cfg) {
	for (size_t i = 0; i < cfg->nowned; i++) {
		free(cfg->owned[i]);
	}
	cfg->nowned = 0;
}

// Prints value with the userinfo of any URL in it ("https://user:token@host") shown as
// "(redacted)@": a base URL may carry a credential even though it is no SECRET.
static void print_without_userinfo(const char *value, FILE *out) {
	const char *scheme_end;

	while ((scheme_end = strstr(value, "://")) != NULL) {
		const char *authority = scheme_end + 3;
		size_t len = strcspn(authority, "/?#,");
		const char *host = authority;

		for (size_t i = 0; i < len; i++) {
			host = authority[i] == '@' ? authority + i : host; // after the last '@'
		}
		fwrite(value, 1, (size_t)(authority - value), out);
		fputs(host != authority ? "(redacted)" : "", out);
		fwrite(host, 1, (size_t)(authority + len - host), out);
		value = authority + len;
	}
	fputs(value, out);
}

void config_dump(const struct config *cfg, FILE *out) {
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct config_param *p = &params[i];
		const char *field = (const char *)cfg + p->offset;
		const char *s;
		long n;

		if (p->type == CONFIG_LONG) {
			memcpy(&n, field, sizeof(n));
			fprintf(out, "%s=%ld\n", p->name, n);
			continue;
		}
		memcpy(&s, field, sizeof(s));
		if (p->type == CONFIG_SECRET) {
			fprintf(out, "%s=%s\n", p->name, s != NULL ? "(set)" : "(unset)");
		} else {
			fprintf(out, "%s=", p->name);
			print_without_userinfo(s != NULL ? s : "", out);
			fputc('\n', out);
		}
	}
}
