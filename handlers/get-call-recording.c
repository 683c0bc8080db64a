// get-call-recording.c: GET /functions/v1/get-call-recording?call_id=<calls.id>: the call's audio,
// streamed through us (Range / 206 pass through) for a signed-in user whose assigned agent made
// the call, or an admin; anyone else gets 404, as for a call that does not exist.
//   HighLevel calls: the Conversations recording of the call's message, with the location's
//   token (refreshed when due). Retell calls: the stored recording_url; when it has expired (the
//   storage answers 400/403/404) a fresh one is fetched from the provider, stored and served.
//   Admins may add redirect=1 for a 302 to the provider's URL (Retell calls only: the other
//   needs our token, so it is streamed).
// An <audio> element cannot send a bearer token, so link=1 answers a playback URL of ours,
// signed and valid for an hour, that works without one (and still only while the caller may
// see the call).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/crypto.h"
#include "common/db.h"
#include "common/highlevel_client.h"
#include "common/highlevel_tokens.h"
#include "common/jsonh.h"
#include "common/log.h"
#include "common/recording.h"
#include "common/retell_client.h"
#include "common/secrets.h"

struct call {
	const char *id;
	const char *platform;
	const char *owner; // whose connection fetches it
	const char *retell_call_id;
	const char *message_id;
	const char *recording_url;
};

// Loads the call when the caller may see it; 404 otherwise, whether or not it exists.
static int load_call(struct app *app, struct http_request *req, const struct auth_caller *caller,
		     const char *call_id, struct call *out) {
	const char *params[] = {call_id, caller->kind == AUTH_CLIENT ? caller->user_id : NULL};
	struct db_rows rows;

	if (!auth_is_uuid(call_id)) {
		return err_set(&req->err, 404, "not_found", "no such call");
	}
	if (db_exec(app->db, req->arena, "recording_call",
		    "SELECT c.id, c.source_platform, c.retell_call_id, c.highlevel_message_id,"
		    " c.recording_url, COALESCE(c.user_id, (SELECT ua.user_id FROM user_agents ua"
		    " JOIN api_keys k ON k.user_id = ua.user_id AND k.service = c.source_platform"
		    " AND k.is_active WHERE ua.agent_id = c.agent_id ORDER BY ua.created_at LIMIT 1))"
		    " AS owner"
		    " FROM calls c WHERE c.id = $1::uuid AND ($2::uuid IS NULL OR EXISTS (SELECT 1"
		    " FROM user_agents ua WHERE ua.agent_id = c.agent_id AND ua.user_id = $2::uuid))",
		    2, params, &rows, &req->err) < 0) {
		return -1;
	}
	if (rows.nrows == 0) {
		return err_set(&req->err, 404, "not_found", "no such call");
	}
	out->id = db_get(&rows, 0, "id");
	out->platform = db_get(&rows, 0, "source_platform");
	out->owner = db_get(&rows, 0, "owner");
	out->retell_call_id = db_get(&rows, 0, "retell_call_id");
	out->message_id = db_get(&rows, 0, "highlevel_message_id");
	out->recording_url = db_get(&rows, 0, "recording_url");
	return 0;
}

static struct secrets_use key_use(struct http_request *req, const struct auth_caller *caller,
				  const char *owner, const char *service, const char *purpose) {
	static const char *const kinds[] = {"anon", "client", "admin", "service"};
	struct secrets_use use = {owner,	   service, kinds[caller->kind],
				  caller->user_id, purpose, req->request_id};

	return use;
}

// Asks the provider for the call's current recording URL (a signed one expires) and stores it.
static int fresh_retell_url(struct app *app, struct http_request *req,
			    const struct auth_caller *caller, struct call *call) {
	struct secrets_use use =
		key_use(req, caller, call->owner, "retell", "renew a recording URL");
	struct json_object *obj = NULL;
	const char *url = NULL;
	char *key = NULL;
	int rc = -1;

	if (call->owner == NULL || call->retell_call_id == NULL) {
		return err_set(&req->err, 404, "no_recording", "the recording is not available");
	}
	if (secrets_load_access_token(app, req->arena, &use, &key, &req->err) < 0 ||
	    retell_client_get_call(app, req->arena, key, call->retell_call_id, &obj, &req->err) <
		    0 ||
	    jsonh_get_string(obj, "recording_url", 0, &url, &req->err) < 0) {
		goto done;
	}
	if (url == NULL || url[0] == '\0') {
		err_set(&req->err, 404, "no_recording", "the recording is not available");
		goto done;
	}
	const char *params[] = {call->id, url};
	if (db_exec(app->db, req->arena, "recording_url_store",
		    "UPDATE calls SET recording_url = $2 WHERE id = $1::uuid", 2, params, NULL,
		    &req->err) < 0) {
		goto done;
	}
	call->recording_url = arena_strdup(req->arena, url);
	rc = 0;
done:
	secrets_wipe(key);
	json_object_put(obj);
	return rc;
}

// What an upstream answer that was not streamed means for the client.
static int not_streamed(struct http_request *req, struct http_response *resp,
			const struct recording_result *r) {
	if (r->status == 416) {
		if (r->content_range != NULL) {
			http_add_header(resp, "Content-Range", r->content_range);
		}
		return http_fail(req, 416, "range_not_satisfiable",
				 "the requested range is not available");
	}
	if (r->status == 404 || r->status == 410) {
		return http_fail(req, 404, "no_recording", "the recording is not available");
	}
	return http_fail(req, 502, "recording_unavailable",
			 "the recording could not be fetched (%ld); retry later", r->status);
}

static int expired(long status) {
	return status == 400 || status == 403 || status == 404;
}

static int redirect(struct http_response *resp, const char *url) {
	struct json_object *out = json_object_new_object();

	http_add_header(resp, "Location", url);
	jsonh_add_string(out, "location", url);
	return http_respond_json(resp, 302, out);
}

static int serve_retell(struct app *app, struct http_request *req, struct http_response *resp,
			const struct auth_caller *caller, struct call *call, int want_redirect) {
	enum recording_mode mode = want_redirect ? RECORDING_PROBE : RECORDING_STREAM;
	struct recording_result r = {0};
	int renewed = 0;

	if (call->recording_url == NULL) {
		if (fresh_retell_url(app, req, caller, call) < 0) {
			return req->err.status;
		}
		renewed = 1;
	}
	if (recording_fetch(app, req, resp, call->recording_url, NULL, mode, &r) < 0) {
		return req->err.status;
	}
	if (!r.streamed && expired(r.status) && !renewed) {
		log_info("recording URL of call %s answered %ld: renewing it", call->id, r.status);
		if (fresh_retell_url(app, req, caller, call) < 0 ||
		    recording_fetch(app, req, resp, call->recording_url, NULL, mode, &r) < 0) {
			return req->err.status;
		}
	}
	if (r.streamed) {
		return resp->status;
	}
	if (want_redirect && (r.status == 200 || r.status == 206)) {
		return redirect(resp, call->recording_url);
	}
	return not_streamed(req, resp, &r);
}

static int serve_highlevel(struct app *app, struct http_request *req, struct http_response *resp,
			   const struct auth_caller *caller, const struct call *call) {
	struct secrets_use use =
		key_use(req, caller, call->owner, "highlevel", "stream a call recording");
	struct highlevel_conn conn = {0};
	struct recording_result r = {0};
	const char **headers;
	int status;

	if (call->owner == NULL || call->message_id == NULL) {
		return http_fail(req, 404, "no_recording", "the recording is not available");
	}
	if (highlevel_tokens_get(app, req->arena, &use, &conn, &req->err) < 0) {
		return req->err.status;
	}
	if (conn.location_id == NULL) {
		secrets_wipe(conn.access_token);
		return http_fail(req, 404, "no_recording", "the recording is not available");
	}
	headers = highlevel_client_headers(req->arena, conn.access_token, 0);
	headers[2] = "Accept: */*";
	if (recording_fetch(app, req, resp,
			    highlevel_client_recording_url(app, req->arena, call->message_id,
							   conn.location_id),
			    headers, RECORDING_STREAM, &r) < 0) {
		status = req->err.status;
	} else if (r.streamed) {
		status = resp->status;
	} else if (r.status == 401) {
		(void)highlevel_client_status_error(r.status, &req->err);
		status = req->err.status;
	} else {
		status = not_streamed(req, resp, &r);
	}
	secrets_wipe((char *)headers[0]);
	secrets_wipe(conn.access_token);
	return status;
}

#define LINK_TTL_S 3600

// HMAC over what the link grants, under a key derived from the sealing key: a leaked link
// names one call, one viewer, and dies within the hour.
static void link_signature(const struct app *app, const char *call_id, const char *viewer,
			   char kind, long expires, char hex[2 * CRYPTO_SHA256_LEN + 1]) {
	uint8_t key[CRYPTO_SHA256_LEN];
	uint8_t mac[CRYPTO_SHA256_LEN];
	char msg[256];
	int n;

	crypto_hmac_sha256(app->keyring.keys[0], CRYPTO_KEY_LEN, "recording-link", 14, key);
	n = snprintf(msg, sizeof(msg), "%s|%s|%c|%ld", call_id, viewer, kind, expires);
	crypto_hmac_sha256(key, sizeof(key), msg, (size_t)n, mac);
	crypto_wipe(key, sizeof(key));
	crypto_hex_encode(mac, sizeof(mac), hex);
}

static int answer_link(struct app *app, struct http_request *req, struct http_response *resp,
		       const struct auth_caller *caller, const char *call_id) {
	const char *viewer = caller->user_id != NULL ? caller->user_id : "service";
	char kind = caller->kind == AUTH_CLIENT ? 'c' : 'a';
	long expires = (long)time(NULL) + LINK_TTL_S;
	char sig[2 * CRYPTO_SHA256_LEN + 1];
	struct json_object *out = json_object_new_object();

	link_signature(app, call_id, viewer, kind, expires, sig);
	jsonh_add_string(out, "url",
			 arena_printf(req->arena,
				      "/functions/v1/get-call-recording?call_id=%s&viewer=%s&kind=%c&expires=%ld&sig=%s",
				      call_id, viewer, kind, expires, sig));
	jsonh_add_int64(out, "expires_at", expires);
	return http_respond_json(resp, 200, out);
}

// A signed link stands in for the bearer token of the viewer it was made for.
static int link_caller(struct app *app, struct http_request *req, const char *call_id,
		       struct auth_caller *caller) {
	const char *viewer = http_query(req, "viewer");
	const char *kind = http_query(req, "kind");
	const char *expires = http_query(req, "expires");
	const char *sig = http_query(req, "sig");
	char want[2 * CRYPTO_SHA256_LEN + 1];
	char *end = NULL;
	long at = expires != NULL ? strtol(expires, &end, 10) : 0;

	if (call_id == NULL || viewer == NULL || kind == NULL || sig == NULL || end == NULL ||
	    *end != '\0' || strlen(kind) != 1 || (kind[0] != 'c' && kind[0] != 'a') ||
	    strlen(sig) != 2 * CRYPTO_SHA256_LEN || strlen(viewer) > 64 || strlen(call_id) > 64) {
		return err_set(&req->err, 401, "bad_link", "malformed playback link");
	}
	link_signature(app, call_id, viewer, kind[0], at, want);
	if (!crypto_equal(want, sig, sizeof(want) - 1)) {
		return err_set(&req->err, 401, "bad_link", "invalid playback link");
	}
	if (at < (long)time(NULL)) {
		return err_set(&req->err, 401, "bad_link",
			       "playback link expired; ask for a new one");
	}
	caller->kind = kind[0] == 'c' ? AUTH_CLIENT : AUTH_ADMIN;
	caller->user_id = kind[0] == 'c' || strcmp(viewer, "service") != 0 ? viewer : NULL;
	return 0;
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;
	struct call call = {0};
	const char *call_id = http_query(req, "call_id");
	const char *redirect_param = http_query(req, "redirect");
	int want_redirect;

	if (!http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use GET");
	}
	if (http_query(req, "sig") != NULL ? link_caller(app, req, call_id, &caller) < 0
					   : auth_caller(app, req, &caller) < 0) {
		return req->err.status;
	}
	if (call_id == NULL || call_id[0] == '\0') {
		return http_fail(req, 400, "missing_field", "missing parameter: call_id");
	}
	if (load_call(app, req, &caller, call_id, &call) < 0) {
		return req->err.status;
	}
	if (http_query(req, "link") != NULL && strcmp(http_query(req, "link"), "1") == 0) {
		return answer_link(app, req, resp, &caller, call.id);
	}
	// white-label: a client never learns where the audio lives
	want_redirect = caller.kind != AUTH_CLIENT && redirect_param != NULL &&
			strcmp(redirect_param, "1") == 0;
	if (call.platform != NULL && strcmp(call.platform, "highlevel") == 0) {
		return serve_highlevel(app, req, resp, &caller, &call);
	}
	if (call.platform != NULL && strcmp(call.platform, "retell") == 0) {
		return serve_retell(app, req, resp, &caller, &call, want_redirect);
	}
	return http_fail(req, 404, "no_recording", "the recording is not available");
}

int main(int argc, char **argv) {
	static const struct app_function fn = {
		.name = "get-call-recording",
		.handler = handle,
		.max_body = 1024,
	};

	return app_main(argc, argv, &fn);
}
