/* jsonraw.h: keeping the client's own spelling of JSON values.
 *
 * json-c changes some values when it parses and prints them again: an
 * integer beyond int64/uint64 saturates, -0 becomes 0, a lone UTF-16
 * surrogate (\ud800) becomes U+FFFD, and \u escapes come out as raw UTF-8.
 * Decimals and exponents keep their text in json-c 0.16 already. After
 * parsing, jsonraw_pin() walks the tree alongside the original text and makes
 * every integer and \u-escaped string print exactly as the client wrote it,
 * so the request immortal forwards carries the client's values unchanged.
 * Containers are never pinned: editing a member or appending to an array
 * still shows in the output. A pinned value is printed from its text by
 * json-c's userdata serializer, which json_object_deep_copy() keeps. */
#ifndef IMMORTAL_JSONRAW_H
#define IMMORTAL_JSONRAW_H

#include <stddef.h>

#include "result.h"

struct json_object;

/* `root` is what json-c parsed from `text` (`len` bytes). Returns IM_OK, or
 * IM_EINVAL when the text is not strict JSON (json-c accepts comments,
 * trailing commas, single quotes): then nothing is pinned and the tree
 * prints as json-c prints it. */
enum im_rc jsonraw_pin(struct json_object *root, const char *text, size_t len);

/* A double printed as the shortest text that reads back as the same value
 * ("0.1", not json-c's "0.10000000000000001"). */
struct json_object *jsonraw_new_double(double v);

#endif
