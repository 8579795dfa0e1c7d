/* facereq_messages.c: an Anthropic Messages request as a chat request (see
 * facereq.h), the reverse of what dialect_anthropic.c does for upstreams:
 * `system` becomes a system message, tool_use blocks an assistant turn's
 * tool_calls, tool_result blocks tool messages, thinking a reasoning
 * effort (the dialect's budget table read backwards). */
#include "facereq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dialect_anthropic.h"
#include "jsonobj.h"

static struct json_object *fmsg_text_part(const char *text)
{
	struct json_object *p = xcheck(json_object_new_object());
	json_object_object_add(p, "type", xcheck(json_object_new_string("text")));
	json_object_object_add(p, "text", xcheck(json_object_new_string(text ? text : "")));
	return p;
}

static struct json_object *fmsg_image(struct json_object *b)
{
	struct json_object *src = jsonobj_get(b, "source");
	const char *type = json_object_get_string(jsonobj_get(src, "type"));
	struct json_object *img = xcheck(json_object_new_object()), *p;
	char *url;

	if (type && !strcmp(type, "url"))
		url = xstrdup(json_object_get_string(jsonobj_get(src, "url")));
	else
		url = xasprintf("data:%s;base64,%s",
				json_object_get_string(jsonobj_get(src, "media_type")),
				json_object_get_string(jsonobj_get(src, "data")));
	json_object_object_add(img, "url", xcheck(json_object_new_string(url)));
	free(url);
	p = xcheck(json_object_new_object());
	json_object_object_add(p, "type", xcheck(json_object_new_string("image_url")));
	json_object_object_add(p, "image_url", img);
	return p;
}

/* The text of a tool_result's content (a string or text blocks). */
static struct json_object *fmsg_result_text(struct json_object *c)
{
	if (json_object_is_type(c, json_type_string))
		return json_object_get(c);
	struct buf b;
	buf_init(&b, 64u << 20);
	for (size_t i = 0; json_object_is_type(c, json_type_array) && i < json_object_array_length(c); i++) {
		const char *t = json_object_get_string(jsonobj_get(json_object_array_get_idx(c, i), "text"));
		if (t != NULL)
			(void)buf_append_str(&b, t);
	}
	struct json_object *s = xcheck(json_object_new_string(buf_str(&b)));
	buf_free(&b);
	return s;
}

static struct json_object *fmsg_tool_call(struct json_object *b)
{
	struct json_object *input = jsonobj_get(b, "input");

	return facereq_tool_call(b, "id", xcheck(json_object_new_string(
		input ? json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN) : "{}")));
}

/* One turn: tool results first (as tool messages), then the turn's text
 * and images, then its tool calls. */
static void fmsg_turn(struct facereq *f, struct json_object *msgs, struct json_object *turn)
{
	const char *role = json_object_get_string(jsonobj_get(turn, "role"));
	struct json_object *content = jsonobj_get(turn, "content");

	if (role == NULL || (strcmp(role, "user") && strcmp(role, "assistant")))
		return (void)facereq_fail(f, "messages", "each message's role must be user or assistant");
	if (json_object_is_type(content, json_type_string)) {
		json_object_array_add(msgs, facereq_message(role, json_object_get(content)));
		return;
	}
	if (!json_object_is_type(content, json_type_array))
		return (void)facereq_fail(f, "messages", "a message's content must be a string or an array of blocks");
	struct json_object *parts = xcheck(json_object_new_array());
	struct json_object *calls = xcheck(json_object_new_array());
	for (size_t i = 0; i < json_object_array_length(content) && !f->failed; i++) {
		struct json_object *b = json_object_array_get_idx(content, i);
		const char *type = json_object_get_string(jsonobj_get(b, "type"));
		if (type && !strcmp(type, "text")) {
			json_object_array_add(parts, fmsg_text_part(json_object_get_string(jsonobj_get(b, "text"))));
		} else if (type && !strcmp(type, "image")) {
			json_object_array_add(parts, fmsg_image(b));
		} else if (type && !strcmp(type, "tool_use")) {
			json_object_array_add(calls, fmsg_tool_call(b));
		} else if (type && !strcmp(type, "tool_result")) {
			struct json_object *m = facereq_message("tool", fmsg_result_text(jsonobj_get(b, "content")));
			facereq_copy(m, "tool_call_id", b, "tool_use_id");
			json_object_array_add(msgs, m);
		} else if (!type || (strcmp(type, "thinking") && strcmp(type, "redacted_thinking"))) {
			facereq_fail(f, "messages", "content block type `%s` is not supported",
				     type ? type : "(none)");
		}
	}
	size_t np = json_object_array_length(parts), nc = json_object_array_length(calls);
	if (np == 0 && nc == 0) {
		json_object_put(parts);
		json_object_put(calls);
		return;
	}
	struct json_object *text = json_object_array_get_idx(parts, 0);
	struct json_object *m = facereq_message(role, np == 1 && !strcmp(json_object_get_string(
		jsonobj_get(text, "type")), "text") ? json_object_get(jsonobj_get(text, "text"))
		: np ? json_object_get(parts) : NULL);
	json_object_put(parts);
	if (nc)
		json_object_object_add(m, "tool_calls", calls);
	else
		json_object_put(calls);
	json_object_array_add(msgs, m);
}

static struct json_object *fmsg_tool(struct facereq *f, struct json_object *t)
{
	const char *type = json_object_get_string(jsonobj_get(t, "type"));

	if (type && strcmp(type, "custom") != 0)
		return facereq_fail(f, "tools",
			"server tool `%s` is not available through immortal: only client tools are", type);
	return facereq_function_tool(t, "input_schema");
}

static void fmsg_tools(struct facereq *f, struct json_object *req, struct json_object *chat)
{
	if (!facereq_tools(f, req, chat, fmsg_tool))
		return;
	struct json_object *choice = jsonobj_get(req, "tool_choice");
	const char *ct = json_object_get_string(jsonobj_get(choice, "type"));
	if (ct == NULL)
		return;
	if (!strcmp(ct, "tool"))
		facereq_choose(chat, choice);
	else
		json_object_object_add(chat, "tool_choice", xcheck(json_object_new_string(
			!strcmp(ct, "any") ? "required" : !strcmp(ct, "none") ? "none" : "auto")));
	struct json_object *dp = jsonobj_get(choice, "disable_parallel_tool_use");
	if (dp != NULL && json_object_get_boolean(dp))
		json_object_object_add(chat, "parallel_tool_calls", json_object_new_boolean(0));
}

/* thinking.budget_tokens as the smallest effort whose budget covers it. */
static void fmsg_thinking(struct json_object *req, struct json_object *chat)
{
	struct json_object *th = jsonobj_get(req, "thinking");
	const char *type = json_object_get_string(jsonobj_get(th, "type"));

	if (type == NULL || strcmp(type, "enabled") != 0)
		return;
	int64_t want = json_object_get_int64(jsonobj_get(th, "budget_tokens"));
	const char *effort = "high";
	for (const struct anthropic_budget *b = anthropic_budgets; b->effort; b++)
		if (b->tokens > 0 && b->tokens >= want) {
			effort = b->effort;
			break;
		}
	json_object_object_add(chat, "reasoning_effort", xcheck(json_object_new_string(effort)));
}

static void fmsg_system(struct json_object *req, struct json_object *msgs)
{
	struct json_object *sys = jsonobj_get(req, "system");

	if (sys == NULL)
		return;
	json_object_array_add(msgs, facereq_message("system", fmsg_result_text(sys)));
}

static void fmsg_fields(struct facereq *f, struct json_object *req, struct json_object *chat)
{
	struct json_object *v = jsonobj_get(req, "max_tokens");

	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1)
		return (void)facereq_fail(f, "max_tokens", "max_tokens: a positive integer is required");
	facereq_copy(chat, "max_tokens", req, "max_tokens");
	facereq_copy(chat, "stop", req, "stop_sequences");
	facereq_copy(chat, "temperature", req, "temperature");
	facereq_copy(chat, "top_p", req, "top_p");
	facereq_copy(chat, "user", jsonobj_get(req, "metadata"), "user_id");
	fmsg_thinking(req, chat);
	fmsg_tools(f, req, chat);
	if (!f->failed)
		facereq_stream(f, chat, req);
}

static void fmsg_fill(struct facereq *f, struct json_object *req,
		      struct json_object *chat, struct json_object *msgs)
{
	struct json_object *turns = jsonobj_get(req, "messages");

	fmsg_system(req, msgs);
	if (!json_object_is_type(turns, json_type_array) || json_object_array_length(turns) == 0)
		facereq_fail(f, "messages", "messages must be a non-empty array");
	for (size_t i = 0; !f->failed && i < json_object_array_length(turns); i++)
		fmsg_turn(f, msgs, json_object_array_get_idx(turns, i));
	if (!f->failed)
		fmsg_fields(f, req, chat);
}

enum im_rc facereq_messages(const char *text, size_t len, struct clientreq *out,
			    char *err, size_t errlen, const char **param)
{
	return facereq_translate(text, len, out, err, errlen, param, fmsg_fill);
}
