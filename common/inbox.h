/* inbox: every verified provider delivery, kept raw with its outcome (an ignored one as its
 * event, call, agent, size and SHA-256 only); deliveries for agents nobody has been assigned
 * yet are replayed when the agent is assigned. */
#ifndef COMMON_INBOX_H
#define COMMON_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "common/calls.h"
#include "common/err.h"

struct app;
struct arena;
struct retell_delivery;

enum inbox_outcome { INBOX_APPLIED, INBOX_UNASSIGNED, INBOX_IGNORED };

struct inbox_delivery {
	const struct retell_delivery *delivery;
	const char *body;
	size_t body_len;
	int64_t signature_ts;
	const char *user_id;	/* owner of the key that verified it */
	const char *agent_uuid; /* our agent id when assigned to user_id, else NULL */
	const char *request_id;
};

/* Persists a verified delivery in one statement: the raw inbox row, the key-use audit row and,
 * for a call event of an assigned agent, the call upsert. outcome says which it was. A value
 * the database refuses is 400; any other failure 503 "db_unavailable" (the provider retries). */
int inbox_record_retell(struct app *app, struct arena *arena, const struct inbox_delivery *in,
			enum inbox_outcome *outcome, struct calls_result *result,
			struct err *err) MUSTCHECK;

/* The statement inbox_record_retell runs for an applied delivery: $1..$24 as calls.h's upsert,
 * then event, call id, agent id, user id, raw body, signature timestamp, outcome, function,
 * request id. Exposed so the benchmark can run the very same statement under pgbench. */
const char *inbox_apply_sql(void);

/* Applies, in arrival order, the unassigned deliveries user_id's key verified for the Retell
 * agent retell_agent_id, now assigned as agent_uuid; *applied counts them. One transaction. */
int inbox_apply_assigned(struct app *app, struct arena *arena, const char *user_id,
			 const char *retell_agent_id, const char *agent_uuid, int *applied,
			 struct err *err) MUSTCHECK;

#endif
