/* test_foreign.c: unit tests for common/jsonobj.c and the request helpers
 * of common/foreign.c, which the Anthropic and Gemini translations share
 * (their streams and answers are tested through test_anthropic and
 * test_gemini). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "dialect_fixtures.h"
#include "foreign.h"
#include "jsonobj.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static void test_jsonobj(void **state)
{
	struct json_object *o = parse("{\"s\":\"x\",\"n\":1,\"a\":[1,2,3],\"o\":{}}");

	(void)state;
	assert_null(jsonobj_get(NULL, "s"));
	assert_null(jsonobj_get(jsonobj_get(o, "a"), "s"));   /* no object */
	assert_null(jsonobj_get(o, "missing"));
	assert_ptr_equal(jsonobj_get(o, "o"), path(o, "o"));
	assert_string_equal(jsonobj_str(o, "s"), "x");
	assert_null(jsonobj_str(o, "n"));                     /* no string */
	assert_int_equal(jsonobj_len(jsonobj_get(o, "a")), 3);
	assert_int_equal(jsonobj_len(jsonobj_get(o, "o")), 0);
	assert_int_equal(jsonobj_len(NULL), 0);
	struct json_object *u = parse("{\"a\":5,\"neg\":-3,\"s\":\"7\",\"huge\":9223372036854775807}");
	assert_int_equal(jsonobj_count(u, "a"), 5);
	assert_int_equal(jsonobj_count(u, "neg"), 0);
	assert_int_equal(jsonobj_count(u, "s"), 0);                 /* no integer */
	assert_int_equal(jsonobj_count(u, "missing"), 0);
	/* capped, so that a face may add two of them */
	assert_true(jsonobj_count(u, "huge") + jsonobj_count(u, "huge") > 0);
	json_object_put(u);
	jsonobj_set_str(o, "s", "y");
	jsonobj_set(o, "n", json_object_new_int(2));
	assert_string_equal(str_at(o, "s"), "y");
	assert_int_equal(int_at(o, "n"), 2);
	json_object_put(o);
}

/* Turns of one role merge; empty ones vanish. */
static void test_turns(void **state)
{
	struct json_object *turns = json_object_new_array();

	(void)state;
	foreign_turn(turns, "user", "parts", parse("[1]"));
	foreign_turn(turns, "user", "parts", parse("[2,3]"));
	foreign_turn(turns, "model", "parts", parse("[]"));
	foreign_turn(turns, "model", "parts", parse("[4]"));
	assert_string_equal(json_object_to_json_string_ext(turns, FLAGS),
			    "[{\"role\":\"user\",\"parts\":[1,2,3]},{\"role\":\"model\",\"parts\":[4]}]");
	json_object_put(turns);
}

static void test_urls(void **state)
{
	static const struct { const char *url; const char *media; const char *data; bool http; } cases[] = {
		{ "data:image/png;base64,iVBOR", "image/png", "iVBOR", false },
		{ "data:image/png,raw", NULL, NULL, false },
		{ "https://x.test/a.png", NULL, NULL, true },
		{ "http://x.test/a.png", NULL, NULL, true },
		{ "ftp://x.test/a.png", NULL, NULL, false },
		{ NULL, NULL, NULL, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *data = NULL;
		char *media = foreign_data_url(cases[i].url, &data);
		if (cases[i].media == NULL) {
			assert_null(media);
		} else {
			assert_string_equal(media, cases[i].media);
			assert_string_equal(data, cases[i].data);
		}
		free(media);
		assert_int_equal(foreign_is_http(cases[i].url), cases[i].http);
	}
	struct json_object *parts = parse("[{\"image_url\":\"https://a\"},{\"image_url\":{\"url\":\"https://b\"}},{}]");
	assert_string_equal(foreign_image_url(json_object_array_get_idx(parts, 0)), "https://a");
	assert_string_equal(foreign_image_url(json_object_array_get_idx(parts, 1)), "https://b");
	assert_null(foreign_image_url(json_object_array_get_idx(parts, 2)));
	json_object_put(parts);
}

static void test_request_fields(void **state)
{
	static const struct { const char *client; long ep_max; long want; } caps[] = {
		{ "{}", 0, 0 },
		{ "{\"max_tokens\":50}", 0, 50 },
		{ "{\"max_tokens\":50,\"max_completion_tokens\":70}", 0, 70 },
		{ "{\"max_tokens\":500}", 100, 100 },
		{ "{\"max_tokens\":-1}", 100, 100 },
		{ "{\"max_tokens\":2000000000}", 0, 0 },
	};
	static const struct { const char *stop; const char *want; } stops[] = {
		{ "\"END\"", "[\"END\"]" },
		{ "[\"a\",\"\",1,\"b\"]", "[\"a\",\"b\"]" },
		{ "\"\"", NULL },
		{ "[]", NULL },
		{ "7", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		struct json_object *client = parse(caps[i].client);
		struct endpoint ep = { .max_tokens = caps[i].ep_max };
		assert_int_equal(foreign_max_tokens(client, &ep), caps[i].want);
		json_object_put(client);
	}
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		struct json_object *stop = parse(stops[i].stop);
		struct json_object *out = foreign_stop(stop);
		if (stops[i].want == NULL)
			assert_null(out);
		else
			assert_string_equal(json_object_to_json_string_ext(out, FLAGS), stops[i].want);
		json_object_put(out);
		json_object_put(stop);
	}
}

static void test_tools(void **state)
{
	struct json_object *tools = parse("[{\"function\":{\"name\":\"f\",\"description\":\"d\","
					  "\"parameters\":{\"type\":\"object\"},\"arguments\":\"{\\\"a\\\":1}\"}},"
					  "{\"function\":{\"name\":\"g\",\"arguments\":\"[1]\"}},{\"type\":\"function\"}]");
	struct json_object *d;

	(void)state;
	d = foreign_tool_decl(json_object_array_get_idx(tools, 0), "schema");
	assert_string_equal(json_object_to_json_string_ext(d, FLAGS),
			    "{\"name\":\"f\",\"description\":\"d\",\"schema\":{\"type\":\"object\"}}");
	json_object_put(d);
	d = foreign_tool_decl(json_object_array_get_idx(tools, 1), "schema");
	assert_string_equal(json_object_to_json_string_ext(d, FLAGS), "{\"name\":\"g\"}");
	json_object_put(d);
	assert_null(foreign_tool_decl(json_object_array_get_idx(tools, 2), "schema"));
	/* arguments as an object, {} for anything else */
	d = foreign_call_args(path(tools, "0.function"));
	assert_string_equal(json_object_to_json_string_ext(d, FLAGS), "{\"a\":1}");
	json_object_put(d);
	d = foreign_call_args(path(tools, "1.function"));
	assert_string_equal(json_object_to_json_string_ext(d, FLAGS), "{}");
	json_object_put(d);
	d = foreign_tool_call(-1, NULL, "f", NULL);
	assert_string_equal(json_object_to_json_string_ext(d, FLAGS),
			    "{\"id\":\"\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}");
	json_object_put(d);
	json_object_put(tools);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonobj),
		cmocka_unit_test(test_turns),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_tools),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
