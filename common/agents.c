/* agents.c: the agents and user_agents statements. */
#include "common/agents.h"

#include <string.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/db.h"
#include "common/highlevel/client.h"
#include "common/jsonh.h"
#include "common/retell/client.h"

int agents_upsert_retell(struct db *db, struct arena *arena, const struct retell_agent *a,
			 struct err *err) {
	const char *params[] = {
		a->agent_id,
		a->name != NULL && a->name[0] != '\0' ? a->name : a->agent_id,
		a->voice_id,
		a->language,
		a->published < 0 ? NULL
		: a->published	 ? "true"
				 : "false",
		a->version < 0 ? NULL : arena_printf(arena, "%lld", (long long)a->version),
	};

	return db_exec(db, arena, "agents_upsert_retell",
		       "INSERT INTO agents (retell_agent_id, source_platform, name, voice_id, language,"
		       " is_published, version) VALUES ($1, 'retell', $2, $3, $4, $5::boolean, $6::int)"
		       " ON CONFLICT (retell_agent_id) DO UPDATE SET name = EXCLUDED.name,"
		       " voice_id = EXCLUDED.voice_id, language = EXCLUDED.language,"
		       " is_published = EXCLUDED.is_published, version = EXCLUDED.version,"
		       " updated_at = now()",
		       6, params, NULL, err);
}

int agents_learn_retell_workspace(struct db *db, struct arena *arena, const char *user_id,
				  const char *ids_json, struct err *err) {
	const char *params[] = {user_id, ids_json};

	return db_exec(db, arena, "agents_learn_retell_workspace",
		       "INSERT INTO retell_agent_workspaces (retell_agent_id, user_id)"
		       " SELECT DISTINCT id, $1::uuid FROM jsonb_array_elements_text($2::jsonb) AS id"
		       " WHERE id <> ''"
		       " ON CONFLICT (retell_agent_id, user_id) DO UPDATE SET learned_at = now()",
		       2, params, NULL, err);
}

int agents_upsert_highlevel(struct db *db, struct arena *arena,
			    const struct highlevel_agent *agents, size_t n, const char *location_id,
			    struct err *err) {
	struct json_object *list = json_object_new_array();
	const char *params[] = {NULL, location_id};
	int rc;

	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_new_object();
		jsonh_add_string(a, "id", agents[i].id);
		jsonh_add_string(a, "name", agents[i].name);
		json_object_array_add(list, a);
	}
	params[0] = jsonh_to_string(list);
	rc = db_exec(db, arena, "agents_upsert_highlevel",
		     "INSERT INTO agents (highlevel_agent_id, source_platform, name, location_id)"
		     " SELECT DISTINCT ON (a->>'id') a->>'id', 'highlevel',"
		     " COALESCE(NULLIF(a->>'name', ''), a->>'id'), $2"
		     " FROM jsonb_array_elements($1::jsonb) AS a"
		     " ON CONFLICT (highlevel_agent_id) DO UPDATE SET name = EXCLUDED.name,"
		     " location_id = EXCLUDED.location_id, source_platform = 'highlevel',"
		     " updated_at = now()",
		     2, params, NULL, err);
	json_object_put(list);
	return rc;
}

// clang-format off
#define LIST_WITH_ASSIGNMENT                                                                   \
	"SELECT a.id, a.retell_agent_id, a.highlevel_agent_id, a.name, a.source_platform,"      \
	" a.voice_id, a.language, a.is_published, a.version, a.location_id,"                    \
	" (ua.user_id IS NOT NULL) AS assigned"                                                 \
	" FROM agents a LEFT JOIN user_agents ua ON ua.agent_id = a.id AND ua.user_id = $2::uuid"
#define IN_IDS " IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY a.name, a.id"
// clang-format on

int agents_list_with_assignment(struct db *db, struct arena *arena, enum agents_column column,
				const char *ids_json, const char *user_id, struct db_rows *rows,
				struct err *err) {
	const char *params[] = {ids_json, user_id};
	int retell = column == AGENTS_RETELL_ID;

	return db_exec(db, arena, retell ? "agents_list_retell" : "agents_list_highlevel",
		       retell ? LIST_WITH_ASSIGNMENT " WHERE a.retell_agent_id" IN_IDS
			      : LIST_WITH_ASSIGNMENT " WHERE a.highlevel_agent_id" IN_IDS,
		       2, params, rows, err);
}

int agents_assign(struct db *db, struct arena *arena, const char *user_id, const char *platform,
		  const char *ids_json, struct db_rows *rows, struct err *err) {
	const char *params[] = {user_id, platform, ids_json};

	if (db_exec(db, arena, "agents_assign",
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
		    3, params, rows, err) < 0) {
		return -1;
	}
	if (rows->nrows == 0 ||
	    strcmp(db_get(rows, 0, "inserted"), db_get(rows, 0, "wanted")) != 0) {
		return err_set(err, 404, "not_found", "some agent_ids are not %s agents", platform);
	}
	return 0;
}

int agents_unassign(struct db *db, struct arena *arena, const char *user_id, const char *ids_json,
		    long *removed, struct err *err) {
	const char *params[] = {user_id, ids_json};
	struct db_rows rows;

	*removed = 0;
	if (db_exec(db, arena, "agents_unassign",
		    "DELETE FROM user_agents WHERE user_id = $1::uuid AND agent_id IN"
		    " (SELECT x::uuid FROM jsonb_array_elements_text($2::jsonb) x)",
		    2, params, &rows, err) < 0) {
		return -1;
	}
	*removed = rows.affected;
	return 0;
}

int agents_list_assigned(struct db *db, struct arena *arena, const char *user_id,
			 struct db_rows *rows, struct err *err) {
	const char *params[] = {user_id};

	return db_exec(db, arena, "agents_list_assigned",
		       "SELECT a.id, a.name, ua.source_platform FROM user_agents ua"
		       " JOIN agents a ON a.id = ua.agent_id WHERE ua.user_id = $1::uuid ORDER BY a.name, a.id",
		       1, params, rows, err);
}

// clang-format off
#define ASSIGNED(col)                                                                          \
	"SELECT a." col " AS pid, a.id FROM user_agents ua JOIN agents a ON a.id = ua.agent_id"  \
	" WHERE ua.user_id = $1::uuid AND a." col " IS NOT NULL ORDER BY 1"
// clang-format on

int agents_load_assigned(struct db *db, struct arena *arena, const char *user_id,
			 enum agents_column column, struct agents_assigned *out, struct err *err) {
	const char *params[] = {user_id};
	int retell = column == AGENTS_RETELL_ID;
	struct db_rows rows;

	memset(out, 0, sizeof(*out));
	if (db_exec(db, arena, retell ? "agents_assigned_retell" : "agents_assigned_highlevel",
		    retell ? ASSIGNED("retell_agent_id") : ASSIGNED("highlevel_agent_id"), 1,
		    params, &rows, err) < 0) {
		return -1;
	}
	out->count = rows.nrows;
	out->provider_ids = arena_alloc(arena, sizeof(char *) * (size_t)(rows.nrows + 1));
	out->uuids = arena_alloc(arena, sizeof(char *) * (size_t)(rows.nrows + 1));
	for (int r = 0; r < rows.nrows; r++) {
		out->provider_ids[r] = arena_strdup(arena, db_get(&rows, r, "pid"));
		out->uuids[r] = arena_strdup(arena, db_get(&rows, r, "id"));
	}
	out->provider_ids[rows.nrows] = NULL;
	return 0;
}

const char *agents_assigned_uuid(const struct agents_assigned *agents, const char *provider_id) {
	for (int i = 0; i < agents->count; i++) {
		if (strcmp(agents->provider_ids[i], provider_id) == 0) {
			return agents->uuids[i];
		}
	}
	return NULL;
}
