/* face.c: what every face needs to read canonical chunks and write SSE
 * events (see face.h). */
#include "face.h"

#include <json-c/json.h>

#include "alloc.h"

enum im_rc face_event(struct buf *out, const char *name, struct json_object *data)
{
	const char *json = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (name != NULL && (buf_append_str(out, "event: ") != IM_OK ||
			     buf_append_str(out, name) != IM_OK || buf_append_str(out, "\n") != IM_OK))
		return IM_ETOOBIG;
	if (buf_append_str(out, "data: ") != IM_OK || buf_append_str(out, json) != IM_OK ||
	    buf_append_str(out, "\n\n") != IM_OK)
		return IM_ETOOBIG;
	return IM_OK;
}

struct json_object *face_chunk_obj(const struct canon *c, struct json_object **owned)
{
	*owned = NULL;
	if (c->obj != NULL)
		return c->obj;
	if (c->text == NULL)
		return NULL;
	*owned = json_tokener_parse(c->text);
	return json_object_is_type(*owned, json_type_object) ? *owned : NULL;
}

const char *face_str(struct json_object *obj, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

struct json_object *face_choice(struct json_object *obj)
{
	struct json_object *choices;
	if (!json_object_object_get_ex(obj, "choices", &choices) ||
	    !json_object_is_type(choices, json_type_array) || json_object_array_length(choices) == 0)
		return NULL;
	struct json_object *c = json_object_array_get_idx(choices, 0);
	return json_object_is_type(c, json_type_object) ? c : NULL;
}

void face_error_parts(const char *error_json, struct json_object **root,
		      const char **message, const char **type, const char **code)
{
	struct json_object *inner = NULL;

	*root = json_tokener_parse(error_json);
	if (json_object_is_type(*root, json_type_object))
		json_object_object_get_ex(*root, "error", &inner);
	*message = face_str(inner, "message");
	*type = face_str(inner, "type");
	*code = face_str(inner, "code");
	if (*message == NULL)
		*message = "upstream error";
	if (*type == NULL)
		*type = "upstream_error";
}

static void face_copy(struct json_object *to, struct json_object *from, const char *key)
{
	struct json_object *v;
	if (json_object_object_get_ex(from, key, &v) && v != NULL)
		json_object_object_add(to, key, json_object_get(v));
}

struct json_object *face_completion_as_chunk(struct json_object *completion)
{
	struct json_object *chunk = xcheck(json_object_new_object());
	struct json_object *choice = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());
	struct json_object *delta = xcheck(json_object_new_object());
	struct json_object *src = face_choice(completion), *msg = NULL;

	face_copy(chunk, completion, "id");
	face_copy(chunk, completion, "model");
	face_copy(chunk, completion, "created");
	face_copy(chunk, completion, "usage");
	if (src != NULL)
		json_object_object_get_ex(src, "message", &msg);
	face_copy(delta, msg, "reasoning_content");
	face_copy(delta, msg, "reasoning");
	face_copy(delta, msg, "content");
	struct json_object *calls;
	if (json_object_object_get_ex(msg, "tool_calls", &calls) &&
	    json_object_is_type(calls, json_type_array)) {
		struct json_object *copy = xcheck(json_object_new_array());
		for (size_t i = 0; i < json_object_array_length(calls); i++) {
			struct json_object *tc = NULL;
			json_object_deep_copy(json_object_array_get_idx(calls, i), &tc, NULL);
			if (json_object_is_type(tc, json_type_object))
				json_object_object_add(tc, "index", json_object_new_int64((int64_t)i));
			json_object_array_add(copy, tc);
		}
		json_object_object_add(delta, "tool_calls", copy);
	}
	json_object_object_add(choice, "index", json_object_new_int(0));
	json_object_object_add(choice, "delta", delta);
	face_copy(choice, src, "finish_reason");
	json_object_array_add(choices, choice);
	json_object_object_add(chunk, "choices", choices);
	return chunk;
}
