// get-call-recording.c: GET /functions/v1/get-call-recording?call_id=<calls.id>: the call's audio,
// streamed through us (Range / 206 pass through) for a signed-in user whose assigned agent made
// the call, or an admin; anyone else gets 404, as for a call that does not exist.
//   HighLevel calls: the Conversations recording of the call's message, with the location's
//   token (refreshed when due). Retell calls: the stored recording_url; when it has expired (the
//   storage answers 400/403/404) a fresh one is fetched from the provider, stored and served.
//   Admins may add redirect=1 for a 302 to the provider's URL (Retell calls only: the other
//   needs our token, so it is streamed).
// link=1 answers a signed playback URL instead (common/playback.h), for <audio> elements.
// The handler reads parse -> authorise -> act -> answer.
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/calls.h"
#include "common/connections.h"
#include "common/highlevel/client.h"
#include "common/highlevel/tokens.h"
#include "common/jsonh.h"
#include "common/log.h"
#include "common/playback.h"
#include "common/recording.h"
#include "common/retell/recording.h"
#include "common/secrets.h"

struct params {
	const char *call_id;
	int want_link;
	int want_redirect; // honoured for admins only
};

static int flag(const struct http_request *req, const char *name) {
	const char *v = http_query(req, name);

	return v != NULL && strcmp(v, "1") == 0;
}

// Loads the call and whose connection fetches it when the caller may see it; 404 otherwise,
// whether or not it exists.
static int load_call(struct app *app, struct http_request *req, const struct auth_caller *caller,
		     const char *call_id, struct calls_recording *call, const char **owner) {
	int found = 0;

	*owner = NULL;
	if (auth_is_uuid(call_id) &&
	    calls_find_recording(app->db, req->arena, call_id,
				 caller->kind == AUTH_CLIENT ? caller->user_id : NULL, call, &found,
				 &req->err) < 0) {
		return -1;
	}
	if (!found) {
		return err_set(&req->err, 404, "not_found", "no such call");
	}
	*owner = call->user_id;
	if (*owner == NULL && call->agent_id != NULL && call->platform != NULL &&
	    connections_agent_owner(app->db, req->arena, call->agent_id, call->platform, owner,
				    &req->err) < 0) {
		return -1;
	}
	return 0;
}

static struct secrets_use key_use(struct http_request *req, const struct auth_caller *caller,
				  const char *owner, const char *service, const char *purpose) {
	static const char *const kinds[] = {"anon", "client", "admin", "service"};
	struct secrets_use use = {owner,	   service, kinds[caller->kind],
				  caller->user_id, purpose, req->request_id};

	return use;
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

// The stored URL, or a fresh one from the provider.
static int renew(struct app *app, struct http_request *req, const struct auth_caller *caller,
		 const struct calls_recording *call, const char *owner, const char **url) {
	struct secrets_use use = key_use(req, caller, owner, "retell", "renew a recording URL");

	if (owner == NULL || call->retell_call_id == NULL) {
		return err_set(&req->err, 404, "no_recording", "the recording is not available");
	}
	return retell_recording_renew(app, req->arena, &use, call->id, call->retell_call_id, url,
				      &req->err);
}

static int serve_retell(struct app *app, struct http_request *req, struct http_response *resp,
			const struct auth_caller *caller, const struct calls_recording *call,
			const char *owner, int want_redirect) {
	enum recording_mode mode = want_redirect ? RECORDING_PROBE : RECORDING_STREAM;
	struct recording_result r = {0};
	const char *url = call->recording_url;
	int renewed = url == NULL;

	if ((url == NULL && renew(app, req, caller, call, owner, &url) < 0) ||
	    recording_fetch(app, req, resp, url, NULL, mode, &r) < 0) {
		return -1;
	}
	if (!r.streamed && expired(r.status) && !renewed) {
		log_info("recording URL of call %s answered %ld: renewing it", call->id, r.status);
		if (renew(app, req, caller, call, owner, &url) < 0 ||
		    recording_fetch(app, req, resp, url, NULL, mode, &r) < 0) {
			return -1;
		}
	}
	if (r.streamed) {
		return resp->status;
	}
	if (want_redirect && (r.status == 200 || r.status == 206)) {
		return redirect(resp, url);
	}
	return not_streamed(req, resp, &r);
}

static int serve_highlevel(struct app *app, struct http_request *req, struct http_response *resp,
			   const struct auth_caller *caller, const struct calls_recording *call,
			   const char *owner) {
	struct secrets_use use =
		key_use(req, caller, owner, "highlevel", "stream a call recording");
	struct highlevel_conn conn = {0};
	struct recording_result r = {0};
	const char **headers;
	int status;

	if (owner == NULL || call->message_id == NULL) {
		return http_fail(req, 404, "no_recording", "the recording is not available");
	}
	if (highlevel_tokens_get(app, req->arena, &use, &conn, &req->err) < 0) {
		return -1;
	}
	if (conn.location_id == NULL) {
		secrets_wipe(conn.access_token);
		return http_fail(req, 404, "no_recording", "the recording is not available");
	}
	headers = highlevel_client_headers(req->arena, conn.access_token,
					   HIGHLEVEL_VERSION_RECORDING, "*/*");
	if (recording_fetch(app, req, resp,
			    highlevel_client_recording_url(app, req->arena, call->message_id,
							   conn.location_id),
			    headers, RECORDING_STREAM, &r) < 0) {
		status = -1;
	} else if (r.streamed) {
		status = resp->status;
	} else if (r.status == 401) {
		status = highlevel_client_status_error(r.status, &req->err);
	} else {
		status = not_streamed(req, resp, &r);
	}
	secrets_wipe((char *)headers[0]);
	secrets_wipe(conn.access_token);
	return status;
}

static int answer_link(struct app *app, struct http_request *req, struct http_response *resp,
		       const struct auth_caller *caller, const char *call_id) {
	struct json_object *out = json_object_new_object();
	long expires;

	jsonh_add_string(out, "url", playback_link(app, req->arena, call_id, caller, &expires));
	jsonh_add_int64(out, "expires_at", expires);
	return http_respond_json(resp, 200, out);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct params p = {
		.call_id = http_query(req, "call_id"),
		.want_link = flag(req, "link"),
		.want_redirect = flag(req, "redirect"),
	};
	struct auth_caller caller;
	struct calls_recording call;
	const char *owner;

	if (!http_method_is(req, "GET")) {
		return http_fail(req, 405, "method_not_allowed", "use GET");
	}
	if (playback_is_link(req) ? playback_caller(app, req, p.call_id, &caller) < 0
				  : auth_caller(app, req, &caller) < 0) {
		return -1;
	}
	if (p.call_id == NULL || p.call_id[0] == '\0') {
		return http_fail(req, 400, "missing_field", "missing parameter: call_id");
	}
	if (load_call(app, req, &caller, p.call_id, &call, &owner) < 0) {
		return -1;
	}
	if (p.want_link) {
		return answer_link(app, req, resp, &caller, call.id);
	}
	if (call.platform != NULL && strcmp(call.platform, "highlevel") == 0) {
		return serve_highlevel(app, req, resp, &caller, &call, owner);
	}
	if (call.platform != NULL && strcmp(call.platform, "retell") == 0) {
		// white-label: a client never learns where the audio lives
		return serve_retell(app, req, resp, &caller, &call, owner,
				    caller.kind != AUTH_CLIENT && p.want_redirect);
	}
	return http_fail(req, 404, "no_recording", "the recording is not available");
}

int main(int argc, char **argv) {
	static const char *const params[] = {"call_id", "link",	   "redirect", "viewer",
					     "kind",	"expires", "sig",      NULL};
	static const struct app_function fn = {
		.name = "get-call-recording",
		.query_params = params,
		.handler = handle,
		.max_body = 1024,
	};

	return app_main(argc, argv, &fn);
}
