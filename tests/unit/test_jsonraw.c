/* test_jsonraw.c: unit tests for common/jsonraw.c: values keep the client's spelling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "jsonraw.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Parses, pins, deep-copies (as upreq does) and prints. */
static char *roundtrip(const char *text, enum im_rc *rc)
{
	struct json_object *root = json_tokener_parse(text), *copy = NULL;

	assert_non_null(root);
	*rc = jsonraw_pin(root, text, strlen(text));
	assert_int_equal(json_object_deep_copy(root, &copy, NULL), 0);
	char *out = strdup(json_object_to_json_string_ext(copy, FLAGS));
	json_object_put(copy);
	json_object_put(root);
	return out;
}

/* Texts in compact form, so the whole output must equal the input. */
static void test_values_keep_their_text(void **state)
{
	static const char *const same[] = {
		"{\"n\":123456789012345678901234567890}",
		"{\"n\":-123456789012345678901234567890}",
		"{\"n\":18446744073709551616}",
		"{\"n\":-9223372036854775809}",
		"{\"n\":-0,\"m\":-0.0,\"k\":0}",
		"{\"d\":0.10,\"e\":1e-7,\"E\":1E+2,\"f\":1.0,\"g\":2.50e+00}",
		"{\"s\":\"\\u00e9\\u0041\\ud83d\\ude00\"}",
		"{\"lone\":\"\\ud800 and \\udfff\"}",
		"{\"nul\":\"a\\u0000b\"}",
		"{\"raw\":\"é😀\\n\\t\\\"\"}",
		"{\"a\":[1,-0,[99999999999999999999],{\"x\":\"\\u2028\"}],\"t\":true,\"z\":null}",
		"{}",
	};

	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		enum im_rc rc;
		char *out = roundtrip(same[i], &rc);
		assert_int_equal(rc, IM_OK);
		if (strcmp(out, same[i]) != 0)
			fail_msg("in  %s\nout %s", same[i], out);
		free(out);
	}
}

/* With a duplicate key json-c keeps the last value, and so does its text. */
static void test_duplicate_keys(void **state)
{
	enum im_rc rc;
	char *out = roundtrip("{\"n\":-0,\"o\":{\"x\":-0},\"n\":99999999999999999999,\"o\":{\"x\":1}}", &rc);

	assert_string_equal(out, "{\"n\":99999999999999999999,\"o\":{\"x\":1}}");
	free(out);
	/* an escaped key is found under its decoded name */
	out = roundtrip("{\"k\\u0065y\":-0}", &rc);
	assert_string_equal(out, "{\"key\":-0}");
	free(out);
}

/* Containers are not pinned: an edit or an append shows. */
static void test_edits_show(void **state)
{
	const char *text = "{\"m\":[{\"c\":\"\\u00e9\"}],\"o\":{\"a\":-0}}";
	struct json_object *root = json_tokener_parse(text), *m, *o;

	assert_int_equal(jsonraw_pin(root, text, strlen(text)), IM_OK);
	json_object_object_get_ex(root, "m", &m);
	json_object_object_get_ex(root, "o", &o);
	json_object_array_add(m, json_object_new_int(7));
	json_object_object_add(o, "b", json_object_new_boolean(1));
	json_object_object_add(root, "model", json_object_new_string("x"));
	assert_string_equal(json_object_to_json_string_ext(root, FLAGS),
			    "{\"m\":[{\"c\":\"\\u00e9\"},7],\"o\":{\"a\":-0,\"b\":true},\"model\":\"x\"}");
	json_object_put(root);
}

/* json-c's extensions (comments, trailing commas) leave the tree as json-c
 * prints it, never the request; nor a pin of an earlier duplicate key on a
 * later value (found by the fuzzer). */
static void test_not_strict(void **state)
{
	enum im_rc rc;
	char *out = roundtrip("{\"a\":-0, /* c */ \"b\":-0}", &rc);

	assert_int_equal(rc, IM_EINVAL);
	assert_string_equal(out, "{\"a\":0,\"b\":0}");
	free(out);
	out = roundtrip("{\"a\":-0,\"\":[99, ],\"a\":-5}", &rc);
	assert_int_equal(rc, IM_EINVAL);
	assert_string_equal(out, "{\"a\":-5,\"\":[99]}");
	free(out);
}

static void test_new_double_is_short(void **state)
{
	static const struct { double v; const char *text; } cases[] = {
		{ 0.1, "0.1" }, { 0.7, "0.7" }, { 1.0, "1" }, { 0.3, "0.3" },
		{ 1.0 / 3, "0.3333333333333333" }, { 2.5e-7, "2.5e-07" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct json_object *d = jsonraw_new_double(cases[i].v);
		assert_string_equal(json_object_to_json_string_ext(d, FLAGS), cases[i].text);
		json_object_put(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_keep_their_text),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_edits_show),
		cmocka_unit_test(test_not_strict),
		cmocka_unit_test(test_new_double_is_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
