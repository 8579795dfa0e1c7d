/* test_faces.c: unit tests for the Responses and Messages faces
 * (common/face_responses.c, common/face_messages.c) and the request
 * translators of their routes (common/facereq_*.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "face_messages.h"
#include "face_responses.h"
#include "facereq.h"

#define ROLE "{\"id\":\"c1\",\"model\":\"m\",\"created\":7,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}"
#define THINK "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}}]}"
#define TEXT(t) "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" t "\"}}]}"
#define CALL(id, name, args) "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0" id name ",\"function\":{\"arguments\":\"" args "\"}}]}}]}"
#define FIN(f) "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"" f "\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}"

/* Runs `chunks` (NULL-terminated) and the end through `face`; returns
 * the events' data as a JSON array (caller puts), their names in `names`. */
static struct json_object *run_face(const struct face *face, const char *const *chunks,
				    char *names, size_t nlen)
{
	struct buf out;
	void *st = face->state_new();
	struct json_object *events = json_object_new_array();

	buf_init(&out, 1u << 20);
	for (size_t i = 0; chunks[i]; i++) {
		struct json_object *o = json_tokener_parse(chunks[i]);
		assert_int_equal(face->chunk(st, &(struct canon){ .obj = o }, &out), IM_OK);
		json_object_put(o);
	}
	assert_int_equal(face->done(st, &out), IM_OK);
	face->state_free(st);
	names[0] = '\0';
	for (char *line = strtok(out.data, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "event: ", 7) == 0) {
			strncat(names, line + 7, nlen - strlen(names) - 2);
			strcat(names, " ");
		} else if (strncmp(line, "data: ", 6) == 0) {
			struct json_object *d = json_tokener_parse(line + 6);
			assert_non_null(d);
			json_object_array_add(events, d);
		}
	}
	buf_free(&out);
	return events;
}

/* The member at `path` (dot-separated keys or indexes) of event `i` as text. */
static const char *at(struct json_object *events, size_t i, const char *path)
{
	static char tmp[4096];
	struct json_object *o = json_object_array_get_idx(events, i);
	char copy[256];

	snprintf(copy, sizeof copy, "%s", path);
	for (char *k = strtok(copy, "."); k && o; k = strtok(NULL, "."))
		o = (*k >= '0' && *k <= '9') ? json_object_array_get_idx(o, (size_t)atoi(k))
					     : json_object_object_get(o, k);
	snprintf(tmp, sizeof tmp, "%s", o ? json_object_get_string(o) : "(null)");
	return tmp;
}

/* What member `path` of event `i` must read, in tables ended by a NULL path. */
struct expect {
	size_t i;
	const char *path, *value;
};

static void expect_all(struct json_object *events, const struct expect *e)
{
	for (; e->path != NULL; e++)
		assert_string_equal(at(events, e->i, e->path), e->value);
}

/* The whole answer of `face` for the completion `text`, checked against `e`. */
static void check_whole_answer(const struct face *face, const char *text, const struct expect *e)
{
	struct buf out;
	struct json_object *arr = json_object_new_array();

	buf_init(&out, 1u << 20);
	assert_int_equal(face->answer(NULL, &(struct canon){ .text = text }, &out), IM_OK);
	json_object_array_add(arr, json_tokener_parse(buf_str(&out)));
	expect_all(arr, e);
	json_object_put(arr);
	buf_free(&out);
}

/* ---- Responses ----------------------------------------------------------------- */

static void test_responses_text_events(void **state)
{
	const char *chunks[] = { ROLE, TEXT("Hel"), TEXT("lo"), FIN("stop"), NULL };
	char names[2048];
	struct json_object *ev = run_face(&face_responses, chunks, names, sizeof names);

	(void)state;
	assert_string_equal(names,
		"response.created response.in_progress response.output_item.added "
		"response.content_part.added response.output_text.delta response.output_text.delta "
		"response.output_text.done response.content_part.done response.output_item.done "
		"response.completed ");
	for (size_t i = 0; i < json_object_array_length(ev); i++) {
		char want[32];
		snprintf(want, sizeof want, "%zu", i);
		assert_string_equal(at(ev, i, "sequence_number"), want);
	}
	expect_all(ev, (const struct expect[]){
		{ 6, "text", "Hello" },
		{ 9, "response.status", "completed" },
		{ 9, "response.output.0.content.0.text", "Hello" },
		{ 9, "response.usage.total_tokens", "7" },
		{ 9, "response.model", "m" },
		{ 0, NULL, NULL } });
	json_object_put(ev);
}

static void test_responses_reasoning_then_call(void **state)
{
	const char *chunks[] = { ROLE, THINK, CALL(",\"id\":\"call_1\"", ",\"type\":\"function\"", ""),
				 "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}",
				 CALL("", "", "{}"), FIN("tool_calls"), NULL };
	char names[2048];
	struct json_object *ev = run_face(&face_responses, chunks, names, sizeof names);

	(void)state;
	assert_non_null(strstr(names, "response.reasoning_summary_text.delta response.reasoning_summary_text.done"));
	assert_non_null(strstr(names, "response.function_call_arguments.delta response.function_call_arguments.done"));
	size_t last = json_object_array_length(ev) - 1;
	expect_all(ev, (const struct expect[]){
		{ last, "response.output.0.type", "reasoning" },
		{ last, "response.output.0.summary.0.text", "hm" },
		{ last, "response.output.1.type", "function_call" },
		{ last, "response.output.1.call_id", "call_1" },
		{ last, "response.output.1.arguments", "{}" },
		{ 0, NULL, NULL } });
	json_object_put(ev);
}

static void test_responses_failed_event(void **state)
{
	struct buf out;
	void *st = face_responses.state_new();

	(void)state;
	buf_init(&out, 1u << 20);
	assert_int_equal(face_responses.error(st, "{\"error\":{\"message\":\"broke\",\"type\":\"upstream_error\",\"code\":\"stream_interrupted\"}}", &out), IM_OK);
	assert_non_null(strstr(buf_str(&out), "event: response.failed\n"));
	assert_non_null(strstr(buf_str(&out), "\"error\":{\"code\":\"stream_interrupted\",\"message\":\"broke\"}"));
	face_responses.state_free(st);
	buf_free(&out);
}

static void test_responses_whole_answer(void **state)
{
	(void)state;
	check_whole_answer(&face_responses,
		"{\"id\":\"c9\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
		(const struct expect[]){
			{ 0, "object", "response" },
			{ 0, "status", "incomplete" },
			{ 0, "incomplete_details.reason", "max_output_tokens" },
			{ 0, "output.0.content.0.text", "Hi" },
			{ 0, "usage.output_tokens", "2" },
			{ 0, NULL, NULL } });
}

/* ---- Messages ------------------------------------------------------------------ */

static void test_messages_blocks(void **state)
{
	const char *chunks[] = { ROLE, THINK, TEXT("Hi"), CALL(",\"id\":\"toolu_1\"", "", "{\\\"a\\\":"),
				 CALL("", "", "1}"), FIN("tool_calls"), NULL };
	char names[2048];
	struct json_object *ev = run_face(&face_messages, chunks, names, sizeof names);

	(void)state;
	assert_string_equal(names,
		"message_start content_block_start content_block_delta content_block_stop "
		"content_block_start content_block_delta content_block_stop "
		"content_block_start content_block_delta content_block_delta content_block_stop "
		"message_delta message_stop ");
	expect_all(ev, (const struct expect[]){
		{ 1, "content_block.type", "thinking" },
		{ 2, "delta.thinking", "hm" },
		{ 5, "delta.text", "Hi" },
		{ 7, "index", "2" },
		{ 7, "content_block.id", "toolu_1" },
		{ 8, "delta.type", "input_json_delta" },
		{ 11, "delta.stop_reason", "tool_use" },
		{ 11, "usage.output_tokens", "4" },
		{ 0, NULL, NULL } });
	json_object_put(ev);
}

static void test_messages_stop_reasons_and_errors(void **state)
{
	int status = 502;

	(void)state;
	assert_string_equal(face_messages_stop_reason("stop"), "end_turn");
	assert_string_equal(face_messages_stop_reason("length"), "max_tokens");
	assert_string_equal(face_messages_stop_reason("tool_calls"), "tool_use");
	assert_string_equal(face_messages_stop_reason("content_filter"), "refusal");
	assert_string_equal(face_messages_error_type(&status), "overloaded_error");
	assert_int_equal(status, 529);
	status = 401;
	assert_string_equal(face_messages_error_type(&status), "authentication_error");
	assert_int_equal(status, 401);
	assert_string_equal(face_messages.keepalive, "event: ping\ndata: {\"type\":\"ping\"}\n\n");

	/* in band: a type Anthropic knows is kept, anything else is overloaded */
	struct buf out;
	buf_init(&out, 1u << 20);
	assert_int_equal(face_messages.error(NULL, "{\"error\":{\"message\":\"m\",\"type\":\"invalid_request_error\"}}", &out), IM_OK);
	assert_string_equal(buf_str(&out), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"m\"}}\n\n");
	buf_reset(&out);
	assert_int_equal(face_messages.error(NULL, "{\"error\":{\"message\":\"m\",\"type\":\"upstream_error\"}}", &out), IM_OK);
	assert_non_null(strstr(buf_str(&out), "\"type\":\"overloaded_error\""));
	buf_free(&out);
}

static void test_messages_whole_answer(void **state)
{
	(void)state;
	check_whole_answer(&face_messages,
		"{\"id\":\"c9\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\",\"tool_calls\":[{\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
		(const struct expect[]){
			{ 0, "type", "message" },
			{ 0, "stop_reason", "tool_use" },
			{ 0, "content.0.text", "Hi" },
			{ 0, "content.1.type", "tool_use" },
			{ 0, "content.1.input.a", "1" },
			{ 0, NULL, NULL } });
}

/* ---- the request translators ------------------------------------------------------ */

typedef enum im_rc translate_fn(const char *, size_t, struct clientreq *, char *, size_t,
				 const char **);

static struct json_object *translate(translate_fn *fn, const char *text, const char **param)
{
	struct clientreq r;
	char err[256];
	if (fn(text, strlen(text), &r, err, sizeof err, param) != IM_OK)
		return NULL;
	struct json_object *arr = json_object_new_array();
	json_object_array_add(arr, json_object_get(r.body));
	clientreq_free(&r);
	return arr;
}

/* A body the translator refuses, and the field it names. */
struct refusal {
	const char *body, *param;
};

/* Translates `body` with `fn`, checks the result against `e`, then that
 * each of `refused` (ended by a NULL body) is refused as it says. */
static void check_translator(translate_fn *fn, const char *body, const struct expect *e,
			     const struct refusal *refused)
{
	const char *param;
	struct json_object *r = translate(fn, body, &param);

	assert_non_null(r);
	expect_all(r, e);
	json_object_put(r);
	for (; refused->body != NULL; refused++) {
		assert_null(translate(fn, refused->body, &param));
		assert_string_equal(param, refused->param);
	}
}

static void test_facereq_responses(void **state)
{
	(void)state;
	check_translator(facereq_responses,
		"{\"model\":\"g\",\"instructions\":\"sys\",\"stream\":true,\"max_output_tokens\":9,"
		"\"reasoning\":{\"effort\":\"low\"},\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"n\",\"schema\":{}}},"
		"\"tools\":[{\"type\":\"function\",\"name\":\"f\",\"parameters\":{}}],\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"},"
		"\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"q\"}]},"
		"{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},"
		"{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"r\"}]}",
		(const struct expect[]){
			{ 0, "messages.0.role", "system" },
			{ 0, "messages.1.content.0.text", "q" },
			{ 0, "messages.2.role", "assistant" },
			{ 0, "messages.2.tool_calls.0.id", "c" },
			{ 0, "messages.3.role", "tool" },
			{ 0, "messages.3.tool_call_id", "c" },
			{ 0, "max_tokens", "9" },
			{ 0, "reasoning_effort", "low" },
			{ 0, "response_format.json_schema.name", "n" },
			{ 0, "tools.0.function.name", "f" },
			{ 0, "tool_choice.function.name", "f" },
			{ 0, "stream_options.include_usage", "true" },
			{ 0, NULL, NULL } },
		(const struct refusal[]){
			{ "{\"model\":\"g\",\"input\":\"q\",\"previous_response_id\":\"r\"}", "previous_response_id" },
			{ "{\"model\":\"g\",\"input\":\"q\",\"store\":true}", "store" },
			{ "{\"model\":\"g\",\"input\":\"q\",\"tools\":[{\"type\":\"file_search\"}]}", "tools" },
			{ "{\"model\":\"g\"}", "input" },
			{ NULL, NULL } });
}

static void test_facereq_messages(void **state)
{
	(void)state;
	check_translator(facereq_messages,
		"{\"model\":\"g\",\"max_tokens\":50,\"system\":[{\"type\":\"text\",\"text\":\"sys\"}],"
		"\"stop_sequences\":[\"X\"],\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":3000},"
		"\"metadata\":{\"user_id\":\"u\"},\"tool_choice\":{\"type\":\"any\"},"
		"\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],"
		"\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
		"{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\":1}}]},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"r\"},"
		"{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AA\"}}]}]}",
		(const struct expect[]){
			{ 0, "messages.0.content", "sys" },
			{ 0, "messages.2.tool_calls.0.function.arguments", "{\"a\":1}" },
			{ 0, "messages.3.role", "tool" },
			{ 0, "messages.4.content.0.image_url.url", "data:image/png;base64,AA" },
			{ 0, "stop.0", "X" },
			{ 0, "reasoning_effort", "medium" },
			{ 0, "user", "u" },
			{ 0, "tool_choice", "required" },
			{ 0, "tools.0.function.parameters.type", "object" },
			{ 0, NULL, NULL } },
		(const struct refusal[]){
			{ "{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", "max_tokens" },
			{ "{\"model\":\"g\",\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"q\"}]}", "messages" },
			{ "{\"model\":\"g\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"w\"}]}", "tools" },
			{ NULL, NULL } });
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responses_text_events),
		cmocka_unit_test(test_responses_reasoning_then_call),
		cmocka_unit_test(test_responses_failed_event),
		cmocka_unit_test(test_responses_whole_answer),
		cmocka_unit_test(test_messages_blocks),
		cmocka_unit_test(test_messages_stop_reasons_and_errors),
		cmocka_unit_test(test_messages_whole_answer),
		cmocka_unit_test(test_facereq_responses),
		cmocka_unit_test(test_facereq_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
