/* dialect_anthropic_decode.c: Anthropic's answers as canonical chat chunks
 * and completions (see dialect_anthropic.h).
 *
 * A stream is a sequence of typed events: message_start (the role chunk),
 * content blocks (text, thinking, tool_use) opened, filled by deltas and
 * closed, message_delta (stop reason and usage: the finish chunk) and
 * message_stop (the end). Pings are no progress; an error event is the
 * endpoint's failure, before or after content. */
#include "dialect_anthropic.h"

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

#define ANTH_BLOCKS_MAX 256

struct dialect_stream {
	struct foreign_stream fs;    /* first: foreign.h */
	int tool_of_block[ANTH_BLOCKS_MAX];   /* tool call index + 1; 0: not a tool */
	char *skip_text;             /* a prefill's trailing white space, not said twice */
	const char *skip;            /* what of it is still to come */
	size_t skip_len;
};

/* ---- helpers ------------------------------------------------------------------------ */

/* Input tokens, cache reads and writes included, and output tokens; each
 * only when the usage object names it. */
static void anth_usage_read(struct json_object *usage, int64_t *prompt, int64_t *completion)
{
	static const char *const inputs[] = {
		"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
	};
	bool any = false;
	int64_t sum = 0;

	for (size_t i = 0; i < 3; i++) {
		any |= jsonobj_get(usage, inputs[i]) != NULL;
		sum += jsonobj_count(usage, inputs[i]);
	}
	if (any)
		*prompt = sum;
	if (jsonobj_get(usage, "output_tokens") != NULL)
		*completion = jsonobj_count(usage, "output_tokens");
}

static const char *anth_finish(const char *stop_reason)
{
	return anthropic_lookup(anthropic_stop_reasons, stop_reason, "stop");
}

/* ---- stream: chunks ------------------------------------------------------------------- */

static enum im_rc anth_emit_text(struct dialect_stream *st, const char *s)
{
	size_t len = s ? strlen(s) : 0, j = 0;

	while (st->skip_len > 0 && j < len && s[j] == *st->skip) {
		st->skip++;
		st->skip_len--;
		j++;
	}
	if (j < len)
		st->skip_len = 0;   /* the model went on differently: nothing more to skip */
	return j < len ? foreign_emit_string(&st->fs, "content", s + j, len - j) : IM_OK;
}

static enum im_rc anth_emit_reasoning(struct dialect_stream *st, const char *s)
{
	return s && *s ? foreign_emit_string(&st->fs, "reasoning_content", s, strlen(s)) : IM_OK;
}

/* A tool_calls delta: the call's start (id, name) or a piece of its arguments. */
static enum im_rc anth_emit_tool(struct dialect_stream *st, int index, const char *id,
				 const char *name, const char *args)
{
	struct json_object *call = xcheck(json_object_new_object());
	struct json_object *fn = xcheck(json_object_new_object());

	jsonobj_set(call, "index", json_object_new_int(index));
	if (id != NULL) {
		jsonobj_set_str(call, "id", id);
		jsonobj_set_str(call, "type", "function");
		jsonobj_set_str(fn, "name", name ? name : "");
	}
	jsonobj_set_str(fn, "arguments", args);
	jsonobj_set(call, "function", fn);
	return foreign_emit_tool(&st->fs, call);
}

/* ---- stream: events -------------------------------------------------------------------- */

static enum im_rc anth_message_start(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *message = jsonobj_get(obj, "message");

	foreign_identify(&st->fs, jsonobj_str(message, "id"), jsonobj_str(message, "model"));
	anth_usage_read(jsonobj_get(message, "usage"), &st->fs.prompt_tokens, &st->fs.completion_tokens);
	return foreign_emit_role(&st->fs);
}

static int anth_block_index(struct json_object *obj)
{
	struct json_object *v = jsonobj_get(obj, "index");
	int64_t i = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
	return i >= 0 && i < ANTH_BLOCKS_MAX ? (int)i : -1;
}

static enum im_rc anth_block_start(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *block = jsonobj_get(obj, "content_block");
	const char *type = jsonobj_str(block, "type");
	int index = anth_block_index(obj);

	if (type == NULL)
		return IM_OK;
	if (strcmp(type, "tool_use") == 0) {
		if (index < 0)
			return IM_OK;
		st->tool_of_block[index] = ++st->fs.n_tools;
		return anth_emit_tool(st, st->fs.n_tools - 1, jsonobj_str(block, "id") ? jsonobj_str(block, "id") : "",
				      jsonobj_str(block, "name"), "");
	}
	if (strcmp(type, "text") == 0)
		return anth_emit_text(st, jsonobj_str(block, "text"));
	if (strcmp(type, "thinking") == 0)
		return anth_emit_reasoning(st, jsonobj_str(block, "thinking"));
	return IM_OK;   /* redacted thinking, server tools: nothing for the client */
}

static enum im_rc anth_block_delta(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *delta = jsonobj_get(obj, "delta");
	const char *type = jsonobj_str(delta, "type");
	int index = anth_block_index(obj);

	if (type == NULL)
		return IM_OK;
	if (strcmp(type, "text_delta") == 0)
		return anth_emit_text(st, jsonobj_str(delta, "text"));
	if (strcmp(type, "thinking_delta") == 0)
		return anth_emit_reasoning(st, jsonobj_str(delta, "thinking"));
	if (strcmp(type, "input_json_delta") == 0 && index >= 0 && st->tool_of_block[index] > 0) {
		const char *part = jsonobj_str(delta, "partial_json");
		if (part == NULL || *part == '\0')
			return IM_OK;
		return anth_emit_tool(st, st->tool_of_block[index] - 1, NULL, NULL, part);
	}
	return IM_OK;   /* signatures, citations */
}

static enum im_rc anth_message_delta(struct dialect_stream *st, struct json_object *obj)
{
	const char *stop = jsonobj_str(jsonobj_get(obj, "delta"), "stop_reason");

	anth_usage_read(jsonobj_get(obj, "usage"), &st->fs.prompt_tokens, &st->fs.completion_tokens);
	return foreign_emit_finish(&st->fs, anth_finish(stop));
}

static enum im_rc anth_error_event(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *error = jsonobj_get(obj, "error");
	const char *msg = jsonobj_str(error, "message");
	enum errkind kind = anthropic_error_kind(jsonobj_str(error, "type"));

	if (errkind_is_content_refusal(error))
		kind = ERRKIND_CONTENT_FILTER;
	else if (kind == ERRKIND_COUNT)
		kind = ERRKIND_INVALID_RESPONSE;
	return st->fs.out.error(st->fs.out.ctx, kind,
				msg ? msg : json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
}

/* An event, by its `type` member, else by its `event:` name. */
static enum im_rc anth_on_event(void *ctx, const char *event, struct json_object *obj)
{
	struct dialect_stream *st = ctx;
	const char *type = jsonobj_str(obj, "type");

	if (type == NULL)
		type = event;
	if (strcmp(type, "message_start") == 0)
		return anth_message_start(st, obj);
	if (strcmp(type, "content_block_start") == 0)
		return anth_block_start(st, obj);
	if (strcmp(type, "content_block_delta") == 0)
		return anth_block_delta(st, obj);
	if (strcmp(type, "message_delta") == 0)
		return anth_message_delta(st, obj);
	if (strcmp(type, "message_stop") == 0) {
		st->fs.out.done(st->fs.out.ctx);
		return IM_OK;
	}
	if (strcmp(type, "error") == 0)
		return anth_error_event(st, obj);
	return IM_OK;   /* ping, content_block_stop, new event types */
}

struct dialect_stream *anthropic_stream_new(const struct dialect_out *out,
					    const struct dialect_call *call)
{
	struct dialect_stream *st = xcalloc(1, sizeof *st);
	const char *text;
	size_t len;

	foreign_stream_init(&st->fs, "anthropic", out, call, anth_on_event, st);
	if (call->prefill != NULL && resume_prefill(call->prefill, &text, &len)) {
		/* the request left this white space out (anthropic_request) */
		size_t n = len;
		while (n > 0 && strchr(" \t\r\n", text[n - 1]) != NULL)
			n--;
		/* a copy: the delivered text grows while this stream goes on */
		st->skip_text = xstrndup(text + n, len - n);
		st->skip = st->skip_text;
		st->skip_len = len - n;
	}
	return st;
}

void anthropic_stream_free(struct dialect_stream *st)
{
	if (st == NULL)
		return;
	free(st->skip_text);
	foreign_stream_free(st);
}

/* ---- whole answers ---------------------------------------------------------------------- */

/* The assistant message of a Messages answer. */
static struct json_object *anth_message(struct json_object *content)
{
	struct foreign_answer a;
	size_t n = jsonobj_len(content);

	foreign_answer_init(&a);
	for (size_t i = 0; i < n; i++) {
		struct json_object *block = json_object_array_get_idx(content, i);
		const char *type = jsonobj_str(block, "type");
		if (type == NULL)
			continue;
		if (strcmp(type, "text") == 0 && jsonobj_str(block, "text") != NULL)
			(void)buf_append_str(&a.text, jsonobj_str(block, "text"));
		else if (strcmp(type, "thinking") == 0 && jsonobj_str(block, "thinking") != NULL)
			(void)buf_append_str(&a.reasoning, jsonobj_str(block, "thinking"));
		else if (strcmp(type, "tool_use") == 0)
			json_object_array_add(a.calls, foreign_tool_call(-1, jsonobj_str(block, "id"),
									       jsonobj_str(block, "name"),
									       jsonobj_get(block, "input")));
	}
	return foreign_answer_message(&a);
}

static struct json_object *anth_completion(struct json_object *root)
{
	struct foreign_completion c = {
		.api = "anthropic",
		.id = jsonobj_str(root, "id"),
		.model = jsonobj_str(root, "model"),
		.message = anth_message(jsonobj_get(root, "content")),
		.finish = anth_finish(jsonobj_str(root, "stop_reason")),
	};

	anth_usage_read(jsonobj_get(root, "usage"), &c.prompt_tokens, &c.completion_tokens);
	return foreign_completion(&c);
}

enum errkind anthropic_answer(const char *body, struct canon *out, char *detail, size_t n)
{
	struct json_object *root = jsonparse(body);
	struct json_object *error = anthropic_error_object(root);
	enum errkind kind = ERRKIND_INVALID_RESPONSE;

	out->obj = NULL;
	out->text = NULL;
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(detail, n, "answer is not a JSON object");
	} else if (error != NULL) {
		const char *msg = jsonobj_str(error, "message");
		snprintf(detail, n, "error in a 200 answer: %s", msg ? msg : "(no message)");
		if (errkind_is_content_refusal(error))
			kind = ERRKIND_CONTENT_FILTER;
	} else {
		struct json_object *completion = anth_completion(root);
		if (chat_completion_usable(completion)) {
			out->obj = completion;
			json_object_put(root);
			return ERRKIND_NONE;
		}
		json_object_put(completion);
		snprintf(detail, n, "answer holds no usable completion");
	}
	json_object_put(root);
	return kind;
}
