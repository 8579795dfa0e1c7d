/* facereq.c: what the route translators share (see facereq.h). */
#include "facereq.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "jsonobj.h"

void *facereq_fail(struct facereq *f, const char *param, const char *fmt, ...)
{
	va_list ap;

	if (f->failed)
		return NULL;
	f->failed = true;
	*f->param = param;
	va_start(ap, fmt);
	vsnprintf(f->err, f->errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

void facereq_copy(struct json_object *to, const char *as, struct json_object *from, const char *key)
{
	struct json_object *v = jsonobj_get(from, key);
	if (v != NULL)
		json_object_object_add(to, as, json_object_get(v));
}

struct json_object *facereq_message(const char *role, struct json_object *content)
{
	struct json_object *m = xcheck(json_object_new_object());
	json_object_object_add(m, "role", xcheck(json_object_new_string(role)));
	json_object_object_add(m, "content", content);
	return m;
}

void facereq_stream(struct facereq *f, struct json_object *chat, struct json_object *from)
{
	struct json_object *v = jsonobj_get(from, "stream");

	if (v == NULL)
		return;
	if (!json_object_is_type(v, json_type_boolean)) {
		facereq_fail(f, "stream", "stream must be true or false");
		return;
	}
	json_object_object_add(chat, "stream", json_object_get(v));
	if (!json_object_get_boolean(v))
		return;
	/* The face reports usage at the end of every stream. */
	struct json_object *opts = xcheck(json_object_new_object());
	json_object_object_add(opts, "include_usage", json_object_new_boolean(1));
	json_object_object_add(chat, "stream_options", opts);
}

enum im_rc facereq_translate(const char *text, size_t len, struct clientreq *out,
			     char *err, size_t errlen, const char **param, facereq_fill_fn *fill)
{
	struct facereq f = { .err = err, .errlen = errlen, .param = param };

	memset(out, 0, sizeof *out);
	*param = NULL;
	struct json_object *req = clientreq_json(text, len, err, errlen);
	if (req == NULL)
		return IM_EINVAL;
	struct json_object *chat = xcheck(json_object_new_object());
	struct json_object *msgs = xcheck(json_object_new_array());
	facereq_copy(chat, "model", req, "model");
	json_object_object_add(chat, "messages", msgs);
	fill(&f, req, chat, msgs);
	json_object_put(req);
	if (f.failed) {
		json_object_put(chat);
		return IM_EINVAL;
	}
	return clientreq_adopt(chat, out, err, errlen, param);
}

bool facereq_tools(struct facereq *f, struct json_object *req, struct json_object *chat,
		   facereq_tool_fn *tool)
{
	struct json_object *tools = jsonobj_get(req, "tools");

	if (tools == NULL)
		return false;
	if (!json_object_is_type(tools, json_type_array)) {
		facereq_fail(f, "tools", "tools must be an array");
		return false;
	}
	struct json_object *out = xcheck(json_object_new_array());
	json_object_object_add(chat, "tools", out);
	for (size_t i = 0; i < json_object_array_length(tools); i++) {
		struct json_object *ct = tool(f, json_object_array_get_idx(tools, i));
		if (ct == NULL)
			return false;
		json_object_array_add(out, ct);
	}
	return true;
}

/* {type: function, function: `fn`}; `fn` consumed. */
static struct json_object *facereq_function(struct json_object *fn)
{
	struct json_object *o = xcheck(json_object_new_object());
	json_object_object_add(o, "type", xcheck(json_object_new_string("function")));
	json_object_object_add(o, "function", fn);
	return o;
}

struct json_object *facereq_function_tool(struct json_object *t, const char *schema)
{
	struct json_object *fn = xcheck(json_object_new_object());
	facereq_copy(fn, "name", t, "name");
	facereq_copy(fn, "description", t, "description");
	facereq_copy(fn, "parameters", t, schema);
	return facereq_function(fn);
}

void facereq_choose(struct json_object *chat, struct json_object *choice)
{
	struct json_object *fn = xcheck(json_object_new_object());
	facereq_copy(fn, "name", choice, "name");
	json_object_object_add(chat, "tool_choice", facereq_function(fn));
}

struct json_object *facereq_tool_call(struct json_object *from, const char *id,
				      struct json_object *arguments)
{
	struct json_object *tc = xcheck(json_object_new_object());
	struct json_object *fn = xcheck(json_object_new_object());

	facereq_copy(tc, "id", from, id);
	facereq_copy(fn, "name", from, "name");
	if (arguments != NULL)
		json_object_object_add(fn, "arguments", arguments);
	json_object_object_add(tc, "type", xcheck(json_object_new_string("function")));
	json_object_object_add(tc, "function", fn);
	return tc;
}
