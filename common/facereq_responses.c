/* facereq_responses.c: a Responses API request as a chat request (see
 * facereq.h): instructions become a system message, input items become
 * messages (function_call items an assistant turn's tool_calls,
 * function_call_output items tool messages), tools and text.format take
 * their chat shapes. */
#include "facereq.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "jsonobj.h"

/* A message item's content: a string as is, parts as chat parts. */
static struct json_object *fres_content(struct facereq *f, struct json_object *c)
{
	if (json_object_is_type(c, json_type_string))
		return json_object_get(c);
	if (!json_object_is_type(c, json_type_array))
		return facereq_fail(f, "input", "a message's content must be a string or an array of parts");
	struct json_object *parts = xcheck(json_object_new_array());
	for (size_t i = 0; i < json_object_array_length(c); i++) {
		struct json_object *p = json_object_array_get_idx(c, i), *out;
		const char *type = json_object_get_string(jsonobj_get(p, "type"));
		if (type && (!strcmp(type, "input_text") || !strcmp(type, "output_text") ||
			     !strcmp(type, "text"))) {
			out = xcheck(json_object_new_object());
			json_object_object_add(out, "type", xcheck(json_object_new_string("text")));
			facereq_copy(out, "text", p, "text");
		} else if (type && !strcmp(type, "input_image") && jsonobj_get(p, "image_url")) {
			struct json_object *img = xcheck(json_object_new_object());
			out = xcheck(json_object_new_object());
			json_object_object_add(out, "type", xcheck(json_object_new_string("image_url")));
			facereq_copy(img, "url", p, "image_url");
			facereq_copy(img, "detail", p, "detail");
			json_object_object_add(out, "image_url", img);
		} else {
			json_object_put(parts);
			return facereq_fail(f, "input", "content part type `%s` is not supported",
					    type ? type : "(none)");
		}
		json_object_array_add(parts, out);
	}
	return parts;
}

/* The assistant message that function_call items join: the last one when
 * it is an assistant turn, else a new one. */
static struct json_object *fres_assistant(struct json_object *msgs)
{
	size_t n = json_object_array_length(msgs);
	struct json_object *last = n ? json_object_array_get_idx(msgs, n - 1) : NULL;
	const char *role = json_object_get_string(jsonobj_get(last, "role"));

	if (role == NULL || strcmp(role, "assistant") != 0) {
		last = facereq_message("assistant", NULL);
		json_object_array_add(msgs, last);
	}
	struct json_object *calls = jsonobj_get(last, "tool_calls");
	if (calls == NULL) {
		calls = xcheck(json_object_new_array());
		json_object_object_add(last, "tool_calls", calls);
	}
	return calls;
}

static void fres_item(struct facereq *f, struct json_object *msgs, struct json_object *it)
{
	const char *type = json_object_get_string(jsonobj_get(it, "type"));
	const char *role = json_object_get_string(jsonobj_get(it, "role"));

	if (type == NULL || !strcmp(type, "message")) {
		if (role == NULL)
			return (void)facereq_fail(f, "input", "a message item needs a role");
		struct json_object *c = fres_content(f, jsonobj_get(it, "content"));
		if (c != NULL)
			json_object_array_add(msgs, facereq_message(role, c));
	} else if (!strcmp(type, "function_call")) {
		struct json_object *args = jsonobj_get(it, "arguments");
		json_object_array_add(fres_assistant(msgs), facereq_tool_call(it, "call_id", json_object_get(args)));
	} else if (!strcmp(type, "function_call_output")) {
		struct json_object *out = jsonobj_get(it, "output");
		struct json_object *m = facereq_message(
			"tool", json_object_is_type(out, json_type_string) ? json_object_get(out)
									    : fres_content(f, out));
		facereq_copy(m, "tool_call_id", it, "call_id");
		json_object_array_add(msgs, m);
	} else if (strcmp(type, "reasoning") != 0) {
		facereq_fail(f, "input", "input item type `%s` is not supported", type);
	}
}

static void fres_input(struct facereq *f, struct json_object *req, struct json_object *msgs)
{
	struct json_object *input = jsonobj_get(req, "input");

	if (json_object_is_type(input, json_type_string)) {
		json_object_array_add(msgs, facereq_message("user", json_object_get(input)));
		return;
	}
	if (!json_object_is_type(input, json_type_array) || json_object_array_length(input) == 0)
		return (void)facereq_fail(f, "input", "input must be a string or a non-empty array of items");
	for (size_t i = 0; i < json_object_array_length(input) && !f->failed; i++)
		fres_item(f, msgs, json_object_array_get_idx(input, i));
}

static struct json_object *fres_tool(struct facereq *f, struct json_object *t)
{
	const char *type = json_object_get_string(jsonobj_get(t, "type"));

	if (type == NULL || strcmp(type, "function") != 0)
		return facereq_fail(f, "tools",
			"built-in tool `%s` is not available through immortal: only function tools are",
			type ? type : "(none)");
	struct json_object *ct = facereq_function_tool(t, "parameters");
	facereq_copy(jsonobj_get(ct, "function"), "strict", t, "strict");
	return ct;
}

static void fres_tools(struct facereq *f, struct json_object *req, struct json_object *chat)
{
	if (!facereq_tools(f, req, chat, fres_tool))
		return;
	struct json_object *choice = jsonobj_get(req, "tool_choice");
	if (json_object_is_type(choice, json_type_string))
		json_object_object_add(chat, "tool_choice", json_object_get(choice));
	else if (jsonobj_get(choice, "name") != NULL)
		facereq_choose(chat, choice);
}

/* text.format: json_schema and json_object become response_format. */
static void fres_format(struct json_object *req, struct json_object *chat)
{
	struct json_object *fmt = jsonobj_get(jsonobj_get(req, "text"), "format");
	const char *type = json_object_get_string(jsonobj_get(fmt, "type"));

	if (type == NULL || !strcmp(type, "text"))
		return;
	struct json_object *rf = xcheck(json_object_new_object());
	json_object_object_add(rf, "type", xcheck(json_object_new_string(type)));
	if (!strcmp(type, "json_schema")) {
		struct json_object *js = xcheck(json_object_new_object());
		facereq_copy(js, "name", fmt, "name");
		facereq_copy(js, "description", fmt, "description");
		facereq_copy(js, "schema", fmt, "schema");
		facereq_copy(js, "strict", fmt, "strict");
		json_object_object_add(rf, "json_schema", js);
	}
	json_object_object_add(chat, "response_format", rf);
}

/* Fields that need state immortal does not keep. */
static void fres_stateless(struct facereq *f, struct json_object *req)
{
	struct json_object *v;

	if ((v = jsonobj_get(req, "previous_response_id")) != NULL)
		facereq_fail(f, "previous_response_id",
			     "previous_response_id is not supported: immortal keeps no state; send the whole conversation in input");
	else if ((v = jsonobj_get(req, "conversation")) != NULL)
		facereq_fail(f, "conversation",
			     "conversation is not supported: immortal keeps no state; send the whole conversation in input");
	else if ((v = jsonobj_get(req, "store")) != NULL && json_object_get_boolean(v))
		facereq_fail(f, "store", "store: true is not supported: immortal keeps no state; send store: false (or leave it out)");
	else if ((v = jsonobj_get(req, "background")) != NULL && json_object_get_boolean(v))
		facereq_fail(f, "background", "background: true is not supported: immortal keeps no state");
}

static void fres_fill(struct facereq *f, struct json_object *req,
		      struct json_object *chat, struct json_object *msgs)
{
	if (json_object_is_type(jsonobj_get(req, "instructions"), json_type_string))
		json_object_array_add(msgs, facereq_message("system",
					    json_object_get(jsonobj_get(req, "instructions"))));
	fres_stateless(f, req);
	if (!f->failed)
		fres_input(f, req, msgs);
	if (!f->failed)
		fres_tools(f, req, chat);
	fres_format(req, chat);
	facereq_copy(chat, "max_tokens", req, "max_output_tokens");
	facereq_copy(chat, "temperature", req, "temperature");
	facereq_copy(chat, "top_p", req, "top_p");
	facereq_copy(chat, "user", req, "user");
	facereq_copy(chat, "parallel_tool_calls", req, "parallel_tool_calls");
	facereq_copy(chat, "reasoning_effort", jsonobj_get(req, "reasoning"), "effort");
	if (!f->failed)
		facereq_stream(f, chat, req);
}

enum im_rc facereq_responses(const char *text, size_t len, struct clientreq *out,
			     char *err, size_t errlen, const char **param)
{
	enum im_rc rc = facereq_translate(text, len, out, err, errlen, param, fres_fill);

	/* clientreq_adopt names the chat field; the client sent `input` */
	if (rc != IM_OK && *param != NULL && !strcmp(*param, "messages")) {
		snprintf(err, errlen, "input must be a string or a non-empty array of items");
		*param = "input";
	}
	return rc;
}
