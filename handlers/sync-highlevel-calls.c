// sync-highlevel-calls.c: POST /functions/v1/sync-highlevel-calls (service role: every connected
// user, the daily job; admin {user_id} or a user: one user, the sync button) and, from cron,
// `sync-highlevel-calls --all | --user ID`. The work is common/sync.c + common/highlevel/sync.c.
#include "common/app.h"
#include "common/highlevel/sync.h"
#include "common/sync.h"

static int handle(void *ctx, struct http_request *req, struct http_response *resp) {
	return sync_handle_http(ctx, req, resp, &highlevel_sync_provider);
}

static int cli(struct app *app, int argc, char **argv) {
	return sync_cli(app, argc, argv, &highlevel_sync_provider);
}

int main(int argc, char **argv) {
	static const struct app_function fn = {
		.name = "sync-highlevel-calls",
		.handler = handle,
		.max_body = 4 * 1024,
		.cli = cli,
	};

	return app_main(argc, argv, &fn);
}
