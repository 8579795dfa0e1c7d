/* jsonobj.c: the small JSON accessors every translator needs (see jsonobj.h). */
#include "jsonobj.h"

#include <json-c/json.h>

#include "alloc.h"

#define JSONOBJ_COUNT_MAX 1000000000000ll

struct json_object *jsonobj_get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	if (json_object_is_type(obj, json_type_object))
		json_object_object_get_ex(obj, key, &v);
	return v;
}

const char *jsonobj_str(struct json_object *obj, const char *key)
{
	struct json_object *v = jsonobj_get(obj, key);
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

size_t jsonobj_len(struct json_object *array)
{
	return json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;
}

int64_t jsonobj_count(struct json_object *obj, const char *key)
{
	struct json_object *v = jsonobj_get(obj, key);
	int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
	return n < 0 ? 0 : n > JSONOBJ_COUNT_MAX ? JSONOBJ_COUNT_MAX : n;
}

void jsonobj_set(struct json_object *obj, const char *key, struct json_object *v)
{
	json_object_object_add(obj, key, xcheck(v));
}

void jsonobj_set_str(struct json_object *obj, const char *key, const char *s)
{
	jsonobj_set(obj, key, json_object_new_string(s));
}
