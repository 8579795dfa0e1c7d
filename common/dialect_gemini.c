/* dialect_gemini.c: requests to Gemini's generateContent API, the mapping
 * tables and its errors (see dialect_gemini.h).
 *
 * The client's chat request becomes a generateContent request: system
 * messages become systemInstruction, turns become contents of role user or
 * model (adjacent turns of one role merged, so parallel function results
 * travel together), tool calls and results functionCall and
 * functionResponse parts. Gemini names a function result by the function's
 * name, not the call's id, so the name is found from the call earlier in
 * the conversation. The thoughtSignature a client hands back inside a tool
 * call goes back on its functionCall part. */
#include "dialect_gemini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "foreign.h"
#include "jsonobj.h"
#include "log.h"
#include "upreq.h"

#define GEMINI_RESULT_MAX (16u << 20)   /* one tool result's text */

/* ---- the tables --------------------------------------------------------------- */

const struct gemini_pair gemini_finish_reasons[] = {
	{ "STOP", "stop" },
	{ "MAX_TOKENS", "length" },
	{ "SAFETY", "content_filter" },
	{ "RECITATION", "content_filter" },
	{ "BLOCKLIST", "content_filter" },
	{ "PROHIBITED_CONTENT", "content_filter" },
	{ "SPII", "content_filter" },
	{ "IMAGE_SAFETY", "content_filter" },
	{ NULL, NULL },
};

const struct gemini_error_status gemini_error_statuses[] = {
	{ "INVALID_ARGUMENT", ERRKIND_REQUEST },
	{ "FAILED_PRECONDITION", ERRKIND_REQUEST },
	{ "NOT_FOUND", ERRKIND_REQUEST },
	{ "OUT_OF_RANGE", ERRKIND_REQUEST },
	{ "UNAUTHENTICATED", ERRKIND_AUTH },
	{ "PERMISSION_DENIED", ERRKIND_PERMISSION },
	{ "RESOURCE_EXHAUSTED", ERRKIND_RATE_LIMIT },
	{ "INTERNAL", ERRKIND_SERVER },
	{ "UNAVAILABLE", ERRKIND_SERVER },
	{ "UNKNOWN", ERRKIND_SERVER },
	{ "ABORTED", ERRKIND_SERVER },
	{ "DEADLINE_EXCEEDED", ERRKIND_TIMEOUT },
	{ NULL, ERRKIND_NONE },
};

/* OpenAI's efforts as thinking budgets (Gemini 2.5 takes 0..24576 on
 * Flash; Pro refuses 0, which then fails like any bad request). */
const struct gemini_budget gemini_budgets[] = {
	{ "none", 0 },
	{ "minimal", 512 },
	{ "low", 1024 },
	{ "medium", 8192 },
	{ "high", 24576 },
	{ NULL, 0 },
};

const char *gemini_finish_reason(const char *reason)
{
	for (size_t i = 0; reason != NULL && gemini_finish_reasons[i].from != NULL; i++)
		if (strcmp(gemini_finish_reasons[i].from, reason) == 0)
			return gemini_finish_reasons[i].to;
	return NULL;
}

enum errkind gemini_error_kind(const char *status)
{
	for (size_t i = 0; status != NULL && gemini_error_statuses[i].status != NULL; i++)
		if (strcmp(gemini_error_statuses[i].status, status) == 0)
			return gemini_error_statuses[i].kind;
	return ERRKIND_COUNT;
}

/* ---- parts ------------------------------------------------------------------------ */

static void gem_push_text(struct json_object *parts, const char *s, size_t len)
{
	if (s == NULL || len == 0)
		return;   /* empty text parts are refused */
	struct json_object *p = xcheck(json_object_new_object());
	jsonobj_set(p, "text", json_object_new_string_len(s, (int)len));
	json_object_array_add(parts, p);
}

/* The image type a URL's extension names; JPEG when it names none. */
static const char *gem_image_type(const char *url)
{
	static const struct gemini_pair types[] = {
		{ ".png", "image/png" }, { ".webp", "image/webp" }, { ".gif", "image/gif" },
		{ ".heic", "image/heic" }, { ".heif", "image/heif" }, { NULL, NULL },
	};
	size_t len = strcspn(url, "?#");

	for (size_t i = 0; types[i].from != NULL; i++) {
		size_t n = strlen(types[i].from);
		if (len >= n && strncasecmp(url + len - n, types[i].from, n) == 0)
			return types[i].to;
	}
	return "image/jpeg";
}

/* An image_url part: a data: URL becomes inlineData, an http(s) URL
 * fileData (Gemini fetches public URLs itself); anything else NULL. */
static struct json_object *gem_image(struct json_object *part)
{
	const char *url = foreign_image_url(part), *b64;
	char *media = foreign_data_url(url, &b64);
	struct json_object *data = xcheck(json_object_new_object());
	struct json_object *p;

	if (media != NULL) {
		jsonobj_set_str(data, "mimeType", media);
		jsonobj_set_str(data, "data", b64);
		free(media);
		p = xcheck(json_object_new_object());
		jsonobj_set(p, "inlineData", data);
		return p;
	}
	if (foreign_is_http(url)) {
		jsonobj_set_str(data, "mimeType", gem_image_type(url));
		jsonobj_set_str(data, "fileUri", url);
		p = xcheck(json_object_new_object());
		jsonobj_set(p, "fileData", data);
		return p;
	}
	json_object_put(data);
	return NULL;
}

/* A message's content, a string or an array of parts, as parts. */
static void gem_push_content(struct json_object *parts, struct json_object *content)
{
	if (json_object_is_type(content, json_type_string)) {
		gem_push_text(parts, json_object_get_string(content),
			      (size_t)json_object_get_string_len(content));
		return;
	}
	for (size_t i = 0; i < jsonobj_len(content); i++) {
		struct json_object *part = json_object_array_get_idx(content, i);
		const char *type = jsonobj_str(part, "type");
		const char *text = jsonobj_str(part, "text");
		if (type != NULL && strcmp(type, "text") == 0 && text != NULL) {
			gem_push_text(parts, text, strlen(text));
		} else if (type != NULL && strcmp(type, "image_url") == 0) {
			struct json_object *img = gem_image(part);
			if (img != NULL)
				json_object_array_add(parts, img);
		}
	}
}

/* An assistant's tool_calls as functionCall parts, each with the
 * thoughtSignature the client kept in it. */
static void gem_push_calls(struct json_object *parts, struct json_object *calls)
{
	for (size_t i = 0; i < jsonobj_len(calls); i++) {
		struct json_object *call = json_object_array_get_idx(calls, i);
		struct json_object *fn = jsonobj_get(call, "function");
		const char *sig = jsonobj_str(call, "thought_signature");
		struct json_object *fc = xcheck(json_object_new_object());
		struct json_object *p = xcheck(json_object_new_object());

		jsonobj_set_str(fc, "name", jsonobj_str(fn, "name") ? jsonobj_str(fn, "name") : "");
		jsonobj_set(fc, "args", foreign_call_args(fn));
		jsonobj_set(p, "functionCall", fc);
		if (sig != NULL)
			jsonobj_set_str(p, "thoughtSignature", sig);
		json_object_array_add(parts, p);
	}
}

/* The function name of the tool call `id` among the messages before `upto`. */
static const char *gem_call_name(struct json_object *messages, size_t upto, const char *id)
{
	for (size_t i = upto; id != NULL && i-- > 0;) {
		struct json_object *calls = jsonobj_get(json_object_array_get_idx(messages, i), "tool_calls");
		for (size_t k = 0; k < jsonobj_len(calls); k++) {
			struct json_object *call = json_object_array_get_idx(calls, k);
			const char *cid = jsonobj_str(call, "id");
			if (cid != NULL && strcmp(cid, id) == 0)
				return jsonobj_str(jsonobj_get(call, "function"), "name");
		}
	}
	return NULL;
}

/* A tool result's content as a functionResponse response: a JSON object
 * as it is, any other content's text as {"content": TEXT}. */
static struct json_object *gem_result_response(struct json_object *content)
{
	struct json_object *response = NULL, *texts;
	struct buf text;

	if (json_object_is_type(content, json_type_string))
		response = json_tokener_parse(json_object_get_string(content));
	if (json_object_is_type(response, json_type_object))
		return response;
	json_object_put(response);
	texts = xcheck(json_object_new_array());
	buf_init(&text, GEMINI_RESULT_MAX);
	gem_push_content(texts, content);
	for (size_t k = 0; k < jsonobj_len(texts); k++)
		if (jsonobj_str(json_object_array_get_idx(texts, k), "text") != NULL)
			(void)buf_append_str(&text, jsonobj_str(json_object_array_get_idx(texts, k), "text"));
	response = xcheck(json_object_new_object());
	jsonobj_set(response, "content", json_object_new_string_len(buf_str(&text), (int)text.len));
	buf_free(&text);
	json_object_put(texts);
	return response;
}

/* A role:tool message (messages[i]) as a functionResponse part, named
 * after the function of the call it answers. */
static void gem_push_result(struct json_object *parts, struct json_object *messages, size_t i)
{
	struct json_object *msg = json_object_array_get_idx(messages, i);
	const char *name = gem_call_name(messages, i, jsonobj_str(msg, "tool_call_id"));
	struct json_object *fr = xcheck(json_object_new_object());
	struct json_object *p = xcheck(json_object_new_object());

	if (name == NULL)
		name = jsonobj_str(msg, "name") ? jsonobj_str(msg, "name") : "unknown";
	jsonobj_set_str(fr, "name", name);
	jsonobj_set(fr, "response", gem_result_response(jsonobj_get(msg, "content")));
	jsonobj_set(p, "functionResponse", fr);
	json_object_array_add(parts, p);
}

/* ---- turns ---------------------------------------------------------------------------- */

static bool gem_is_system(const char *role)
{
	return role != NULL && (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0);
}

/* The contents; system messages' parts go to `system`. */
static struct json_object *gem_contents(struct json_object *messages, struct json_object *system,
					const struct dialect_call *call)
{
	struct json_object *contents = xcheck(json_object_new_array());
	const char *prefill;
	size_t prefill_len;

	for (size_t i = 0; i < jsonobj_len(messages); i++) {
		struct json_object *msg = json_object_array_get_idx(messages, i);
		const char *role = jsonobj_str(msg, "role");
		struct json_object *parts;

		if (gem_is_system(role)) {
			gem_push_content(system, jsonobj_get(msg, "content"));
			continue;
		}
		parts = xcheck(json_object_new_array());
		if (role != NULL && (strcmp(role, "tool") == 0 || strcmp(role, "function") == 0)) {
			gem_push_result(parts, messages, i);
			foreign_turn(contents, "user", "parts", parts);
		} else if (role != NULL && strcmp(role, "assistant") == 0) {
			gem_push_content(parts, jsonobj_get(msg, "content"));
			gem_push_calls(parts, jsonobj_get(msg, "tool_calls"));
			foreign_turn(contents, "model", "parts", parts);
		} else {
			gem_push_content(parts, jsonobj_get(msg, "content"));
			foreign_turn(contents, "user", "parts", parts);
		}
	}
	if (call->prefill != NULL && resume_prefill(call->prefill, &prefill, &prefill_len)) {
		struct json_object *parts = xcheck(json_object_new_array());
		gem_push_text(parts, prefill, prefill_len);
		foreign_turn(contents, "model", "parts", parts);
	}
	return contents;
}

/* ---- generationConfig, tools --------------------------------------------------------- */

static bool gem_is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

/* Copies client[from], a number, to config[to]. */
static void gem_number(struct json_object *config, const char *to, struct json_object *client,
		       const char *from)
{
	struct json_object *v = jsonobj_get(client, from);
	if (gem_is_number(v))
		jsonobj_set(config, to, json_object_get(v));
}

/* response_format json_schema / json_object: JSON out, by the schema given
 * (in Gemini's JSON Schema member, as OpenAI's schemas are JSON Schema). */
static void gem_response_format(struct json_object *config, struct json_object *client)
{
	struct json_object *rf = jsonobj_get(client, "response_format");
	const char *type = jsonobj_str(rf, "type");
	struct json_object *schema = jsonobj_get(jsonobj_get(rf, "json_schema"), "schema");

	if (type == NULL || (strcmp(type, "json_schema") != 0 && strcmp(type, "json_object") != 0))
		return;
	jsonobj_set_str(config, "responseMimeType", "application/json");
	if (strcmp(type, "json_schema") == 0 && json_object_is_type(schema, json_type_object))
		jsonobj_set(config, "responseJsonSchema", json_object_get(schema));
}

static long gem_budget(const char *effort)
{
	for (size_t i = 0; effort != NULL && gemini_budgets[i].effort != NULL; i++)
		if (strcmp(gemini_budgets[i].effort, effort) == 0)
			return gemini_budgets[i].tokens;
	return -1;
}

static struct json_object *gem_config(struct json_object *client, const struct endpoint *ep)
{
	struct json_object *config = xcheck(json_object_new_object());
	long max = foreign_max_tokens(client, ep);
	long budget = gem_budget(jsonobj_str(client, "reasoning_effort"));
	struct json_object *v;

	if (gem_is_number(jsonobj_get(client, "temperature")))
		gem_number(config, "temperature", client, "temperature");
	else if (ep->has_temperature)
		jsonobj_set(config, "temperature", json_object_new_double(ep->temperature));
	gem_number(config, "topP", client, "top_p");
	gem_number(config, "presencePenalty", client, "presence_penalty");
	gem_number(config, "frequencyPenalty", client, "frequency_penalty");
	if (json_object_is_type(jsonobj_get(client, "seed"), json_type_int))
		gem_number(config, "seed", client, "seed");
	if (max > 0)
		jsonobj_set(config, "maxOutputTokens", json_object_new_int64(max));
	if ((v = foreign_stop(jsonobj_get(client, "stop"))) != NULL)
		jsonobj_set(config, "stopSequences", v);
	gem_response_format(config, client);
	if (budget >= 0) {
		struct json_object *thinking = xcheck(json_object_new_object());
		jsonobj_set(thinking, "thinkingBudget", json_object_new_int64(budget));
		if (budget > 0)
			jsonobj_set(thinking, "includeThoughts", json_object_new_boolean(1));
		jsonobj_set(config, "thinkingConfig", thinking);
	}
	if (json_object_object_length(config) == 0) {
		json_object_put(config);
		return NULL;
	}
	return config;
}

/* tools as one functionDeclarations list; the parameters in Gemini's JSON
 * Schema member, which takes OpenAI's schemas as they are. */
static struct json_object *gem_tools(struct json_object *tools)
{
	struct json_object *decls = xcheck(json_object_new_array());
	struct json_object *holder, *out;

	for (size_t i = 0; i < jsonobj_len(tools); i++) {
		struct json_object *d = foreign_tool_decl(json_object_array_get_idx(tools, i), "parametersJsonSchema");
		if (d != NULL)
			json_object_array_add(decls, d);
	}
	if (json_object_array_length(decls) == 0) {
		json_object_put(decls);
		return NULL;
	}
	holder = xcheck(json_object_new_object());
	jsonobj_set(holder, "functionDeclarations", decls);
	out = xcheck(json_object_new_array());
	json_object_array_add(out, holder);
	return out;
}

/* tool_choice auto / none / required / a named function as
 * functionCallingConfig; NULL when there is nothing to say. */
static struct json_object *gem_tool_config(struct json_object *client)
{
	struct json_object *choice = jsonobj_get(client, "tool_choice");
	const char *s = json_object_is_type(choice, json_type_string) ? json_object_get_string(choice) : NULL;
	const char *named = jsonobj_str(jsonobj_get(choice, "function"), "name");
	struct json_object *fcc = xcheck(json_object_new_object());
	struct json_object *out;

	if (named != NULL) {
		struct json_object *names = xcheck(json_object_new_array());
		json_object_array_add(names, xcheck(json_object_new_string(named)));
		jsonobj_set_str(fcc, "mode", "ANY");
		jsonobj_set(fcc, "allowedFunctionNames", names);
	} else if (s != NULL && strcmp(s, "required") == 0) {
		jsonobj_set_str(fcc, "mode", "ANY");
	} else if (s != NULL && strcmp(s, "none") == 0) {
		jsonobj_set_str(fcc, "mode", "NONE");
	} else if (s != NULL && strcmp(s, "auto") == 0) {
		jsonobj_set_str(fcc, "mode", "AUTO");
	} else {
		json_object_put(fcc);
		return NULL;
	}
	out = xcheck(json_object_new_object());
	jsonobj_set(out, "functionCallingConfig", fcc);
	return out;
}

/* The client fields the translation reads; stream and stream_options are
 * honoured by immortal itself (the URL, the usage chunk). */
static const char *const gem_read[] = {
	"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
	"presence_penalty", "frequency_penalty", "seed", "stream", "stream_options", "stop",
	"tools", "tool_choice", "response_format", "reasoning_effort", NULL,
};

struct json_object *gemini_request(struct json_object *client, const struct endpoint *ep,
				   const struct dialect_call *call)
{
	struct json_object *body = xcheck(json_object_new_object());
	struct json_object *system = xcheck(json_object_new_array());
	struct json_object *contents = gem_contents(jsonobj_get(client, "messages"), system, call);
	struct json_object *v;

	jsonobj_set(body, "contents", contents);
	if (json_object_array_length(system) > 0) {
		struct json_object *si = xcheck(json_object_new_object());
		jsonobj_set(si, "parts", system);
		jsonobj_set(body, "systemInstruction", si);
	} else {
		json_object_put(system);
	}
	if ((v = gem_config(client, ep)) != NULL)
		jsonobj_set(body, "generationConfig", v);
	if ((v = gem_tools(jsonobj_get(client, "tools"))) != NULL) {
		jsonobj_set(body, "tools", v);
		if ((v = gem_tool_config(client)) != NULL)
			jsonobj_set(body, "toolConfig", v);
	}
	foreign_log_dropped(client, gem_read, "dropped a field with no meaning in Gemini's API", ep, call);
	return body;
}

/* ---- the dialect ---------------------------------------------------------------------- */

static char *gemini_url(const struct endpoint *ep, const struct dialect_call *call)
{
	return xasprintf("%s/models/%s:%s", ep->baseurl, ep->model,
			 call->up_stream ? "streamGenerateContent?alt=sse" : "generateContent");
}

static char *gemini_body(struct json_object *client, const struct endpoint *ep,
			 const struct dialect_call *call)
{
	return foreign_serialize(gemini_request(client, ep, call));
}

static struct curl_slist *gemini_headers(const struct endpoint *ep, const struct dialect_call *call)
{
	struct curl_slist *h = upreq_headers_common(ep, call->up_stream);

	if (ep->apikey)
		h = upreq_header(h, ep, "x-goog-api-key", ep->apikey);
	return upreq_headers_own(h, ep);
}

struct json_object *gemini_error_object(struct json_object *root)
{
	struct json_object *error = jsonobj_get(root, "error");

	/* a streamed error may come as the one element of an array */
	if (error == NULL && json_object_is_type(root, json_type_array) && json_object_array_length(root) == 1)
		error = jsonobj_get(json_object_array_get_idx(root, 0), "error");
	if (!json_object_is_type(error, json_type_object) || jsonobj_str(error, "message") == NULL)
		return NULL;
	return error;
}

/* An error answer names its status; one without is a proxy's. */
static struct json_object *gem_error_answer_object(struct json_object *root)
{
	struct json_object *error = gemini_error_object(root);
	return jsonobj_str(error, "status") != NULL ? error : NULL;
}

static enum errkind gem_error_kind_of(struct json_object *error)
{
	return gemini_error_kind(jsonobj_str(error, "status"));
}

/* Gemini says a prompt is too long only in words. */
static bool gem_prompt_too_long(const char *message)
{
	return strstr(message, "input token count") != NULL ||
	       strstr(message, "exceeds the maximum number of tokens") != NULL;
}

static const struct foreign_errors gem_errors = {
	.object = gem_error_answer_object,
	.type_key = "status",
	.kind = gem_error_kind_of,
	.too_long = gem_prompt_too_long,
};

void gemini_error(long status, const char *body, struct dialect_error *out)
{
	foreign_error(&gem_errors, status, body, out);
}

const struct dialect dialect_gemini = {
	.name = "gemini",
	.url = gemini_url,
	.body = gemini_body,
	.headers = gemini_headers,
	.stream_new = gemini_stream_new,
	.stream_feed = foreign_stream_feed,
	.stream_finish = gemini_stream_finish,
	.stream_began = foreign_stream_began,
	.stream_free = foreign_stream_free,
	.answer = gemini_answer,
	.error = gemini_error,
};
