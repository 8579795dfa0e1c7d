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

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "chat.h"
#include "foreign.h"
#include "jsonobj.h"
#include "jsonparse.h"
#include "log.h"

#define GEM_TOOLS_MAX 1024

struct dialect_stream {
	struct foreign_stream fs;    /* first: foreign.h */
	const char *request_id;      /* borrowed from the call */
	bool role_sent;
	bool finished;
	bool said;                   /* content, reasoning or a call went out */
};

/* ---- helpers ------------------------------------------------------------------------ */

/* Prompt tokens, and the answer's: candidates and thoughts together, as
 * OpenAI counts reasoning in completion_tokens. */
static void gem_usage_read(struct json_object *usage, int64_t *prompt, int64_t *completion)
{
	if (jsonobj_get(usage, "promptTokenCount") != NULL)
		*prompt = jsonobj_count(usage, "promptTokenCount");
	if (jsonobj_get(usage, "candidatesTokenCount") != NULL || jsonobj_get(usage, "thoughtsTokenCount") != NULL)
		*completion = jsonobj_count(usage, "candidatesTokenCount") + jsonobj_count(usage, "thoughtsTokenCount");
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
	struct json_object *c = jsonobj_get(response, "candidates");
	return json_object_is_type(c, json_type_array) && json_object_array_length(c) > 0
		? json_object_array_get_idx(c, 0) : NULL;
}

static struct json_object *gem_parts(struct json_object *candidate)
{
	struct json_object *p = jsonobj_get(jsonobj_get(candidate, "content"), "parts");
	return json_object_is_type(p, json_type_array) ? p : NULL;
}

static bool gem_is_thought(struct json_object *part)
{
	struct json_object *t = jsonobj_get(part, "thought");
	return json_object_is_type(t, json_type_boolean) && json_object_get_boolean(t);
}

/* A tool call of an OpenAI answer for a functionCall part, with `index`
 * when >= 0 (stream deltas carry it), a fresh id and the part's
 * thoughtSignature. */
static struct json_object *gem_tool_call(struct json_object *part, int index)
{
	struct json_object *fc = jsonobj_get(part, "functionCall");
	const char *sig = jsonobj_str(part, "thoughtSignature");
	char *id = xasprintf("call_%08x%08x%08x", arc4random(), arc4random(), arc4random());
	struct json_object *call = foreign_tool_call(index, id, jsonobj_str(fc, "name"), jsonobj_get(fc, "args"));

	if (sig != NULL)
		jsonobj_set(call, "thought_signature", json_object_new_string(sig));
	free(id);
	return call;
}

/* ---- stream: chunks ------------------------------------------------------------------- */

static void gem_identify(struct dialect_stream *st, struct json_object *response)
{
	foreign_identify(&st->fs, jsonobj_str(response, "responseId"), jsonobj_str(response, "modelVersion"));
}

static enum im_rc gem_emit_role(struct dialect_stream *st)
{
	st->role_sent = true;
	return foreign_emit_role(&st->fs);
}

static enum im_rc gem_emit_part(struct dialect_stream *st, struct json_object *part)
{
	const char *text = jsonobj_str(part, "text");

	if (jsonobj_get(part, "functionCall") != NULL) {
		if (st->fs.n_tools >= GEM_TOOLS_MAX)
			return IM_ETOOBIG;
		st->said = true;
		return foreign_emit_tool(&st->fs, gem_tool_call(part, st->fs.n_tools++));
	}
	if (text == NULL || *text == '\0')
		return IM_OK;
	st->said = true;
	return foreign_emit_string(&st->fs, gem_is_thought(part) ? "reasoning_content" : "content",
				   text, strlen(text));
}

static enum im_rc gem_blocked(struct dialect_stream *st, const char *reason);

static enum im_rc gem_emit_finish(struct dialect_stream *st, const char *reason)
{
	const char *finish = gem_finish(reason, st->fs.n_tools > 0, st->request_id);

	st->finished = true;
	if (!st->said && strcmp(finish, "content_filter") == 0)
		return gem_blocked(st, reason);   /* refused before a word: the filter's error */
	return foreign_emit_finish(&st->fs, finish);
}

/* ---- stream: events -------------------------------------------------------------------- */

static enum im_rc gem_error_event(struct dialect_stream *st, struct json_object *error)
{
	enum errkind kind = gemini_error_kind(jsonobj_str(error, "status"));

	return st->fs.out.error(st->fs.out.ctx, kind == ERRKIND_COUNT ? ERRKIND_INVALID_RESPONSE : kind,
				jsonobj_str(error, "message"));
}

/* A refused prompt or answer: the provider's content filter, as an error. */
static enum im_rc gem_blocked(struct dialect_stream *st, const char *reason)
{
	char message[128];

	snprintf(message, sizeof message, "Gemini blocked the content (%.64s)", reason);
	return st->fs.out.error(st->fs.out.ctx, ERRKIND_CONTENT_FILTER, message);
}

/* One event: a whole response (its `event:` name means nothing). */
static enum im_rc gem_on_event(void *ctx, const char *event, struct json_object *response)
{
	struct dialect_stream *st = ctx;
	struct json_object *error = gemini_error_object(response);
	const char *blocked = jsonobj_str(jsonobj_get(response, "promptFeedback"), "blockReason");
	struct json_object *candidate = gem_candidate(response);
	struct json_object *parts = gem_parts(candidate);
	const char *finish = jsonobj_str(candidate, "finishReason");
	enum im_rc rc = IM_OK;

	(void)event;
	if (error != NULL)
		return gem_error_event(st, error);
	if (blocked != NULL && candidate == NULL)
		return gem_blocked(st, blocked);
	if (st->finished)
		return IM_OK;   /* nothing counts after the last event */
	gem_identify(st, response);
	gem_usage_read(jsonobj_get(response, "usageMetadata"), &st->fs.prompt_tokens, &st->fs.completion_tokens);
	if (!st->role_sent)
		rc = gem_emit_role(st);
	for (size_t i = 0; rc == IM_OK && parts != NULL && i < json_object_array_length(parts); i++)
		rc = gem_emit_part(st, json_object_array_get_idx(parts, i));
	if (rc == IM_OK && finish != NULL)
		rc = gem_emit_finish(st, finish);
	return rc;
}

struct dialect_stream *gemini_stream_new(const struct dialect_out *out,
					 const struct dialect_call *call)
{
	struct dialect_stream *st = xcalloc(1, sizeof *st);

	foreign_stream_init(&st->fs, "gemini", out, call, gem_on_event, st);
	st->request_id = call->request_id;
	return st;
}

enum im_rc gemini_stream_finish(struct dialect_stream *st)
{
	enum im_rc rc = foreign_stream_finish(st);

	if (rc == IM_OK && st->finished)
		st->fs.out.done(st->fs.out.ctx);   /* Gemini's end: the body's, after a finishReason */
	return rc;
}

/* ---- whole answers ---------------------------------------------------------------------- */

/* The assistant message of candidate 0's parts; *tools: it holds calls. */
static struct json_object *gem_message(struct json_object *parts, bool *tools)
{
	struct foreign_answer a;

	foreign_answer_init(&a);
	for (size_t i = 0; i < jsonobj_len(parts); i++) {
		struct json_object *part = json_object_array_get_idx(parts, i);
		const char *s = jsonobj_str(part, "text");
		if (jsonobj_get(part, "functionCall") != NULL && json_object_array_length(a.calls) < GEM_TOOLS_MAX)
			json_object_array_add(a.calls, gem_tool_call(part, -1));
		else if (s != NULL)
			(void)buf_append_str(gem_is_thought(part) ? &a.reasoning : &a.text, s);
	}
	*tools = json_object_array_length(a.calls) > 0;
	return foreign_answer_message(&a);
}

static struct json_object *gem_completion(struct json_object *root)
{
	struct json_object *candidate = gem_candidate(root);
	bool tools;
	struct foreign_completion c = {
		.api = "gemini",
		.id = jsonobj_str(root, "responseId"),
		.model = jsonobj_str(root, "modelVersion"),
		.message = gem_message(gem_parts(candidate), &tools),
	};

	c.finish = gem_finish(jsonobj_str(candidate, "finishReason"), tools, NULL);
	gem_usage_read(jsonobj_get(root, "usageMetadata"), &c.prompt_tokens, &c.completion_tokens);
	return foreign_completion(&c);
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
	blocked = jsonobj_str(jsonobj_get(root, "promptFeedback"), "blockReason");
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(detail, n, "answer is not a JSON object");
	} else if (error != NULL) {
		snprintf(detail, n, "error in a 200 answer: %s", jsonobj_str(error, "message"));
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
		const char *reason = jsonobj_str(gem_candidate(root), "finishReason");
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
