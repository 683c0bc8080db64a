/* inbox.c: raw delivery store and replay. */
#include "common/inbox.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/db.h"
#include "common/log.h"
#include "common/retell/webhook.h"

// An ignored delivery keeps its size and SHA-256 but not its body: transcript_updated comes on
// every turn with the whole call. Placeholders: event, call id, agent, user, status, body, body,
// status, body, signature timestamp, status, status, body. A body is stored once (issue 16,
// migration 0040): a replay of the same signed bytes conflicts on delivery_sha256 and adds
// neither an inbox nor an audit row.
// clang-format off
#define INBOX_INSERT                                                                           \
	"INSERT INTO webhook_inbox (provider, event, call_id, provider_agent_id, user_id, body,"  \
	" body_bytes, body_sha256, signature_ts, status, applied_at, delivery_sha256)"          \
	" VALUES ('retell', $%d, $%d,"                                                           \
	" $%d, $%d::uuid, CASE WHEN $%d::text = 'ignored' THEN NULL ELSE $%d::text END,"          \
	" octet_length($%d::text), CASE WHEN $%d::text = 'ignored'"                               \
	" THEN encode(sha256(convert_to($%d::text, 'UTF8')), 'hex') END, $%d::bigint, $%d,"       \
	" CASE WHEN $%d = 'applied' THEN now() END, sha256(convert_to($%d::text, 'UTF8')))"     \
	" ON CONFLICT (provider, delivery_sha256) DO NOTHING RETURNING 1"
// clang-format on
// clang-format off
#define AUDIT_INSERT                                                                           \
	"INSERT INTO key_usage_audit (user_id, service, actor_kind, purpose, function_name,"    \
	" request_id) SELECT $%d::uuid, 'retell', 'provider', 'verify webhook signature', $%d, $%d" \
	" WHERE EXISTS (SELECT 1 FROM inbox)"
// clang-format on

static const char *const outcome_names[] = {"applied", "unassigned", "ignored"};

// The applying form: upsert, inbox and audit as one statement (one round trip, one snapshot).
// Built once per process, by whichever serving thread needs it first.
static char apply_sql[8192];
static char record_sql_text[1024];
static pthread_once_t sql_built = PTHREAD_ONCE_INIT;

static void build_sql(void) {
	int n = CALLS_UPSERT_NPARAMS;

	snprintf(apply_sql, sizeof(apply_sql),
		 "WITH up AS (%s), inbox AS (" INBOX_INSERT "), audit AS (" AUDIT_INSERT ")"
		 " SELECT inserted, unbilled FROM up",
		 calls_upsert_retell_sql, n + 1, n + 2, n + 3, n + 4, n + 7, n + 5, n + 5, n + 7,
		 n + 5, n + 6, n + 7, n + 7, n + 5, n + 4, n + 8, n + 9);
	snprintf(record_sql_text, sizeof(record_sql_text),
		 "WITH inbox AS (" INBOX_INSERT "), audit AS (" AUDIT_INSERT ")"
		 " SELECT 1",
		 1, 2, 3, 4, 7, 5, 5, 7, 5, 6, 7, 7, 5, 4, 8, 9);
}

const char *inbox_apply_sql(void) {
	pthread_once(&sql_built, build_sql);
	return apply_sql;
}

static const char *record_sql(void) {
	pthread_once(&sql_built, build_sql);
	return record_sql_text;
}

int inbox_record_retell(struct app *app, struct arena *arena, const struct inbox_delivery *in,
			enum inbox_outcome *outcome, struct calls_result *result, struct err *err) {
	const struct retell_delivery *d = in->delivery;
	const char *params[CALLS_UPSERT_NPARAMS + 9];
	const char **tail = params;
	int nparams = 9;
	struct err failed = {0};
	struct db_rows rows = {0};

	memset(result, 0, sizeof(*result));
	*outcome = !d->has_call		    ? INBOX_IGNORED
		   : in->agent_uuid == NULL ? INBOX_UNASSIGNED
					    : INBOX_APPLIED;
	if (*outcome == INBOX_APPLIED) {
		calls_upsert_params(arena, &d->rec, in->user_id, in->agent_uuid, params);
		tail = params + CALLS_UPSERT_NPARAMS;
		nparams += CALLS_UPSERT_NPARAMS;
	}
	tail[0] = d->event;
	tail[1] = d->call_id;
	tail[2] = d->agent_id;
	tail[3] = in->user_id;
	tail[4] = in->body;
	tail[5] = arena_printf(arena, "%lld", (long long)in->signature_ts);
	tail[6] = outcome_names[*outcome];
	tail[7] = app->name;
	tail[8] = in->request_id;
	// prepared: parsing and planning the applying statement cost more than running it
	if ((*outcome != INBOX_APPLIED
		     ? db_exec_prepared(app->db, arena, "inbox_record", record_sql(), nparams,
					params, NULL, &failed)
		     : db_exec_prepared(app->db, arena, "inbox_apply", inbox_apply_sql(), nparams,
					params, &rows, &failed)) < 0) {
		// a value the database refuses is bad input; anything else: the provider retries
		return failed.status == 400 ? err_set(err, 400, failed.code, "%s", failed.msg)
					    : err_set(err, 503, "db_unavailable", "%s", failed.msg);
	}
	if (*outcome != INBOX_APPLIED) {
		return 0;
	}
	result->inserted = rows.nrows == 1 && strcmp(db_get(&rows, 0, "inserted"), "t") == 0;
	result->unbilled = rows.nrows == 1 && strcmp(db_get(&rows, 0, "unbilled"), "t") == 0;
	return 0;
}

static int apply_one(struct app *app, struct arena *arena, const char *id, const char *body,
		     const char *user_id, const char *agent_uuid, struct err *err) {
	struct retell_delivery d;
	struct json_object *root = NULL;
	struct calls_result result;
	struct err stored = {0};
	int rc = -1;
	const char *params[] = {id};

	if (retell_delivery_parse(body, strlen(body), arena, &d, &root, &stored) < 0) {
		// it parsed when it arrived; only a changed parser could refuse it now: our fault
		log_error("inbox %s no longer parses: %s", id, stored.msg);
		err_set(err, 500, "internal", "stored delivery %s no longer parses", id);
		goto done;
	}
	if (calls_upsert_retell(app->db, arena, &d.rec, user_id, agent_uuid, &result, err) < 0 ||
	    db_exec(app->db, arena, "inbox_mark_applied",
		    "UPDATE webhook_inbox SET status = 'applied', applied_at = now() WHERE id = $1",
		    1, params, NULL, err) < 0) {
		goto done;
	}
	rc = 0;
done:
	json_object_put(root);
	return rc;
}

int inbox_apply_assigned(struct app *app, struct arena *arena, const char *user_id,
			 const char *retell_agent_id, const char *agent_uuid, int *applied,
			 struct err *err) {
	const char *params[] = {retell_agent_id, user_id};
	struct db_rows rows;

	*applied = 0;
	if (db_begin(app->db, err) < 0) {
		return -1;
	}
	if (db_exec(app->db, arena, "inbox_unassigned",
		    "SELECT id, body FROM webhook_inbox WHERE provider = 'retell'"
		    " AND status = 'unassigned' AND provider_agent_id = $1 AND user_id = $2::uuid"
		    " ORDER BY id FOR UPDATE",
		    2, params, &rows, err) < 0) {
		goto fail;
	}
	for (int r = 0; r < rows.nrows; r++) {
		if (apply_one(app, arena, db_get(&rows, r, "id"), db_get(&rows, r, "body"), user_id,
			      agent_uuid, err) < 0) {
			goto fail;
		}
	}
	if (db_commit(app->db, err) < 0) {
		return -1;
	}
	*applied = rows.nrows;
	return 0;
fail:
	db_rollback(app->db);
	return -1;
}
