/* apierror.c: OpenAI-shaped error bodies (see apierror.h). */
#include "apierror.h"

#include <json-c/json.h>

#include "alloc.h"

struct json_object *apierror_new(const char *message, const char *type,
				 const char *code, const char *param)
{
	struct json_object *root = xcheck(json_object_new_object());
	struct json_object *err = xcheck(json_object_new_object());

	json_object_object_add(err, "message", xcheck(json_object_new_string(message)));
	json_object_object_add(err, "type", xcheck(json_object_new_string(type)));
	json_object_object_add(err, "param", param ? xcheck(json_object_new_string(param)) : NULL);
	json_object_object_add(err, "code", code ? xcheck(json_object_new_string(code)) : NULL);
	json_object_object_add(root, "error", err);
	return root;
}

char *apierror_serialize(struct json_object *obj)
{
	return xstrdup(json_object_to_json_string_ext(obj,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

char *apierror_text(const char *message, const char *type, const char *code,
		    const char *param)
{
	struct json_object *obj = apierror_new(message, type, code, param);
	char *text = apierror_serialize(obj);
	json_object_put(obj);
	return text;
}
