/* test_resume.c: unit tests for common/resume.c: what was delivered, the
 * continuation request, and the overlap filter. */
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

#include "alloc.h"
#include "resume.h"

static struct json_object *chunk(const char *delta_json, const char *finish)
{
	char *text = xasprintf("{\"id\":\"c-%d\",\"created\":%d,\"model\":\"m\",\"choices\":[{\"index\":0,"
			       "\"delta\":%s,\"finish_reason\":%s}]}",
			       rand(), rand(), delta_json, finish ? finish : "null");
	struct json_object *o = json_tokener_parse(text);
	free(text);
	assert_non_null(o);
	return o;
}

/* Delivers `parts` as the original stream, then feeds `cont` as a
 * continuation and returns the content the client got from it. */
static char *run(const char *const *parts, const char *const *cont)
{
	struct resume rs;
	char *delta;
	size_t out_len = 0;
	char *out = xcalloc(1, 4096);

	resume_init(&rs);
	for (size_t i = 0; parts[i]; i++) {
		delta = xasprintf("{\"content\":\"%s\"}", parts[i]);
		struct json_object *c = chunk(delta, NULL);
		resume_observe(&rs, c);
		json_object_put(c);
		free(delta);
	}
	resume_begin(&rs);
	for (size_t i = 0; cont[i]; i++) {
		delta = xasprintf("{\"content\":\"%s\"}", cont[i]);
		struct json_object *c = chunk(delta, NULL);
		char *json = resume_adapt(&rs, c);
		if (json) {
			struct json_object *o = json_tokener_parse(json), *ch, *d, *v;
			json_object_object_get_ex(o, "choices", &ch);
			json_object_object_get_ex(json_object_array_get_idx(ch, 0), "delta", &d);
			if (json_object_object_get_ex(d, "content", &v)) {
				strcpy(out + out_len, json_object_get_string(v));
				out_len += strlen(json_object_get_string(v));
			}
			json_object_put(o);
			free(json);
		}
		json_object_put(c);
		free(delta);
	}
	struct json_object *fin = chunk("{}", "\"stop\"");
	char *json = resume_adapt(&rs, fin);
	struct json_object *o = json_tokener_parse(json), *ch, *d, *v;
	json_object_object_get_ex(o, "choices", &ch);
	json_object_object_get_ex(json_object_array_get_idx(ch, 0), "delta", &d);
	if (json_object_object_get_ex(d, "content", &v))
		strcpy(out + out_len, json_object_get_string(v));
	json_object_put(o);
	free(json);
	json_object_put(fin);
	resume_free(&rs);
	return out;
}

static void expect_continuation(const char *const *parts, const char *const *cont, const char *want)
{
	char *got = run(parts, cont);
	assert_string_equal(got, want);
	free(got);
}

static void test_exact_continuation_passes(void **state)
{
	const char *parts[] = { "The cat", " sat", NULL };
	const char *cont[] = { " on", " the", " mat", NULL };
	expect_continuation(parts, cont, " on the mat");
}

static void test_repeated_end_dropped(void **state)
{
	const char *parts[] = { "The cat", " sat on", NULL };
	const char *cont[] = { "sat on", " the", " mat", NULL };
	expect_continuation(parts, cont, " the mat");
}

static void test_repeat_split_over_chunks_dropped(void **state)
{
	const char *parts[] = { "alpha beta gamma", NULL };
	const char *cont[] = { "be", "ta gam", "ma delta", NULL };
	expect_continuation(parts, cont, " delta");
}

static void test_full_restart_dropped(void **state)
{
	const char *parts[] = { "One", " two", " three", NULL };
	const char *cont[] = { "One", " two", " three", " four", NULL };
	expect_continuation(parts, cont, " four");
}

static void test_short_coincidence_kept(void **state)
{
	/* ". " ends both, but 2 characters are below the minimum */
	const char *parts[] = { "Done. ", NULL };
	const char *cont[] = { ". Next", NULL };
	expect_continuation(parts, cont, ". Next");
}

static void test_non_repeat_never_dropped(void **state)
{
	const char *parts[] = { "abcdefgh", NULL };
	const char *cont[] = { "abcdxyz", NULL };
	expect_continuation(parts, cont, "abcdxyz");
}

static void test_held_text_flushed_at_finish(void **state)
{
	/* a continuation that only ever looks like the start of a restart */
	const char *parts[] = { "Hello world", NULL };
	const char *cont[] = { "Hello", NULL };
	expect_continuation(parts, cont, "Hello");
}

static void test_ids_role_and_usage(void **state)
{
	struct resume rs;
	resume_init(&rs);
	struct json_object *first = json_tokener_parse(
		"{\"id\":\"first\",\"created\":111,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"a b\"}}]}");
	resume_observe(&rs, first);
	resume_begin(&rs);
	struct json_object *role = json_tokener_parse(
		"{\"id\":\"second\",\"created\":222,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
	assert_null(resume_adapt(&rs, role));   /* a second role is dropped */
	struct json_object *c = json_tokener_parse(
		"{\"id\":\"second\",\"created\":222,\"model\":\"other\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" c d e\"}}]}");
	char *json = resume_adapt(&rs, c);
	assert_non_null(json);
	struct json_object *o = json_tokener_parse(json), *v;
	assert_true(json_object_object_get_ex(o, "id", &v));
	assert_string_equal(json_object_get_string(v), "first");
	assert_true(json_object_object_get_ex(o, "created", &v));
	assert_int_equal(json_object_get_int(v), 111);
	assert_true(json_object_object_get_ex(o, "model", &v));
	assert_string_equal(json_object_get_string(v), "other");
	json_object_put(o);
	free(json);
	struct json_object *usage = json_tokener_parse(
		"{\"id\":\"second\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":1,\"total_tokens\":11}}");
	json = resume_adapt(&rs, usage);
	o = json_tokener_parse(json);
	struct json_object *u;
	json_object_object_get_ex(o, "usage", &u);
	json_object_object_get_ex(u, "completion_tokens", &v);
	assert_int_equal(json_object_get_int(v), 2);   /* one chunk before, one after */
	json_object_object_get_ex(u, "total_tokens", &v);
	assert_int_equal(json_object_get_int(v), 12);
	json_object_put(o);
	free(json);
	json_object_put(first);
	json_object_put(role);
	json_object_put(c);
	json_object_put(usage);
	resume_free(&rs);
}

static void test_refusals(void **state)
{
	struct resume rs;
	struct json_object *plain = json_tokener_parse("{\"messages\":[]}");
	struct json_object *n2 = json_tokener_parse("{\"messages\":[],\"n\":2}");
	struct json_object *lp = json_tokener_parse("{\"messages\":[],\"logprobs\":true}");
	struct json_object *tool = json_tokener_parse(
		"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\"}}]}}]}");

	resume_init(&rs);
	assert_null(resume_refusal(&rs, plain));
	assert_non_null(resume_refusal(&rs, n2));
	assert_non_null(resume_refusal(&rs, lp));
	resume_observe(&rs, tool);
	assert_non_null(resume_refusal(&rs, plain));
	resume_free(&rs);
	json_object_put(plain);
	json_object_put(n2);
	json_object_put(lp);
	json_object_put(tool);
}

static void test_body_styles(void **state)
{
	struct endpoint ep = { .model = "up-model", .continuation = CONTINUATION_VLLM };
	struct resume rs;
	struct json_object *client = json_tokener_parse(
		"{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	struct json_object *c = chunk("{\"content\":\"partial\"}", NULL), *v, *msgs, *last;

	resume_init(&rs);
	resume_observe(&rs, c);
	resume_begin(&rs);
	char *text = resume_body(&rs, client, &ep, true);
	struct json_object *body = json_tokener_parse(text);
	json_object_object_get_ex(body, "messages", &msgs);
	assert_int_equal(json_object_array_length(msgs), 2);
	last = json_object_array_get_idx(msgs, 1);
	json_object_object_get_ex(last, "content", &v);
	assert_string_equal(json_object_get_string(v), "partial");
	assert_true(json_object_object_get_ex(body, "continue_final_message", &v) && json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(body, "add_generation_prompt", &v) && !json_object_get_boolean(v));
	assert_false(json_object_object_get_ex(last, "prefix", NULL));
	json_object_put(body);
	free(text);

	ep.continuation = CONTINUATION_DEEPSEEK;
	text = resume_body(&rs, client, &ep, true);
	body = json_tokener_parse(text);
	json_object_object_get_ex(body, "messages", &msgs);
	last = json_object_array_get_idx(msgs, 1);
	assert_true(json_object_object_get_ex(last, "prefix", &v) && json_object_get_boolean(v));
	assert_false(json_object_object_get_ex(body, "continue_final_message", NULL));
	json_object_put(body);
	free(text);

	/* the client's request is left as it was */
	json_object_object_get_ex(client, "messages", &msgs);
	assert_int_equal(json_object_array_length(msgs), 1);
	json_object_put(client);
	json_object_put(c);
	resume_free(&rs);
}

/* A text completion's chunk: `text` in choice 0 itself. */
static struct json_object *text_chunk(const char *id, const char *text, const char *finish)
{
	char *json = xasprintf("{\"id\":\"%s\",\"object\":\"text_completion\",\"created\":7,"
			       "\"choices\":[{\"text\":\"%s\",\"index\":0,\"logprobs\":null,"
			       "\"finish_reason\":%s}]}", id, text, finish ? finish : "null");
	struct json_object *o = json_tokener_parse(json);
	free(json);
	assert_non_null(o);
	return o;
}

/* The text of choice 0 of an adapted chunk, or NULL when none went out. */
static char *adapted_text(struct resume *rs, struct json_object *c, char **id)
{
	char *json = resume_adapt(rs, c);
	struct json_object *o, *ch, *v;
	char *text;

	if (json == NULL)
		return NULL;
	o = json_tokener_parse(json);
	json_object_object_get_ex(o, "choices", &ch);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(ch, 0), "text", &v));
	text = xstrdup(json_object_get_string(v));
	json_object_object_get_ex(o, "id", &v);
	*id = xstrdup(json_object_get_string(v));
	json_object_put(o);
	free(json);
	return text;
}

static void test_text_completion_continued(void **state)
{
	struct endpoint ep = { .model = "up-model", .continuation = CONTINUATION_PREFILL };
	struct resume rs;
	struct json_object *client = json_tokener_parse(
		"{\"model\":\"g\",\"prompt\":\"Once\",\"max_tokens\":10,\"stream\":true}");
	struct json_object *parts[] = { text_chunk("a", " upon", NULL), text_chunk("a", " a time", NULL) };
	struct json_object *cont[] = { text_chunk("b", " a time", NULL), text_chunk("b", " there", NULL),
				       text_chunk("b", "", "\"stop\"") };
	struct json_object *body, *v;
	char *id = NULL, *text;

	resume_init_route(&rs, ROUTE_COMPLETIONS);
	for (size_t i = 0; i < 2; i++)
		resume_observe(&rs, parts[i]);
	assert_null(resume_refusal(&rs, client));
	resume_begin(&rs);
	text = resume_body(&rs, client, &ep, true);
	body = json_tokener_parse(text);
	free(text);
	assert_true(json_object_object_get_ex(body, "prompt", &v));
	assert_string_equal(json_object_get_string(v), "Once upon a time");
	assert_true(json_object_object_get_ex(body, "max_tokens", &v));
	assert_int_equal(json_object_get_int64(v), 8);
	assert_false(json_object_object_get_ex(body, "messages", NULL));
	json_object_put(body);

	/* the repeated " a time" is dropped; the finish chunk keeps its text "" */
	assert_null(adapted_text(&rs, cont[0], &id));
	text = adapted_text(&rs, cont[1], &id);
	assert_string_equal(text, " there");
	assert_string_equal(id, "a");
	free(text);
	free(id);
	text = adapted_text(&rs, cont[2], &id);
	assert_string_equal(text, "");
	free(text);
	free(id);
	for (size_t i = 0; i < 2; i++)
		json_object_put(parts[i]);
	for (size_t i = 0; i < 3; i++)
		json_object_put(cont[i]);
	json_object_put(client);
	resume_free(&rs);
}

static void test_text_completion_refusals(void **state)
{
	struct resume rs;
	const char *refused[] = {
		"{\"prompt\":\"x\",\"echo\":true}", "{\"prompt\":[1,2]}", "{\"prompt\":[\"a\",\"b\"]}",
		"{\"prompt\":\"x\",\"logprobs\":2}", "{\"prompt\":\"x\",\"n\":2}",
	};
	struct json_object *one = json_tokener_parse("{\"prompt\":[\"a\"],\"logprobs\":0}");

	resume_init_route(&rs, ROUTE_COMPLETIONS);
	assert_null(resume_refusal(&rs, one));
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		struct json_object *c = json_tokener_parse(refused[i]);
		assert_non_null(resume_refusal(&rs, c));
		json_object_put(c);
	}
	json_object_put(one);
	resume_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_continuation_passes),
		cmocka_unit_test(test_repeated_end_dropped),
		cmocka_unit_test(test_repeat_split_over_chunks_dropped),
		cmocka_unit_test(test_full_restart_dropped),
		cmocka_unit_test(test_short_coincidence_kept),
		cmocka_unit_test(test_non_repeat_never_dropped),
		cmocka_unit_test(test_held_text_flushed_at_finish),
		cmocka_unit_test(test_ids_role_and_usage),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_body_styles),
		cmocka_unit_test(test_text_completion_continued),
		cmocka_unit_test(test_text_completion_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
