// highlevel-oauth.c: /functions/v1/highlevel-oauth: connects a user's location through the
// OAuth authorization-code flow; the tokens are sealed at rest in api_keys (service 'highlevel').
//   POST {user_id?}      start (admins: any user_id, required; a signed-in user: themselves):
//                        a single-use state bound to the user, valid 10 minutes, and the
//                        authorize_url to send the browser to
//   GET ?code=&state=    where the provider sends the browser back (HIGHLEVEL_REDIRECT_URI): the
//                        state is checked and spent, the code exchanged, the tokens stored
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
#include "common/secrets.h"

#define STATE_BYTES   32
#define STATE_TTL_S   600
#define MAX_STATE_LEN 128
#define MAX_CODE_LEN  4096

static int requested_user(struct http_request *req, const char **user_id) {
	struct json_object *body = NULL;
	const char *value = NULL;
	int rc = 0;

	*user_id = NULL;
	if (req->body_len == 0) {
		return 0; // a user connecting themselves may send nothing
	}
	if (http_json_body(req, &body) < 0 ||
	    jsonh_get_string(body, "user_id", 0, &value, &req->err) < 0) {
		rc = -1;
	} else if (value != NULL) {
		*user_id = arena_strdup(req->arena, value);
	}
	json_object_put(body);
	return rc;
}

static int save_state(struct app *app, struct http_request *req, const char *state,
		      const char *user_id, const char *created_by) {
	const char *params[] = {state, user_id, created_by,
				arena_printf(req->arena, "%d", STATE_TTL_S)};
	struct err ignored = {0};

	// spent and expired states are kept a day for the record, then dropped
	(void)!db_exec(app->db, req->arena, "oauth_states_expire",
		       "DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'", 0,
		       NULL, NULL, &ignored);
	return db_exec(app->db, req->arena, "oauth_state_create",
		       "INSERT INTO oauth_states (state, provider, user_id, created_by, expires_at)"
		       " VALUES ($1, 'highlevel', $2::uuid, $3::uuid, now() + $4::int * interval '1 second')",
		       4, params, NULL, &req->err);
}

static int start(struct app *app, struct http_request *req, struct http_response *resp) {
	struct auth_caller caller;
	const char *requested = NULL;
	const char *user_id = NULL;
	uint8_t raw[STATE_BYTES];
	const char *state;
	struct json_object *out;

	if (auth_caller(app, req, &caller) < 0 || requested_user(req, &requested) < 0 ||
	    auth_target_user(req, &caller, requested, &user_id) < 0 ||
	    auth_user_exists(app, req, user_id) < 0) {
		return -1;
	}
	if (crypto_random(raw, sizeof(raw)) < 0) {
		return http_fail(req, 500, "internal", "no randomness");
	}
	state = crypto_base64_encode(req->arena, raw, sizeof(raw), 1);
	if (save_state(app, req, state, user_id, caller.user_id) < 0) {
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

// Spends the state (single use) and tells who it was started for; 400 unless it is known,
// unused and unexpired. Concurrent uses of one state: the UPDATE lets exactly one through.
static int spend_state(struct app *app, struct http_request *req, const char *state,
		       const char **user_id, const char **created_by) {
	const char *params[] = {state};
	struct db_rows rows;
	const char *known;

	if (db_exec(app->db, req->arena, "oauth_state_spend",
		    "WITH prior AS (SELECT used_at, expires_at FROM oauth_states"
		    " WHERE state = $1 AND provider = 'highlevel'),"
		    " spent AS (UPDATE oauth_states SET used_at = now() WHERE state = $1"
		    " AND provider = 'highlevel' AND used_at IS NULL AND expires_at > now()"
		    " RETURNING user_id, created_by)"
		    " SELECT (SELECT count(*) FROM prior) AS known,"
		    " (SELECT used_at IS NOT NULL FROM prior) AS was_used,"
		    " spent.user_id, spent.created_by FROM (SELECT 1) AS one LEFT JOIN spent ON true",
		    1, params, &rows, &req->err) < 0) {
		return -1;
	}
	*user_id = db_get(&rows, 0, "user_id");
	*created_by = db_get(&rows, 0, "created_by");
	if (*user_id != NULL) {
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

static int valid_param(const char *s, size_t max) {
	size_t len = s != NULL ? strlen(s) : 0;

	if (len == 0 || len > max) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
			return 0;
		}
	}
	return 1;
}

static int complete(struct app *app, struct http_request *req, struct http_response *resp) {
	const char *code = http_query(req, "code");
	const char *state = http_query(req, "state");
	const char *user_id = NULL;
	const char *created_by = NULL;
	struct highlevel_token tok = {0};
	struct json_object *out;
	int status = -1;

	if (!valid_param(state, MAX_STATE_LEN)) {
		return http_fail(req, 400, "invalid_state", "missing or malformed state");
	}
	if (spend_state(app, req, state, &user_id, &created_by) < 0) {
		return -1;
	}
	if (http_query(req, "error") != NULL) {
		return http_fail(req, 400, "authorization_denied", "access was not granted");
	}
	if (!valid_param(code, MAX_CODE_LEN)) {
		return http_fail(req, 400, "missing_field", "missing or malformed code");
	}
	if (highlevel_client_exchange_code(app, req->arena, code, &tok, &req->err) < 0) {
		goto done;
	}
	if (tok.location_id == NULL || tok.location_id[0] == '\0') {
		err_set(&req->err, 400, "location_required",
			"the authorization must be granted for one location (sub-account)");
		goto done;
	}
	struct secrets_use use = {user_id,
				  "highlevel",
				  created_by == NULL		     ? "service"
				  : strcmp(created_by, user_id) == 0 ? "client"
								     : "admin",
				  created_by,
				  "store the tokens of a new authorization",
				  req->request_id};
	if (highlevel_tokens_connect(app, req->arena, user_id, &tok, &req->err) < 0 ||
	    secrets_audit(app, req->arena, &use, &req->err) < 0) {
		goto done;
	}
	log_info("user %s connected location %s", user_id, tok.location_id);
	out = json_object_new_object();
	jsonh_add_bool(out, "connected", 1);
	jsonh_add_string(out, "user_id", user_id);
	jsonh_add_string(out, "location_id", tok.location_id);
	status = http_respond_json(resp, 200, out);
done:
	secrets_wipe(tok.access_token);
	secrets_wipe(tok.refresh_token);
	return status;
}

// The browser arrived here from the provider's consent page: with OAUTH_RETURN_URL set, it
// goes back to the dashboard with the outcome in the query (connection=connected, or
// connection=failed&error=<code>) instead of staying on this function's JSON. No provider
// name in it: a client sees that address.
static int return_to_dashboard(struct app *app, struct http_request *req,
			       struct http_response *resp, int status) {
	const char *base = app->cfg.oauth_return_url;
	const char *outcome;

	if (base == NULL) {
		return status;
	}
	if (status < 0) {
		status = req->err.status;
	}
	outcome = status < 400 ? "connection=connected"
			       : arena_printf(req->arena, "connection=failed&error=%s",
					      httpc_escape(req->arena, req->err.code[0] != '\0'
									       ? req->err.code
									       : "error"));
	buf_reset(&resp->body);
	http_add_header(resp, "Location", arena_printf(req->arena, "%s?%s", base, outcome));
	http_add_header(resp, "Cache-Control", "no-store");
	return 302;
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;

	if (!http_method_is(req, "GET") && !http_method_is(req, "POST")) {
		return http_fail(req, 405, "method_not_allowed",
				 "use POST to start, GET to complete");
	}
	if (!highlevel_client_configured(app)) {
		return http_fail(req, 503, "not_configured",
				 "this connection is not configured on the server"
				 " (client id, client secret and redirect URI are required)");
	}
	return http_method_is(req, "POST")
		       ? start(app, req, resp)
		       : return_to_dashboard(app, req, resp, complete(app, req, resp));
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
