/* face_responses.c: the Responses API face (see face_responses.h).
 *
 * One output item is open at a time (reasoning, a message, or a function
 * call); a chunk of another kind closes it with its *.done events, which
 * carry the text gathered meanwhile. Every finished item is kept for
 * response.completed, which repeats the whole output as the API does. */
#include "face_responses.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "alloc.h"
#include "jsonobj.h"

#define FR_TEXT_MAX (64u << 20)

enum fr_item { FR_NONE, FR_REASONING, FR_MESSAGE, FR_CALL };

struct fr_state {
	int64_t seq;
	bool started;
	char *id, *model;
	int64_t created;
	struct json_object *output;   /* finished items */
	enum fr_item open;
	char *item_id;
	int64_t tool;                 /* canonical tool_calls index of the open call */
	char *call_id, *name;
	struct buf text;              /* the open item's text or arguments */
	const char *finish;
	struct json_object *usage;    /* the canonical usage, or NULL */
};

static void *fr_state_new(void)
{
	struct fr_state *s = xcalloc(1, sizeof *s);
	s->output = xcheck(json_object_new_array());
	s->tool = -1;
	buf_init(&s->text, FR_TEXT_MAX);
	return s;
}

static void fr_state_free(void *st)
{
	struct fr_state *s = st;
	if (s == NULL)
		return;
	free(s->id);
	free(s->model);
	free(s->item_id);
	free(s->call_id);
	free(s->name);
	buf_free(&s->text);
	json_object_put(s->output);
	json_object_put(s->usage);
	free(s);
}

static void fr_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? xcheck(json_object_new_string(v)) : NULL);
}

static void fr_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, xcheck(json_object_new_int64(v)));
}

static struct json_object *fr_typed(const char *type)
{
	struct json_object *o = xcheck(json_object_new_object());
	fr_str(o, "type", type);
	return o;
}

/* Emits `ev` (consumed) with the next sequence number. */
static enum im_rc fr_emit(struct fr_state *s, struct buf *out, struct json_object *ev)
{
	fr_int(ev, "sequence_number", s->seq++);
	enum im_rc rc = face_event(out, jsonobj_str(ev, "type"), ev);
	json_object_put(ev);
	return rc;
}

static struct json_object *fr_usage(const struct fr_state *s)
{
	struct json_object *u = xcheck(json_object_new_object()), *d;
	/* counts capped by jsonobj_count: the sum below cannot overflow */
	int64_t in = jsonobj_count(s->usage, "prompt_tokens");
	int64_t outn = jsonobj_count(s->usage, "completion_tokens");
	int64_t reasoning = jsonobj_count(jsonobj_get(s->usage, "completion_tokens_details"), "reasoning_tokens");
	int64_t cached = jsonobj_count(jsonobj_get(s->usage, "prompt_tokens_details"), "cached_tokens");

	fr_int(u, "input_tokens", in);
	d = xcheck(json_object_new_object());
	fr_int(d, "cached_tokens", cached);
	json_object_object_add(u, "input_tokens_details", d);
	fr_int(u, "output_tokens", outn);
	d = xcheck(json_object_new_object());
	fr_int(d, "reasoning_tokens", reasoning);
	json_object_object_add(u, "output_tokens_details", d);
	fr_int(u, "total_tokens", in + outn);
	return u;
}

/* The response object in `status`; with its output and usage once done. */
static struct json_object *fr_response(const struct fr_state *s, const char *status, bool done)
{
	struct json_object *r = xcheck(json_object_new_object());
	fr_str(r, "id", s->id ? s->id : "resp_immortal");
	fr_str(r, "object", "response");
	fr_int(r, "created_at", s->created);
	fr_str(r, "status", status);
	fr_str(r, "model", s->model ? s->model : "");
	json_object_object_add(r, "output", done ? json_object_get(s->output)
						 : xcheck(json_object_new_array()));
	json_object_object_add(r, "error", NULL);
	struct json_object *inc = NULL;
	if (done && strcmp(status, "incomplete") == 0) {
		inc = xcheck(json_object_new_object());
		fr_str(inc, "reason", s->finish && strcmp(s->finish, "content_filter") == 0
					      ? "content_filter" : "max_output_tokens");
	}
	json_object_object_add(r, "incomplete_details", inc);
	json_object_object_add(r, "parallel_tool_calls", json_object_new_boolean(1));
	fr_str(r, "tool_choice", "auto");
	json_object_object_add(r, "tools", xcheck(json_object_new_array()));
	json_object_object_add(r, "metadata", xcheck(json_object_new_object()));
	json_object_object_add(r, "usage", done ? fr_usage(s) : NULL);
	return r;
}

/* response.created and .in_progress, once; `chunk` (NULL at a stream that
 * ends before any) gives the id, model and time. */
static enum im_rc fr_start(struct fr_state *s, struct json_object *chunk, struct buf *out)
{
	struct json_object *v;

	if (s->started)
		return IM_OK;
	s->started = true;
	const char *id = jsonobj_str(chunk, "id"), *model = jsonobj_str(chunk, "model");
	s->id = xasprintf("resp_%s", id ? id : "immortal");
	s->model = model ? xstrdup(model) : NULL;
	s->created = json_object_object_get_ex(chunk, "created", &v) ? json_object_get_int64(v)
								     : (int64_t)time(NULL);
	static const char *const names[] = { "response.created", "response.in_progress" };
	for (size_t i = 0; i < 2; i++) {
		struct json_object *ev = fr_typed(names[i]);
		json_object_object_add(ev, "response", fr_response(s, "in_progress", false));
		enum im_rc rc = fr_emit(s, out, ev);
		if (rc != IM_OK)
			return rc;
	}
	return IM_OK;
}

/* An event about the open item: its id and output index filled in. */
static struct json_object *fr_item_event(const struct fr_state *s, const char *type)
{
	struct json_object *ev = fr_typed(type);
	fr_str(ev, "item_id", s->item_id);
	fr_int(ev, "output_index", (int64_t)json_object_array_length(s->output));
	return ev;
}

/* The open item as it stands (`status`), a new object. */
static struct json_object *fr_item(const struct fr_state *s, const char *status)
{
	const char *text = buf_str(&s->text);
	struct json_object *it, *part, *arr = xcheck(json_object_new_array());

	switch (s->open) {
	case FR_REASONING:
		it = fr_typed("reasoning");
		fr_str(it, "id", s->item_id);
		if (status != NULL) {
			part = fr_typed("summary_text");
			fr_str(part, "text", text);
			json_object_array_add(arr, part);
		}
		json_object_object_add(it, "summary", arr);
		return it;
	case FR_MESSAGE:
		it = fr_typed("message");
		fr_str(it, "id", s->item_id);
		fr_str(it, "status", status ? status : "in_progress");
		fr_str(it, "role", "assistant");
		if (status != NULL) {
			part = fr_typed("output_text");
			fr_str(part, "text", text);
			json_object_object_add(part, "annotations", xcheck(json_object_new_array()));
			json_object_array_add(arr, part);
		}
		json_object_object_add(it, "content", arr);
		return it;
	default:
		json_object_put(arr);
		it = fr_typed("function_call");
		fr_str(it, "id", s->item_id);
		fr_str(it, "status", status ? status : "in_progress");
		fr_str(it, "call_id", s->call_id);
		fr_str(it, "name", s->name ? s->name : "");
		fr_str(it, "arguments", text);
		return it;
	}
}

/* The part event of a reasoning summary or a message's text. */
static enum im_rc fr_part(struct fr_state *s, const char *phase, struct buf *out)
{
	bool reasoning = s->open == FR_REASONING;
	char type[64];
	snprintf(type, sizeof type, "response.%s.%s",
		 reasoning ? "reasoning_summary_part" : "content_part", phase);
	struct json_object *ev = fr_item_event(s, type);
	struct json_object *part = fr_typed(reasoning ? "summary_text" : "output_text");
	fr_str(part, "text", buf_str(&s->text));
	if (!reasoning)
		json_object_object_add(part, "annotations", xcheck(json_object_new_array()));
	fr_int(ev, reasoning ? "summary_index" : "content_index", 0);
	json_object_object_add(ev, "part", part);
	return fr_emit(s, out, ev);
}

static enum im_rc fr_close(struct fr_state *s, struct buf *out)
{
	static const char *const done_names[] = {
		[FR_REASONING] = "response.reasoning_summary_text.done",
		[FR_MESSAGE] = "response.output_text.done",
		[FR_CALL] = "response.function_call_arguments.done",
	};
	enum im_rc rc;

	if (s->open == FR_NONE)
		return IM_OK;
	struct json_object *ev = fr_item_event(s, done_names[s->open]);
	if (s->open == FR_CALL) {
		fr_str(ev, "arguments", buf_str(&s->text));
	} else {
		fr_int(ev, s->open == FR_REASONING ? "summary_index" : "content_index", 0);
		fr_str(ev, "text", buf_str(&s->text));
	}
	if ((rc = fr_emit(s, out, ev)) != IM_OK)
		return rc;
	if (s->open != FR_CALL && (rc = fr_part(s, "done", out)) != IM_OK)
		return rc;
	ev = fr_item_event(s, "response.output_item.done");
	struct json_object *item = fr_item(s, "completed");
	json_object_object_add(ev, "item", json_object_get(item));
	rc = fr_emit(s, out, ev);
	json_object_array_add(s->output, item);
	s->open = FR_NONE;
	s->tool = -1;
	buf_reset(&s->text);
	return rc;
}

static enum im_rc fr_open(struct fr_state *s, enum fr_item kind, struct buf *out)
{
	static const char *const prefixes[] = { [FR_REASONING] = "rs", [FR_MESSAGE] = "msg",
						[FR_CALL] = "fc" };
	enum im_rc rc = fr_close(s, out);
	if (rc != IM_OK)
		return rc;
	s->open = kind;
	free(s->item_id);
	s->item_id = xasprintf("%s_%s_%zu", prefixes[kind], s->id + 5,
			       json_object_array_length(s->output));
	struct json_object *ev = fr_item_event(s, "response.output_item.added");
	json_object_object_add(ev, "item", fr_item(s, NULL));
	if ((rc = fr_emit(s, out, ev)) != IM_OK || kind == FR_CALL)
		return rc;
	return fr_part(s, "added", out);
}

static enum im_rc fr_text(void *st, bool reasoning, const char *text, struct buf *out)
{
	struct fr_state *s = st;
	enum fr_item kind = reasoning ? FR_REASONING : FR_MESSAGE;
	enum im_rc rc = IM_OK;

	if (text == NULL || *text == '\0')
		return IM_OK;
	if (s->open != kind)
		rc = fr_open(s, kind, out);
	if (rc != IM_OK || buf_append_str(&s->text, text) != IM_OK)
		return IM_ETOOBIG;
	struct json_object *ev = fr_item_event(s, kind == FR_REASONING
						  ? "response.reasoning_summary_text.delta"
						  : "response.output_text.delta");
	fr_int(ev, kind == FR_REASONING ? "summary_index" : "content_index", 0);
	fr_str(ev, "delta", text);
	return fr_emit(s, out, ev);
}

static enum im_rc fr_call(void *st, struct json_object *tc, struct buf *out)
{
	struct fr_state *s = st;
	struct json_object *fn = json_object_object_get(tc, "function"), *v;
	int64_t index = json_object_object_get_ex(tc, "index", &v) ? json_object_get_int64(v) : 0;
	enum im_rc rc = IM_OK;

	if (s->open != FR_CALL || s->tool != index) {
		const char *id = jsonobj_str(tc, "id"), *name = jsonobj_str(fn, "name");
		free(s->call_id);
		free(s->name);
		s->call_id = xstrdup(id ? id : "call_immortal");
		s->name = name ? xstrdup(name) : NULL;
		rc = fr_open(s, FR_CALL, out);
		s->tool = index;
	}
	const char *args = jsonobj_str(fn, "arguments");
	if (rc != IM_OK || args == NULL || *args == '\0')
		return rc;
	if (buf_append_str(&s->text, args) != IM_OK)
		return IM_ETOOBIG;
	struct json_object *ev = fr_item_event(s, "response.function_call_arguments.delta");
	fr_str(ev, "delta", args);
	return fr_emit(s, out, ev);
}

static enum im_rc fr_chunk_obj(void *st, struct json_object *chunk, struct buf *out)
{
	struct fr_state *s = st;
	struct json_object *choice = face_choice(chunk), *usage;
	enum im_rc rc = fr_start(s, chunk, out);

	if (rc == IM_OK)
		rc = face_delta(choice, s, fr_text, fr_call, out);
	const char *finish = jsonobj_str(choice, "finish_reason");
	if (finish != NULL)
		s->finish = strcmp(finish, "length") == 0 ? "length"
			  : strcmp(finish, "content_filter") == 0 ? "content_filter" : "stop";
	if (json_object_object_get_ex(chunk, "usage", &usage) &&
	    json_object_is_type(usage, json_type_object)) {
		json_object_put(s->usage);
		s->usage = json_object_get(usage);
	}
	return rc;
}

static enum im_rc fr_chunk(void *st, const struct canon *c, struct buf *out)
{
	return face_chunk_via(st, c, out, fr_chunk_obj);
}

static const char *fr_final_status(const struct fr_state *s)
{
	return s->finish && strcmp(s->finish, "stop") != 0 ? "incomplete" : "completed";
}

/* Closes what is open; the final event (response.completed) unless NULL. */
static enum im_rc fr_finish(struct fr_state *s, struct buf *out, bool event)
{
	enum im_rc rc = fr_start(s, NULL, out);

	if (rc == IM_OK)
		rc = fr_close(s, out);
	if (rc != IM_OK || !event)
		return rc;
	const char *status = fr_final_status(s);
	struct json_object *ev = fr_typed(strcmp(status, "completed") == 0 ? "response.completed"
									  : "response.incomplete");
	json_object_object_add(ev, "response", fr_response(s, status, true));
	return fr_emit(s, out, ev);
}

static enum im_rc fr_done(void *st, struct buf *out)
{
	return fr_finish(st, out, true);
}

static enum im_rc fr_error(void *st, const char *error_json, struct buf *out)
{
	struct fr_state *s = st;
	struct json_object *root;
	const char *message, *type, *code;

	face_error_parts(error_json, &root, &message, &type, &code);
	struct json_object *r = fr_response(s, "failed", true);
	struct json_object *err = xcheck(json_object_new_object());
	fr_str(err, "code", code ? code : type);
	fr_str(err, "message", message);
	json_object_object_add(r, "error", err);
	json_object_put(root);
	struct json_object *ev = fr_typed("response.failed");
	json_object_object_add(ev, "response", r);
	return fr_emit(s, out, ev);
}

/* The whole response, as response.completed would carry it. */
static struct json_object *fr_whole(void *st, struct json_object *chunk, struct buf *scratch,
				    enum im_rc *rc)
{
	struct fr_state *s = st;

	*rc = fr_chunk_obj(s, chunk, scratch);
	if (*rc == IM_OK)
		*rc = fr_finish(s, scratch, false);
	return fr_response(s, fr_final_status(s), true);
}

static enum im_rc fr_answer(void *st, const struct canon *completion, struct buf *out)
{
	(void)st;
	return face_answer_via(&face_responses, completion, fr_whole, out);
}

const struct face face_responses = {
	.name = "responses",
	.stream_type = "text/event-stream",
	.keepalive = ": keep-alive\n\n",
	.state_new = fr_state_new,
	.state_free = fr_state_free,
	.chunk = fr_chunk,
	.done = fr_done,
	.error = fr_error,
	.answer = fr_answer,
};
