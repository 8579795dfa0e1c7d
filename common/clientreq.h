/* clientreq.h: a client's chat completion request, parsed and checked.
 *
 * Only the fields immortal itself relies on are checked (model, messages,
 * stream, stream_options.include_usage); the rest is the upstream's to
 * judge. No I/O and no logging: the route answers and logs, and the fuzzer
 * (tests/fuzz/fuzz_faces.c) drives this directly. */
#ifndef IMMORTAL_CLIENTREQ_H
#define IMMORTAL_CLIENTREQ_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "result.h"

struct clientreq {
	struct json_object *body;   /* owned: the whole request object */
	const char *model;          /* borrowed from body */
	bool stream;
	bool include_usage;
};

/* Parses `len` bytes of `text` (a JSON object, white space around it
 * allowed). On error returns IM_EINVAL with a message for the client in
 * err and *param naming the offending field (NULL: the JSON itself); *out
 * then holds nothing. */
enum im_rc clientreq_parse(const char *text, size_t len, struct clientreq *out,
			   char *err, size_t errlen, const char **param);
void clientreq_free(struct clientreq *r);

/* For the other routes' translators (facereq.h): `len` bytes of `text` as
 * a JSON object (a new one), or NULL with a message in err. */
struct json_object *clientreq_json(const char *text, size_t len, char *err, size_t errlen);
/* Checks a translated chat request as clientreq_parse does; takes
 * ownership of `body` (put on error). */
enum im_rc clientreq_adopt(struct json_object *body, struct clientreq *out,
			   char *err, size_t errlen, const char **param);

#endif
