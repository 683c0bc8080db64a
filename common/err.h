/* err: an error carried as a value: HTTP status, short code and a human message. */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

#define MUSTCHECK	    __attribute__((warn_unused_result))
#define ATTRIB_PRINTF(a, b) __attribute__((format(printf, a, b)))

struct err {
	int status;    /* HTTP status the failure maps to; 0 = no error */
	char code[48]; /* machine code for the JSON "error" field */
	char msg[512]; /* human text for the JSON "message" field (a config error lists many) */
};

/* Records the error unless one is already set (the first cause wins) and returns -1,
 * so callers write `return err_set(err, 400, "bad_json", "missing %s", key);`. */
int err_set(struct err *err, int status, const char *code, const char *fmt, ...)
	ATTRIB_PRINTF(4, 5);

/* Clears err so it can be reused for the next request. */
void err_clear(struct err *err);

#endif
