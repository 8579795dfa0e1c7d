/* dialect_anthropic.c: requests to Anthropic's Messages API, the mapping
 * tables and its errors (see dialect_anthropic.h).
 *
 * The client's chat request becomes a Messages request: system messages
 * become the top-level `system`, turns of one role are merged (the API
 * wants them alternating), tool calls and results become tool_use and
 * tool_result blocks, a continuation's delivered text the trailing
 * assistant turn the API continues natively. */
#include "dialect_anthropic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "foreign.h"
#include "jsonobj.h"
#include "jsonraw.h"
#include "log.h"
#include "upreq.h"

#define ANTHROPIC_SYSTEM_MAX (16u << 20)

/* ---- the tables --------------------------------------------------------------- */

const struct anthropic_pair anthropic_stop_reasons[] = {
	{ "end_turn", "stop" },
	{ "stop_sequence", "stop" },
	{ "pause_turn", "stop" },
	{ "max_tokens", "length" },
	{ "model_context_window_exceeded", "length" },
	{ "tool_use", "tool_calls" },
	{ "refusal", "content_filter" },
	{ NULL, NULL },
};

const struct anthropic_pair anthropic_roles[] = {
	{ "system", "system" },
	{ "developer", "system" },
	{ "user", "user" },
	{ "assistant", "assistant" },
	{ "tool", "user" },        /* tool results go back in a user turn */
	{ "function", "user" },
	{ NULL, NULL },
};

const struct anthropic_error_type anthropic_error_types[] = {
	{ "authentication_error", ERRKIND_AUTH },
	{ "permission_error", ERRKIND_PERMISSION },
	{ "billing_error", ERRKIND_PERMISSION },
	{ "rate_limit_error", ERRKIND_RATE_LIMIT },
	{ "overloaded_error", ERRKIND_SERVER },
	{ "api_error", ERRKIND_SERVER },
	{ "timeout_error", ERRKIND_TIMEOUT },
	{ "invalid_request_error", ERRKIND_REQUEST },
	{ "not_found_error", ERRKIND_REQUEST },
	{ "request_too_large", ERRKIND_REQUEST },
	{ NULL, ERRKIND_NONE },
};

const struct anthropic_budget anthropic_budgets[] = {
	{ "none", 0 },
	{ "minimal", 1024 },
	{ "low", 2048 },
	{ "medium", 8192 },
	{ "high", 16384 },
	{ NULL, 0 },
};

const char *anthropic_lookup(const struct anthropic_pair *table, const char *from,
			     const char *fallback)
{
	for (size_t i = 0; from != NULL && table[i].from != NULL; i++)
		if (strcmp(table[i].from, from) == 0)
			return table[i].to;
	return fallback;
}

enum errkind anthropic_error_kind(const char *type)
{
	for (size_t i = 0; type != NULL && anthropic_error_types[i].type != NULL; i++)
		if (strcmp(anthropic_error_types[i].type, type) == 0)
			return anthropic_error_types[i].kind;
	return ERRKIND_COUNT;
}

/* ---- content blocks --------------------------------------------------------------- */

static void anth_push_text(struct json_object *blocks, const char *s, size_t len)
{
	if (s == NULL || len == 0)
		return;   /* the API refuses empty text blocks */
	struct json_object *b = xcheck(json_object_new_object());
	jsonobj_set_str(b, "type", "text");
	jsonobj_set(b, "text", json_object_new_string_len(s, (int)len));
	json_object_array_add(blocks, b);
}

/* An image_url part: a data: URL becomes a base64 source, http(s) a url
 * source; anything else is left out (NULL). */
static struct json_object *anth_image(struct json_object *part)
{
	const char *url = foreign_image_url(part), *data;
	char *media = foreign_data_url(url, &data);
	struct json_object *source;

	if (media != NULL) {
		source = xcheck(json_object_new_object());
		jsonobj_set_str(source, "type", "base64");
		jsonobj_set_str(source, "media_type", media);
		jsonobj_set_str(source, "data", data);
		free(media);
	} else if (foreign_is_http(url)) {
		source = xcheck(json_object_new_object());
		jsonobj_set_str(source, "type", "url");
		jsonobj_set_str(source, "url", url);
	} else {
		return NULL;
	}
	struct json_object *b = xcheck(json_object_new_object());
	jsonobj_set_str(b, "type", "image");
	jsonobj_set(b, "source", source);
	return b;
}

/* The client's own string `str` (shared, not copied) as a text block, so it
 * keeps the spelling the client gave it (jsonraw.h). */
static void anth_push_string(struct json_object *blocks, struct json_object *str)
{
	if (!json_object_is_type(str, json_type_string) || json_object_get_string_len(str) == 0)
		return;   /* the API refuses empty text blocks */
	struct json_object *b = xcheck(json_object_new_object());
	jsonobj_set_str(b, "type", "text");
	jsonobj_set(b, "text", json_object_get(str));
	json_object_array_add(blocks, b);
}

/* A message's content, a string or an array of parts, as blocks. */
static void anth_push_content(struct json_object *blocks, struct json_object *content)
{
	if (json_object_is_type(content, json_type_string)) {
		anth_push_string(blocks, content);
		return;
	}
	if (!json_object_is_type(content, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(content); i++) {
		struct json_object *part = json_object_array_get_idx(content, i);
		const char *type = jsonobj_str(part, "type");
		if (type != NULL && strcmp(type, "text") == 0) {
			anth_push_string(blocks, jsonobj_get(part, "text"));
		} else if (type != NULL && strcmp(type, "image_url") == 0) {
			struct json_object *img = anth_image(part);
			if (img != NULL)
				json_object_array_add(blocks, img);
		}
	}
}

/* An assistant's tool_calls as tool_use blocks. */
static void anth_push_tool_uses(struct json_object *blocks, struct json_object *calls)
{
	size_t n = jsonobj_len(calls);

	for (size_t i = 0; i < n; i++) {
		struct json_object *call = json_object_array_get_idx(calls, i);
		struct json_object *fn = jsonobj_get(call, "function");
		struct json_object *b = xcheck(json_object_new_object());

		jsonobj_set_str(b, "type", "tool_use");
		jsonobj_set_str(b, "id", jsonobj_str(call, "id") ? jsonobj_str(call, "id") : "");
		jsonobj_set_str(b, "name", jsonobj_str(fn, "name") ? jsonobj_str(fn, "name") : "");
		jsonobj_set(b, "input", foreign_call_args(fn));
		json_object_array_add(blocks, b);
	}
}

/* A role:tool message as a tool_result block. */
static void anth_push_tool_result(struct json_object *blocks, struct json_object *msg)
{
	struct json_object *content = jsonobj_get(msg, "content");
	struct json_object *b = xcheck(json_object_new_object());

	jsonobj_set_str(b, "type", "tool_result");
	jsonobj_set_str(b, "tool_use_id", jsonobj_str(msg, "tool_call_id") ? jsonobj_str(msg, "tool_call_id") : "");
	if (json_object_is_type(content, json_type_array)) {
		struct json_object *parts = xcheck(json_object_new_array());
		anth_push_content(parts, content);
		jsonobj_set(b, "content", parts);
	} else {
		jsonobj_set_str(b, "content", json_object_is_type(content, json_type_string)
						   ? json_object_get_string(content) : "");
	}
	json_object_array_add(blocks, b);
}

/* ---- turns ---------------------------------------------------------------------------- */

static void anth_system_add(struct buf *system, struct json_object *content)
{
	struct json_object *blocks = xcheck(json_object_new_array());

	anth_push_content(blocks, content);
	for (size_t i = 0; i < json_object_array_length(blocks); i++) {
		const char *text = jsonobj_str(json_object_array_get_idx(blocks, i), "text");
		if (text == NULL)
			continue;
		if (system->len > 0)
			(void)buf_append_str(system, "\n\n");
		(void)buf_append_str(system, text);
	}
	json_object_put(blocks);
}

/* The API refuses a final assistant turn ending in white space; the
 * stream decoder skips it if the model sends it again. */
static void anth_trim_final(struct json_object *turns)
{
	size_t n = json_object_array_length(turns);
	struct json_object *last = n ? json_object_array_get_idx(turns, n - 1) : NULL;
	struct json_object *content = jsonobj_get(last, "content");
	size_t nb = jsonobj_len(content);
	struct json_object *block = nb ? json_object_array_get_idx(content, nb - 1) : NULL;
	const char *text = jsonobj_str(block, "text");

	if (text == NULL || strcmp(jsonobj_str(last, "role"), "assistant") != 0)
		return;
	size_t len = strlen(text);
	while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
		len--;
	if (len > 0 && len == strlen(text))
		return;   /* nothing to trim: the client's own string stays */
	if (len > 0)
		jsonobj_set(block, "text", json_object_new_string_len(text, (int)len));
	else if (nb > 1)
		json_object_array_del_idx(content, nb - 1, 1);
	else
		json_object_array_del_idx(turns, n - 1, 1);
}

static struct json_object *anth_messages(struct json_object *messages, struct buf *system,
					 const struct dialect_call *call)
{
	struct json_object *turns = xcheck(json_object_new_array());
	size_t n = jsonobj_len(messages);
	const char *prefill;
	size_t prefill_len;

	for (size_t i = 0; i < n; i++) {
		struct json_object *msg = json_object_array_get_idx(messages, i);
		const char *role = jsonobj_str(msg, "role");
		const char *turn = anthropic_lookup(anthropic_roles, role, "user");
		struct json_object *blocks;

		if (strcmp(turn, "system") == 0) {
			anth_system_add(system, jsonobj_get(msg, "content"));
			continue;
		}
		blocks = xcheck(json_object_new_array());
		if (role != NULL && strcmp(role, "tool") == 0) {
			anth_push_tool_result(blocks, msg);
		} else {
			anth_push_content(blocks, jsonobj_get(msg, "content"));
			anth_push_tool_uses(blocks, jsonobj_get(msg, "tool_calls"));
		}
		foreign_turn(turns, turn, "content", blocks);
	}
	if (call->prefill != NULL && resume_prefill(call->prefill, &prefill, &prefill_len)) {
		struct json_object *blocks = xcheck(json_object_new_array());
		anth_push_text(blocks, prefill, prefill_len);
		foreign_turn(turns, "assistant", "content", blocks);
	}
	anth_trim_final(turns);
	return turns;
}

/* ---- the other fields --------------------------------------------------------------- */

static long anth_max_tokens(struct json_object *client, const struct endpoint *ep)
{
	long max = foreign_max_tokens(client, ep);
	return max > 0 ? max : ANTHROPIC_MAX_TOKENS_DEFAULT;
}

static long anth_budget(const char *effort)
{
	for (size_t i = 0; effort != NULL && anthropic_budgets[i].effort != NULL; i++)
		if (strcmp(anthropic_budgets[i].effort, effort) == 0)
			return anthropic_budgets[i].tokens;
	return -1;
}

static struct json_object *anth_tools(struct json_object *tools)
{
	struct json_object *out = xcheck(json_object_new_array());
	size_t n = jsonobj_len(tools);

	for (size_t i = 0; i < n; i++) {
		struct json_object *t = foreign_tool_decl(json_object_array_get_idx(tools, i), "input_schema");
		if (t == NULL)
			continue;
		if (jsonobj_get(t, "input_schema") == NULL)
			jsonobj_set(t, "input_schema", json_tokener_parse("{\"type\":\"object\",\"properties\":{}}"));
		json_object_array_add(out, t);
	}
	return out;
}

/* tool_choice auto / none / required / a named function, and
 * parallel_tool_calls: false. NULL when there is nothing to say. */
static struct json_object *anth_tool_choice(struct json_object *client)
{
	struct json_object *choice = jsonobj_get(client, "tool_choice");
	struct json_object *parallel = jsonobj_get(client, "parallel_tool_calls");
	const char *s = json_object_is_type(choice, json_type_string) ? json_object_get_string(choice) : NULL;
	const char *named = jsonobj_str(jsonobj_get(choice, "function"), "name");
	struct json_object *out = xcheck(json_object_new_object());

	if (named != NULL) {
		jsonobj_set_str(out, "type", "tool");
		jsonobj_set_str(out, "name", named);
	} else if (s != NULL && strcmp(s, "required") == 0) {
		jsonobj_set_str(out, "type", "any");
	} else if (s != NULL && strcmp(s, "none") == 0) {
		jsonobj_set_str(out, "type", "none");
	} else if (s != NULL || json_object_is_type(parallel, json_type_boolean)) {
		jsonobj_set_str(out, "type", "auto");
	} else {
		json_object_put(out);
		return NULL;
	}
	if (json_object_is_type(parallel, json_type_boolean) && !json_object_get_boolean(parallel) &&
	    strcmp(jsonobj_str(out, "type"), "none") != 0)
		jsonobj_set(out, "disable_parallel_tool_use", json_object_new_boolean(1));
	return out;
}

/* The client fields the translation reads; stream_options is honoured by
 * immortal itself (the usage chunk). */
static const char *const anth_read[] = {
	"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
	"stream", "stream_options", "stop", "tools", "tool_choice", "parallel_tool_calls",
	"reasoning_effort", "user", NULL,
};

static bool anth_is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

static void anth_sampling(struct json_object *body, struct json_object *client,
			  const struct endpoint *ep, bool thinking)
{
	struct json_object *temperature = jsonobj_get(client, "temperature");
	struct json_object *top_p = jsonobj_get(client, "top_p");

	if (thinking)
		return;   /* the API refuses sampling changes while it thinks */
	if (anth_is_number(temperature) && json_object_get_double(temperature) > 1)
		jsonobj_set(body, "temperature", jsonraw_new_double(1));   /* OpenAI's scale ends at 2 */
	else if (anth_is_number(temperature))
		jsonobj_set(body, "temperature", json_object_get(temperature));
	else if (ep->has_temperature)
		jsonobj_set(body, "temperature", jsonraw_new_double(ep->temperature > 1 ? 1 : ep->temperature));
	if (anth_is_number(top_p))
		jsonobj_set(body, "top_p", json_object_get(top_p));
}

struct json_object *anthropic_request(struct json_object *client, const struct endpoint *ep,
				      const struct dialect_call *call)
{
	struct json_object *body = xcheck(json_object_new_object());
	struct buf system;
	long max_tokens = anth_max_tokens(client, ep);
	long budget = anth_budget(jsonobj_str(client, "reasoning_effort"));
	struct json_object *v;

	buf_init(&system, ANTHROPIC_SYSTEM_MAX);
	jsonobj_set_str(body, "model", ep->model);
	struct json_object *turns = anth_messages(jsonobj_get(client, "messages"), &system, call);
	if (budget > 0)
		max_tokens += budget;   /* thinking counts against max_tokens */
	jsonobj_set(body, "max_tokens", json_object_new_int64(max_tokens));
	if (system.len > 0)
		jsonobj_set(body, "system", json_object_new_string_len(buf_str(&system), (int)system.len));
	jsonobj_set(body, "messages", turns);
	if (budget > 0) {
		struct json_object *thinking = xcheck(json_object_new_object());
		jsonobj_set_str(thinking, "type", "enabled");
		jsonobj_set(thinking, "budget_tokens", json_object_new_int64(budget));
		jsonobj_set(body, "thinking", thinking);
	}
	anth_sampling(body, client, ep, budget > 0);
	if ((v = foreign_stop(jsonobj_get(client, "stop"))) != NULL)
		jsonobj_set(body, "stop_sequences", v);
	if (json_object_is_type(jsonobj_get(client, "tools"), json_type_array) &&
	    json_object_array_length(jsonobj_get(client, "tools")) > 0) {
		jsonobj_set(body, "tools", anth_tools(jsonobj_get(client, "tools")));
		if ((v = anth_tool_choice(client)) != NULL)
			jsonobj_set(body, "tool_choice", v);
	}
	if (jsonobj_str(client, "user") != NULL) {
		struct json_object *meta = xcheck(json_object_new_object());
		jsonobj_set_str(meta, "user_id", jsonobj_str(client, "user"));
		jsonobj_set(body, "metadata", meta);
	}
	if (call->up_stream)
		jsonobj_set(body, "stream", json_object_new_boolean(1));
	foreign_log_dropped(client, anth_read, "dropped a field with no meaning in Anthropic's API", ep, call);
	buf_free(&system);
	return body;
}

/* ---- the dialect ---------------------------------------------------------------------- */

static char *anthropic_url(const struct endpoint *ep, const struct dialect_call *call)
{
	(void)call;
	return xasprintf("%s/messages", ep->baseurl);
}

static char *anthropic_body(struct json_object *client, const struct endpoint *ep,
			    const struct dialect_call *call)
{
	return foreign_serialize(anthropic_request(client, ep, call));
}

static struct curl_slist *anthropic_headers(const struct endpoint *ep, const struct dialect_call *call)
{
	struct curl_slist *h = upreq_headers_common(ep, call->up_stream);

	if (ep->apikey)
		h = upreq_header(h, ep, "x-api-key", ep->apikey);
	h = upreq_header(h, ep, "anthropic-version", ANTHROPIC_VERSION);
	return upreq_headers_own(h, ep);
}

struct json_object *anthropic_error_object(struct json_object *root)
{
	const char *type = jsonobj_str(root, "type");
	struct json_object *error = jsonobj_get(root, "error");

	if (type == NULL || strcmp(type, "error") != 0 || !json_object_is_type(error, json_type_object))
		return NULL;
	return error;
}

static enum errkind anth_error_kind_of(struct json_object *error)
{
	return errkind_is_content_refusal(error) ? ERRKIND_CONTENT_FILTER
						 : anthropic_error_kind(jsonobj_str(error, "type"));
}

static bool anth_prompt_too_long(const char *message)
{
	return strstr(message, "prompt is too long") != NULL;
}

static const struct foreign_errors anth_errors = {
	.object = anthropic_error_object,
	.type_key = "type",
	.kind = anth_error_kind_of,
	.too_long = anth_prompt_too_long,
};

static void anthropic_error(long status, const char *body, struct dialect_error *out)
{
	foreign_error(&anth_errors, status, body, out);
}

const struct dialect dialect_anthropic = {
	.name = "anthropic",
	.url = anthropic_url,
	.body = anthropic_body,
	.headers = anthropic_headers,
	.stream_new = anthropic_stream_new,
	.stream_feed = foreign_stream_feed,
	.stream_finish = foreign_stream_finish,
	.stream_began = foreign_stream_began,
	.stream_free = anthropic_stream_free,
	.answer = anthropic_answer,
	.error = anthropic_error,
};
