/* dialect_gemini_decode.c: Gemini's answers as canonical chat chunks and
 * completions (see dialect_gemini.h).
 *
 * A stream is a sequence of whole responses, one per `data:` event, each
 * holding the next parts of candidate 0: text, thought text (reasoning)
 * and whole function calls. The event with a finishReason is the last;
 * Gemini sends no [DONE], so the end of the body after it is the end and
 * an end without it a break. Function calls get ids here (Gemini has
 * none) and carry their thoughtSignature to the client, which hands it
 * back with the call in its next turn (dialect_gemini.c). */
#include "dialect_gemini.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "chat.h"
#include "jsonparse.h"
#include "log.h"
#include "sse.h"

#define GEM_EVENT_MAX (8u << 20)
#define GEM_TOKENS_MAX 1000000000000ll   /* keeps sums of token counts far from overflow */
#define GEM_ANSWER_MAX (64u << 20)
#define GEM_TOOLS_MAX 1024

struct dialect_stream {
	struct sse_parser sse;
	struct dialect_out out;
	const char *request_id;      /* borrowed from the call */
	bool began;
	bool role_sent;
	bool finished;
	bool said;                   /* content, reasoning or a call went out */
	bool usage_wanted;
	struct json_object *id;      /* of the chunks: chatcmpl-<responseId> */
	struct json_object *model;
	int64_t created;
	int64_t prompt_tokens;
	int64_t completion_tokens;
	int n_tools;
};

/* ---- helpers ------------------------------------------------------------------------ */

static int64_t gem_tokens(struct json_object *usage, const char *key)
{
	struct json_object *v = gemini_get(usage, key);
	int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
	return n < 0 ? 0 : n > GEM_TOKENS_MAX ? GEM_TOKENS_MAX : n;
}

/* Prompt tokens, and the answer's: candidates and thoughts together, as
 * OpenAI counts reasoning in completion_tokens. */
static void gem_usage_read(struct json_object *usage, int64_t *prompt, int64_t *completion)
{
	if (gemini_get(usage, "promptTokenCount") != NULL)
		*prompt = gem_tokens(usage, "promptTokenCount");
	if (gemini_get(usage, "candidatesTokenCount") != NULL || gemini_get(usage, "thoughtsTokenCount") != NULL)
		*completion = gem_tokens(usage, "candidatesTokenCount") + gem_tokens(usage, "thoughtsTokenCount");
}

static struct json_object *gem_usage(int64_t prompt, int64_t completion)
{
	struct json_object *u = xcheck(json_object_new_object());
	gemini_set(u, "prompt_tokens", json_object_new_int64(prompt));
	gemini_set(u, "completion_tokens", json_object_new_int64(completion));
	gemini_set(u, "total_tokens", json_object_new_int64(prompt + completion));
	return u;
}

static struct json_object *gem_chat_id(struct json_object *response)
{
	const char *id = gemini_str(response, "responseId");
	char *s = xasprintf("chatcmpl-%.128s", id ? id : "gemini");
	struct json_object *o = xcheck(json_object_new_string(s));
	free(s);
	return o;
}

/* The finish_reason for a finishReason: STOP after function calls is
 * tool_calls (OpenAI clients' tool loops wait for it); an unknown reason
 * is stop, logged. */
static const char *gem_finish(const char *reason, bool tools, const char *request_id)
{
	const char *mapped = gemini_finish_reason(reason);

	if (mapped == NULL) {
		log_info(LOG_S("req", request_id), LOG_MSG("a gemini finishReason with no OpenAI counterpart: stop"),
			 LOG_S("finish_reason", reason));
		mapped = "stop";
	}
	return tools && strcmp(mapped, "stop") == 0 ? "tool_calls" : mapped;
}

static struct json_object *gem_candidate(struct json_object *response)
{
	struct json_object *c = gemini_get(response, "candidates");
	return json_object_is_type(c, json_type_array) && json_object_array_length(c) > 0
		? json_object_array_get_idx(c, 0) : NULL;
}

static struct json_object *gem_parts(struct json_object *candidate)
{
	struct json_object *p = gemini_get(gemini_get(candidate, "content"), "parts");
	return json_object_is_type(p, json_type_array) ? p : NULL;
}

static bool gem_is_thought(struct json_object *part)
{
	struct json_object *t = gemini_get(part, "thought");
	return json_object_is_type(t, json_type_boolean) && json_object_get_boolean(t);
}

/* A tool call of an OpenAI answer for a functionCall part, with `index`
 * when >= 0 (stream deltas carry it), a fresh id and the part's
 * thoughtSignature. */
static struct json_object *gem_tool_call(struct json_object *part, int index)
{
	struct json_object *fc = gemini_get(part, "functionCall");
	struct json_object *args = gemini_get(fc, "args");
	const char *sig = gemini_str(part, "thoughtSignature");
	struct json_object *call = xcheck(json_object_new_object());
	struct json_object *fn = xcheck(json_object_new_object());
	char *id = xasprintf("call_%08x%08x%08x", arc4random(), arc4random(), arc4random());

	if (index >= 0)
		gemini_set(call, "index", json_object_new_int(index));
	gemini_set(call, "id", json_object_new_string(id));
	gemini_set(call, "type", json_object_new_string("function"));
	gemini_set(fn, "name", json_object_new_string(gemini_str(fc, "name") ? gemini_str(fc, "name") : ""));
	gemini_set(fn, "arguments", json_object_new_string(
			args ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
			     : "{}"));
	gemini_set(call, "function", fn);
	if (sig != NULL)
		gemini_set(call, "thought_signature", json_object_new_string(sig));
	free(id);
	return call;
}

/* ---- stream: chunks ------------------------------------------------------------------- */

static void gem_identify(struct dialect_stream *st, struct json_object *response)
{
	const char *model = gemini_str(response, "modelVersion");

	if (st->id != NULL)
		return;
	st->id = gem_chat_id(response);
	st->model = xcheck(json_object_new_string(model ? model : ""));
	st->created = (int64_t)time(NULL);
}

static struct json_object *gem_chunk_new(struct dialect_stream *st)
{
	struct json_object *o = xcheck(json_object_new_object());

	gem_identify(st, NULL);
	gemini_set(o, "id", json_object_get(st->id));
	gemini_set(o, "object", json_object_new_string("chat.completion.chunk"));
	gemini_set(o, "created", json_object_new_int64(st->created));
	gemini_set(o, "model", json_object_get(st->model));
	return o;
}

static enum im_rc gem_emit(struct dialect_stream *st, struct json_object *chunk)
{
	enum im_rc rc = st->out.chunk(st->out.ctx, &(struct canon){ .obj = chunk });
	json_object_put(chunk);
	return rc;
}

/* A chunk of choice 0 with `delta` (taken) and a finish reason or null. */
static enum im_rc gem_emit_delta(struct dialect_stream *st, struct json_object *delta,
				 const char *finish)
{
	struct json_object *o = gem_chunk_new(st);
	struct json_object *choice = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());

	gemini_set(choice, "index", json_object_new_int(0));
	gemini_set(choice, "delta", delta);
	json_object_object_add(choice, "finish_reason", finish ? xcheck(json_object_new_string(finish)) : NULL);
	json_object_array_add(choices, choice);
	gemini_set(o, "choices", choices);
	return gem_emit(st, o);
}

static enum im_rc gem_emit_role(struct dialect_stream *st)
{
	struct json_object *delta = xcheck(json_object_new_object());

	st->role_sent = true;
	gemini_set(delta, "role", json_object_new_string("assistant"));
	gemini_set(delta, "content", json_object_new_string(""));
	return gem_emit_delta(st, delta, NULL);
}

static enum im_rc gem_emit_part(struct dialect_stream *st, struct json_object *part)
{
	struct json_object *delta;
	const char *text = gemini_str(part, "text");

	if (gemini_get(part, "functionCall") != NULL) {
		struct json_object *calls = xcheck(json_object_new_array());
		if (st->n_tools >= GEM_TOOLS_MAX)
			return IM_ETOOBIG;
		json_object_array_add(calls, gem_tool_call(part, st->n_tools++));
		st->said = true;
		delta = xcheck(json_object_new_object());
		gemini_set(delta, "tool_calls", calls);
		return gem_emit_delta(st, delta, NULL);
	}
	if (text == NULL || *text == '\0')
		return IM_OK;
	st->said = true;
	delta = xcheck(json_object_new_object());
	gemini_set(delta, gem_is_thought(part) ? "reasoning_content" : "content", json_object_new_string(text));
	return gem_emit_delta(st, delta, NULL);
}

static enum im_rc gem_blocked(struct dialect_stream *st, const char *reason);

static enum im_rc gem_emit_finish(struct dialect_stream *st, const char *reason)
{
	const char *finish = gem_finish(reason, st->n_tools > 0, st->request_id);
	enum im_rc rc;

	st->finished = true;
	if (!st->said && strcmp(finish, "content_filter") == 0)
		return gem_blocked(st, reason);   /* refused before a word: the filter's error */
	rc = gem_emit_delta(st, xcheck(json_object_new_object()), finish);
	if (rc != IM_OK || !st->usage_wanted)
		return rc;
	struct json_object *o = gem_chunk_new(st);
	gemini_set(o, "choices", json_object_new_array());
	gemini_set(o, "usage", gem_usage(st->prompt_tokens, st->completion_tokens));
	return gem_emit(st, o);
}

/* ---- stream: events -------------------------------------------------------------------- */

static enum im_rc gem_error_event(struct dialect_stream *st, struct json_object *error)
{
	enum errkind kind = gemini_error_kind(gemini_str(error, "status"));

	return st->out.error(st->out.ctx, kind == ERRKIND_COUNT ? ERRKIND_INVALID_RESPONSE : kind,
			     gemini_str(error, "message"));
}

/* A refused prompt or answer: the provider's content filter, as an error. */
static enum im_rc gem_blocked(struct dialect_stream *st, const char *reason)
{
	char message[128];

	snprintf(message, sizeof message, "Gemini blocked the content (%.64s)", reason);
	return st->out.error(st->out.ctx, ERRKIND_CONTENT_FILTER, message);
}

static enum im_rc gem_response(struct dialect_stream *st, struct json_object *response)
{
	struct json_object *error = gemini_error_object(response);
	const char *blocked = gemini_str(gemini_get(response, "promptFeedback"), "blockReason");
	struct json_object *candidate = gem_candidate(response);
	struct json_object *parts = gem_parts(candidate);
	const char *finish = gemini_str(candidate, "finishReason");
	enum im_rc rc = IM_OK;

	if (error != NULL)
		return gem_error_event(st, error);
	if (blocked != NULL && candidate == NULL)
		return gem_blocked(st, blocked);
	if (st->finished)
		return IM_OK;   /* nothing counts after the last event */
	gem_identify(st, response);
	gem_usage_read(gemini_get(response, "usageMetadata"), &st->prompt_tokens, &st->completion_tokens);
	if (!st->role_sent)
		rc = gem_emit_role(st);
	for (size_t i = 0; rc == IM_OK && parts != NULL && i < json_object_array_length(parts); i++)
		rc = gem_emit_part(st, json_object_array_get_idx(parts, i));
	if (rc == IM_OK && finish != NULL)
		rc = gem_emit_finish(st, finish);
	return rc;
}

static enum im_rc gem_on_event(void *ctx, const struct sse_event *ev)
{
	struct dialect_stream *st = ctx;
	struct json_object *obj;
	enum im_rc rc;

	if (ev->is_comment)
		return IM_OK;
	st->began = true;
	obj = jsonparse(ev->data);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		st->out.dropped(st->out.ctx, ev->data_len);
		json_object_put(obj);
		return IM_OK;
	}
	rc = gem_response(st, obj);
	json_object_put(obj);
	return rc;
}

struct dialect_stream *gemini_stream_new(const struct dialect_out *out,
					 const struct dialect_call *call)
{
	struct dialect_stream *st = xcalloc(1, sizeof *st);

	st->out = *out;
	st->request_id = call->request_id;
	st->usage_wanted = call->want_usage || call->client_usage;
	sse_parser_init(&st->sse, GEM_EVENT_MAX, gem_on_event, st);
	return st;
}

enum im_rc gemini_stream_feed(struct dialect_stream *st, const char *data, size_t len)
{
	return sse_parser_feed(&st->sse, data, len);
}

enum im_rc gemini_stream_finish(struct dialect_stream *st)
{
	enum im_rc rc = sse_parser_finish(&st->sse);

	if (rc == IM_OK && st->finished)
		st->out.done(st->out.ctx);   /* Gemini's end: the body's, after a finishReason */
	return rc;
}

bool gemini_stream_began(const struct dialect_stream *st)
{
	return st->began;
}

void gemini_stream_free(struct dialect_stream *st)
{
	if (st == NULL)
		return;
	sse_parser_free(&st->sse);
	json_object_put(st->id);
	json_object_put(st->model);
	free(st);
}

/* ---- whole answers ---------------------------------------------------------------------- */

/* The assistant message of candidate 0's parts; *tools: it holds calls. */
static struct json_object *gem_message(struct json_object *parts, bool *tools)
{
	struct json_object *msg = xcheck(json_object_new_object());
	struct json_object *calls = xcheck(json_object_new_array());
	struct buf text, reasoning;

	buf_init(&text, GEM_ANSWER_MAX);
	buf_init(&reasoning, GEM_ANSWER_MAX);
	for (size_t i = 0; parts != NULL && i < json_object_array_length(parts); i++) {
		struct json_object *part = json_object_array_get_idx(parts, i);
		const char *s = gemini_str(part, "text");
		if (gemini_get(part, "functionCall") != NULL && json_object_array_length(calls) < GEM_TOOLS_MAX)
			json_object_array_add(calls, gem_tool_call(part, -1));
		else if (s != NULL)
			(void)buf_append_str(gem_is_thought(part) ? &reasoning : &text, s);
	}
	gemini_set(msg, "role", json_object_new_string("assistant"));
	json_object_object_add(msg, "content", text.len || json_object_array_length(calls) == 0
		? xcheck(json_object_new_string_len(buf_str(&text), (int)text.len)) : NULL);
	if (reasoning.len > 0)
		gemini_set(msg, "reasoning_content", json_object_new_string_len(buf_str(&reasoning), (int)reasoning.len));
	*tools = json_object_array_length(calls) > 0;
	if (*tools)
		gemini_set(msg, "tool_calls", calls);
	else
		json_object_put(calls);
	buf_free(&text);
	buf_free(&reasoning);
	return msg;
}

static struct json_object *gem_completion(struct json_object *root)
{
	struct json_object *c = xcheck(json_object_new_object());
	struct json_object *choice = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());
	struct json_object *candidate = gem_candidate(root);
	const char *model = gemini_str(root, "modelVersion");
	int64_t prompt = 0, completion = 0;
	bool tools;

	gem_usage_read(gemini_get(root, "usageMetadata"), &prompt, &completion);
	gemini_set(c, "id", gem_chat_id(root));
	gemini_set(c, "object", json_object_new_string("chat.completion"));
	gemini_set(c, "created", json_object_new_int64((int64_t)time(NULL)));
	gemini_set(c, "model", json_object_new_string(model ? model : ""));
	gemini_set(choice, "index", json_object_new_int(0));
	gemini_set(choice, "message", gem_message(gem_parts(candidate), &tools));
	gemini_set(choice, "finish_reason", json_object_new_string(
			gem_finish(gemini_str(candidate, "finishReason"), tools, NULL)));
	json_object_array_add(choices, choice);
	gemini_set(c, "choices", choices);
	gemini_set(c, "usage", gem_usage(prompt, completion));
	return c;
}

enum errkind gemini_answer(const char *body, struct canon *out, char *detail, size_t n)
{
	struct json_object *root = jsonparse(body);
	struct json_object *error = gemini_error_object(root);
	enum errkind kind = ERRKIND_INVALID_RESPONSE;
	const char *blocked;

	out->obj = NULL;
	out->text = NULL;
	/* a stream endpoint asked without alt=sse answers an array of responses */
	if (json_object_is_type(root, json_type_array) && json_object_array_length(root) == 1 && error == NULL) {
		struct json_object *only = json_object_get(json_object_array_get_idx(root, 0));
		json_object_put(root);
		root = only;
	}
	blocked = gemini_str(gemini_get(root, "promptFeedback"), "blockReason");
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(detail, n, "answer is not a JSON object");
	} else if (error != NULL) {
		snprintf(detail, n, "error in a 200 answer: %s", gemini_str(error, "message"));
	} else if (blocked != NULL && gem_candidate(root) == NULL) {
		snprintf(detail, n, "Gemini blocked the content (%.64s)", blocked);
		kind = ERRKIND_CONTENT_FILTER;
	} else {
		struct json_object *completion = gem_completion(root);
		if (chat_completion_usable(completion)) {
			out->obj = completion;
			json_object_put(root);
			return ERRKIND_NONE;
		}
		const char *reason = gemini_str(gem_candidate(root), "finishReason");
		json_object_put(completion);
		if (reason != NULL && gemini_finish_reason(reason) != NULL &&
		    strcmp(gemini_finish_reason(reason), "content_filter") == 0) {
			snprintf(detail, n, "Gemini blocked the content (%.64s)", reason);
			kind = ERRKIND_CONTENT_FILTER;
		} else {
			snprintf(detail, n, "answer holds no usable completion");
		}
	}
	json_object_put(root);
	return kind;
}
