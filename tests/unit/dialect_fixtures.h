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

/* A dialect's request builder (anthropic_request, gemini_request). */
typedef struct json_object *(*request_fn)(struct json_object *client, const struct endpoint *ep,
					  const struct dialect_call *call);

/* The request `build` makes for the client body `client_text` (the caller
 * puts it); an upstream stream when `stream`. */
struct json_object *request_with(request_fn build, const struct endpoint *ep, const char *client_text,
				 bool stream);
/* The same for a continuation of the answer the client was sent in the
 * chat chunk `delivered`. */
struct json_object *request_prefilled(request_fn build, const struct endpoint *ep, const char *client_text,
				      const char *delivered);

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
/* The stream ended cleanly with chunks that all carry the id `id`, the
 * model `model` and one creation time. */
void check_chunks(const struct capture *cap, const char *id, const char *model);
/* Decodes the `len` bytes of `sse` whole (with usage) and in pieces of 1
 * and 7 bytes (without), each checked by `check`. */
void decode_splits(const struct dialect *d, const char *sse, size_t len,
		   void (*check)(const struct capture *cap, bool usage));

#endif
