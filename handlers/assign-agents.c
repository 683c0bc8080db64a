// assign-agents.c: /functions/v1/assign-agents (admins): which agents a user sees.
//   POST   {user_id, source_platform, agent_ids[]}  assign (agents.id values of that platform);
//          Retell deliveries that waited in the inbox for those agents are applied now
//   DELETE {user_id, agent_ids[]}                   unassign
//   GET    ?user_id=                                the user's assignments
#include <string.h>

#include <json-c/json_object.h>

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

static int read_body(struct http_request *req, int need_platform, struct request_body *b) {
	struct json_object *ids = NULL;

	memset(b, 0, sizeof(*b));
	if (http_json_body(req, &b->root) < 0 ||
	    jsonh_get_string(b->root, "user_id", 1, &b->user_id, &req->err) < 0 ||
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

// Inserts the assignments; every id must be an agent of the named platform, or nothing changes.
static int assign(struct app *app, struct http_request *req, const struct request_body *b,
		  struct db_rows *agents) {
	const char *params[] = {b->user_id, b->platform, b->ids_json};

	if (db_exec(app->db, req->arena, "assign_agents",
		    "WITH wanted AS (SELECT DISTINCT x::uuid AS id FROM jsonb_array_elements_text($3::jsonb) x),"
		    " found AS (SELECT a.id, a.retell_agent_id FROM agents a JOIN wanted w ON w.id = a.id"
		    " WHERE a.source_platform = $2),"
		    " ins AS (INSERT INTO user_agents (user_id, agent_id, source_platform)"
		    " SELECT $1::uuid, f.id, $2 FROM found f"
		    " WHERE (SELECT count(*) FROM found) = (SELECT count(*) FROM wanted)"
		    " ON CONFLICT (user_id, agent_id) DO UPDATE SET source_platform = EXCLUDED.source_platform"
		    " RETURNING agent_id),"
		    // a newly assigned agent may have calls older than the user's sync cursor: the
		    // next sync starts over (stored calls are not fetched again, only listed)
		    " rewind AS (UPDATE sync_state SET cursor_ms = NULL WHERE user_id = $1::uuid"
		    " AND provider = $2 AND EXISTS (SELECT 1 FROM ins))"
		    " SELECT f.id, f.retell_agent_id, (SELECT count(*) FROM wanted) AS wanted,"
		    " (SELECT count(*) FROM ins) AS inserted FROM found f",
		    3, params, agents, &req->err) < 0) {
		return -1;
	}
	if (agents->nrows == 0 ||
	    strcmp(db_get(agents, 0, "inserted"), db_get(agents, 0, "wanted")) != 0) {
		return err_set(&req->err, 404, "not_found", "some agent_ids are not %s agents",
			       b->platform);
	}
	return 0;
}

static int post(struct app *app, struct http_request *req, struct http_response *resp) {
	struct request_body b;
	struct db_rows agents;
	struct json_object *out;
	int replayed = 0;
	int status = -1;

	if (read_body(req, 1, &b) < 0 || assign(app, req, &b, &agents) < 0) {
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
	return status < 0 ? req->err.status : status;
}

static int delete (struct app *app, struct http_request *req, struct http_response *resp) {
	struct request_body b;
	struct db_rows rows;
	struct json_object *out;
	int status = -1;

	if (read_body(req, 0, &b) < 0) {
		goto done;
	}
	const char *params[] = {b.user_id, b.ids_json};
	if (db_exec(app->db, req->arena, "unassign_agents",
		    "DELETE FROM user_agents WHERE user_id = $1::uuid AND agent_id IN"
		    " (SELECT x::uuid FROM jsonb_array_elements_text($2::jsonb) x)",
		    2, params, &rows, &req->err) < 0) {
		goto done;
	}
	out = json_object_new_object();
	jsonh_add_string(out, "user_id", b.user_id);
	jsonh_add_int64(out, "unassigned", rows.affected);
	status = http_respond_json(resp, 200, out);
done:
	json_object_put(b.root);
	return status < 0 ? req->err.status : status;
}

static int list(struct app *app, struct http_request *req, struct http_response *resp,
		const struct auth_caller *caller) {
	const char *user_id = NULL;
	struct db_rows rows;
	struct json_object *out;
	struct json_object *agents;

	if (auth_target_user(req, caller, http_query(req, "user_id"), &user_id) < 0) {
		return req->err.status;
	}
	const char *params[] = {user_id};
	if (db_exec(app->db, req->arena, "list_assignments",
		    "SELECT a.id, a.name, ua.source_platform FROM user_agents ua"
		    " JOIN agents a ON a.id = ua.agent_id WHERE ua.user_id = $1::uuid ORDER BY a.name, a.id",
		    1, params, &rows, &req->err) < 0) {
		return req->err.status;
	}
	out = json_object_new_object();
	agents = json_object_new_array();
	for (int r = 0; r < rows.nrows; r++) {
		struct json_object *a = json_object_new_object();
		jsonh_add_string(a, "id", db_get(&rows, r, "id"));
		jsonh_add_string(a, "name", db_get(&rows, r, "name"));
		jsonh_add_string(a, "source_platform", db_get(&rows, r, "source_platform"));
		jsonh_add_string(a, "provider",
				 whitelabel_provider_name(&app->cfg, 1,
							  db_get(&rows, r, "source_platform")));
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
	if (auth_caller(app, req, &caller) < 0 || auth_require_admin(req, &caller) < 0) {
		return req->err.status;
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
	static const struct app_function fn = {
		.name = "assign-agents",
		.handler = handle,
		.max_body = 64 * 1024,
	};

	return app_main(argc, argv, &fn);
}
