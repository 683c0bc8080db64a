// retell-webhook.c: POST /functions/v1/retell-webhook[/{user_id}]: Retell call events, verified
// against the raw body, persisted before the 2xx (never a provider call in the request path).
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/connections.h"
#include "common/db.h"
#include "common/httpc.h"
#include "common/inbox.h"
#include "common/jsonh.h"
#include "common/log.h"
#include "common/retell/webhook.h"
#include "common/search.h"
#include "common/secrets.h"

#define MAX_BODY (2 * 1024 * 1024)

// set on the serving thread when its request stored a call (and so maybe a transcript to index)
static _Thread_local int stored_call;
// the process's transcript indexer (common/search.h)
static struct search_indexer *indexer;

struct verified {
	const char *user_id;
	const char *agent_uuid; // set when the agent is assigned to that user
};

static int64_t now_ms(void) {
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int path_user(struct http_request *req, const char **user_id) {
	const char *sub = req->subpath;

	*user_id = NULL;
	if (sub[0] == '\0' || strcmp(sub, "/") == 0) {
		return 0;
	}
	if (sub[0] != '/' || !auth_is_uuid(sub + 1)) {
		return err_set(&req->err, 404, "not_found", "expected /retell-webhook/{user_id}");
	}
	*user_id = sub + 1;
	return 0;
}

// Tries the active Retell keys that could have signed this delivery: the path's user, else the
// connected workspaces, owners of the agent first, at most CONNECTIONS_MAX_SIGNERS (the cost of
// a forged delivery is bounded). Each key is wiped after its try.
static int find_signer(struct app *app, struct http_request *req, const char *path_user_id,
		       const char *agent_id, int64_t ts, const uint8_t digest[32],
		       struct verified *out) {
	struct db_rows rows;

	if (connections_retell_signers(app->db, req->arena, agent_id, path_user_id, &rows,
				       &req->err) < 0) {
		return -1;
	}
	for (int r = 0; r < rows.nrows; r++) {
		const char *user_id = db_get(&rows, r, "user_id");
		struct err ignored = {0};
		char *key = secrets_open(app, req->arena, user_id, "retell", "access_token",
					 db_get(&rows, r, "access_token"), &ignored);
		int match;

		if (key == NULL) {
			log_error("stored Retell key of user %s cannot be opened: %s", user_id,
				  ignored.msg);
			continue;
		}
		match = retell_signature_matches(key, req->body, req->body_len, ts, digest);
		secrets_wipe(key);
		if (match) {
			out->user_id = user_id;
			out->agent_uuid = db_get(&rows, r, "agent_uuid");
			return 0;
		}
	}
	log_info("signature matched none of the %d keys tried", rows.nrows);
	return err_set(&req->err, 401, "bad_signature", "signature does not match");
}

static int is_json(const char *content_type) {
	size_t n = strlen("application/json");

	return content_type != NULL && strncasecmp(content_type, "application/json", n) == 0 &&
	       (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

static int answer(struct http_response *resp, enum inbox_outcome outcome,
		  const struct calls_result *result) {
	static const char *const names[] = {"applied", "unassigned", "ignored"};
	struct json_object *obj = json_object_new_object();

	jsonh_add_bool(obj, "received", 1);
	jsonh_add_string(obj, "outcome", names[outcome]);
	if (outcome == INBOX_APPLIED) {
		jsonh_add_bool(obj, "created", result->inserted);
	}
	return http_respond_json(resp, 200, obj);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	const char *path_user_id = NULL;
	struct retell_delivery delivery;
	struct json_object *root = NULL;
	struct verified signer = {0};
	struct inbox_delivery in;
	enum inbox_outcome outcome;
	struct calls_result result;
	uint8_t digest[32];
	int64_t ts = 0;
	int status = -1;

	if (!http_method_is(req, "POST")) {
		return http_fail(req, 405, "method_not_allowed", "use POST");
	}
	if (path_user(req, &path_user_id) < 0) {
		return -1;
	}
	if (!is_json(http_header(req, "content-type"))) {
		return http_fail(req, 415, "unsupported_media_type", "send application/json");
	}
	if (retell_signature_parse(http_header(req, "x-retell-signature"), now_ms(), &ts, digest,
				   &req->err) < 0 ||
	    retell_delivery_parse(req->body, req->body_len, req->arena, &delivery, &root,
				  &req->err) < 0 ||
	    find_signer(app, req, path_user_id, delivery.agent_id, ts, digest, &signer) < 0) {
		goto done;
	}
	in = (struct inbox_delivery){
		.delivery = &delivery,
		.body = req->body,
		.body_len = req->body_len,
		.signature_ts = ts,
		.user_id = signer.user_id,
		.agent_uuid = signer.agent_uuid,
		.request_id = req->request_id,
	};
	if (inbox_record_retell(app, req->arena, &in, &outcome, &result, &req->err) < 0) {
		goto done;
	}
	stored_call = outcome == INBOX_APPLIED;
	if (result.unbilled) {
		log_warn("call %s of user %s has no billing account: cost left empty",
			 delivery.call_id, signer.user_id);
	}
	status = answer(resp, outcome, &result);
done:
	json_object_put(root);
	return status;
}

// The transcripts this delivery stored are searchable already (as pending); indexing them is
// the indexer thread's, after the answer. A refused delivery costs the database nothing more.
static void after_response(struct app *app, struct arena *arena) {
	(void)app;
	(void)arena;
	if (stored_call) {
		stored_call = 0;
		search_indexer_poke(indexer);
	}
}

static int start_indexer(struct app *app, struct err *err) {
	indexer = search_indexer_start(app->cfg.database_url, err);
	return indexer != NULL ? 0 : -1;
}

static void stop_indexer(struct app *app) {
	(void)app;
	search_indexer_stop(indexer);
	indexer = NULL;
}

int main(int argc, char **argv) {
	static const struct app_function fn = {
		.name = "retell-webhook",
		.handler = handle,
		.max_body = MAX_BODY,
		.after_response = after_response,
		.serve_begin = start_indexer,
		.serve_end = stop_indexer,
	};

	return app_main(argc, argv, &fn);
}
