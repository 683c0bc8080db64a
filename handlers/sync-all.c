// sync-all.c: POST /functions/v1/sync-all, the dashboard's sync button: runs the call sync of
// every provider the user is connected to, one after the other, and answers each result
// (white-labelled for clients). A user syncs themselves, an admin names {user_id}, the service
// role without a user_id syncs everyone. 404 when the user has no connection at all; when every
// provider's sync failed, the first failure's status; otherwise 200 with the details.
#include <json-c/json_object.h>

#include "common/app.h"
#include "common/highlevel/sync.h"
#include "common/jsonh.h"
#include "common/retell/sync.h"
#include "common/sync.h"
#include "common/whitelabel.h"

static const struct sync_provider *const providers[] = {&retell_sync_provider,
							&highlevel_sync_provider};
#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

static struct json_object *failure_json(struct app *app, const struct sync_provider *p,
					const struct sync_request *rq, const struct err *e) {
	struct json_object *out = json_object_new_object();

	jsonh_add_string(out, "provider",
			 whitelabel_provider_name(&app->cfg, !rq->label_for_client, p->name));
	jsonh_add_string(out, "error", e->code);
	jsonh_add_string(out, "message", e->msg);
	return out;
}

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	struct app *app = ctx;
	struct sync_request rq;
	struct json_object *syncs;
	struct json_object *out;
	struct err first = {0};
	int ran = 0;
	int failed = 0;

	if (!http_method_is(req, "POST")) {
		return http_fail(req, 405, "method_not_allowed", "use POST");
	}
	if (sync_request_from_http(app, req, &rq) < 0) {
		return -1;
	}
	syncs = json_object_new_array();
	for (size_t i = 0; i < NPROVIDERS; i++) {
		struct sync_summary summary;
		struct err e = {0};

		if (sync_users(app, providers[i], &rq, &summary, &e) == 0) {
			json_object_array_add(syncs, sync_summary_json(app, providers[i], &summary,
								       rq.label_for_client));
			ran++;
		} else if (!(rq.only_user != NULL && e.status == 404)) {
			// not connected to this provider is no failure: there is nothing to sync
			json_object_array_add(syncs, failure_json(app, providers[i], &rq, &e));
			err_set(&first, e.status, e.code, "%s", e.msg);
			failed++;
		}
		json_object_put(summary.users);
	}
	if (ran == 0) {
		json_object_put(syncs);
		if (failed == 0) {
			return http_fail(req, 404, "not_connected",
					 "this user has no active connection");
		}
		return http_fail(req, first.status, first.code, "%s", first.msg);
	}
	out = json_object_new_object();
	jsonh_add_int64(out, "providers_synced", ran);
	jsonh_add_int64(out, "providers_failed", failed);
	json_object_object_add(out, "syncs", syncs);
	return http_respond_json(resp, 200, out);
}

int main(int argc, char **argv) {
	static const struct app_function fn = {
		.name = "sync-all",
		.handler = handle,
		.max_body = 4 * 1024,
	};

	return app_main(argc, argv, &fn);
}
