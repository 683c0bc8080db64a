/* fuzz_provider.c: the provider answer parsers on fuzzed JSON: a Retell get-call answer and a
 * list-calls page {"items": [...], "has_more", "pagination_key"} (retell_call_parse), the legacy
 * list-agents array, and a HighLevel call-log page {"callLogs": [...], "total", "pageSize"}
 * (highlevel_call_parse). The page readers in retell/client.c and highlevel/client.c are
 * static and behind HTTP, so this target reads pages the same way through the public calls. */
#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/highlevel/call.h"
#include "common/jsonh.h"
#include "common/retell/call.h"
#include "test/fuzz/fuzz.h"

static struct arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc;
	(void)argv;
	arena = arena_create();
	return 0;
}

static void retell_call(struct json_object *call) {
	struct retell_call rec;
	struct err err = {0};

	if (retell_call_parse(call, arena, &rec, &err) < 0) {
		FUZZ_ASSERT(err.status == 400);
		return;
	}
	FUZZ_ASSERT(rec.call_id != NULL && rec.agent_id != NULL);
	FUZZ_ASSERT(rec.rank >= CALL_RANK_STARTED && rec.rank <= CALL_RANK_ANALYZED);
	FUZZ_ASSERT(rec.duration_ms >= -1 && rec.agent_version >= -1);
	fuzz_touch(rec.call_id);
	fuzz_touch(rec.agent_id);
	fuzz_touch(rec.transcript);
	fuzz_touch(rec.transcript_object);
	fuzz_touch(rec.latency);
	fuzz_touch(rec.analysis);
	fuzz_touch(rec.summary);
	fuzz_touch(rec.recording_url);
}

static void highlevel_call(struct json_object *log) {
	struct highlevel_call hc;
	struct err err = {0};

	if (highlevel_call_parse(log, arena, &hc, &err) < 0) {
		FUZZ_ASSERT(err.status == 400);
		return;
	}
	FUZZ_ASSERT(hc.call_id != NULL && hc.call_id[0] != '\0');
	FUZZ_ASSERT(hc.agent_id != NULL && hc.agent_id[0] != '\0');
	FUZZ_ASSERT(hc.started_at != NULL && hc.duration_s >= -1);
	fuzz_touch(hc.message_id);
	fuzz_touch(hc.contact_id);
	fuzz_touch(hc.from_number);
	fuzz_touch(hc.started_at);
	fuzz_touch(hc.transcript);
	fuzz_touch(hc.summary);
	fuzz_touch(hc.analysis);
}

static void each(struct json_object *list, void (*fn)(struct json_object *)) {
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		fn(json_object_array_get_idx(list, i));
	}
}

// retell/client.c read_page: items, has_more, pagination_key.
static void retell_page(struct json_object *root) {
	struct json_object *items = NULL;
	const char *next = NULL;
	int more = 0;
	struct err err = {0};

	if (jsonh_get_typed(root, "items", 1, json_type_array, &items, &err) < 0 ||
	    jsonh_get_bool(root, "has_more", 0, &more, &err) < 0 ||
	    jsonh_get_string(root, "pagination_key", 0, &next, &err) < 0) {
		FUZZ_ASSERT(err.status == 400);
		return;
	}
	fuzz_touch(next);
	each(items, retell_call);
}

// highlevel/client.c get_page: callLogs (or agents), total, pageSize.
static void highlevel_page(struct json_object *root) {
	struct json_object *logs = NULL;
	int64_t total = 0;
	int64_t page_size = 0;
	struct err err = {0};

	if (jsonh_get_typed(root, "callLogs", 1, json_type_array, &logs, &err) < 0 ||
	    jsonh_get_int64(root, "total", 0, -1, &total, &err) < 0 ||
	    jsonh_get_int64(root, "pageSize", 0, 50, &page_size, &err) < 0) {
		FUZZ_ASSERT(err.status == 400);
		return;
	}
	each(logs, highlevel_call);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	struct err err = {0};
	struct json_object *root = jsonh_parse((const char *)data, size, JSONH_MAX_DEPTH, &err);

	if (root == NULL) {
		FUZZ_ASSERT(err.status == 400 || err.status == 413);
		return 0;
	}
	if (json_object_is_type(root, json_type_array)) {
		// the legacy GET /list-agents answer, and a page's items taken alone
		each(root, retell_call);
		each(root, highlevel_call);
	} else if (json_object_is_type(root, json_type_object)) {
		retell_call(root);
		highlevel_call(root);
		retell_page(root);
		highlevel_page(root);
		fuzz_touch(jsonh_to_string(root));
	}
	json_object_put(root);
	arena_reset(arena);
	return 0;
}
