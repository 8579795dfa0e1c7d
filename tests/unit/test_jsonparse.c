/* test_jsonparse.c: unit tests for common/jsonparse.c: reused tokeners
 * parse exactly as fresh ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "jsonparse.h"

/* What json_tokener_parse() makes of `text`, printed, or "NULL". */
static void expect_same(const char *text)
{
	struct json_object *want = json_tokener_parse(text), *got = jsonparse(text);
	char w[512], g[512];

	snprintf(w, sizeof w, "%s", want ? json_object_to_json_string(want) : "NULL");
	snprintf(g, sizeof g, "%s", got ? json_object_to_json_string(got) : "NULL");
	assert_string_equal(g, w);
	json_object_put(want);
	json_object_put(got);
}

/* Broken input between good ones: nothing of a failed parse is left in
 * the reused tokener to spoil the next one. */
static void test_reuse_after_errors_parses_the_same(void **state)
{
	static const char *const texts[] = {
		"{\"a\":[1,2,{\"b\":\"c\"}]}", "{\"a\":[1,2", "[1,2,3]", "{\"x\":", "\"s\"",
		"{\"unterminated", "{\"a\":1}", "", "[[[[", "{\"k\":true}", "12", "nul",
	};
	(void)state;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
			expect_same(texts[i]);
}

static char *nested(int depth)
{
	static char text[1024];
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		text[n++] = '[';
	for (int i = 0; i < depth; i++)
		text[n++] = ']';
	text[n] = '\0';
	return text;
}

/* Each depth keeps its own tokeners: the deep one takes what the default
 * one refuses, however they were used before. */
static void test_depths_stay_apart(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		const char *text = nested(100);
		assert_null(jsonparse(text));
		struct json_tokener *tok = jsonparse_take(JSONPARSE_DEEP);
		struct json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
		assert_non_null(o);
		assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
		json_object_put(o);
		jsonparse_give(tok, JSONPARSE_DEEP);
		o = jsonparse(nested(20));
		assert_non_null(o);
		json_object_put(o);
	}
}

/* More takers at once than the pool keeps: each gets its own tokener. */
static void test_more_takers_than_slots(void **state)
{
	struct json_tokener *toks[10];
	(void)state;
	for (size_t i = 0; i < 10; i++) {
		toks[i] = jsonparse_take(JSON_TOKENER_DEFAULT_DEPTH);
		for (size_t j = 0; j < i; j++)
			assert_ptr_not_equal(toks[i], toks[j]);
	}
	for (size_t i = 0; i < 10; i++)
		jsonparse_give(toks[i], JSON_TOKENER_DEFAULT_DEPTH);
	expect_same("{\"after\":1}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_after_errors_parses_the_same),
		cmocka_unit_test(test_depths_stay_apart),
		cmocka_unit_test(test_more_takers_than_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
