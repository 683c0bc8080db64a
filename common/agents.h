/* agents: the agents and user_agents tables: the providers' agents stored as a workspace or
 * location lists them, their listing with one user's assignment, assigning and unassigning,
 * the agents assigned to a user (what a sync may fetch), and which Retell workspace lists
 * which agent (retell_agent_workspaces). */
#ifndef COMMON_AGENTS_H
#define COMMON_AGENTS_H

#include <stddef.h>

#include "common/err.h"

struct arena;
struct db;
struct db_rows;
struct highlevel_agent;
struct retell_agent;

/* Which provider id column an agent is looked up by; the SQL for each is fixed. */
enum agents_column { AGENTS_RETELL_ID, AGENTS_HIGHLEVEL_ID };

/* Upserts one Retell agent (by retell_agent_id); an empty name becomes the id. */
int agents_upsert_retell(struct db *db, struct arena *arena, const struct retell_agent *agent,
			 struct err *err) MUSTCHECK;

/* Records that user_id's Retell workspace lists the agents of ids_json (a JSON array of
 * retell agent ids), as the provider said with the key stored now: only fetch-retell-agents
 * and syncs call it, never a webhook delivery (connections_retell_signers trusts it). */
int agents_learn_retell_workspace(struct db *db, struct arena *arena, const char *user_id,
				  const char *ids_json, struct err *err) MUSTCHECK;

/* Upserts n HighLevel agents of location_id in one statement (by highlevel_agent_id; a repeated
 * id counts once, an empty name becomes the id). */
int agents_upsert_highlevel(struct db *db, struct arena *arena,
			    const struct highlevel_agent *agents, size_t n, const char *location_id,
			    struct err *err) MUSTCHECK;

/* The agents whose provider id (column) is in ids_json (a JSON array of strings), ordered by
 * name, with whether each is assigned to user_id (NULL: to nobody): rows of id,
 * retell_agent_id, highlevel_agent_id, name, source_platform, voice_id, language,
 * is_published, version, location_id, assigned ("t"/"f"). */
int agents_list_with_assignment(struct db *db, struct arena *arena, enum agents_column column,
				const char *ids_json, const char *user_id, struct db_rows *rows,
				struct err *err) MUSTCHECK;

/* Assigns the agents (agents.id values in ids_json) to user_id, all of platform or none: 404
 * when one is unknown or of another platform. A new assignment restarts the user's sync of
 * that provider from the beginning (older calls of the agent are listed again). rows: id and
 * retell_agent_id of each agent. */
int agents_assign(struct db *db, struct arena *arena, const char *user_id, const char *platform,
		  const char *ids_json, struct db_rows *rows, struct err *err) MUSTCHECK;

/* Removes the assignments of ids_json (agents.id values) from user_id; *removed counts them. */
int agents_unassign(struct db *db, struct arena *arena, const char *user_id, const char *ids_json,
		    long *removed, struct err *err) MUSTCHECK;

/* user_id's assignments ordered by name: rows of id, name, source_platform. */
int agents_list_assigned(struct db *db, struct arena *arena, const char *user_id,
			 struct db_rows *rows, struct err *err) MUSTCHECK;

/* The agents assigned to user_id that have a provider id in column: provider ids
 * (NULL-terminated, for a list filter) beside our agents.id. Arena-owned. */
struct agents_assigned {
	int count;
	const char **provider_ids;
	const char **uuids;
};
int agents_load_assigned(struct db *db, struct arena *arena, const char *user_id,
			 enum agents_column column, struct agents_assigned *out,
			 struct err *err) MUSTCHECK;
/* Our agents.id for a provider agent id, or NULL when it is not among them. */
const char *agents_assigned_uuid(const struct agents_assigned *agents, const char *provider_id);

#endif
