/* face_messages.c: Anthropic's Messages API as the client's face (see
 * face.h): canonical chunks become message_start, content blocks (text,
 * thinking, tool_use with input_json_delta), message_delta and
 * message_stop; a silent stream gets `ping` events; errors take
 * Anthropic's shape and status codes. Stop reasons come from the
 * anthropic dialect's table, read backwards. */
#include "face_messages.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "dialect_anthropic.h"
#include "jsonobj.h"

enum fm_block { FM_NONE, FM_TEXT, FM_THINKING, FM_TOOL };

struct fm_state {
	bool started, stopped;
	enum fm_block open;
	int block;              /* index of the open block; -1 before the first */
	int64_t tool;           /* canonical tool_calls index of the open tool block */
	const char *stop;       /* Anthropic stop_reason, static */
	int64_t in_tokens, out_tokens;
	char *id, *model;
};

static void *fm_state_new(void)
{
	struct fm_state *s = xcalloc(1, sizeof *s);
	s->block = -1;
	s->tool = -1;
	return s;
}

static void fm_state_free(void *st)
{
	struct fm_state *s = st;
	if (s == NULL)
		return;
	free(s->id);
	free(s->model);
	free(s);
}

static struct json_object *fm_new(const char *type)
{
	struct json_object *o = xcheck(json_object_new_object());
	json_object_object_add(o, "type", xcheck(json_object_new_string(type)));
	return o;
}

static void fm_add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? xcheck(json_object_new_string(v)) : NULL);
}

/* Emits `ev` (consumed) as an event named by its type. */
static enum im_rc fm_emit(struct buf *out, struct json_object *ev)
{
	enum im_rc rc = face_event(out, json_object_get_string(json_object_object_get(ev, "type")), ev);
	json_object_put(ev);
	return rc;
}

static struct json_object *fm_usage(const struct fm_state *s)
{
	struct json_object *u = xcheck(json_object_new_object());
	json_object_object_add(u, "input_tokens", json_object_new_int64(s->in_tokens));
	json_object_object_add(u, "output_tokens", json_object_new_int64(s->out_tokens));
	return u;
}

/* The message object, without content; message_start carries it. */
static struct json_object *fm_message(const struct fm_state *s)
{
	struct json_object *m = fm_new("message");
	fm_add_str(m, "id", s->id ? s->id : "msg_immortal");
	fm_add_str(m, "role", "assistant");
	fm_add_str(m, "model", s->model ? s->model : "");
	json_object_object_add(m, "content", xcheck(json_object_new_array()));
	fm_add_str(m, "stop_reason", s->stopped ? s->stop : NULL);
	json_object_object_add(m, "stop_sequence", NULL);
	json_object_object_add(m, "usage", fm_usage(s));
	return m;
}

/* message_start, once; `chunk` (NULL at a stream that ends before any)
 * gives the id and model. */
static enum im_rc fm_start(struct fm_state *s, struct json_object *chunk, struct buf *out)
{
	if (s->started)
		return IM_OK;
	s->started = true;
	const char *id = jsonobj_str(chunk, "id"), *model = jsonobj_str(chunk, "model");
	if (id != NULL)
		s->id = xasprintf("msg_%s", id);
	if (model != NULL)
		s->model = xstrdup(model);
	struct json_object *ev = fm_new("message_start");
	json_object_object_add(ev, "message", fm_message(s));
	return fm_emit(out, ev);
}

static enum im_rc fm_close(struct fm_state *s, struct buf *out)
{
	if (s->open == FM_NONE)
		return IM_OK;
	s->open = FM_NONE;
	s->tool = -1;
	struct json_object *ev = fm_new("content_block_stop");
	json_object_object_add(ev, "index", json_object_new_int(s->block));
	return fm_emit(out, ev);
}

/* Opens a block of `kind` (closing another first); `block` (consumed) is
 * the content_block of its start event. */
static enum im_rc fm_open(struct fm_state *s, enum fm_block kind, struct json_object *block,
			  struct buf *out)
{
	enum im_rc rc = fm_close(s, out);
	s->open = kind;
	s->block++;
	struct json_object *ev = fm_new("content_block_start");
	json_object_object_add(ev, "index", json_object_new_int(s->block));
	json_object_object_add(ev, "content_block", block);
	return rc == IM_OK ? fm_emit(out, ev) : (json_object_put(ev), rc);
}

static enum im_rc fm_delta(struct fm_state *s, const char *type, const char *key, const char *text,
			   struct buf *out)
{
	struct json_object *ev = fm_new("content_block_delta");
	struct json_object *d = fm_new(type);
	fm_add_str(d, key, text);
	json_object_object_add(ev, "index", json_object_new_int(s->block));
	json_object_object_add(ev, "delta", d);
	return fm_emit(out, ev);
}

static enum im_rc fm_text(void *st, bool thinking, const char *text, struct buf *out)
{
	struct fm_state *s = st;
	enum fm_block kind = thinking ? FM_THINKING : FM_TEXT;
	enum im_rc rc = IM_OK;

	if (text == NULL || *text == '\0')
		return IM_OK;
	if (s->open != kind) {
		struct json_object *b = fm_new(thinking ? "thinking" : "text");
		fm_add_str(b, thinking ? "thinking" : "text", "");
		if (thinking)
			fm_add_str(b, "signature", "");
		rc = fm_open(s, kind, b, out);
	}
	if (rc != IM_OK)
		return rc;
	return fm_delta(s, thinking ? "thinking_delta" : "text_delta", thinking ? "thinking" : "text",
			text, out);
}

static enum im_rc fm_tool(void *st, struct json_object *tc, struct buf *out)
{
	struct fm_state *s = st;
	struct json_object *fn = json_object_object_get(tc, "function"), *v;
	int64_t index = json_object_object_get_ex(tc, "index", &v) ? json_object_get_int64(v) : 0;
	enum im_rc rc = IM_OK;

	if (s->open != FM_TOOL || s->tool != index) {
		struct json_object *b = fm_new("tool_use");
		fm_add_str(b, "id", jsonobj_str(tc, "id") ? jsonobj_str(tc, "id") : "toolu_immortal");
		fm_add_str(b, "name", jsonobj_str(fn, "name") ? jsonobj_str(fn, "name") : "");
		json_object_object_add(b, "input", xcheck(json_object_new_object()));
		rc = fm_open(s, FM_TOOL, b, out);
		s->tool = index;
	}
	const char *args = jsonobj_str(fn, "arguments");
	if (rc != IM_OK || args == NULL || *args == '\0')
		return rc;
	return fm_delta(s, "input_json_delta", "partial_json", args, out);
}

static void fm_note_end(struct fm_state *s, struct json_object *chunk, struct json_object *choice)
{
	struct json_object *usage;
	const char *finish = jsonobj_str(choice, "finish_reason");

	if (finish != NULL) {
		s->stopped = true;
		s->stop = face_messages_stop_reason(finish);
	}
	if (json_object_object_get_ex(chunk, "usage", &usage) && usage != NULL) {
		s->in_tokens = jsonobj_count(usage, "prompt_tokens");
		s->out_tokens = jsonobj_count(usage, "completion_tokens");
	}
}

static enum im_rc fm_chunk_obj(void *st, struct json_object *chunk, struct buf *out)
{
	struct fm_state *s = st;
	struct json_object *choice = face_choice(chunk);
	enum im_rc rc = fm_start(s, chunk, out);

	if (rc == IM_OK)
		rc = face_delta(choice, s, fm_text, fm_tool, out);
	fm_note_end(s, chunk, choice);
	return rc;
}

static enum im_rc fm_chunk(void *st, const struct canon *c, struct buf *out)
{
	return face_chunk_via(st, c, out, fm_chunk_obj);
}

static enum im_rc fm_done(void *st, struct buf *out)
{
	struct fm_state *s = st;
	enum im_rc rc = fm_start(s, NULL, out);

	if (rc == IM_OK)
		rc = fm_close(s, out);
	if (rc != IM_OK)
		return rc;
	struct json_object *ev = fm_new("message_delta");
	struct json_object *d = xcheck(json_object_new_object());
	fm_add_str(d, "stop_reason", s->stop ? s->stop : "end_turn");
	json_object_object_add(d, "stop_sequence", NULL);
	json_object_object_add(ev, "delta", d);
	json_object_object_add(ev, "usage", fm_usage(s));
	if ((rc = fm_emit(out, ev)) != IM_OK)
		return rc;
	return fm_emit(out, fm_new("message_stop"));
}

/* Anthropic's status codes and error types, by the status immortal chose. */
static const struct {
	int status;
	int to;
	const char *type;
} fm_statuses[] = {
	{ 400, 400, "invalid_request_error" }, { 401, 401, "authentication_error" },
	{ 402, 402, "billing_error" },         { 403, 403, "permission_error" },
	{ 404, 404, "not_found_error" },       { 405, 405, "invalid_request_error" },
	{ 413, 413, "request_too_large" },     { 429, 429, "rate_limit_error" },
	{ 502, 529, "overloaded_error" },      { 503, 529, "overloaded_error" },
	{ 504, 504, "timeout_error" },         { 529, 529, "overloaded_error" },
};

const char *face_messages_error_type(int *status)
{
	for (size_t i = 0; i < sizeof fm_statuses / sizeof fm_statuses[0]; i++)
		if (fm_statuses[i].status == *status) {
			*status = fm_statuses[i].to;
			return fm_statuses[i].type;
		}
	if (*status >= 500) {
		*status = 500;
		return "api_error";
	}
	*status = 400;
	return "invalid_request_error";
}

/* {"type":"error","error":{"type","message"}} for an OpenAI-shaped error. */
static enum im_rc fm_error_body(const char *type, const char *error_json, struct buf *out, bool sse)
{
	struct json_object *root;
	const char *message, *otype, *code;

	face_error_parts(error_json, &root, &message, &otype, &code);
	struct json_object *ev = fm_new("error"), *inner = fm_new(type);
	fm_add_str(inner, "message", message);
	json_object_object_add(ev, "error", inner);
	enum im_rc rc;
	if (sse) {
		rc = fm_emit(out, ev);
	} else {
		rc = face_write(out, ev);
		json_object_put(ev);
	}
	json_object_put(root);
	return rc;
}

/* An in-band error keeps an Anthropic type it already has (an anthropic
 * upstream's own error); anything else broke upstream: overloaded. */
static enum im_rc fm_error(void *st, const char *error_json, struct buf *out)
{
	struct json_object *root;
	const char *message, *type, *code;

	(void)st;
	face_error_parts(error_json, &root, &message, &type, &code);
	const char *atype = "overloaded_error";
	for (const struct anthropic_error_type *t = anthropic_error_types; t->type; t++)
		if (strcmp(t->type, type) == 0)
			atype = t->type;   /* static, unlike `type`, which dies with root */
	enum im_rc rc = fm_error_body(atype, error_json, out, true);
	json_object_put(root);
	return rc;
}

enum im_rc face_messages_error_answer(int *status, const char *error_json, struct buf *out)
{
	return fm_error_body(face_messages_error_type(status), error_json, out, false);
}

/* The whole message: its blocks gathered, its stop reason as the stream
 * state saw it. */
static struct json_object *fm_whole(void *st, struct json_object *chunk, struct buf *scratch,
				    enum im_rc *rc)
{
	struct fm_state *s = st;

	(void)rc;
	(void)fm_chunk_obj(s, chunk, scratch);
	struct json_object *m = fm_message(s);
	face_messages_blocks(chunk, json_object_object_get(m, "content"));
	if (!s->stopped)
		fm_add_str(m, "stop_reason", "end_turn");
	return m;
}

static enum im_rc fm_answer(void *st, const struct canon *completion, struct buf *out)
{
	(void)st;
	return face_answer_via(&face_messages, completion, fm_whole, out);
}

void face_messages_blocks(struct json_object *chunk, struct json_object *content)
{
	struct json_object *delta = face_delta_of(face_choice(chunk)), *calls;
	const char *r, *t;

	r = jsonobj_str(delta, "reasoning_content") ? jsonobj_str(delta, "reasoning_content")
						 : jsonobj_str(delta, "reasoning");
	if (r != NULL && *r) {
		struct json_object *b = fm_new("thinking");
		fm_add_str(b, "thinking", r);
		fm_add_str(b, "signature", "");
		json_object_array_add(content, b);
	}
	if ((t = jsonobj_str(delta, "content")) != NULL && *t) {
		struct json_object *b = fm_new("text");
		fm_add_str(b, "text", t);
		json_object_array_add(content, b);
	}
	if (!json_object_object_get_ex(delta, "tool_calls", &calls) ||
	    !json_object_is_type(calls, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(calls); i++) {
		struct json_object *tc = json_object_array_get_idx(calls, i);
		struct json_object *fn = json_object_object_get(tc, "function");
		const char *args = jsonobj_str(fn, "arguments");
		struct json_object *input = args ? json_tokener_parse(args) : NULL;
		struct json_object *b = fm_new("tool_use");
		fm_add_str(b, "id", jsonobj_str(tc, "id") ? jsonobj_str(tc, "id") : "toolu_immortal");
		fm_add_str(b, "name", jsonobj_str(fn, "name") ? jsonobj_str(fn, "name") : "");
		if (!json_object_is_type(input, json_type_object)) {
			json_object_put(input);
			input = xcheck(json_object_new_object());
		}
		json_object_object_add(b, "input", input);
		json_object_array_add(content, b);
	}
}

const char *face_messages_stop_reason(const char *finish_reason)
{
	for (const struct anthropic_pair *p = anthropic_stop_reasons; p->from; p++)
		if (strcmp(p->to, finish_reason) == 0)
			return p->from;
	return "end_turn";
}

const struct face face_messages = {
	.name = "messages",
	.stream_type = "text/event-stream",
	.keepalive = "event: ping\ndata: {\"type\":\"ping\"}\n\n",
	.state_new = fm_state_new,
	.state_free = fm_state_free,
	.chunk = fm_chunk,
	.done = fm_done,
	.error = fm_error,
	.answer = fm_answer,
	.error_answer = face_messages_error_answer,
};
