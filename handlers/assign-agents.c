// assign-agents.c: /functions/v1/assign-agents: which agents a user sees.
//   POST   {user_id, source_platform, agent_ids[]}  (admins) assign (agents.id values of that
//          platform); Retell deliveries that waited in the inbox for those agents are applied
//   DELETE ?user_id=&agent_ids=a,b                  (admins) unassign; the same as a body
//          {user_id, agent_ids[]}, the older form, which still works
//   GET    ?user_id=                                the user's assignments: admins name the
//          user; a client lists their own, labelled (the calls filter's agents)
#include <string.h>

#include <json-c/json_object.h>

#include "common/agents.h"
#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/inbox.h"
#include "common/jsonh.h"
#include "common/whitelabel.h"

#define MAX_AGENTS 500

struct request_body {
	struct json_object *root;
	const char *user_id;
	const char *platform;
	const char *ids_json; // the agent_ids array as JSON text, for jsonb_array_elements_text
	size_t count;
};

// DELETE's query form as the body it stands for: agent_ids is comma-separated.
static struct json_object *query_as_body(struct http_request *req) {
	struct json_object *root = json_object_new_object();
	const char *user_id = http_query(req, "user_id");
	const char *ids = http_query(req, "agent_ids");

	if (user_id != NULL) {
		jsonh_add_string(root, "user_id", user_id);
	}
	if (ids != NULL) {
		struct json_object *list = json_object_new_array();
		for (const char *p = ids; *p != '\0';) {
			size_t len = strcspn(p, ",");
			json_object_array_add(list, json_object_new_string_len(p, (int)len));
			p += len + (p[len] == ',');
		}
		json_object_object_add(root, "agent_ids", list);
	}
	return root;
}

static int read_body(struct http_request *req, int need_platform, struct request_body *b) {
	struct json_object *ids = NULL;

	memset(b, 0, sizeof(*b));
	// DELETE (the one without a platform) takes the query when it has no body
	if (!need_platform && req->body_len == 0) {
		b->root = query_as_body(req);
	} else if (http_json_body(req, &b->root) < 0) {
		return -1;
	}
	if (jsonh_get_string(b->root, "user_id", 1, &b->user_id, &req->err) < 0 ||
	    jsonh_get_string(b->root, "source_platform", need_platform, &b->platform, &req->err) <
		    0 ||
	    jsonh_get_typed(b->root, "agent_ids", 1, json_type_array, &ids, &req->err) < 0) {
		return -1;
	}
	if (!auth_is_uuid(b->user_id)) {
		return err_set(&req->err, 400, "bad_field", "user_id must be a uuid");
	}
	if (b->platform != NULL && !whitelabel_is_platform(b->platform)) {
		return err_set(&req->err, 400, "bad_field",
			       "source_platform must be retell or highlevel");
	}
	b->count = json_object_array_length(ids);
	if (b->count == 0 || b->count > MAX_AGENTS) {
		return err_set(&req->err, 400, "bad_field", "agent_ids must hold 1..%d ids",
			       MAX_AGENTS);
	}
	for (size_t i = 0; i < b->count; i++) {
		struct json_object *id = json_object_array_get_idx(ids, i);
		if (!json_object_is_type(id, json_type_string) ||
		    !auth_is_uuid(json_object_get_string(id))) {
			return err_set(&req->err, 400, "bad_field",
				       "agent_ids must be agent uuids");
		}
	}
	b->ids_json = jsonh_to_string(ids);
	return 0;
}

static int post(struct app *app, struct http_request *req, struct http_response *resp) {
	struct request_body b;
	struct db_rows agents;
	struct json_object *out;
	int replayed = 0;
	int status = -1;

	if (read_body(req, 1, &b) < 0 || agents_assign(app->db, req->arena, b.user_id, b.platform,
						       b.ids_json, &agents, &req->err) < 0) {
		goto done;
	}
	for (int r = 0; r < agents.nrows; r++) {
		const char *retell_id = db_get(&agents, r, "retell_agent_id");
		int applied = 0;
		if (retell_id != NULL &&
		    inbox_apply_assigned(app, req->arena, b.user_id, retell_id,
					 db_get(&agents, r, "id"), &applied, &req->err) < 0) {
			goto done;
		}
		replayed += applied;
	}
	out = json_object_new_object();
	jsonh_add_string(out, "user_id", b.user_id);
	jsonh_add_int64(out, "assigned", agents.nrows);
	jsonh_add_int64(out, "inbox_events_applied", replayed);
	status = http_respond_json(resp, 200, out);
done:
	json_object_put(b.root);
	return status;
}

static int delete (struct app *app, struct http_request *req, struct http_response *resp) {
	struct request_body b;
	struct json_object *out;
	long removed = 0;
	int status = -1;

	if (read_body(req, 0, &b) < 0) {
		goto done;
	}
	if (agents_unassign(app->db, req->arena, b.user_id, b.ids_json, &removed, &req->err) < 0) {
		goto done;
	}
	out = json_object_new_object();
	jsonh_add_string(out, "user_id", b.user_id);
	jsonh_add_int64(out, "unassigned", removed);
	status = http_respond_json(resp, 200, out);
done:
	json_object_put(b.root);
	return status;
}

static int list(struct app *app, struct http_request *req, struct http_response *resp,
		const struct auth_caller *caller) {
	int is_admin = caller->kind == AUTH_ADMIN || caller->kind == AUTH_SERVICE;
	const char *user_id = NULL;
	struct db_rows rows;
	struct json_object *out;
	struct json_object *agents;

	if (auth_target_user(req, caller, http_query(req, "user_id"), &user_id) < 0) {
		return -1;
	}
	if (agents_list_assigned(app->db, req->arena, user_id, &rows, &req->err) < 0) {
		return -1;
	}
	out = json_object_new_object();
	agents = json_object_new_array();
	for (int r = 0; r < rows.nrows; r++) {
		struct json_object *a = json_object_new_object();
		const char *platform = db_get(&rows, r, "source_platform");
		jsonh_add_string(a, "id", db_get(&rows, r, "id"));
		jsonh_add_string(a, "name", db_get(&rows, r, "name"));
		if (is_admin) {
			jsonh_add_string(a, "source_platform", platform);
		}
		jsonh_add_string(a, "provider",
				 whitelabel_provider_name(&app->cfg, is_admin, platform));
		json_object_array_add(agents, a);
	}
	jsonh_add_string(out, "user_id", user_id);
	json_object_object_add(out, "agents", agents);
	return http_respond_json(resp, 200, out);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;

	if (!http_method_is(req, "GET") && !http_method_is(req, "POST") &&
	    !http_method_is(req, "DELETE")) {
		return http_fail(req, 405, "method_not_allowed", "use GET, POST or DELETE");
	}
	if (auth_caller(app, req, &caller) < 0 ||
	    (!http_method_is(req, "GET") && auth_require_admin(req, &caller) < 0)) {
		return -1;
	}
	if (http_method_is(req, "POST")) {
		return post(app, req, resp);
	}
	if (http_method_is(req, "DELETE")) {
		return delete (app, req, resp);
	}
	return list(app, req, resp, &caller);
}

int main(int argc, char **argv) {
	static const char *const params[] = {"user_id", "agent_ids", "source_platform", NULL};
	static const struct app_function fn = {
		.name = "assign-agents",
		.query_params = params,
		.handler = handle,
		.max_body = 64 * 1024,
	};

	return app_main(argc, argv, &fn);
}
