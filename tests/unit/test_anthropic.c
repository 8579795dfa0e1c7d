/* test_anthropic.c: unit tests for the Anthropic dialect, both directions
 * (common/dialect_anthropic.c and dialect_anthropic_decode.c), and a walk
 * over its mapping tables. */
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
#include "dialect_anthropic.h"
#include "dialect_fixtures.h"
#include "jsonraw.h"
#include "resume.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static struct endpoint test_ep(long max_tokens)
{
	return (struct endpoint){ .name = "anth", .baseurl = "https://api.anthropic.test/v1",
				  .apikey = "sk-ant-secret", .model = "claude-x",
				  .type = ENDPOINT_ANTHROPIC, .max_tokens = max_tokens };
}

/* The Messages request for a client body. */
static struct json_object *request(const char *client_text, long ep_max, bool stream)
{
	struct endpoint ep = test_ep(ep_max);
	return request_with(anthropic_request, &ep, client_text, stream);
}

/* ---- the tables ----------------------------------------------------------------------------- */

static void test_tables(void **state)
{
	static const char *const finishes[] = { "stop", "length", "tool_calls", "content_filter", NULL };
	static const char *const turns[] = { "system", "user", "assistant", NULL };
	size_t i;

	(void)state;
	for (i = 0; anthropic_stop_reasons[i].from; i++) {
		assert_true(one_of(anthropic_stop_reasons[i].to, finishes));
		assert_string_equal(anthropic_lookup(anthropic_stop_reasons, anthropic_stop_reasons[i].from, "?"),
				    anthropic_stop_reasons[i].to);
	}
	assert_true(i >= 5);
	for (i = 0; anthropic_roles[i].from; i++) {
		assert_true(one_of(anthropic_roles[i].to, turns));
		assert_string_equal(anthropic_lookup(anthropic_roles, anthropic_roles[i].from, "?"),
				    anthropic_roles[i].to);
	}
	for (i = 0; anthropic_error_types[i].type; i++) {
		assert_true(anthropic_error_types[i].kind > ERRKIND_NONE &&
			    anthropic_error_types[i].kind < ERRKIND_COUNT);
		assert_int_equal(anthropic_error_kind(anthropic_error_types[i].type), anthropic_error_types[i].kind);
	}
	for (i = 0; anthropic_budgets[i].effort; i++)   /* the API's smallest budget is 1024 */
		assert_true(anthropic_budgets[i].tokens == 0 || anthropic_budgets[i].tokens >= 1024);
	assert_string_equal(anthropic_lookup(anthropic_stop_reasons, "end_turn", "?"), "stop");
	assert_string_equal(anthropic_lookup(anthropic_stop_reasons, "max_tokens", "?"), "length");
	assert_string_equal(anthropic_lookup(anthropic_stop_reasons, "tool_use", "?"), "tool_calls");
	assert_string_equal(anthropic_lookup(anthropic_stop_reasons, "refusal", "?"), "content_filter");
	assert_string_equal(anthropic_lookup(anthropic_stop_reasons, "new_reason", "?"), "?");
	assert_int_equal(anthropic_error_kind("overloaded_error"), ERRKIND_SERVER);
	assert_int_equal(anthropic_error_kind("rate_limit_error"), ERRKIND_RATE_LIMIT);
	assert_int_equal(anthropic_error_kind("authentication_error"), ERRKIND_AUTH);
	assert_int_equal(anthropic_error_kind("permission_error"), ERRKIND_PERMISSION);
	assert_int_equal(anthropic_error_kind("invalid_request_error"), ERRKIND_REQUEST);
	assert_int_equal(anthropic_error_kind("api_error"), ERRKIND_SERVER);
	assert_int_equal(anthropic_error_kind("new_error"), ERRKIND_COUNT);
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
		"  {\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/a.jpg\"}}]},"
		"{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Use metric.\"}]},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
		"  \"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18C\"},"
		"{\"role\":\"user\",\"content\":\"Thanks\"}]}", 0, false);

	(void)state;
	assert_string_equal(str_at(b, "model"), "claude-x");
	assert_string_equal(str_at(b, "system"), "Be brief.\n\nUse metric.");
	assert_int_equal(len_at(b, "messages"), 3);   /* user, assistant, user (tool result + text) */
	assert_string_equal(str_at(b, "messages.0.role"), "user");
	assert_int_equal(len_at(b, "messages.0.content"), 4);
	assert_string_equal(str_at(b, "messages.0.content.0.text"), "Hi");
	assert_string_equal(str_at(b, "messages.0.content.1.text"), "Look:");
	assert_string_equal(str_at(b, "messages.0.content.2.type"), "image");
	assert_string_equal(str_at(b, "messages.0.content.2.source.type"), "base64");
	assert_string_equal(str_at(b, "messages.0.content.2.source.media_type"), "image/png");
	assert_string_equal(str_at(b, "messages.0.content.2.source.data"), "iVBOR");
	assert_string_equal(str_at(b, "messages.0.content.3.source.type"), "url");
	assert_string_equal(str_at(b, "messages.0.content.3.source.url"), "https://x.test/a.jpg");
	assert_string_equal(str_at(b, "messages.1.role"), "assistant");
	assert_string_equal(str_at(b, "messages.1.content.0.type"), "tool_use");
	assert_string_equal(str_at(b, "messages.1.content.0.id"), "call_1");
	assert_string_equal(str_at(b, "messages.1.content.0.name"), "get_weather");
	assert_string_equal(str_at(b, "messages.1.content.0.input.city"), "Paris");
	assert_string_equal(str_at(b, "messages.2.role"), "user");
	assert_string_equal(str_at(b, "messages.2.content.0.type"), "tool_result");
	assert_string_equal(str_at(b, "messages.2.content.0.tool_use_id"), "call_1");
	assert_string_equal(str_at(b, "messages.2.content.0.content"), "18C");
	assert_string_equal(str_at(b, "messages.2.content.1.text"), "Thanks");
	assert_int_equal(int_at(b, "max_tokens"), ANTHROPIC_MAX_TOKENS_DEFAULT);
	assert_null(path(b, "stream"));
	json_object_put(b);
}

static void test_request_fields(void **state)
{
	struct json_object *b = request(
		"{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
		"\"max_tokens\":500,\"temperature\":0.5,\"top_p\":0.9,\"stop\":\"END\",\"stream\":true,"
		"\"stream_options\":{\"include_usage\":true},\"n\":1,\"presence_penalty\":0.1,\"seed\":7,"
		"\"user\":\"u-1\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
		"\"description\":\"does f\",\"parameters\":{\"type\":\"object\"}}},"
		"{\"type\":\"function\",\"function\":{\"name\":\"g\"}}],\"tool_choice\":\"required\","
		"\"parallel_tool_calls\":false}", 100, true);

	(void)state;
	assert_int_equal(int_at(b, "max_tokens"), 100);   /* capped by the endpoint */
	assert_true(json_object_get_double(path(b, "temperature")) == 0.5);
	assert_true(json_object_get_double(path(b, "top_p")) == 0.9);
	assert_string_equal(str_at(b, "stop_sequences.0"), "END");
	assert_true(json_object_get_boolean(path(b, "stream")));
	assert_string_equal(str_at(b, "tools.0.name"), "f");
	assert_string_equal(str_at(b, "tools.0.description"), "does f");
	assert_string_equal(str_at(b, "tools.0.input_schema.type"), "object");
	assert_string_equal(str_at(b, "tools.1.input_schema.type"), "object");
	assert_string_equal(str_at(b, "tool_choice.type"), "any");
	assert_true(json_object_get_boolean(path(b, "tool_choice.disable_parallel_tool_use")));
	assert_string_equal(str_at(b, "metadata.user_id"), "u-1");
	/* nothing without an Anthropic meaning is sent */
	json_object_object_foreach(b, key, val) {
		static const char *const allowed[] = {
			"model", "max_tokens", "system", "messages", "temperature", "top_p", "stop_sequences",
			"stream", "tools", "tool_choice", "metadata", "thinking", NULL,
		};
		(void)val;
		if (!one_of(key, allowed))
			fail_msg("sent %s", key);
	}
	json_object_put(b);

	b = request("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_completion_tokens\":50,"
		    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
		    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}", 100, false);
	assert_int_equal(int_at(b, "max_tokens"), 50);
	assert_string_equal(str_at(b, "tool_choice.type"), "tool");
	assert_string_equal(str_at(b, "tool_choice.name"), "f");
	json_object_put(b);
	b = request("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"tool_choice\":\"none\","
		    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"stop\":[\"a\",\"b\"]}", 300, false);
	assert_int_equal(int_at(b, "max_tokens"), 300);   /* the endpoint's when the client sent none */
	assert_string_equal(str_at(b, "tool_choice.type"), "none");
	assert_int_equal(len_at(b, "stop_sequences"), 2);
	json_object_put(b);
	b = request("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"temperature\":1.6}", 0, false);
	assert_true(json_object_get_double(path(b, "temperature")) == 1.0);   /* Anthropic's scale ends at 1 */
	json_object_put(b);
}

static void test_request_thinking(void **state)
{
	struct json_object *b = request("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
					"\"reasoning_effort\":\"medium\",\"temperature\":0.2}", 0, false);

	(void)state;
	assert_string_equal(str_at(b, "thinking.type"), "enabled");
	int64_t budget = int_at(b, "thinking.budget_tokens");
	assert_true(budget >= 1024);
	/* the answer keeps its room beside the thinking budget */
	assert_int_equal(int_at(b, "max_tokens"), ANTHROPIC_MAX_TOKENS_DEFAULT + budget);
	assert_null(path(b, "temperature"));   /* refused while thinking */
	json_object_put(b);
	b = request("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"reasoning_effort\":\"none\"}", 0, false);
	assert_null(path(b, "thinking"));
	json_object_put(b);
}

/* A continuation ends with the delivered text as the assistant turn,
 * without the trailing white space the API refuses. */
static void test_request_prefill(void **state)
{
	struct endpoint ep = test_ep(0);
	struct json_object *b = request_prefilled(anthropic_request, &ep,
		"{\"messages\":[{\"role\":\"user\",\"content\":\"Count\"}]}",
		"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"one two \"}}]}");

	(void)state;
	assert_int_equal(len_at(b, "messages"), 2);
	assert_string_equal(str_at(b, "messages.1.role"), "assistant");
	assert_string_equal(str_at(b, "messages.1.content.0.text"), "one two");
	json_object_put(b);
}

static void test_request_url_and_headers(void **state)
{
	struct endpoint ep = test_ep(0);
	struct endpoint_header own[] = { { "anthropic-version", "2099-01-01" }, { "anthropic-beta", "b1" } };
	struct dialect_call call = { .up_stream = true };
	char *url = dialect_anthropic.url(&ep, &call);
	struct curl_slist *h = dialect_anthropic.headers(&ep, &call);

	(void)state;
	assert_string_equal(url, "https://api.anthropic.test/v1/messages");
	assert_true(has_line(h, "x-api-key: sk-ant-secret"));
	assert_true(has_line(h, "anthropic-version: " ANTHROPIC_VERSION));
	assert_true(has_line(h, "Accept: text/event-stream"));
	for (const struct curl_slist *l = h; l; l = l->next)
		assert_null(strstr(l->data, "Authorization"));
	curl_slist_free_all(h);
	/* the endpoint's own headers add and override */
	ep.headers = own;
	ep.n_headers = 2;
	h = dialect_anthropic.headers(&ep, &call);
	assert_true(has_line(h, "anthropic-version: 2099-01-01"));
	assert_false(has_line(h, "anthropic-version: " ANTHROPIC_VERSION));
	assert_true(has_line(h, "anthropic-beta: b1"));
	curl_slist_free_all(h);
	free(url);
}

/* ---- streams ----------------------------------------------------------------------------------- */

#define EV(type, data) "event: " type "\ndata: " data "\n\n"
static const char stream_text[] =
	EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
	   "\"role\":\"assistant\",\"model\":\"claude-x-2\",\"content\":[],\"stop_reason\":null,"
	   "\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":2,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}")
	EV("ping", "{\"type\":\"ping\"}")
	EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hmm.\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}")
	EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
	EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}")
	EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
	EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}")
	EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}")
	EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}")
	EV("message_stop", "{\"type\":\"message_stop\"}");

static void check_stream(const struct capture *cap, bool usage)
{
	struct json_object *c = cap->chunks;

	check_chunks(cap, "chatcmpl-msg_1", "claude-x-2");
	assert_int_equal(json_object_array_length(c), usage ? 9 : 8);
	assert_string_equal(str_at(c, "0.choices.0.delta.role"), "assistant");
	assert_string_equal(str_at(c, "1.choices.0.delta.reasoning_content"), "Hmm.");
	assert_string_equal(str_at(c, "2.choices.0.delta.content"), "Hello");
	assert_string_equal(str_at(c, "3.choices.0.delta.content"), " there");
	assert_int_equal(int_at(c, "4.choices.0.delta.tool_calls.0.index"), 0);
	assert_string_equal(str_at(c, "4.choices.0.delta.tool_calls.0.id"), "toolu_1");
	assert_string_equal(str_at(c, "4.choices.0.delta.tool_calls.0.function.name"), "get_weather");
	assert_string_equal(str_at(c, "5.choices.0.delta.tool_calls.0.function.arguments"), "{\"city\":");
	assert_null(path(c, "5.choices.0.delta.tool_calls.0.id"));
	assert_string_equal(str_at(c, "6.choices.0.delta.tool_calls.0.function.arguments"), "\"Paris\"}");
	assert_string_equal(str_at(c, "7.choices.0.finish_reason"), "tool_calls");
	if (usage) {
		assert_int_equal(len_at(c, "8.choices"), 0);
		assert_int_equal(int_at(c, "8.usage.prompt_tokens"), 15);
		assert_int_equal(int_at(c, "8.usage.completion_tokens"), 7);
		assert_int_equal(int_at(c, "8.usage.total_tokens"), 22);
	}
}

static void test_stream(void **state)
{
	(void)state;
	decode_splits(&dialect_anthropic, stream_text, sizeof stream_text, check_stream);
}

static void test_stream_errors(void **state)
{
	struct capture cap;

	(void)state;
	decode(&dialect_anthropic, EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}")
	       EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
	       64, false, &cap);
	assert_int_equal(cap.errors, 1);
	assert_int_equal(cap.kind, ERRKIND_SERVER);
	assert_string_equal(cap.message, "Overloaded");
	assert_int_equal(cap.done, 0);
	json_object_put(cap.chunks);
	/* a data line that is not JSON is dropped, the rest goes on */
	decode(&dialect_anthropic, EV("content_block_delta", "not json")
	       EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"),
	       64, false, &cap);
	assert_int_equal(cap.dropped, 8);
	assert_int_equal(json_object_array_length(cap.chunks), 1);
	assert_string_equal(str_at(cap.chunks, "0.choices.0.delta.content"), "x");
	assert_string_equal(str_at(cap.chunks, "0.id"), "chatcmpl-anthropic");
	json_object_put(cap.chunks);
}

/* After a prefill without its trailing space, the model's repeat of it is dropped. */
static void test_stream_prefill_space(void **state)
{
	struct resume rs;
	struct capture cap;
	struct json_object *chunk = parse("{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"one two \"}}]}");

	(void)state;
	resume_init(&rs);
	resume_observe(&rs, chunk);
	resume_begin(&rs);
	struct dialect_call call = { .up_stream = true, .prefill = &rs };
	const char *sse = EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" three\"}}")
			  EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" four\"}}");
	decode_call(&dialect_anthropic, sse, strlen(sse), &call, &cap);
	assert_int_equal(cap.errors, 0);
	assert_string_equal(str_at(cap.chunks, "0.choices.0.delta.content"), "three");
	assert_string_equal(str_at(cap.chunks, "1.choices.0.delta.content"), " four");
	json_object_put(cap.chunks);
	json_object_put(chunk);
	resume_free(&rs);
}

/* ---- whole answers and errors ----------------------------------------------------------------------- */

static void test_answer(void **state)
{
	struct canon c;
	char detail[256];

	(void)state;
	assert_int_equal(dialect_anthropic.answer(
		"{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x-2\","
		"\"content\":[{\"type\":\"thinking\",\"thinking\":\"Hmm.\",\"signature\":\"s\"},"
		"{\"type\":\"text\",\"text\":\"Hi \"},{\"type\":\"text\",\"text\":\"there\"},"
		"{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"f\",\"input\":{\"a\":1}}],"
		"\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":4,\"cache_read_input_tokens\":1,\"output_tokens\":6}}",
		&c, detail, sizeof detail), ERRKIND_NONE);
	assert_null(c.text);
	assert_string_equal(str_at(c.obj, "id"), "chatcmpl-msg_2");
	assert_string_equal(str_at(c.obj, "object"), "chat.completion");
	assert_string_equal(str_at(c.obj, "model"), "claude-x-2");
	assert_string_equal(str_at(c.obj, "choices.0.message.role"), "assistant");
	assert_string_equal(str_at(c.obj, "choices.0.message.content"), "Hi there");
	assert_string_equal(str_at(c.obj, "choices.0.message.reasoning_content"), "Hmm.");
	assert_string_equal(str_at(c.obj, "choices.0.message.tool_calls.0.id"), "toolu_2");
	assert_string_equal(str_at(c.obj, "choices.0.message.tool_calls.0.type"), "function");
	assert_string_equal(str_at(c.obj, "choices.0.message.tool_calls.0.function.name"), "f");
	assert_string_equal(str_at(c.obj, "choices.0.message.tool_calls.0.function.arguments"), "{\"a\":1}");
	assert_string_equal(str_at(c.obj, "choices.0.finish_reason"), "tool_calls");
	assert_int_equal(int_at(c.obj, "usage.prompt_tokens"), 5);
	assert_int_equal(int_at(c.obj, "usage.completion_tokens"), 6);
	assert_int_equal(int_at(c.obj, "usage.total_tokens"), 11);
	json_object_put(c.obj);

	assert_int_equal(dialect_anthropic.answer("<html>", &c, detail, sizeof detail), ERRKIND_INVALID_RESPONSE);
	assert_null(c.obj);
	assert_int_equal(dialect_anthropic.answer(
		"{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}", &c, detail, sizeof detail),
		ERRKIND_INVALID_RESPONSE);
	assert_non_null(strstr(detail, "boom"));
	assert_int_equal(dialect_anthropic.answer(
		"{\"id\":\"m\",\"content\":[],\"stop_reason\":\"refusal\"}", &c, detail, sizeof detail),
		ERRKIND_INVALID_RESPONSE);
	assert_string_equal(detail, "answer holds no usable completion");
}

static void test_errors(void **state)
{
	static const struct { long status; const char *type; enum errkind kind; } cases[] = {
		{ 401, "authentication_error", ERRKIND_AUTH },
		{ 403, "permission_error", ERRKIND_PERMISSION },
		{ 429, "rate_limit_error", ERRKIND_RATE_LIMIT },
		{ 529, "overloaded_error", ERRKIND_SERVER },
		{ 500, "api_error", ERRKIND_SERVER },
		{ 400, "invalid_request_error", ERRKIND_REQUEST },
		{ 418, "teapot_error", ERRKIND_REQUEST },   /* unknown type: by status */
	};
	struct dialect_error e;
	char body[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(body, sizeof body, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"m%zu\"},\"request_id\":\"r\"}",
			 cases[i].type, i);
		dialect_anthropic.error(cases[i].status, body, &e);
		assert_int_equal(e.kind, cases[i].kind);
		assert_true(e.api_error);
		char want[16];
		snprintf(want, sizeof want, "m%zu", i);
		assert_string_equal(e.message, want);
		free(e.shaped);
	}
	/* a prompt too long fails over like context length, with OpenAI's code */
	const char *tl = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
			 "\"message\":\"prompt is too long: 250000 tokens > 200000 maximum\"}}";
	dialect_anthropic.error(400, tl, &e);
	assert_int_equal(e.kind, ERRKIND_REQUEST);
	struct json_object *o = parse(e.shaped);
	assert_string_equal(str_at(o, "error.code"), "context_length_exceeded");
	assert_string_equal(str_at(o, "error.type"), "invalid_request_error");
	assert_string_equal(str_at(o, "error.message"), "prompt is too long: 250000 tokens > 200000 maximum");
	json_object_put(o);
	free(e.shaped);
	/* OpenAI's shape (a proxy's): left as it is, an API error all the same */
	dialect_anthropic.error(400, "{\"error\":{\"message\":\"x\"}}", &e);
	assert_null(e.shaped);
	assert_true(e.api_error);
	assert_string_equal(e.message, "x");
	/* no API error at all: classified by status */
	dialect_anthropic.error(502, "<html>bad gateway</html>", &e);
	assert_int_equal(e.kind, ERRKIND_SERVER);
	assert_false(e.api_error);
	assert_null(e.shaped);
}

/* The client's strings and numbers reach Anthropic as the client spelled
 * them (pinned by jsonraw); the endpoint's temperature is written shortest. */
static void test_client_values_keep_their_spelling(void **state)
{
	const char *text = "{\"model\":\"g\",\"top_p\":0.90,\"messages\":["
			   "{\"role\":\"user\",\"content\":\"caf\\u00e9 \\ud800\"},"
			   "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"\\u00e9t\\u00e9\"}]},"
			   "{\"role\":\"user\",\"content\":\"x\"}]}";
	struct json_object *client = parse(text);
	struct endpoint ep = test_ep(100);
	struct dialect_call call = { .request_id = "r1" };

	(void)state;
	assert_int_equal(jsonraw_pin(client, text, strlen(text)), IM_OK);
	ep.has_temperature = true;
	ep.temperature = 0.1;
	char *body = dialect_anthropic.body(client, &ep, &call);
	assert_non_null(strstr(body, "\"caf\\u00e9 \\ud800\""));
	assert_non_null(strstr(body, "\"\\u00e9t\\u00e9\""));
	assert_non_null(strstr(body, "\"top_p\":0.90"));
	assert_non_null(strstr(body, "\"temperature\":0.1"));
	assert_null(strstr(body, "0.1000"));
	free(body);
	json_object_put(client);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_request_messages),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_request_thinking),
		cmocka_unit_test(test_request_prefill),
		cmocka_unit_test(test_request_url_and_headers),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_stream_prefill_space),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_client_values_keep_their_spelling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
