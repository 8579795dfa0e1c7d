/* jsonobj.h: the small JSON accessors every translator needs.
 *
 * Reading a foreign answer or a client's request means asking for members
 * that may be missing or of the wrong type; these answer NULL (or 0)
 * instead, so a caller checks once, where it decides. Building a JSON
 * answer means adding members whose allocation must not fail quietly;
 * jsonobj_set aborts on a NULL value as the x* wrappers of alloc.h do. */
#ifndef IMMORTAL_JSONOBJ_H
#define IMMORTAL_JSONOBJ_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* The member `key` of `obj`, borrowed from `obj`; NULL when `obj` is NULL,
 * no object, or lacks it. */
struct json_object *jsonobj_get(struct json_object *obj, const char *key);
/* That member's string (borrowed from `obj`), or NULL when it is not a
 * string. */
const char *jsonobj_str(struct json_object *obj, const char *key);
/* The length of `array`, 0 when it is NULL or no array. */
size_t jsonobj_len(struct json_object *array);
/* The member `key` of `obj` read as a count (token counts of a usage
 * object): 0 when absent, negative or no integer, and capped at 10^12 so
 * that sums of counts an upstream sends cannot overflow. */
int64_t jsonobj_count(struct json_object *obj, const char *key);
/* Sets the member `key` of `obj` to `v`, taking ownership of `v`; a NULL
 * `v` (a failed allocation) aborts. */
void jsonobj_set(struct json_object *obj, const char *key, struct json_object *v);
/* Sets the member `key` of `obj` to a new string, a copy of `s`. */
void jsonobj_set_str(struct json_object *obj, const char *key, const char *s);

#endif
