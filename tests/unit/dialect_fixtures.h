/* dialect_fixtures.h: what the unit tests of the dialects and of chat.c
 * share: reading JSON by path with a clear failure, and driving a
 * dialect's stream decoder while capturing what it reports.
 *
 * Include after <cmocka.h> and its prerequisites; link
 * tests/unit/dialect_fixtures.c into the test. */
#ifndef IMMORTAL_TEST_DIALECT_FIXTURES_H
#define IMMORTAL_TEST_DIALECT_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dialect.h"

struct json_object;
struct curl_slist;

/* `text` parsed (the caller puts it); not JSON fails the test. */
struct json_object *parse(const char *text);
/* obj.k1.k2... where a numeric key indexes an array (borrowed), or NULL. */
struct json_object *path(struct json_object *obj, const char *keys);
/* The string, number or array length at `keys`; anything else fails. */
const char *str_at(struct json_object *obj, const char *keys);
int64_t int_at(struct json_object *obj, const char *keys);
size_t len_at(struct json_object *obj, const char *keys);
/* `s` is in the NULL-terminated `set`. */
bool one_of(const char *s, const char *const *set);
/* A header list holds `line`. */
bool has_line(const struct curl_slist *h, const char *line);

/* What a stream decoder reported. */
struct capture {
	struct json_object *chunks;   /* array of what the decoder produced (caller puts) */
	int done;
	int errors;
	enum errkind kind;
	char message[128];
	size_t dropped;
};

/* Decodes `sse` with `d` for the request `call`, fed in pieces of `step`
 * bytes, into *cap. */
void decode_call(const struct dialect *d, const char *sse, size_t step, const struct dialect_call *call,
		 struct capture *cap);
/* The same for a plain request; the client asked for usage when `usage`. */
void decode(const struct dialect *d, const char *sse, size_t step, bool usage, struct capture *cap);
/* Decodes the `len` bytes of `sse` whole (with usage) and in pieces of 1
 * and 7 bytes (without), each checked by `check`. */
void decode_splits(const struct dialect *d, const char *sse, size_t len,
		   void (*check)(const struct capture *cap, bool usage));

#endif
