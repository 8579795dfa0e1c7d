/* face.c: what every face needs to read canonical chunks and write SSE
 * events (see face.h). */
#include "face.h"

#include <json-c/json.h>

#include "alloc.h"
#include "jsonobj.h"

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
	*message = jsonobj_str(inner, "message");
	*type = jsonobj_str(inner, "type");
	*code = jsonobj_str(inner, "code");
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

enum im_rc face_write(struct buf *out, struct json_object *obj)
{
	return buf_append_str(out, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
}

enum im_rc face_chunk_via(void *st, const struct canon *c, struct buf *out, face_obj_fn *fn)
{
	struct json_object *owned, *chunk = face_chunk_obj(c, &owned);
	enum im_rc rc = chunk ? fn(st, chunk, out) : IM_OK;
	json_object_put(owned);
	return rc;
}

struct json_object *face_delta_of(struct json_object *choice)
{
	struct json_object *delta = NULL;
	if (choice != NULL)
		json_object_object_get_ex(choice, "delta", &delta);
	return delta;
}

enum im_rc face_delta(struct json_object *choice, void *st, face_text_fn *text, face_call_fn *call,
		      struct buf *out)
{
	struct json_object *delta = face_delta_of(choice), *calls;
	enum im_rc rc = text(st, true, jsonobj_str(delta, "reasoning_content"), out);

	if (rc == IM_OK)
		rc = text(st, true, jsonobj_str(delta, "reasoning"), out);
	if (rc == IM_OK)
		rc = text(st, false, jsonobj_str(delta, "content"), out);
	if (rc == IM_OK && json_object_object_get_ex(delta, "tool_calls", &calls) &&
	    json_object_is_type(calls, json_type_array))
		for (size_t i = 0; rc == IM_OK && i < json_object_array_length(calls); i++)
			rc = call(st, json_object_array_get_idx(calls, i), out);
	return rc;
}

enum im_rc face_answer_via(const struct face *face, const struct canon *completion,
			   face_whole_fn *whole, struct buf *out)
{
	struct json_object *owned, *obj = face_chunk_obj(completion, &owned);
	struct json_object *chunk = face_completion_as_chunk(obj);
	void *st = face->state_new();
	enum im_rc rc = IM_OK;
	struct buf scratch;

	buf_init(&scratch, (size_t)-1);
	struct json_object *answer = whole(st, chunk, &scratch, &rc);
	if (rc == IM_OK)
		rc = face_write(out, answer);
	json_object_put(answer);
	buf_free(&scratch);
	face->state_free(st);
	json_object_put(chunk);
	json_object_put(owned);
	return rc;
}
