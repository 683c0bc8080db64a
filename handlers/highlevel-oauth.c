// highlevel-oauth.c: /functions/v1/highlevel-oauth: connects a user's location through the
// OAuth authorization-code flow, bound to the browser that started it (common/oauth.h); the
// tokens are sealed at rest in api_keys (service 'highlevel').
//   POST {user_id?, code_challenge}   start (admins: any user_id, required; a signed-in user:
//                        themselves): a single-use state valid 10 minutes, bound to the caller
//                        and to the S256 challenge of a verifier the browser keeps, and the
//                        authorize_url to send the browser to
//   GET ?code=&state=    where the provider sends the browser back (HIGHLEVEL_REDIRECT_URI):
//                        the state is checked, nothing is exchanged; the code goes back to the
//                        dashboard (OAUTH_RETURN_URL, in the fragment) or into the answer
//   POST {state, code, code_verifier}  finish, as the same caller that started: the state is
//                        spent, the verifier checked, the code exchanged, the tokens stored
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/crypto.h"
#include "common/db.h"
#include "common/highlevel/client.h"
#include "common/highlevel/tokens.h"
#include "common/httpc.h"
#include "common/jsonh.h"
#include "common/log.h"
#include "common/oauth.h"
#include "common/secrets.h"

#define STATE_TTL_S 600

// The strings of a POST body, copied out of it: start (user_id, code_challenge,
// code_challenge_method) or finish (state, code, code_verifier).
struct oauth_body {
	const char *user_id;
	const char *challenge;
	const char *method;
	const char *state;
	const char *code;
	const char *verifier;
};

static int read_body(struct http_request *req, struct oauth_body *out) {
	static const char *const names[] = {"user_id", "code_challenge", "code_challenge_method",
					    "state",   "code",		 "code_verifier"};
	const char **fields[] = {&out->user_id, &out->challenge, &out->method,
				 &out->state,	&out->code,	 &out->verifier};
	struct json_object *body = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (http_json_body(req, &body) < 0) {
		return -1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && rc == 0; i++) {
		const char *value = NULL;
		rc = jsonh_get_string(body, names[i], 0, &value, &req->err);
		*fields[i] = value != NULL ? arena_strdup(req->arena, value) : NULL;
	}
	json_object_put(body);
	return rc;
}

static int save_state(struct app *app, struct http_request *req, const char *state,
		      const char *user_id, const char *created_by, const char *challenge) {
	const char *params[] = {state, user_id, created_by,
				arena_printf(req->arena, "%d", STATE_TTL_S), challenge};
	struct err ignored = {0};

	// spent and expired states are kept a day for the record, then dropped
	(void)!db_exec(app->db, req->arena, "oauth_states_expire",
		       "DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'", 0,
		       NULL, NULL, &ignored);
	return db_exec(app->db, req->arena, "oauth_state_create",
		       "INSERT INTO oauth_states (state, provider, user_id, created_by, expires_at,"
		       " code_challenge) VALUES ($1, 'highlevel', $2::uuid, $3::uuid,"
		       " now() + $4::int * interval '1 second', $5)",
		       5, params, NULL, &req->err);
}

static int start(struct app *app, struct http_request *req, struct http_response *resp,
		 const struct auth_caller *caller, const struct oauth_body *body) {
	const char *user_id = NULL;
	uint8_t raw[OAUTH_STATE_BYTES];
	const char *state;
	struct json_object *out;

	if (auth_target_user(req, caller, body->user_id, &user_id) < 0) {
		return -1;
	}
	if (!oauth_challenge_valid(body->challenge)) {
		return http_fail(req, 400, "missing_field",
				 "code_challenge is required: the unpadded base64url SHA-256 of a"
				 " code_verifier the browser keeps until it finishes");
	}
	if (body->method != NULL && strcmp(body->method, "S256") != 0) {
		return http_fail(req, 400, "invalid_field", "code_challenge_method must be S256");
	}
	if (auth_user_exists(app, req, user_id) < 0) {
		return -1;
	}
	if (crypto_random(raw, sizeof(raw)) < 0) {
		return http_fail(req, 500, "internal", "no randomness");
	}
	state = crypto_base64_encode(req->arena, raw, sizeof(raw), 1);
	if (save_state(app, req, state, user_id, caller->user_id, body->challenge) < 0) {
		return -1;
	}
	out = json_object_new_object();
	jsonh_add_string(out, "authorize_url",
			 highlevel_client_authorize_url(app, req->arena, state));
	jsonh_add_string(out, "state", state);
	jsonh_add_int64(out, "expires_in", STATE_TTL_S);
	jsonh_add_string(out, "user_id", user_id);
	return http_respond_json(resp, 200, out);
}

// A state as the flow finds it: who it was started for and by (NULL: the service role), and
// the challenge it is bound to.
struct oauth_state {
	const char *user_id;
	const char *created_by;
	const char *challenge;
};

// Looks the state up (spend 0) or spends it (spend 1: single use, the UPDATE lets exactly one
// of concurrent uses through); 400 "invalid_state" unless it is known, unused and unexpired.
static int claim_state(struct app *app, struct http_request *req, const char *state, int spend,
		       struct oauth_state *out) {
	const char *params[] = {state, spend ? "true" : "false"};
	struct db_rows rows;
	const char *known;
	const char *open;

	memset(out, 0, sizeof(*out));
	if (db_exec(app->db, req->arena, "oauth_state_claim",
		    "WITH prior AS (SELECT user_id, used_at, expires_at FROM oauth_states"
		    " WHERE state = $1 AND provider = 'highlevel'),"
		    " spent AS (UPDATE oauth_states SET used_at = now() WHERE $2::boolean"
		    " AND state = $1 AND provider = 'highlevel' AND used_at IS NULL"
		    " AND expires_at > now() RETURNING user_id, created_by, code_challenge)"
		    " SELECT (SELECT count(*) FROM prior) AS known,"
		    " (SELECT used_at IS NOT NULL FROM prior) AS was_used,"
		    " (SELECT used_at IS NULL AND expires_at > now() FROM prior) AS open,"
		    " spent.user_id, spent.created_by, spent.code_challenge"
		    " FROM (SELECT 1) AS one LEFT JOIN spent ON true",
		    2, params, &rows, &req->err) < 0) {
		return -1;
	}
	out->user_id = db_get(&rows, 0, "user_id");
	out->created_by = db_get(&rows, 0, "created_by");
	out->challenge = db_get(&rows, 0, "code_challenge");
	open = db_get(&rows, 0, "open");
	if (spend ? out->user_id != NULL : open != NULL && strcmp(open, "t") == 0) {
		return 0;
	}
	known = db_get(&rows, 0, "known");
	if (known == NULL || strcmp(known, "0") == 0) {
		return err_set(&req->err, 400, "invalid_state",
			       "unknown authorization state; start the connection again");
	}
	if (strcmp(db_get(&rows, 0, "was_used"), "t") == 0) {
		return err_set(&req->err, 400, "invalid_state",
			       "this authorization was already completed; start the connection again");
	}
	return err_set(&req->err, 400, "invalid_state",
		       "this authorization has expired; start the connection again");
}

static int same_caller(const struct auth_caller *caller, const char *created_by) {
	return caller->user_id == NULL
		       ? created_by == NULL && caller->kind == AUTH_SERVICE
		       : created_by != NULL && strcmp(created_by, caller->user_id) == 0;
}

// The provider sent the browser back. Nothing is exchanged here: whoever's browser this is,
// only the starter holding the verifier can finish.
static int callback(struct app *app, struct http_request *req, struct http_response *resp) {
	const char *code = http_query(req, "code");
	const char *state = http_query(req, "state");
	struct oauth_state st;
	struct json_object *out;

	if (!oauth_param_valid(state, OAUTH_MAX_STATE_LEN)) {
		return http_fail(req, 400, "invalid_state", "missing or malformed state");
	}
	if (http_query(req, "error") != NULL) {
		// a refusal ends the flow: the state is spent
		return claim_state(app, req, state, 1, &st) < 0
			       ? -1
			       : http_fail(req, 400, "authorization_denied",
					   "access was not granted");
	}
	if (!oauth_param_valid(code, OAUTH_MAX_CODE_LEN)) {
		return http_fail(req, 400, "missing_field", "missing or malformed code");
	}
	if (claim_state(app, req, state, 0, &st) < 0) {
		return -1;
	}
	out = json_object_new_object();
	jsonh_add_bool(out, "pending", 1);
	jsonh_add_string(out, "state", state);
	jsonh_add_string(out, "code", code);
	return http_respond_json(resp, 200, out);
}

static int finish(struct app *app, struct http_request *req, struct http_response *resp,
		  const struct auth_caller *caller, const struct oauth_body *body) {
	struct highlevel_token tok = {0};
	struct oauth_state st;
	struct json_object *out;
	int status = -1;

	if (!oauth_param_valid(body->state, OAUTH_MAX_STATE_LEN)) {
		return http_fail(req, 400, "invalid_state", "missing or malformed state");
	}
	if (!oauth_param_valid(body->code, OAUTH_MAX_CODE_LEN)) {
		return http_fail(req, 400, "missing_field", "missing or malformed code");
	}
	// spent before the checks: a wrong caller or verifier ends the flow, so nobody can try
	// twice
	if (claim_state(app, req, body->state, 1, &st) < 0) {
		return -1;
	}
	if (!same_caller(caller, st.created_by)) {
		return http_fail(req, 403, "state_mismatch",
				 "this authorization was started by someone else; start the"
				 " connection again from your own dashboard");
	}
	if (!oauth_verifier_matches(req->arena, body->verifier, st.challenge)) {
		return http_fail(req, 400, "invalid_verifier",
				 "code_verifier does not match this authorization's challenge;"
				 " start the connection again");
	}
	if (highlevel_client_exchange_code(app, req->arena, body->code, &tok, &req->err) < 0) {
		goto done;
	}
	if (tok.location_id == NULL || tok.location_id[0] == '\0') {
		err_set(&req->err, 400, "location_required",
			"the authorization must be granted for one location (sub-account)");
		goto done;
	}
	struct secrets_use use = {st.user_id,
				  "highlevel",
				  st.created_by == NULL			   ? "service"
				  : strcmp(st.created_by, st.user_id) == 0 ? "client"
									   : "admin",
				  st.created_by,
				  "store the tokens of a new authorization",
				  req->request_id};
	if (highlevel_tokens_connect(app, req->arena, st.user_id, &tok, &req->err) < 0 ||
	    secrets_audit(app, req->arena, &use, &req->err) < 0) {
		goto done;
	}
	log_info("user %s connected location %s", st.user_id, tok.location_id);
	out = json_object_new_object();
	jsonh_add_bool(out, "connected", 1);
	jsonh_add_string(out, "user_id", st.user_id);
	jsonh_add_string(out, "location_id", tok.location_id);
	status = http_respond_json(resp, 200, out);
done:
	secrets_wipe(tok.access_token);
	secrets_wipe(tok.refresh_token);
	return status;
}

// The browser arrived here from the provider's consent page: with OAUTH_RETURN_URL set, it
// goes back to the dashboard instead of staying on this function's JSON, with
// ?connection=pending and the state and code in the fragment (never sent to a server, so out of
// every access log), or ?connection=failed&error=<code>. No provider name in it: a client sees
// that address.
static int return_to_dashboard(struct app *app, struct http_request *req,
			       struct http_response *resp, int status) {
	const char *base = app->cfg.oauth_return_url;
	const char *location;

	if (base == NULL) {
		return status;
	}
	if (status < 0) {
		status = req->err.status;
	}
	location = status < 400
			   ? arena_printf(req->arena, "%s?connection=pending#state=%s&code=%s",
					  base, httpc_escape(req->arena, http_query(req, "state")),
					  httpc_escape(req->arena, http_query(req, "code")))
			   : arena_printf(req->arena, "%s?connection=failed&error=%s", base,
					  httpc_escape(req->arena, req->err.code[0] != '\0'
									   ? req->err.code
									   : "error"));
	buf_reset(&resp->body);
	http_add_header(resp, "Location", location);
	http_add_header(resp, "Cache-Control", "no-store");
	return 302;
}

// POST starts a flow, or finishes one when the body names its state.
static int post(struct app *app, struct http_request *req, struct http_response *resp) {
	struct auth_caller caller;
	struct oauth_body body;

	if (auth_caller(app, req, &caller) < 0 || read_body(req, &body) < 0) {
		return -1;
	}
	return body.state != NULL ? finish(app, req, resp, &caller, &body)
				  : start(app, req, resp, &caller, &body);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;

	if (!http_method_is(req, "GET") && !http_method_is(req, "POST")) {
		return http_fail(req, 405, "method_not_allowed",
				 "use POST to start and to finish, GET for the provider's redirect");
	}
	if (!highlevel_client_configured(app)) {
		return http_fail(req, 503, "not_configured",
				 "this connection is not configured on the server"
				 " (client id, client secret and redirect URI are required)");
	}
	return http_method_is(req, "POST")
		       ? post(app, req, resp)
		       : return_to_dashboard(app, req, resp, callback(app, req, resp));
}

int main(int argc, char **argv) {
	static const char *const params[] = {"state", "code", "error", "error_description", NULL};
	static const struct app_function fn = {
		.name = "highlevel-oauth",
		.query_params = params,
		.handler = handle,
		.max_body = 16 * 1024,
	};

	return app_main(argc, argv, &fn);
}
