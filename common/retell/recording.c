/* retell/recording.c: recording URL renewal. */
#include "common/retell/recording.h"

#include <json-c/json_object.h>

#include "common/app.h"
#include "common/arena.h"
#include "common/calls.h"
#include "common/connections.h"
#include "common/jsonh.h"
#include "common/retell/client.h"
#include "common/secrets.h"

int retell_recording_renew(struct app *app, struct arena *arena, const struct secrets_use *use,
			   const char *call_id, const char *retell_call_id, const char **url,
			   struct err *err) {
	struct json_object *call = NULL;
	struct err bad = {0};
	const char *fresh = NULL;
	char *key = NULL;
	int rc = -1;

	*url = NULL;
	if (connections_load_access_token(app, arena, use, &key, err) < 0 ||
	    retell_client_get_call(app, arena, key, retell_call_id, &call, err) < 0) {
		goto done;
	}
	if (jsonh_get_string(call, "recording_url", 0, &fresh, &bad) < 0) {
		err_set(err, 502, "provider_bad_answer", "provider call: %s", bad.msg);
		goto done;
	}
	if (fresh == NULL || fresh[0] == '\0') {
		err_set(err, 404, "no_recording", "the recording is not available");
		goto done;
	}
	if (calls_set_recording_url(app->db, arena, call_id, fresh, err) < 0) {
		goto done;
	}
	*url = arena_strdup(arena, fresh);
	rc = 0;
done:
	secrets_wipe(key);
	json_object_put(call);
	return rc;
}
