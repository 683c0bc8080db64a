// fetch-retell-agents.c: POST /functions/v1/fetch-retell-agents {user_id} lists a workspace's
// agents with the user's stored key (admins: any user; a user: their own connection), or with
// {api_key} in the body for a test (admins), following every page; upserts them into agents and
// answers them with their assignment to the user.
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/jsonh.h"
#include "common/retell_client.h"
#include "common/secrets.h"
#include "common/whitelabel.h"

#define MAX_PAGES 100

static int upsert_agent(struct app *app, struct http_request *req, struct json_object *agent) {
	const char *id = NULL;
	const char *name = NULL;
	const char *voice = NULL;
	const char *language = NULL;
	int published = -1;
	int64_t version = -1;
	struct db_rows rows;

	if (jsonh_get_string(agent, "agent_id", 1, &id, &req->err) < 0 ||
	    jsonh_get_string(agent, "agent_name", 0, &name, &req->err) < 0 ||
	    jsonh_get_string(agent, "voice_id", 0, &voice, &req->err) < 0 ||
	    jsonh_get_string(agent, "language", 0, &language, &req->err) < 0 ||
	    jsonh_get_bool(agent, "is_published", 0, &published, &req->err) < 0 ||
	    jsonh_get_int64(agent, "version", 0, -1, &version, &req->err) < 0) {
		// a provider answer we cannot read is the provider's fault, not the caller's
		req->err.status = 502;
		return -1;
	}
	const char *params[] = {
		id,
		name != NULL && name[0] != '\0' ? name : id,
		voice,
		language,
		published < 0 ? NULL
		: published   ? "true"
			      : "false",
		version < 0 ? NULL : arena_printf(req->arena, "%lld", (long long)version),
	};
	return db_exec(app->db, req->arena, "retell_agent_upsert",
		       "INSERT INTO agents (retell_agent_id, source_platform, name, voice_id, language,"
		       " is_published, version) VALUES ($1, 'retell', $2, $3, $4, $5::boolean, $6::int)"
		       " ON CONFLICT (retell_agent_id) DO UPDATE SET name = EXCLUDED.name,"
		       " voice_id = EXCLUDED.voice_id, language = EXCLUDED.language,"
		       " is_published = EXCLUDED.is_published, version = EXCLUDED.version,"
		       " updated_at = now()",
		       6, params, &rows, &req->err);
}

// Fetches every page and upserts what it lists; *ids collects the provider ids seen.
static int fetch_all(struct app *app, struct http_request *req, const char *api_key,
		     struct json_object *ids) {
	const char *next = NULL;
	int pages = 0;

	do {
		struct retell_page page;
		int rc = 0;

		if (retell_client_list_agents(app, api_key, next, &page, &req->err) < 0) {
			return -1;
		}
		for (size_t i = 0; rc == 0 && i < json_object_array_length(page.items); i++) {
			struct json_object *agent = json_object_array_get_idx(page.items, i);
			struct json_object *id = NULL;
			rc = upsert_agent(app, req, agent);
			if (rc == 0 && json_object_object_get_ex(agent, "agent_id", &id)) {
				json_object_array_add(ids, json_object_get(id));
			}
		}
		next = page.next_key != NULL ? arena_strdup(req->arena, page.next_key) : NULL;
		retell_page_finish(&page);
		if (rc < 0) {
			return -1;
		}
	} while (next != NULL && ++pages < MAX_PAGES);
	return 0;
}

static int answer(struct app *app, struct http_request *req, struct http_response *resp,
		  const struct auth_caller *caller, const char *user_id, struct json_object *ids) {
	int is_admin = caller->kind != AUTH_CLIENT;
	const char *params[] = {jsonh_to_string(ids), user_id};
	struct db_rows rows;
	struct json_object *out;
	struct json_object *list;

	if (db_exec(app->db, req->arena, "retell_agents_answer",
		    "SELECT a.id, a.retell_agent_id, a.name, a.voice_id, a.language, a.is_published,"
		    " a.version, (ua.user_id IS NOT NULL) AS assigned"
		    " FROM agents a LEFT JOIN user_agents ua ON ua.agent_id = a.id AND ua.user_id = $2::uuid"
		    " WHERE a.retell_agent_id IN (SELECT jsonb_array_elements_text($1::jsonb))"
		    " ORDER BY a.name, a.id",
		    2, params, &rows, &req->err) < 0) {
		return req->err.status;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	for (int r = 0; r < rows.nrows; r++) {
		struct json_object *a = json_object_new_object();
		const char *published = db_get(&rows, r, "is_published");
		const char *version = db_get(&rows, r, "version");
		jsonh_add_string(a, "id", db_get(&rows, r, "id"));
		jsonh_add_string(a, "name", db_get(&rows, r, "name"));
		jsonh_add_string(a, "language", db_get(&rows, r, "language"));
		jsonh_add_string(a, "provider",
				 whitelabel_provider_name(&app->cfg, is_admin, "retell"));
		if (is_admin) {
			// provider ids and voices name the provider: admins only (white-label)
			jsonh_add_string(a, "source_platform", "retell");
			jsonh_add_string(a, "retell_agent_id", db_get(&rows, r, "retell_agent_id"));
			jsonh_add_string(a, "voice_id", db_get(&rows, r, "voice_id"));
		}
		json_object_object_add(a, "is_published",
				       published == NULL
					       ? NULL
					       : json_object_new_boolean(published[0] == 't'));
		json_object_object_add(a, "version",
				       version == NULL
					       ? NULL
					       : json_object_new_int64(strtoll(version, NULL, 10)));
		jsonh_add_bool(a, "assigned", strcmp(db_get(&rows, r, "assigned"), "t") == 0);
		json_object_array_add(list, a);
	}
	json_object_object_add(out, "agents", list);
	jsonh_add_string(out, "user_id", user_id);
	return http_respond_json(resp, 200, out);
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct auth_caller caller;
	struct json_object *body = NULL;
	struct json_object *ids = json_object_new_array();
	const char *requested = NULL;
	const char *test_key = NULL;
	const char *user_id = NULL;
	char *key = NULL;
	int status = -1;

	if (!http_method_is(req, "POST")) {
		status = http_fail(req, 405, "method_not_allowed", "use POST");
		goto done;
	}
	if (auth_caller(app, req, &caller) < 0 || http_json_body(req, &body) < 0 ||
	    jsonh_get_string(body, "user_id", 0, &requested, &req->err) < 0 ||
	    jsonh_get_string(body, "api_key", 0, &test_key, &req->err) < 0 ||
	    (test_key != NULL && auth_require_admin(req, &caller) < 0) ||
	    (test_key == NULL && auth_target_user(req, &caller, requested, &user_id) < 0)) {
		goto done;
	}
	if (test_key == NULL) {
		struct secrets_use use = {user_id,
					  "retell",
					  caller.kind == AUTH_CLIENT ? "client" : "admin",
					  caller.user_id,
					  "list workspace agents",
					  req->request_id};
		if (secrets_load_access_token(app, req->arena, &use, &key, &req->err) < 0) {
			goto done;
		}
	}
	if (fetch_all(app, req, test_key != NULL ? test_key : key, ids) < 0) {
		goto done;
	}
	status = answer(app, req, resp, &caller, user_id, ids);
done:
	secrets_wipe(key);
	json_object_put(body);
	json_object_put(ids);
	return status < 0 ? req->err.status : status;
}

int main(int argc, char **argv) {
	static const struct app_function fn = {
		.name = "fetch-retell-agents",
		.handler = handle,
		.max_body = 16 * 1024,
	};

	return app_main(argc, argv, &fn);
}
