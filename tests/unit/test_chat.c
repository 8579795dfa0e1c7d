/* test_chat.c: unit tests for common/chat.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "chat.h"
#include "dialect_fixtures.h"
#include "jsonobj.h"

/* ---- helpers ------------------------------------------------------------------ */

static bool has(struct json_object *obj, const char *key)
{
	return obj != NULL && json_object_object_get_ex(obj, key, NULL);
}

static bool chunk_has_content(const char *text)
{
	struct json_object *o = parse(text);
	bool r = chat_chunk_has_content(o);
	json_object_put(o);
	return r;
}

static bool chunk_has_finish(const char *text)
{
	struct json_object *o = parse(text);
	bool r = chat_chunk_has_finish(o);
	json_object_put(o);
	return r;
}

static bool usable(const char *text)
{
	struct json_object *o = parse(text);
	bool r = chat_completion_usable(o);
	json_object_put(o);
	return r;
}

static enum im_rc feed(struct chat_aggregate *agg, const char *text)
{
	struct json_object *o = parse(text);
	enum im_rc rc = chat_aggregate_feed(agg, o);
	json_object_put(o);   /* the aggregate keeps what it needs itself */
	return rc;
}

static struct json_object *finish(struct chat_aggregate *agg)
{
	char *text = chat_aggregate_finish(agg);
	assert_non_null(text);
	struct json_object *o = parse(text);
	free(text);
	return o;
}

/* The completion aggregated from the `n` chunks `chunks` (caller puts). */
static struct json_object *aggregate(const char *const *chunks, size_t n)
{
	struct chat_aggregate *agg = chat_aggregate_new(1 << 20);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(feed(agg, chunks[i]), IM_OK);
	struct json_object *c = finish(agg);
	chat_aggregate_free(agg);
	return c;
}

/* ---- chunk predicates ---------------------------------------------------------- */

static void test_chunk_has_content(void **state)
{
	/* role-only, role with empty content, empty delta, null content */
	assert_false(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\"}}]}"));
	assert_false(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\","
				       " \"content\": \"\", \"refusal\": null}, \"finish_reason\": null}]}"));
	assert_false(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {}}]}"));
	assert_false(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"content\": null}}]}"));
	assert_false(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": []}}]}"));
	assert_false(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"reasoning\": \"\"}}]}"));
	/* usage chunk, no choices, odd shapes */
	assert_false(chunk_has_content("{\"choices\": [], \"usage\": {\"total_tokens\": 3}}"));
	assert_false(chunk_has_content("{\"id\": \"x\"}"));
	assert_false(chunk_has_content("{\"choices\": {\"delta\": {\"content\": \"x\"}}}"));
	assert_false(chunk_has_content("{\"choices\": [{\"index\": 0, \"message\": {\"content\": \"x\"}}]}"));
	assert_false(chunk_has_content("[1, 2]"));
	assert_false(chat_chunk_has_content(NULL));

	assert_true(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"Hi\"}}]}"));
	assert_true(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\","
				      " \"content\": \" \"}}]}"));
	assert_true(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"reasoning_content\":"
				      " \"Hmm\"}}]}"));
	assert_true(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"reasoning\": \"Hmm\"}}]}"));
	assert_true(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0,"
				      " \"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"f\","
				      " \"arguments\": \"\"}}]}}]}"));
	/* any choice counts */
	assert_true(chunk_has_content("{\"choices\": [{\"index\": 0, \"delta\": {}},"
				      " {\"index\": 1, \"delta\": {\"content\": \"b\"}}]}"));
}

static void test_chunk_has_finish(void **state)
{
	assert_false(chunk_has_finish("{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"a\"},"
				      " \"finish_reason\": null}]}"));
	assert_false(chunk_has_finish("{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"a\"}}]}"));
	assert_false(chunk_has_finish("{\"choices\": [], \"usage\": {\"total_tokens\": 1}}"));
	assert_false(chunk_has_finish("{\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"\"}]}"));
	assert_false(chat_chunk_has_finish(NULL));
	assert_true(chunk_has_finish("{\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"stop\"}]}"));
	assert_true(chunk_has_finish("{\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"length\"}]}"));
	assert_true(chunk_has_finish("{\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": null},"
				     " {\"index\": 1, \"delta\": {}, \"finish_reason\": \"tool_calls\"}]}"));
}

static void test_completion_usable(void **state)
{
	assert_true(usable("{\"id\": \"c\", \"object\": \"chat.completion\", \"choices\": [{\"index\": 0,"
			   " \"message\": {\"role\": \"assistant\", \"content\": \"Hello\"},"
			   " \"finish_reason\": \"stop\"}]}"));
	assert_true(usable("{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\","
			   " \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\","
			   " \"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]},"
			   " \"finish_reason\": \"tool_calls\"}]}"));
	assert_true(usable("{\"choices\": [{\"index\": 0, \"message\": {\"content\": \"\"}},"
			   " {\"index\": 1, \"message\": {\"content\": \"second\"}}]}"));

	assert_false(usable("{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\","
			    " \"content\": \"\"}, \"finish_reason\": \"stop\"}]}"));
	assert_false(usable("{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\","
			    " \"content\": null}}]}"));
	assert_false(usable("{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\"}}]}"));
	assert_false(usable("{\"choices\": []}"));
	assert_false(usable("{\"object\": \"chat.completion\"}"));
	assert_false(usable("{\"error\": {\"message\": \"Provider returned error\", \"code\": 502}}"));
	/* an error beside choices wins */
	assert_false(usable("{\"error\": {\"message\": \"x\"}, \"choices\": [{\"index\": 0,"
			    " \"message\": {\"content\": \"Hello\"}}]}"));
	/* a chunk is not a completion */
	assert_false(usable("{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"Hello\"}}]}"));
	assert_false(usable("\"Hello\""));
	assert_false(chat_completion_usable(NULL));
}

/* ---- aggregation ------------------------------------------------------------- */

#define CHUNK_HEAD "{\"id\": \"chatcmpl-9xyz\", \"object\": \"chat.completion.chunk\"," \
	" \"created\": 1717000000, \"model\": \"gpt-4o-2024-08-06\", \"system_fingerprint\": \"fp_abc\","

static const char *const text_stream[] = {
	CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\", \"content\": \"\","
	" \"refusal\": null}, \"logprobs\": null, \"finish_reason\": null}], \"usage\": null}",
	CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"reasoning_content\": \"The user \"},"
	" \"finish_reason\": null}], \"usage\": null}",
	CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"reasoning_content\": \"greets me.\"},"
	" \"finish_reason\": null}], \"usage\": null}",
	CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"Hel\"},"
	" \"finish_reason\": null}], \"usage\": null}",
	CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"lo, \\\"w\\u00f6rld\\\"\"},"
	" \"finish_reason\": null}], \"usage\": null}",
	CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"!\\n\"},"
	" \"finish_reason\": null}], \"usage\": null}",
	CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {}, \"logprobs\": null,"
	" \"finish_reason\": \"stop\"}], \"usage\": null}",
	CHUNK_HEAD " \"choices\": [], \"usage\": {\"prompt_tokens\": 12, \"completion_tokens\": 7,"
	" \"total_tokens\": 19, \"completion_tokens_details\": {\"reasoning_tokens\": 3}}}",
};

static void test_aggregate_text_stream(void **state)
{
	struct json_object *c = aggregate(text_stream, sizeof text_stream / sizeof text_stream[0]);

	assert_string_equal(str_at(c, "id"), "chatcmpl-9xyz");
	assert_string_equal(str_at(c, "object"), "chat.completion");
	assert_int_equal(json_object_get_int64(path(c, "created")), 1717000000);
	assert_string_equal(str_at(c, "model"), "gpt-4o-2024-08-06");
	assert_string_equal(str_at(c, "system_fingerprint"), "fp_abc");
	assert_int_equal(json_object_array_length(path(c, "choices")), 1);
	assert_int_equal(json_object_get_int(path(c, "choices.0.index")), 0);
	assert_string_equal(str_at(c, "choices.0.message.role"), "assistant");
	assert_string_equal(str_at(c, "choices.0.message.content"), "Hello, \"w\xc3\xb6rld\"!\n");
	assert_string_equal(str_at(c, "choices.0.message.reasoning_content"), "The user greets me.");
	assert_false(has(path(c, "choices.0.message"), "reasoning"));
	assert_false(has(path(c, "choices.0.message"), "tool_calls"));
	assert_string_equal(str_at(c, "choices.0.finish_reason"), "stop");
	assert_int_equal(json_object_get_int(path(c, "usage.prompt_tokens")), 12);
	assert_int_equal(json_object_get_int(path(c, "usage.completion_tokens")), 7);
	assert_int_equal(json_object_get_int(path(c, "usage.total_tokens")), 19);
	assert_int_equal(json_object_get_int(path(c, "usage.completion_tokens_details.reasoning_tokens")), 3);
	/* the aggregate is itself usable and not a chunk */
	assert_true(chat_completion_usable(c));
	json_object_put(c);
}

#define OR_HEAD "{\"id\": \"gen-1717-abc\", \"provider\": \"DeepInfra\", \"model\": \"qwen/qwen3\"," \
	" \"object\": \"chat.completion.chunk\", \"created\": 1717000001,"

static const char *const tool_stream[] = {
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\", \"content\": null},"
	" \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"reasoning\": \"Need \"}, \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"reasoning\": \"tools.\"}, \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0, \"id\": \"call_A\","
	" \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"\"}}]},"
	" \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0, \"function\":"
	" {\"arguments\": \"{\\\"city\\\": \"}}]}, \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0, \"function\":"
	" {\"arguments\": \"\\\"Paris\\\"}\"}}]}, \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 1, \"id\": \"call_B\","
	" \"type\": \"function\", \"function\": {\"name\": \"get_\", \"arguments\": \"{\\\"tz\\\"\"}}]},"
	" \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 1, \"id\": null,"
	" \"function\": {\"name\": \"time\", \"arguments\": \": \\\"UTC\\\"}\"}}]}, \"finish_reason\": null}]}",
	OR_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"content\": null}, \"finish_reason\": \"tool_calls\","
	" \"native_finish_reason\": \"tool_calls\"}]}",
	/* a slow stream: a later chunk may carry a later timestamp and another
	 * provider; the completion takes the first chunk's */
	"{\"id\": \"gen-1717-abc\", \"provider\": \"Together\", \"model\": \"qwen/qwen3\","
	" \"object\": \"chat.completion.chunk\", \"created\": 1717000009,"
	" \"choices\": [], \"usage\": {\"prompt_tokens\": 40, \"completion_tokens\": 25,"
	" \"total_tokens\": 65}}",
};

static void test_aggregate_tool_stream(void **state)
{
	struct json_object *c = aggregate(tool_stream, sizeof tool_stream / sizeof tool_stream[0]);

	assert_string_equal(str_at(c, "id"), "gen-1717-abc");
	assert_string_equal(str_at(c, "object"), "chat.completion");
	assert_string_equal(str_at(c, "model"), "qwen/qwen3");
	assert_string_equal(str_at(c, "provider"), "DeepInfra");
	assert_int_equal(json_object_get_int64(path(c, "created")), 1717000001);
	struct json_object *msg = path(c, "choices.0.message");
	assert_non_null(msg);
	assert_string_equal(str_at(msg, "role"), "assistant");
	/* no text with tool calls: content is null, as OpenAI sends it */
	assert_true(has(msg, "content"));
	assert_null(jsonobj_get(msg, "content"));
	assert_string_equal(str_at(msg, "reasoning"), "Need tools.");
	assert_false(has(msg, "reasoning_content"));
	assert_int_equal(json_object_array_length(jsonobj_get(msg, "tool_calls")), 2);
	assert_string_equal(str_at(msg, "tool_calls.0.id"), "call_A");
	assert_string_equal(str_at(msg, "tool_calls.0.type"), "function");
	assert_string_equal(str_at(msg, "tool_calls.0.function.name"), "get_weather");
	assert_string_equal(str_at(msg, "tool_calls.0.function.arguments"), "{\"city\": \"Paris\"}");
	/* a later null id does not wipe the first */
	assert_string_equal(str_at(msg, "tool_calls.1.id"), "call_B");
	assert_string_equal(str_at(msg, "tool_calls.1.function.name"), "get_time");
	assert_string_equal(str_at(msg, "tool_calls.1.function.arguments"), "{\"tz\": \"UTC\"}");
	assert_string_equal(str_at(c, "choices.0.finish_reason"), "tool_calls");
	assert_int_equal(json_object_get_int(path(c, "usage.total_tokens")), 65);
	assert_true(chat_completion_usable(c));
	json_object_put(c);
}

static void test_aggregate_two_choices(void **state)
{
	static const char *const chunks[] = {
		CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\"}},"
		" {\"index\": 1, \"delta\": {\"role\": \"assistant\"}}]}",
		CHUNK_HEAD " \"choices\": [{\"index\": 1, \"delta\": {\"content\": \"B1\"}}]}",
		CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"A1\"}}]}",
		CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"A2\"}},"
		" {\"index\": 1, \"delta\": {\"content\": \"B2\"}}]}",
		CHUNK_HEAD " \"choices\": [{\"index\": 1, \"delta\": {}, \"finish_reason\": \"length\"}]}",
		CHUNK_HEAD " \"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"stop\"}]}",
	};
	struct json_object *c = aggregate(chunks, sizeof chunks / sizeof chunks[0]);

	assert_int_equal(json_object_array_length(path(c, "choices")), 2);
	assert_int_equal(json_object_get_int(path(c, "choices.0.index")), 0);
	assert_string_equal(str_at(c, "choices.0.message.content"), "A1A2");
	assert_string_equal(str_at(c, "choices.0.finish_reason"), "stop");
	assert_int_equal(json_object_get_int(path(c, "choices.1.index")), 1);
	assert_string_equal(str_at(c, "choices.1.message.content"), "B1B2");
	assert_string_equal(str_at(c, "choices.1.finish_reason"), "length");
	/* no usage chunk, no usage */
	assert_false(has(c, "usage"));
	json_object_put(c);
}

static void test_aggregate_cap(void **state)
{
	struct chat_aggregate *agg;

	/* content */
	agg = chat_aggregate_new(10);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"12345\"}}]}"), IM_OK);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"67890\"}}]}"), IM_OK);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"x\"}}]}"), IM_ETOOBIG);
	chat_aggregate_free(agg);

	/* counted across choices, reasoning and tool calls */
	agg = chat_aggregate_new(10);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"reasoning\": \"abc\"}}]}"), IM_OK);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 1, \"delta\": {\"content\": \"def\"}}]}"), IM_OK);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0,"
			      " \"function\": {\"name\": \"fn\", \"arguments\": \"{}\"}}]}}]}"), IM_OK);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0,"
			      " \"function\": {\"arguments\": \"{}\"}}]}}]}"), IM_ETOOBIG);
	chat_aggregate_free(agg);

	/* one piece larger than the whole cap */
	agg = chat_aggregate_new(4);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"12345\"}}]}"),
			 IM_ETOOBIG);
	chat_aggregate_free(agg);

	/* absurd indexes are refused, not allocated */
	agg = chat_aggregate_new(1000);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 1000000, \"delta\": {\"content\": \"x\"}}]}"),
			 IM_ETOOBIG);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\":"
			      " 1000000, \"function\": {\"arguments\": \"x\"}}]}}]}"), IM_ETOOBIG);
	assert_int_equal(feed(agg, "{\"choices\": [{\"index\": -1, \"delta\": {\"content\": \"x\"}}]}"),
			 IM_ETOOBIG);
	chat_aggregate_free(agg);
}

/* ---- completion to chunks ------------------------------------------------------ */

struct chunks {
	char *text[32];
	size_t n;
	size_t stop_at;   /* 1-based; 0: never */
};

static enum im_rc collect(void *ctx, const char *json)
{
	struct chunks *c = ctx;
	assert_true(c->n < 32);
	c->text[c->n++] = strdup(json);
	if (c->stop_at && c->n == c->stop_at)
		return IM_ESTOP;
	return IM_OK;
}

static void chunks_free(struct chunks *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->text[i]);
	c->n = 0;
}

/* Runs chat_completion_to_chunks and aggregates its chunks back. */
static struct json_object *round_trip(const char *completion_text, bool include_usage,
				      struct chunks *out)
{
	struct json_object *completion = parse(completion_text);
	char *before = strdup(json_object_to_json_string(completion));

	assert_int_equal(chat_completion_to_chunks(completion, include_usage, collect, out), IM_OK);
	/* the completion is only read */
	assert_string_equal(json_object_to_json_string(completion), before);
	free(before);

	struct chat_aggregate *agg = chat_aggregate_new(1 << 20);
	for (size_t i = 0; i < out->n; i++) {
		struct json_object *chunk = parse(out->text[i]);
		assert_string_equal(str_at(chunk, "object"), "chat.completion.chunk");
		assert_string_equal(str_at(chunk, "id"), str_at(completion, "id"));
		assert_string_equal(str_at(chunk, "model"), str_at(completion, "model"));
		assert_int_equal(json_object_get_int64(jsonobj_get(chunk, "created")),
				 json_object_get_int64(jsonobj_get(completion, "created")));
		assert_int_equal(chat_aggregate_feed(agg, chunk), IM_OK);
		json_object_put(chunk);
	}
	json_object_put(completion);
	struct json_object *back = finish(agg);
	chat_aggregate_free(agg);
	return back;
}

static const char *const text_completion =
	"{\"id\": \"chatcmpl-RT1\", \"object\": \"chat.completion\", \"created\": 1717000002,"
	" \"model\": \"deepseek-ai/DeepSeek-R1\", \"choices\": [{\"index\": 0, \"message\":"
	" {\"role\": \"assistant\", \"content\": \"Bonjour \\\"\\u00e0\\\" tous\\n\\tfin\","
	" \"reasoning_content\": \"French, then.\"}, \"logprobs\": null, \"finish_reason\": \"length\"}],"
	" \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 9, \"total_tokens\": 14}}";

static void test_to_chunks_text(void **state)
{
	struct chunks ch = { 0 };
	struct json_object *back = round_trip(text_completion, true, &ch);

	/* one delta, one finish, one usage chunk */
	assert_int_equal(ch.n, 3);
	struct json_object *first = parse(ch.text[0]);
	assert_true(chat_chunk_has_content(first));
	assert_false(chat_chunk_has_finish(first));
	json_object_put(first);
	struct json_object *last = parse(ch.text[2]);
	assert_int_equal(json_object_array_length(jsonobj_get(last, "choices")), 0);
	assert_true(has(last, "usage"));
	json_object_put(last);

	struct json_object *orig = parse(text_completion);
	assert_string_equal(str_at(back, "choices.0.message.content"),
			    str_at(orig, "choices.0.message.content"));
	assert_string_equal(str_at(back, "choices.0.message.reasoning_content"), "French, then.");
	assert_string_equal(str_at(back, "choices.0.finish_reason"), "length");
	assert_true(json_object_equal(jsonobj_get(back, "usage"), jsonobj_get(orig, "usage")));
	assert_string_equal(str_at(back, "id"), "chatcmpl-RT1");
	json_object_put(orig);
	json_object_put(back);
	chunks_free(&ch);

	/* without include_usage: no usage chunk, no usage back */
	back = round_trip(text_completion, false, &ch);
	assert_int_equal(ch.n, 2);
	for (size_t i = 0; i < ch.n; i++)
		assert_null(strstr(ch.text[i], "\"usage\""));
	assert_false(has(back, "usage"));
	assert_string_equal(str_at(back, "choices.0.message.content"), "Bonjour \"\xc3\xa0\" tous\n\tfin");
	assert_string_equal(str_at(back, "choices.0.finish_reason"), "length");
	json_object_put(back);
	chunks_free(&ch);
}

static const char *const tool_completion =
	"{\"id\": \"chatcmpl-RT2\", \"object\": \"chat.completion\", \"created\": 1717000003,"
	" \"model\": \"gpt-4o\", \"system_fingerprint\": \"fp_x\", \"choices\": [{\"index\": 0, \"message\":"
	" {\"role\": \"assistant\", \"content\": null, \"refusal\": null, \"tool_calls\": ["
	"  {\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\","
	"   \"arguments\": \"{\\\"city\\\":\\\"Paris\\\"}\"}},"
	"  {\"id\": \"call_2\", \"type\": \"function\", \"function\": {\"name\": \"get_time\","
	"   \"arguments\": \"{}\"}}]}, \"logprobs\": null, \"finish_reason\": \"tool_calls\"}],"
	" \"usage\": {\"prompt_tokens\": 80, \"completion_tokens\": 30, \"total_tokens\": 110}}";

static void test_to_chunks_tool_calls(void **state)
{
	for (int usage = 0; usage < 2; usage++) {
		struct chunks ch = { 0 };
		struct json_object *back = round_trip(tool_completion, usage, &ch);
		struct json_object *orig = parse(tool_completion);

		assert_int_equal(ch.n, usage ? 3 : 2);
		struct json_object *msg = path(back, "choices.0.message");
		assert_true(has(msg, "content"));
		assert_null(jsonobj_get(msg, "content"));
		assert_int_equal(json_object_array_length(jsonobj_get(msg, "tool_calls")), 2);
		for (int i = 0; i < 2; i++) {
			char key[64];
			static const char *const fields[] = { "id", "type", "function.name", "function.arguments" };
			for (size_t f = 0; f < 4; f++) {
				snprintf(key, sizeof key, "choices.0.message.tool_calls.%d.%s", i, fields[f]);
				assert_string_equal(str_at(back, key), str_at(orig, key));
			}
		}
		/* the chunks carry the index streaming clients need */
		struct json_object *first = parse(ch.text[0]);
		assert_int_equal(json_object_get_int(path(first, "choices.0.delta.tool_calls.1.index")), 1);
		json_object_put(first);
		assert_string_equal(str_at(back, "choices.0.finish_reason"), "tool_calls");
		if (usage)
			assert_true(json_object_equal(jsonobj_get(back, "usage"), jsonobj_get(orig, "usage")));
		else
			assert_false(has(back, "usage"));
		json_object_put(orig);
		json_object_put(back);
		chunks_free(&ch);
	}
}

static void test_to_chunks_defaults_and_stop(void **state)
{
	struct chunks ch = { 0 };
	/* no finish_reason in the completion: the stream still ends with one */
	struct json_object *back = round_trip(
		"{\"id\": \"x\", \"created\": 1, \"model\": \"m\", \"choices\": [{\"index\": 0,"
		" \"message\": {\"role\": \"assistant\", \"content\": \"hi\"}}]}", true, &ch);
	/* no usage in the completion: no usage chunk even when asked */
	assert_int_equal(ch.n, 2);
	assert_string_equal(str_at(back, "choices.0.finish_reason"), "stop");
	assert_string_equal(str_at(back, "choices.0.message.content"), "hi");
	json_object_put(back);
	chunks_free(&ch);

	/* a stop code from the callback ends the conversion and is returned */
	struct json_object *completion = parse(text_completion);
	ch.stop_at = 1;
	assert_int_equal(chat_completion_to_chunks(completion, true, collect, &ch), IM_ESTOP);
	assert_int_equal(ch.n, 1);
	chunks_free(&ch);
	ch.stop_at = 3;
	assert_int_equal(chat_completion_to_chunks(completion, true, collect, &ch), IM_ESTOP);
	assert_int_equal(ch.n, 3);
	chunks_free(&ch);
	json_object_put(completion);
}

static enum im_rc discard(void *ctx, const char *json)
{
	return IM_OK;
}

/* BUG (common/chat.c, chat_message_to_delta via chat_completion_to_chunks):
 * a choice without a "message" object (missing, null, a string, or a choice
 * that is not an object) makes chat_message_to_delta run
 * json_object_object_foreach on NULL, which dereferences
 * json_object_get_object(NULL)->head: a segfault. chat_completion_usable
 * accepts such an answer as long as another choice has content, so a
 * non-streamed upstream answer of that shape crashes the process when the
 * client streams. Run in a child so the crash fails only this test. */
static void test_to_chunks_choice_without_message(void **state)
{
	static const char *const answer =
		"{\"id\": \"x\", \"created\": 1, \"model\": \"m\", \"choices\": ["
		"{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"ok\"},"
		" \"finish_reason\": \"stop\"},"
		"{\"index\": 1, \"finish_reason\": \"error\"}]}";
	struct json_object *completion = parse(answer);

	assert_true(chat_completion_usable(completion));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* die quietly: no cmocka, ASan or UBSan report from the child */
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		enum im_rc rc = chat_completion_to_chunks(completion, false, discard, NULL);
		_exit(rc == IM_OK ? 0 : 1);
	}
	json_object_put(completion);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("chat_completion_to_chunks crashed with signal %d (see BUG above)",
			 WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_has_content),
		cmocka_unit_test(test_chunk_has_finish),
		cmocka_unit_test(test_completion_usable),
		cmocka_unit_test(test_aggregate_text_stream),
		cmocka_unit_test(test_aggregate_tool_stream),
		cmocka_unit_test(test_aggregate_two_choices),
		cmocka_unit_test(test_aggregate_cap),
		cmocka_unit_test(test_to_chunks_text),
		cmocka_unit_test(test_to_chunks_tool_calls),
		cmocka_unit_test(test_to_chunks_defaults_and_stop),
		cmocka_unit_test(test_to_chunks_choice_without_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
