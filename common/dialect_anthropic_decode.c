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
#include <time.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "chat.h"
#include "jsonparse.h"
#include "sse.h"

#define ANTH_EVENT_MAX (8u << 20)
#define ANTH_BLOCKS_MAX 256
#define ANTH_TOKENS_MAX 1000000000000ll   /* keeps sums of token counts far from overflow */
#define ANTH_ANSWER_MAX (64u << 20)

struct dialect_stream {
	struct sse_parser sse;
	struct dialect_out out;
	bool began;
	bool usage_wanted;
	struct json_object *id;      /* of the chunks: chatcmpl-<message id> */
	struct json_object *model;
	int64_t created;
	int64_t prompt_tokens;
	int64_t completion_tokens;
	int n_tools;
	int tool_of_block[ANTH_BLOCKS_MAX];   /* tool call index + 1; 0: not a tool */
	char *skip_text;             /* a prefill's trailing white space, not said twice */
	const char *skip;            /* what of it is still to come */
	size_t skip_len;
};

/* ---- helpers ------------------------------------------------------------------------ */

static int64_t anth_tokens(struct json_object *usage, const char *key)
{
	struct json_object *v = anthropic_get(usage, key);
	int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
	return n < 0 ? 0 : n > ANTH_TOKENS_MAX ? ANTH_TOKENS_MAX : n;
}

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
		any |= anthropic_get(usage, inputs[i]) != NULL;
		sum += anth_tokens(usage, inputs[i]);
	}
	if (any)
		*prompt = sum;
	if (anthropic_get(usage, "output_tokens") != NULL)
		*completion = anth_tokens(usage, "output_tokens");
}

static struct json_object *anth_usage(int64_t prompt, int64_t completion)
{
	struct json_object *u = xcheck(json_object_new_object());
	anthropic_set(u, "prompt_tokens", json_object_new_int64(prompt));
	anthropic_set(u, "completion_tokens", json_object_new_int64(completion));
	anthropic_set(u, "total_tokens", json_object_new_int64(prompt + completion));
	return u;
}

static struct json_object *anth_chat_id(struct json_object *message)
{
	const char *id = anthropic_str(message, "id");
	char *s = xasprintf("chatcmpl-%.128s", id ? id : "anthropic");
	struct json_object *o = xcheck(json_object_new_string(s));
	free(s);
	return o;
}

static const char *anth_finish(const char *stop_reason)
{
	return anthropic_lookup(anthropic_stop_reasons, stop_reason, "stop");
}

/* ---- stream: chunks ------------------------------------------------------------------- */

static void anth_identify(struct dialect_stream *st, struct json_object *message)
{
	const char *model = anthropic_str(message, "model");

	if (st->id != NULL)
		return;
	st->id = anth_chat_id(message);
	st->model = xcheck(json_object_new_string(model ? model : ""));
	st->created = (int64_t)time(NULL);
}

static struct json_object *anth_chunk_new(struct dialect_stream *st)
{
	struct json_object *o = xcheck(json_object_new_object());

	anth_identify(st, NULL);
	anthropic_set(o, "id", json_object_get(st->id));
	anthropic_set(o, "object", json_object_new_string("chat.completion.chunk"));
	anthropic_set(o, "created", json_object_new_int64(st->created));
	anthropic_set(o, "model", json_object_get(st->model));
	return o;
}

static enum im_rc anth_emit(struct dialect_stream *st, struct json_object *chunk)
{
	enum im_rc rc = st->out.chunk(st->out.ctx, &(struct canon){ .obj = chunk });
	json_object_put(chunk);
	return rc;
}

/* A chunk of choice 0 with `delta` (taken) and a finish reason or null. */
static enum im_rc anth_emit_delta(struct dialect_stream *st, struct json_object *delta,
				  const char *finish)
{
	struct json_object *o = anth_chunk_new(st);
	struct json_object *choice = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());

	anthropic_set(choice, "index", json_object_new_int(0));
	anthropic_set(choice, "delta", delta);
	json_object_object_add(choice, "finish_reason", finish ? xcheck(json_object_new_string(finish)) : NULL);
	json_object_array_add(choices, choice);
	anthropic_set(o, "choices", choices);
	return anth_emit(st, o);
}

static enum im_rc anth_emit_string(struct dialect_stream *st, const char *key, const char *s, size_t len)
{
	struct json_object *delta = xcheck(json_object_new_object());

	anthropic_set(delta, key, json_object_new_string_len(s, (int)len));
	return anth_emit_delta(st, delta, NULL);
}

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
	return j < len ? anth_emit_string(st, "content", s + j, len - j) : IM_OK;
}

static enum im_rc anth_emit_reasoning(struct dialect_stream *st, const char *s)
{
	return s && *s ? anth_emit_string(st, "reasoning_content", s, strlen(s)) : IM_OK;
}

/* A tool_calls delta: the call's start (id, name) or a piece of its arguments. */
static enum im_rc anth_emit_tool(struct dialect_stream *st, int index, const char *id,
				 const char *name, const char *args)
{
	struct json_object *call = xcheck(json_object_new_object());
	struct json_object *fn = xcheck(json_object_new_object());
	struct json_object *calls = xcheck(json_object_new_array());
	struct json_object *delta = xcheck(json_object_new_object());

	anthropic_set(call, "index", json_object_new_int(index));
	if (id != NULL) {
		anthropic_set(call, "id", json_object_new_string(id));
		anthropic_set(call, "type", json_object_new_string("function"));
		anthropic_set(fn, "name", json_object_new_string(name ? name : ""));
	}
	anthropic_set(fn, "arguments", json_object_new_string(args));
	anthropic_set(call, "function", fn);
	json_object_array_add(calls, call);
	anthropic_set(delta, "tool_calls", calls);
	return anth_emit_delta(st, delta, NULL);
}

/* ---- stream: events -------------------------------------------------------------------- */

static enum im_rc anth_message_start(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *message = anthropic_get(obj, "message");
	struct json_object *delta = xcheck(json_object_new_object());

	anth_identify(st, message);
	anth_usage_read(anthropic_get(message, "usage"), &st->prompt_tokens, &st->completion_tokens);
	anthropic_set(delta, "role", json_object_new_string("assistant"));
	anthropic_set(delta, "content", json_object_new_string(""));
	return anth_emit_delta(st, delta, NULL);
}

static int anth_block_index(struct json_object *obj)
{
	struct json_object *v = anthropic_get(obj, "index");
	int64_t i = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
	return i >= 0 && i < ANTH_BLOCKS_MAX ? (int)i : -1;
}

static enum im_rc anth_block_start(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *block = anthropic_get(obj, "content_block");
	const char *type = anthropic_str(block, "type");
	int index = anth_block_index(obj);

	if (type == NULL)
		return IM_OK;
	if (strcmp(type, "tool_use") == 0) {
		if (index < 0)
			return IM_OK;
		st->tool_of_block[index] = ++st->n_tools;
		return anth_emit_tool(st, st->n_tools - 1, anthropic_str(block, "id") ? anthropic_str(block, "id") : "",
				      anthropic_str(block, "name"), "");
	}
	if (strcmp(type, "text") == 0)
		return anth_emit_text(st, anthropic_str(block, "text"));
	if (strcmp(type, "thinking") == 0)
		return anth_emit_reasoning(st, anthropic_str(block, "thinking"));
	return IM_OK;   /* redacted thinking, server tools: nothing for the client */
}

static enum im_rc anth_block_delta(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *delta = anthropic_get(obj, "delta");
	const char *type = anthropic_str(delta, "type");
	int index = anth_block_index(obj);

	if (type == NULL)
		return IM_OK;
	if (strcmp(type, "text_delta") == 0)
		return anth_emit_text(st, anthropic_str(delta, "text"));
	if (strcmp(type, "thinking_delta") == 0)
		return anth_emit_reasoning(st, anthropic_str(delta, "thinking"));
	if (strcmp(type, "input_json_delta") == 0 && index >= 0 && st->tool_of_block[index] > 0) {
		const char *part = anthropic_str(delta, "partial_json");
		if (part == NULL || *part == '\0')
			return IM_OK;
		return anth_emit_tool(st, st->tool_of_block[index] - 1, NULL, NULL, part);
	}
	return IM_OK;   /* signatures, citations */
}

static enum im_rc anth_message_delta(struct dialect_stream *st, struct json_object *obj)
{
	const char *stop = anthropic_str(anthropic_get(obj, "delta"), "stop_reason");
	enum im_rc rc;

	anth_usage_read(anthropic_get(obj, "usage"), &st->prompt_tokens, &st->completion_tokens);
	rc = anth_emit_delta(st, xcheck(json_object_new_object()), anth_finish(stop));
	if (rc != IM_OK || !st->usage_wanted)
		return rc;
	struct json_object *o = anth_chunk_new(st);
	anthropic_set(o, "choices", json_object_new_array());
	anthropic_set(o, "usage", anth_usage(st->prompt_tokens, st->completion_tokens));
	return anth_emit(st, o);
}

static enum im_rc anth_error_event(struct dialect_stream *st, struct json_object *obj)
{
	struct json_object *error = anthropic_get(obj, "error");
	const char *msg = anthropic_str(error, "message");
	enum errkind kind = anthropic_error_kind(anthropic_str(error, "type"));

	if (errkind_is_content_refusal(error))
		kind = ERRKIND_CONTENT_FILTER;
	else if (kind == ERRKIND_COUNT)
		kind = ERRKIND_INVALID_RESPONSE;
	return st->out.error(st->out.ctx, kind,
			     msg ? msg : json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
}

static enum im_rc anth_dispatch(struct dialect_stream *st, const char *type, struct json_object *obj)
{
	if (strcmp(type, "message_start") == 0)
		return anth_message_start(st, obj);
	if (strcmp(type, "content_block_start") == 0)
		return anth_block_start(st, obj);
	if (strcmp(type, "content_block_delta") == 0)
		return anth_block_delta(st, obj);
	if (strcmp(type, "message_delta") == 0)
		return anth_message_delta(st, obj);
	if (strcmp(type, "message_stop") == 0) {
		st->out.done(st->out.ctx);
		return IM_OK;
	}
	if (strcmp(type, "error") == 0)
		return anth_error_event(st, obj);
	return IM_OK;   /* ping, content_block_stop, new event types */
}

static enum im_rc anth_on_event(void *ctx, const struct sse_event *ev)
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
	const char *type = anthropic_str(obj, "type");
	rc = anth_dispatch(st, type ? type : ev->event, obj);
	json_object_put(obj);
	return rc;
}

struct dialect_stream *anthropic_stream_new(const struct dialect_out *out,
					    const struct dialect_call *call)
{
	struct dialect_stream *st = xcalloc(1, sizeof *st);
	const char *text;
	size_t len;

	st->out = *out;
	st->usage_wanted = call->want_usage || call->client_usage;
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
	sse_parser_init(&st->sse, ANTH_EVENT_MAX, anth_on_event, st);
	return st;
}

enum im_rc anthropic_stream_feed(struct dialect_stream *st, const char *data, size_t len)
{
	return sse_parser_feed(&st->sse, data, len);
}

enum im_rc anthropic_stream_finish(struct dialect_stream *st)
{
	return sse_parser_finish(&st->sse);
}

bool anthropic_stream_began(const struct dialect_stream *st)
{
	return st->began;
}

void anthropic_stream_free(struct dialect_stream *st)
{
	if (st == NULL)
		return;
	sse_parser_free(&st->sse);
	json_object_put(st->id);
	json_object_put(st->model);
	free(st->skip_text);
	free(st);
}

/* ---- whole answers ---------------------------------------------------------------------- */

static struct json_object *anth_tool_call(struct json_object *block)
{
	struct json_object *call = xcheck(json_object_new_object());
	struct json_object *fn = xcheck(json_object_new_object());
	struct json_object *input = anthropic_get(block, "input");

	anthropic_set(call, "id", json_object_new_string(anthropic_str(block, "id") ? anthropic_str(block, "id") : ""));
	anthropic_set(call, "type", json_object_new_string("function"));
	anthropic_set(fn, "name", json_object_new_string(anthropic_str(block, "name") ? anthropic_str(block, "name") : ""));
	anthropic_set(fn, "arguments", json_object_new_string(
			 input ? json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
			       : "{}"));
	anthropic_set(call, "function", fn);
	return call;
}

/* The assistant message of a Messages answer. */
static struct json_object *anth_message(struct json_object *content)
{
	struct json_object *msg = xcheck(json_object_new_object());
	struct json_object *calls = xcheck(json_object_new_array());
	struct buf text, reasoning;
	size_t n = json_object_is_type(content, json_type_array) ? json_object_array_length(content) : 0;

	buf_init(&text, ANTH_ANSWER_MAX);
	buf_init(&reasoning, ANTH_ANSWER_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *block = json_object_array_get_idx(content, i);
		const char *type = anthropic_str(block, "type");
		if (type == NULL)
			continue;
		if (strcmp(type, "text") == 0 && anthropic_str(block, "text") != NULL)
			(void)buf_append_str(&text, anthropic_str(block, "text"));
		else if (strcmp(type, "thinking") == 0 && anthropic_str(block, "thinking") != NULL)
			(void)buf_append_str(&reasoning, anthropic_str(block, "thinking"));
		else if (strcmp(type, "tool_use") == 0)
			json_object_array_add(calls, anth_tool_call(block));
	}
	anthropic_set(msg, "role", json_object_new_string("assistant"));
	json_object_object_add(msg, "content", text.len || json_object_array_length(calls) == 0
		? xcheck(json_object_new_string_len(buf_str(&text), (int)text.len)) : NULL);
	if (reasoning.len > 0)
		anthropic_set(msg, "reasoning_content", json_object_new_string_len(buf_str(&reasoning), (int)reasoning.len));
	if (json_object_array_length(calls) > 0)
		anthropic_set(msg, "tool_calls", calls);
	else
		json_object_put(calls);
	buf_free(&text);
	buf_free(&reasoning);
	return msg;
}

static struct json_object *anth_completion(struct json_object *root)
{
	struct json_object *c = xcheck(json_object_new_object());
	struct json_object *choice = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());
	const char *model = anthropic_str(root, "model");
	int64_t prompt = 0, completion = 0;

	anth_usage_read(anthropic_get(root, "usage"), &prompt, &completion);
	anthropic_set(c, "id", anth_chat_id(root));
	anthropic_set(c, "object", json_object_new_string("chat.completion"));
	anthropic_set(c, "created", json_object_new_int64((int64_t)time(NULL)));
	anthropic_set(c, "model", json_object_new_string(model ? model : ""));
	anthropic_set(choice, "index", json_object_new_int(0));
	anthropic_set(choice, "message", anth_message(anthropic_get(root, "content")));
	anthropic_set(choice, "finish_reason", json_object_new_string(anth_finish(anthropic_str(root, "stop_reason"))));
	json_object_array_add(choices, choice);
	anthropic_set(c, "choices", choices);
	anthropic_set(c, "usage", anth_usage(prompt, completion));
	return c;
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
		const char *msg = anthropic_str(error, "message");
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
