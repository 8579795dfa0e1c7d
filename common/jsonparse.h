/* jsonparse.h: json-c parsing with tokeners reused across requests.
 *
 * json_tokener_new() callocs the tokener and its stack (1.3 KiB at json-c's
 * default depth of 32, 5 KiB at the client body's 128): per request, that
 * was 3% of immortal's instructions and the large allocation that made
 * glibc consolidate its free lists. A few tokeners per depth are kept for
 * the whole process and reset between uses instead: lock-free, and a
 * handful for the process rather than one per thread, so memory per open
 * stream does not grow. */
#ifndef IMMORTAL_JSONPARSE_H
#define IMMORTAL_JSONPARSE_H

#include <json-c/json.h>

/* The client's request body may nest this deep (tool schemas do). */
#define JSONPARSE_DEEP 128

/* A reset tokener of `depth` (JSON_TOKENER_DEFAULT_DEPTH or JSONPARSE_DEEP
 * are kept; any other is made fresh each time). Give it back with
 * jsonparse_give; it aborts on OOM (alloc.h). */
struct json_tokener *jsonparse_take(int depth);
/* Takes ownership of `tok`, taken with the same `depth`. */
void jsonparse_give(struct json_tokener *tok, int depth);

/* json_tokener_parse(), the same result, with a reused tokener. */
struct json_object *jsonparse(const char *text);

#endif
