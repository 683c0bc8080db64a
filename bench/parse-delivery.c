// parse-delivery.c: the CPU of reading one delivery, as retell-webhook reads it (word timings
// kept as sent, json-c for the rest) and as it did before (json-c's tree of the whole body, the
// word timings serialised back). Usage: bench-parse-delivery FILE [ROUNDS]; one line each.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <json-c/json_object.h>

#include "common/arena.h"
#include "common/jsonh.h"
#include "common/retell/webhook.h"

static double now_s(void) {
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_as_sent(const char *body, size_t len, struct arena *arena) {
	struct retell_delivery d;
	struct json_object *root = NULL;
	struct err err = {0};
	int rc = retell_delivery_parse(body, len, arena, &d, &root, &err);

	json_object_put(root);
	return rc;
}

static int read_whole_tree(const char *body, size_t len, struct arena *arena) {
	struct err err = {0};
	struct json_object *root = jsonh_parse(body, len, JSONH_MAX_DEPTH, &err);
	struct json_object *call = NULL;
	struct retell_call rec;
	int rc = -1;

	if (root != NULL && json_object_object_get_ex(root, "call", &call)) {
		rc = retell_call_parse(call, arena, &rec, &err);
	}
	json_object_put(root);
	return rc;
}

static double per_round_ms(int (*read)(const char *, size_t, struct arena *), const char *body,
			   size_t len, int rounds) {
	struct arena *arena = arena_create();
	double start = now_s();

	for (int i = 0; i < rounds; i++) {
		if (read(body, len, arena) < 0) {
			fprintf(stderr, "bench-parse-delivery: the body does not parse\n");
			exit(1);
		}
		arena_reset(arena);
	}
	arena_destroy(arena);
	return (now_s() - start) * 1000 / rounds;
}

int main(int argc, char **argv) {
	static char body[4 << 20];
	FILE *f = argc >= 2 ? fopen(argv[1], "rb") : NULL;
	int rounds = argc >= 3 ? atoi(argv[2]) : 1000;
	size_t len;

	if (f == NULL || rounds < 1) {
		fprintf(stderr, "usage: bench-parse-delivery FILE [ROUNDS]\n");
		return 2;
	}
	len = fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	printf("as sent %.3f ms\n", per_round_ms(read_as_sent, body, len, rounds));
	printf("whole tree %.3f ms\n", per_round_ms(read_whole_tree, body, len, rounds));
	return 0;
}
