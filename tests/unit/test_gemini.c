/* test_gemini.c: unit tests for the Gemini dialect, both directions
 * (common/dialect_gemini.c and dialect_gemini_decode.c), and a walk over
 * its mapping tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "dialect_fixtures.h"
#include "dialect_gemini.h"
#include "resume.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static struct endpoint test_ep(long max_tokens)
{
	return (struct endpoint){ .name = "gem", .baseurl = "https://gl.test/v1beta",
				  .apikey = "AIza-secret", .model = "gemini-x",
				  .type = ENDPOINT_GEMINI, .max_tokens = max_tokens };
}

/* The generateContent request for a client body. */
static struct json_object *request(const char *client_text, long ep_max)
{
	struct endpoint ep = test_ep(ep_max);
	return request_with(gemini_request, &ep, client_text, true);
}

/* ---- the tables ----------------------------------------------------------------------------- */

static void test_tables(void **state)
{
	static const char *const finishes[] = { "stop", "length", "content_filter", NULL };
	static const char *const filtered[] = { "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", NULL };
	size_t i;

	(void)state;
	for (i = 0; gemini_finish_reasons[i].from; i++) {
		assert_true(one_of(gemini_finish_reasons[i].to, finishes));
		assert_string_equal(gemini_finish_reason(gemini_finish_reasons[i].from), gemini_finish_reasons[i].to);
	}
	for (i = 0; filtered[i]; i++)
		assert_string_equal(gemini_finish_reason(filtered[i]), "content_filter");
	assert_string_equal(gemini_finish_reason("STOP"), "stop");
	assert_string_equal(gemini_finish_reason("MAX_TOKENS"), "length");
	assert_null(gemini_finish_reason("MALFORMED_FUNCTION_CALL"));
	assert_null(gemini_finish_reason(NULL));
	for (i = 0; gemini_error_statuses[i].status; i++) {
		assert_true(gemini_error_statuses[i].kind > ERRKIND_NONE && gemini_error_statuses[i].kind < ERRKIND_COUNT);
		assert_int_equal(gemini_error_kind(gemini_error_statuses[i].status), gemini_error_statuses[i].kind);
	}
	assert_int_equal(gemini_error_kind("INVALID_ARGUMENT"), ERRKIND_REQUEST);
	assert_int_equal(gemini_error_kind("UNAUTHENTICATED"), ERRKIND_AUTH);
	assert_int_equal(gemini_error_kind("PERMISSION_DENIED"), ERRKIND_PERMISSION);
	assert_int_equal(gemini_error_kind("RESOURCE_EXHAUSTED"), ERRKIND_RATE_LIMIT);
	assert_int_equal(gemini_error_kind("INTERNAL"), ERRKIND_SERVER);
	assert_int_equal(gemini_error_kind("UNAVAILABLE"), ERRKIND_SERVER);
	assert_int_equal(gemini_error_kind("NEW_STATUS"), ERRKIND_COUNT);
	for (i = 0; gemini_budgets[i].effort; i++)   /* Gemini 2.5 Flash takes 0..24576 */
		assert_true(gemini_budgets[i].tokens >= 0 && gemini_budgets[i].tokens <= 24576);
}

/* ---- requests --------------------------------------------------------------------------------- */

static void test_request_messages(void **state)
{
	struct json_object *b = request(
		"{\"model\":\"g\",\"messages\":["
		"{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"Hi\"},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Look:\"},"
		"  {\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\"}},"
		"  {\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/a.webp?s=1\"}}]},"
		"{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Use metric.\"}]},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
		"  {\"id\":\"call_1\",\"type\":\"function\",\"thought_signature\":\"c2ln\","
		"   \"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
		"  {\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"bad\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":[{\"type\":\"text\",\"text\":\"no\"},{\"type\":\"text\",\"text\":\"on\"}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\":18}\"},"
		"{\"role\":\"user\",\"content\":\"Thanks\"}]}", 0);

	(void)state;
	assert_null(path(b, "model"));
	assert_int_equal(len_at(b, "systemInstruction.parts"), 2);
	assert_string_equal(str_at(b, "systemInstruction.parts.0.text"), "Be brief.");
	assert_string_equal(str_at(b, "systemInstruction.parts.1.text"), "Use metric.");
	assert_int_equal(len_at(b, "contents"), 3);   /* user, model, user (results + text) */
	assert_string_equal(str_at(b, "contents.0.role"), "user");
	assert_int_equal(len_at(b, "contents.0.parts"), 4);
	assert_string_equal(str_at(b, "contents.0.parts.0.text"), "Hi");
	assert_string_equal(str_at(b, "contents.0.parts.1.text"), "Look:");
	assert_string_equal(str_at(b, "contents.0.parts.2.inlineData.mimeType"), "image/png");
	assert_string_equal(str_at(b, "contents.0.parts.2.inlineData.data"), "iVBOR");
	assert_string_equal(str_at(b, "contents.0.parts.3.fileData.mimeType"), "image/webp");
	assert_string_equal(str_at(b, "contents.0.parts.3.fileData.fileUri"), "https://x.test/a.webp?s=1");
	assert_string_equal(str_at(b, "contents.1.role"), "model");
	assert_string_equal(str_at(b, "contents.1.parts.0.functionCall.name"), "get_weather");
	assert_string_equal(str_at(b, "contents.1.parts.0.functionCall.args.city"), "Paris");
	assert_string_equal(str_at(b, "contents.1.parts.0.thoughtSignature"), "c2ln");
	assert_string_equal(str_at(b, "contents.1.parts.1.functionCall.name"), "get_time");
	assert_non_null(path(b, "contents.1.parts.1.functionCall.args"));   /* bad arguments: {} */
	assert_null(path(b, "contents.1.parts.1.thoughtSignature"));
	assert_string_equal(str_at(b, "contents.2.role"), "user");
	/* results are named by the call they answer */
	assert_string_equal(str_at(b, "contents.2.parts.0.functionResponse.name"), "get_time");
	assert_string_equal(str_at(b, "contents.2.parts.0.functionResponse.response.content"), "noon");
	assert_string_equal(str_at(b, "contents.2.parts.1.functionResponse.name"), "get_weather");
	assert_int_equal(int_at(b, "contents.2.parts.1.functionResponse.response.temp"), 18);
	assert_string_equal(str_at(b, "contents.2.parts.2.text"), "Thanks");
	assert_null(path(b, "generationConfig"));
	assert_null(path(b, "stream"));
	json_object_put(b);
}

static void test_request_fields(void **state)
{
	struct json_object *b = request(
		"{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
		"\"max_tokens\":500,\"temperature\":0.5,\"top_p\":0.9,\"stop\":[\"END\",\"\"],\"stream\":true,"
		"\"seed\":7,\"presence_penalty\":0.1,\"n\":1,\"user\":\"u\",\"reasoning_effort\":\"high\","
		"\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"object\"}}},"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"does f\","
		"\"parameters\":{\"type\":\"object\",\"additionalProperties\":false}}},"
		"{\"type\":\"function\",\"function\":{\"name\":\"g\"}},{\"type\":\"function\"}],\"tool_choice\":\"required\"}", 100);

	(void)state;
	assert_int_equal(int_at(b, "generationConfig.maxOutputTokens"), 100);   /* the endpoint's cap */
	assert_true(json_object_get_double(path(b, "generationConfig.temperature")) == 0.5);
	assert_true(json_object_get_double(path(b, "generationConfig.topP")) == 0.9);
	assert_true(json_object_get_double(path(b, "generationConfig.presencePenalty")) == 0.1);
	assert_int_equal(int_at(b, "generationConfig.seed"), 7);
	assert_int_equal(len_at(b, "generationConfig.stopSequences"), 1);
	assert_string_equal(str_at(b, "generationConfig.stopSequences.0"), "END");
	assert_string_equal(str_at(b, "generationConfig.responseMimeType"), "application/json");
	assert_string_equal(str_at(b, "generationConfig.responseJsonSchema.type"), "object");
	assert_int_equal(int_at(b, "generationConfig.thinkingConfig.thinkingBudget"), 24576);
	assert_true(json_object_get_boolean(path(b, "generationConfig.thinkingConfig.includeThoughts")));
	assert_int_equal(len_at(b, "tools"), 1);
	assert_int_equal(len_at(b, "tools.0.functionDeclarations"), 2);
	assert_string_equal(str_at(b, "tools.0.functionDeclarations.0.name"), "f");
	assert_string_equal(str_at(b, "tools.0.functionDeclarations.0.description"), "does f");
	assert_non_null(path(b, "tools.0.functionDeclarations.0.parametersJsonSchema.additionalProperties"));
	assert_null(path(b, "tools.0.functionDeclarations.1.parametersJsonSchema"));
	assert_string_equal(str_at(b, "toolConfig.functionCallingConfig.mode"), "ANY");
	assert_null(path(b, "n"));
	assert_null(path(b, "user"));
	assert_null(path(b, "stream"));
	json_object_put(b);
}

static void test_request_tool_choice(void **state)
{
	static const struct { const char *choice; const char *mode; const char *name; } cases[] = {
		{ "\"auto\"", "AUTO", NULL },
		{ "\"none\"", "NONE", NULL },
		{ "\"required\"", "ANY", NULL },
		{ "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "ANY", "f" },
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
			 "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":%s}",
			 cases[i].choice);
		struct json_object *b = request(text, 0);
		assert_string_equal(str_at(b, "toolConfig.functionCallingConfig.mode"), cases[i].mode);
		if (cases[i].name)
			assert_string_equal(str_at(b, "toolConfig.functionCallingConfig.allowedFunctionNames.0"), cases[i].name);
		else
			assert_null(path(b, "toolConfig.functionCallingConfig.allowedFunctionNames"));
		json_object_put(b);
	}
	/* no tools: no toolConfig either; reasoning_effort none: a zero budget */
	struct json_object *b = request("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
					"\"tool_choice\":\"auto\",\"reasoning_effort\":\"none\"}", 0);
	assert_null(path(b, "tools"));
	assert_null(path(b, "toolConfig"));
	assert_int_equal(int_at(b, "generationConfig.thinkingConfig.thinkingBudget"), 0);
	assert_null(path(b, "generationConfig.thinkingConfig.includeThoughts"));
	json_object_put(b);
}

static void test_request_prefill(void **state)
{
	struct endpoint ep = test_ep(0);
	struct json_object *b = request_prefilled(gemini_request, &ep,
		"{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
		"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w1 w2\"}}]}");

	(void)state;
	assert_int_equal(len_at(b, "contents"), 2);
	assert_string_equal(str_at(b, "contents.1.role"), "model");
	assert_string_equal(str_at(b, "contents.1.parts.0.text"), "w1 w2");
	json_object_put(b);
}

static void test_request_url_and_headers(void **state)
{
	struct endpoint ep = test_ep(0);
	struct dialect_call call = { .up_stream = true };
	char *url = dialect_gemini.url(&ep, &call);
	struct curl_slist *h = dialect_gemini.headers(&ep, &call);

	(void)state;
	assert_string_equal(url, "https://gl.test/v1beta/models/gemini-x:streamGenerateContent?alt=sse");
	free(url);
	assert_true(has_line(h, "x-goog-api-key: AIza-secret"));
	for (const struct curl_slist *l = h; l; l = l->next)
		assert_null(strstr(l->data, "Authorization"));
	curl_slist_free_all(h);
	call.up_stream = false;
	url = dialect_gemini.url(&ep, &call);
	assert_string_equal(url, "https://gl.test/v1beta/models/gemini-x:generateContent");
	assert_null(strstr(url, "AIza"));
	free(url);
	assert_ptr_equal(dialect_for(ENDPOINT_GEMINI), &dialect_gemini);
}

/* ---- streams ----------------------------------------------------------------------------------- */

#define EV(data) "data: " data "\r\n\r\n"
#define RESP(parts, rest) "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[" parts "]}" rest "}]," \
	"\"usageMetadata\":{\"promptTokenCount\":10,\"totalTokenCount\":10},\"modelVersion\":\"gemini-x-001\",\"responseId\":\"r9\"}"
static const char stream_text[] =
	EV(RESP("{\"text\":\"Hmm.\",\"thought\":true}", ""))
	EV(RESP("{\"text\":\"Hello\"}", ""))
	EV(RESP("{\"text\":\" there\"},{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"c2ln\"}", ""))
	EV("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\"}],"
	   "\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":5,\"thoughtsTokenCount\":2,\"totalTokenCount\":17},"
	   "\"modelVersion\":\"gemini-x-001\",\"responseId\":\"r9\"}");

static void check_stream(const struct capture *cap, bool usage)
{
	struct json_object *c = cap->chunks;

	check_chunks(cap, "chatcmpl-r9", "gemini-x-001");
	assert_int_equal(json_object_array_length(c), usage ? 7 : 6);
	assert_string_equal(str_at(c, "0.choices.0.delta.role"), "assistant");
	assert_string_equal(str_at(c, "1.choices.0.delta.reasoning_content"), "Hmm.");
	assert_string_equal(str_at(c, "2.choices.0.delta.content"), "Hello");
	assert_string_equal(str_at(c, "3.choices.0.delta.content"), " there");
	assert_int_equal(int_at(c, "4.choices.0.delta.tool_calls.0.index"), 0);
	assert_true(strncmp(str_at(c, "4.choices.0.delta.tool_calls.0.id"), "call_", 5) == 0);
	assert_int_equal(strlen(str_at(c, "4.choices.0.delta.tool_calls.0.id")), 5 + 24);
	assert_string_equal(str_at(c, "4.choices.0.delta.tool_calls.0.type"), "function");
	assert_string_equal(str_at(c, "4.choices.0.delta.tool_calls.0.function.name"), "get_weather");
	assert_string_equal(str_at(c, "4.choices.0.delta.tool_calls.0.function.arguments"), "{\"city\":\"Paris\"}");
	assert_string_equal(str_at(c, "4.choices.0.delta.tool_calls.0.thought_signature"), "c2ln");
	assert_string_equal(str_at(c, "5.choices.0.finish_reason"), "tool_calls");
	if (usage) {
		assert_int_equal(len_at(c, "6.choices"), 0);
		assert_int_equal(int_at(c, "6.usage.prompt_tokens"), 10);
		assert_int_equal(int_at(c, "6.usage.completion_tokens"), 7);
		assert_int_equal(int_at(c, "6.usage.total_tokens"), 17);
	}
}

static void test_stream(void **state)
{
	(void)state;
	decode_splits(&dialect_gemini, stream_text, sizeof stream_text, check_stream);
}

static void test_stream_ids_unique(void **state)
{
	struct capture a, b;

	(void)state;
	decode(&dialect_gemini, stream_text, 64, false, &a);
	decode(&dialect_gemini, stream_text, 64, false, &b);
	assert_string_not_equal(str_at(a.chunks, "4.choices.0.delta.tool_calls.0.id"),
				str_at(b.chunks, "4.choices.0.delta.tool_calls.0.id"));
	json_object_put(a.chunks);
	json_object_put(b.chunks);
}

/* Each finishReason of the table, and one it lacks, through a stream. */
static void test_stream_finish_reasons(void **state)
{
	char sse[512];
	struct capture cap;

	(void)state;
	for (size_t i = 0; gemini_finish_reasons[i].from; i++) {
		snprintf(sse, sizeof sse, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},"
			 "\"finishReason\":\"%s\"}]}\n\n", gemini_finish_reasons[i].from);
		decode(&dialect_gemini, sse, 64, false, &cap);
		assert_int_equal(json_object_array_length(cap.chunks), 3);
		assert_string_equal(str_at(cap.chunks, "2.choices.0.finish_reason"), gemini_finish_reasons[i].to);
		assert_int_equal(cap.done, 1);
		json_object_put(cap.chunks);
	}
	decode(&dialect_gemini, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"LANGUAGE\"}]}\n\n",
	       64, false, &cap);
	assert_string_equal(str_at(cap.chunks, "2.choices.0.finish_reason"), "stop");
	json_object_put(cap.chunks);
	/* a filter before a word: the filter's error, not an empty answer */
	decode(&dialect_gemini, "data: {\"candidates\":[{\"finishReason\":\"SAFETY\"}]}\n\n", 64, false, &cap);
	assert_int_equal(cap.errors, 1);
	assert_int_equal(cap.kind, ERRKIND_CONTENT_FILTER);
	json_object_put(cap.chunks);
}

static void test_stream_errors(void **state)
{
	struct capture cap;

	(void)state;
	/* an end without a finishReason is no end */
	decode(&dialect_gemini, EV(RESP("{\"text\":\"Hello\"}", "")), 64, false, &cap);
	assert_int_equal(cap.done, 0);
	assert_int_equal(json_object_array_length(cap.chunks), 2);
	assert_null(path(cap.chunks, "1.choices.0.finish_reason") ? json_object_get_string(path(cap.chunks, "1.choices.0.finish_reason")) : NULL);
	json_object_put(cap.chunks);
	decode(&dialect_gemini, EV(RESP("{\"text\":\"Hello\"}", ""))
	       EV("{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}"),
	       64, false, &cap);
	assert_int_equal(cap.errors, 1);
	assert_int_equal(cap.kind, ERRKIND_SERVER);
	assert_string_equal(cap.message, "The model is overloaded.");
	assert_int_equal(cap.done, 0);
	json_object_put(cap.chunks);
	decode(&dialect_gemini, EV("{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":3}}"),
	       64, false, &cap);
	assert_int_equal(cap.errors, 1);
	assert_int_equal(cap.kind, ERRKIND_CONTENT_FILTER);
	assert_non_null(strstr(cap.message, "SAFETY"));
	assert_int_equal(json_object_array_length(cap.chunks), 0);
	json_object_put(cap.chunks);
	/* a data line that is not JSON is dropped, the rest goes on */
	decode(&dialect_gemini, "data: not json\n\n" EV(RESP("{\"text\":\"x\"}", "")), 64, false, &cap);
	assert_int_equal(cap.dropped, 8);
	assert_string_equal(str_at(cap.chunks, "1.choices.0.delta.content"), "x");
	json_object_put(cap.chunks);
}

/* ---- whole answers ------------------------------------------------------------------------------ */

static void test_answer(void **state)
{
	static const char body[] =
		"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hmm.\",\"thought\":true},"
		"{\"text\":\"It is \"},{\"text\":\"sunny.\"},{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},"
		"\"thoughtSignature\":\"c2ln\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
		"\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":6,\"thoughtsTokenCount\":3},"
		"\"modelVersion\":\"gemini-x-001\",\"responseId\":\"r1\"}";
	struct canon out;
	char detail[128];

	(void)state;
	assert_int_equal(dialect_gemini.answer(body, &out, detail, sizeof detail), ERRKIND_NONE);
	assert_string_equal(str_at(out.obj, "object"), "chat.completion");
	assert_string_equal(str_at(out.obj, "id"), "chatcmpl-r1");
	assert_string_equal(str_at(out.obj, "model"), "gemini-x-001");
	assert_string_equal(str_at(out.obj, "choices.0.message.content"), "It is sunny.");
	assert_string_equal(str_at(out.obj, "choices.0.message.reasoning_content"), "Hmm.");
	assert_string_equal(str_at(out.obj, "choices.0.message.tool_calls.0.function.arguments"), "{\"a\":1}");
	assert_string_equal(str_at(out.obj, "choices.0.message.tool_calls.0.thought_signature"), "c2ln");
	assert_null(path(out.obj, "choices.0.message.tool_calls.0.index"));
	assert_string_equal(str_at(out.obj, "choices.0.finish_reason"), "tool_calls");
	assert_int_equal(int_at(out.obj, "usage.prompt_tokens"), 4);
	assert_int_equal(int_at(out.obj, "usage.completion_tokens"), 9);
	assert_int_equal(int_at(out.obj, "usage.total_tokens"), 13);
	json_object_put(out.obj);
	/* the array a stream endpoint answers without alt=sse */
	assert_int_equal(dialect_gemini.answer("[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},"
					       "\"finishReason\":\"MAX_TOKENS\"}]}]", &out, detail, sizeof detail), ERRKIND_NONE);
	assert_string_equal(str_at(out.obj, "choices.0.finish_reason"), "length");
	json_object_put(out.obj);
	assert_int_equal(dialect_gemini.answer("{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"}}",
					       &out, detail, sizeof detail), ERRKIND_CONTENT_FILTER);
	assert_non_null(strstr(detail, "PROHIBITED_CONTENT"));
	assert_int_equal(dialect_gemini.answer("{\"candidates\":[{\"finishReason\":\"RECITATION\"}]}",
					       &out, detail, sizeof detail), ERRKIND_CONTENT_FILTER);
	assert_int_equal(dialect_gemini.answer("{\"candidates\":[{\"content\":{\"parts\":[]},\"finishReason\":\"STOP\"}]}",
					       &out, detail, sizeof detail), ERRKIND_INVALID_RESPONSE);
	assert_int_equal(dialect_gemini.answer("[1,2]", &out, detail, sizeof detail), ERRKIND_INVALID_RESPONSE);
	assert_int_equal(dialect_gemini.answer("{\"error\":{\"code\":500,\"message\":\"m\",\"status\":\"INTERNAL\"}}",
					       &out, detail, sizeof detail), ERRKIND_INVALID_RESPONSE);
	assert_null(out.obj);
}

/* Reads an error answer through the dialect; the caller frees e->shaped. */
static enum errkind gem_error(long status, const char *body, struct dialect_error *e)
{
	dialect_gemini.error(status, body, e);
	return e->kind;
}

static void test_errors(void **state)
{
	static const struct { long status; const char *name; enum errkind kind; } cases[] = {
		{ 400, "INVALID_ARGUMENT", ERRKIND_REQUEST },
		{ 401, "UNAUTHENTICATED", ERRKIND_AUTH },
		{ 403, "PERMISSION_DENIED", ERRKIND_PERMISSION },
		{ 429, "RESOURCE_EXHAUSTED", ERRKIND_RATE_LIMIT },
		{ 500, "INTERNAL", ERRKIND_SERVER },
		{ 503, "UNAVAILABLE", ERRKIND_SERVER },
		{ 504, "DEADLINE_EXCEEDED", ERRKIND_TIMEOUT },
		{ 418, "TEAPOT", ERRKIND_REQUEST },   /* unknown status: by HTTP status */
	};
	struct dialect_error e;
	char body[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(body, sizeof body, "{\"error\":{\"code\":%ld,\"message\":\"m%zu\",\"status\":\"%s\"}}",
			 cases[i].status, i, cases[i].name);
		assert_int_equal(gem_error(cases[i].status, body, &e), cases[i].kind);
		char want[16];
		snprintf(want, sizeof want, "m%zu", i);
		assert_string_equal(e.message, want);
		assert_true(e.api_error);
		free(e.shaped);
	}
	for (size_t i = 0; gemini_error_statuses[i].status; i++) {   /* the whole table */
		snprintf(body, sizeof body, "{\"error\":{\"code\":400,\"message\":\"x\",\"status\":\"%s\"}}",
			 gemini_error_statuses[i].status);
		assert_int_equal(gem_error(400, body, &e), gemini_error_statuses[i].kind);
		free(e.shaped);
	}
	/* a prompt too long fails over like context length, with OpenAI's code */
	const char *tl = "{\"error\":{\"code\":400,\"message\":\"The input token count (250000) exceeds the maximum "
			 "number of tokens allowed (131072).\",\"status\":\"INVALID_ARGUMENT\"}}";
	assert_int_equal(gem_error(400, tl, &e), ERRKIND_REQUEST);
	struct json_object *o = parse(e.shaped);
	assert_string_equal(str_at(o, "error.code"), "context_length_exceeded");
	assert_string_equal(str_at(o, "error.type"), "INVALID_ARGUMENT");
	assert_non_null(strstr(str_at(o, "error.message"), "input token count"));
	json_object_put(o);
	free(e.shaped);
	/* not Gemini's shape: left as it is, classified by status */
	gem_error(400, "{\"detail\":\"x\"}", &e);
	assert_null(e.shaped);
	assert_int_equal(gem_error(502, "<html>bad gateway</html>", &e), ERRKIND_SERVER);
	free(e.shaped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_request_messages),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_request_tool_choice),
		cmocka_unit_test(test_request_prefill),
		cmocka_unit_test(test_request_url_and_headers),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_ids_unique),
		cmocka_unit_test(test_stream_finish_reasons),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
