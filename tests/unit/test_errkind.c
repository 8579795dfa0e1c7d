/* test_errkind.c: unit tests for common/errkind.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "errkind.h"

/* What attempt.c does: the body parsed once, its "error" classified. */
static enum errkind from_http(long status, const char *body)
{
	struct json_object *root = body ? json_tokener_parse(body) : NULL, *error = NULL;

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "error", &error))
		error = NULL;
	enum errkind kind = errkind_from_http_error(status, error);
	json_object_put(root);
	return kind;
}

static const char *const plain_400 =
	"{\"error\": {\"message\": \"This model's maximum context length is 8192 tokens.\","
	" \"type\": \"invalid_request_error\", \"param\": \"messages\","
	" \"code\": \"context_length_exceeded\"}}";

static void test_http_status(void **state)
{
	static const struct {
		long status;
		enum errkind kind;
	} cases[] = {
		{ 401, ERRKIND_AUTH },
		{ 402, ERRKIND_PERMISSION },
		{ 403, ERRKIND_PERMISSION },
		{ 408, ERRKIND_TIMEOUT },
		{ 429, ERRKIND_RATE_LIMIT },
		{ 500, ERRKIND_SERVER },
		{ 502, ERRKIND_SERVER },
		{ 503, ERRKIND_SERVER },
		{ 504, ERRKIND_SERVER },
		{ 529, ERRKIND_SERVER },
		{ 400, ERRKIND_REQUEST },
		{ 404, ERRKIND_REQUEST },
		{ 413, ERRKIND_REQUEST },
		{ 422, ERRKIND_REQUEST },
	};
	static const char *const bodies[] = {
		NULL, "", "<html>Bad Gateway</html>",
		"{\"error\": {\"message\": \"oops\", \"type\": \"server_error\"}}",
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
			enum errkind got = from_http(cases[i].status, bodies[b]);
			if (got != cases[i].kind)
				fail_msg("status %ld body %s: got %s, want %s", cases[i].status,
					 bodies[b] ? bodies[b] : "NULL", errkind_name(got),
					 errkind_name(cases[i].kind));
		}
	}
}

static void test_content_filter_by_code(void **state)
{
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"Your request was rejected as a result of our safety system.\","
		" \"type\": \"invalid_request_error\", \"param\": null,"
		" \"code\": \"content_policy_violation\"}}"), ERRKIND_CONTENT_FILTER);
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"The response was filtered\", \"type\": null,"
		" \"param\": \"prompt\", \"code\": \"content_filter\", \"status\": 400}}"),
		ERRKIND_CONTENT_FILTER);
	/* case does not matter */
	assert_int_equal(from_http(422, "{\"error\": {\"code\": \"CONTENT_FILTER\"}}"),
			 ERRKIND_CONTENT_FILTER);
}

static void test_content_filter_by_type(void **state)
{
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"blocked\", \"type\": \"content_policy_violation\"}}"),
		ERRKIND_CONTENT_FILTER);
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"blocked\", \"type\": \"content_filter\", \"code\": 400}}"),
		ERRKIND_CONTENT_FILTER);
}

static void test_content_filter_azure_innererror(void **state)
{
	/* the outer code says nothing; the reason is one level down */
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"The response was filtered due to the prompt triggering"
		" Azure OpenAI's content management policy.\", \"type\": null, \"param\": \"prompt\","
		" \"code\": \"BadRequest\", \"status\": 400, \"innererror\": {\"code\":"
		" \"ResponsibleAIPolicyViolation\", \"content_filter_result\": {\"hate\":"
		" {\"filtered\": true, \"severity\": \"high\"}}}}}"), ERRKIND_CONTENT_FILTER);
	/* an innererror with an ordinary code is not a refusal */
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"bad\", \"code\": \"BadRequest\","
		" \"innererror\": {\"code\": \"InvalidPayload\"}}}"), ERRKIND_REQUEST);
}

static void test_not_content_filter(void **state)
{
	assert_int_equal(from_http(400, plain_400), ERRKIND_REQUEST);
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"Invalid value for 'temperature'\","
		" \"type\": \"invalid_request_error\", \"code\": null}}"), ERRKIND_REQUEST);
	/* not JSON, even when it mentions a filter */
	assert_int_equal(from_http(400, "content_filter: request blocked"), ERRKIND_REQUEST);
	assert_int_equal(from_http(400, "{\"error\": {\"code\": \"content_filter\""),
			 ERRKIND_REQUEST);
	/* JSON without an error object, or with the word elsewhere */
	assert_int_equal(from_http(400, "{\"code\": \"content_filter\"}"), ERRKIND_REQUEST);
	assert_int_equal(from_http(400, "[\"content_filter\"]"), ERRKIND_REQUEST);
	assert_int_equal(from_http(400,
		"{\"error\": {\"message\": \"bad\", \"param\": \"content_filter\"}}"), ERRKIND_REQUEST);
	/* other 4xx keep their own kind */
	assert_int_equal(from_http(401,
		"{\"error\": {\"message\": \"Incorrect API key provided\","
		" \"type\": \"invalid_request_error\", \"code\": \"invalid_api_key\"}}"), ERRKIND_AUTH);
	assert_int_equal(from_http(429,
		"{\"error\": {\"type\": \"requests\", \"code\": \"rate_limit_exceeded\"}}"),
		ERRKIND_RATE_LIMIT);
}

static struct json_object *error_of(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

static void test_is_content_refusal(void **state)
{
	struct json_object *e;

	e = error_of("{\"code\": \"content_policy_violation\"}");
	assert_true(errkind_is_content_refusal(e));
	json_object_put(e);
	e = error_of("{\"code\": \"context_length_exceeded\", \"type\": \"invalid_request_error\"}");
	assert_false(errkind_is_content_refusal(e));
	json_object_put(e);
	e = error_of("\"content_filter\"");
	assert_false(errkind_is_content_refusal(e));
	json_object_put(e);
	assert_false(errkind_is_content_refusal(NULL));
}

static void test_from_error_object(void **state)
{
	struct json_object *e;

	e = error_of("{\"message\": \"flagged\", \"code\": \"content_filter\"}");
	assert_int_equal(errkind_from_error_object(e), ERRKIND_CONTENT_FILTER);
	json_object_put(e);
	e = error_of("{\"message\": \"x\", \"innererror\": {\"code\": \"ResponsibleAIPolicyViolation\"}}");
	assert_int_equal(errkind_from_error_object(e), ERRKIND_CONTENT_FILTER);
	json_object_put(e);

	/* not a refusal, no HTTP-like code: an invalid response */
	e = error_of("{\"message\": \"Internal error\"}");
	assert_int_equal(errkind_from_error_object(e), ERRKIND_INVALID_RESPONSE);
	json_object_put(e);
	e = error_of("{\"message\": \"x\", \"code\": \"server_error\"}");
	assert_int_equal(errkind_from_error_object(e), ERRKIND_INVALID_RESPONSE);
	json_object_put(e);
	e = error_of("{\"message\": \"x\", \"code\": 200}");
	assert_int_equal(errkind_from_error_object(e), ERRKIND_INVALID_RESPONSE);
	json_object_put(e);
	e = error_of("\"just text\"");
	assert_int_equal(errkind_from_error_object(e), ERRKIND_INVALID_RESPONSE);
	json_object_put(e);
	assert_int_equal(errkind_from_error_object(NULL), ERRKIND_INVALID_RESPONSE);

	/* HTTP-like codes inside a 200 answer or an SSE event (OpenRouter's
	 * provider failures) are still just an unusable answer */
	static const char *const coded[] = {
		"{\"message\": \"Rate limit exceeded\", \"code\": 429}",
		"{\"message\": \"Provider returned error\", \"code\": 502}",
		"{\"message\": \"No auth credentials found\", \"code\": 401}",
		"{\"message\": \"Bad request\", \"code\": 400, \"type\": \"invalid_request_error\"}",
	};
	for (size_t i = 0; i < sizeof coded / sizeof coded[0]; i++) {
		e = error_of(coded[i]);
		assert_int_equal(errkind_from_error_object(e), ERRKIND_INVALID_RESPONSE);
		json_object_put(e);
	}
}

static void test_is_transient(void **state)
{
	assert_true(errkind_is_transient(ERRKIND_NETWORK));
	assert_true(errkind_is_transient(ERRKIND_SERVER));
	assert_true(errkind_is_transient(ERRKIND_RATE_LIMIT));
	assert_false(errkind_is_transient(ERRKIND_NONE));
	assert_false(errkind_is_transient(ERRKIND_AUTH));
	assert_false(errkind_is_transient(ERRKIND_PERMISSION));
	/* a timeout already cost the whole timeout: move on, do not wait again */
	assert_false(errkind_is_transient(ERRKIND_TIMEOUT));
	assert_false(errkind_is_transient(ERRKIND_REQUEST));
	assert_false(errkind_is_transient(ERRKIND_CONTENT_FILTER));
	assert_false(errkind_is_transient(ERRKIND_INVALID_RESPONSE));
}

static void test_names(void **state)
{
	for (int i = 0; i < ERRKIND_COUNT; i++) {
		const char *name = errkind_name((enum errkind)i);
		assert_non_null(name);
		assert_true(name[0] != '\0');
		assert_string_not_equal(name, "unknown");
		/* stable lower-case identifiers */
		for (const char *p = name; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
		for (int k = 0; k < i; k++)
			assert_string_not_equal(name, errkind_name((enum errkind)k));
	}
	assert_string_equal(errkind_name(ERRKIND_CONTENT_FILTER), "content_filter");
	assert_string_equal(errkind_name(ERRKIND_RATE_LIMIT), "rate_limit");
	assert_string_equal(errkind_name(ERRKIND_INVALID_RESPONSE), "invalid_response");
	assert_string_equal(errkind_name(ERRKIND_COUNT), "unknown");
	assert_string_equal(errkind_name((enum errkind)-1), "unknown");
}

static void test_hints(void **state)
{
	for (int i = ERRKIND_NONE + 1; i < ERRKIND_COUNT; i++) {
		const char *hint = errkind_hint((enum errkind)i);
		assert_non_null(hint);
		assert_true(strlen(hint) > 10);
		assert_null(strchr(hint, '\n'));
		for (int k = ERRKIND_NONE + 1; k < i; k++)
			assert_string_not_equal(hint, errkind_hint((enum errkind)k));
	}
	assert_string_equal(errkind_hint(ERRKIND_COUNT), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_content_filter_by_code),
		cmocka_unit_test(test_content_filter_by_type),
		cmocka_unit_test(test_content_filter_azure_innererror),
		cmocka_unit_test(test_not_content_filter),
		cmocka_unit_test(test_is_content_refusal),
		cmocka_unit_test(test_from_error_object),
		cmocka_unit_test(test_is_transient),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
