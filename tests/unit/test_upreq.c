/* test_upreq.c: unit tests for common/upreq.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "upreq.h"

static char ep_model[] = "upstream/model-x";
static char ep_key[] = "sk-unit-test-key-0123456789";
static char ep_referer[] = "https://app.example.org";
static char ep_title[] = "Example App";

static struct endpoint make_ep(void)
{
	struct endpoint ep;

	memset(&ep, 0, sizeof ep);
	ep.model = ep_model;
	ep.type = ENDPOINT_OPENAI;
	ep.stream = ENDPOINT_STREAM_FOLLOW;
	ep.timeout_s = 30;
	ep.retries = 1;
	return ep;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

/* upreq_body on the client text, parsed back. */
static struct json_object *body_of(const char *client_text, const struct endpoint *ep,
				   bool upstream_stream, bool want_usage)
{
	struct json_object *client = parse(client_text);
	char *text = upreq_body(client, ep, upstream_stream, want_usage);
	assert_non_null(text);
	struct json_object *body = parse(text);
	free(text);
	json_object_put(client);
	return body;
}

static struct json_object *member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static bool has(struct json_object *obj, const char *key)
{
	return json_object_object_get_ex(obj, key, NULL);
}

static int64_t int_member(struct json_object *obj, const char *key)
{
	struct json_object *v = member(obj, key);
	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static double double_member(struct json_object *obj, const char *key)
{
	struct json_object *v = member(obj, key);
	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
	return json_object_get_double(v);
}

/* ---- body ------------------------------------------------------------------- */

static void test_model_replaced(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *b = body_of("{\"model\": \"think\", \"messages\": []}", &ep, false, false);

	assert_string_equal(json_object_get_string(member(b, "model")), "upstream/model-x");
	json_object_put(b);

	/* also added when the client sent none */
	b = body_of("{\"messages\": []}", &ep, false, false);
	assert_string_equal(json_object_get_string(member(b, "model")), "upstream/model-x");
	json_object_put(b);
}

static void test_temperature(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *b;

	/* no endpoint default: nothing added */
	b = body_of("{\"model\": \"g\"}", &ep, false, false);
	assert_false(has(b, "temperature"));
	json_object_put(b);

	ep.has_temperature = true;
	ep.temperature = 0.3;
	b = body_of("{\"model\": \"g\"}", &ep, false, false);
	assert_true(fabs(double_member(b, "temperature") - 0.3) < 1e-12);
	json_object_put(b);

	/* the client's own value wins, even 0 */
	b = body_of("{\"model\": \"g\", \"temperature\": 1.2}", &ep, false, false);
	assert_true(fabs(double_member(b, "temperature") - 1.2) < 1e-12);
	json_object_put(b);
	b = body_of("{\"model\": \"g\", \"temperature\": 0}", &ep, false, false);
	assert_true(double_member(b, "temperature") == 0);
	json_object_put(b);

	/* an endpoint default of 0 is a default too */
	ep.temperature = 0;
	b = body_of("{\"model\": \"g\"}", &ep, false, false);
	assert_true(double_member(b, "temperature") == 0);
	json_object_put(b);
}

static void test_max_tokens(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *b;

	/* endpoint without a cap: the client's value goes through, none added */
	b = body_of("{\"max_tokens\": 100000}", &ep, false, false);
	assert_int_equal(int_member(b, "max_tokens"), 100000);
	json_object_put(b);
	b = body_of("{}", &ep, false, false);
	assert_false(has(b, "max_tokens"));
	json_object_put(b);

	ep.max_tokens = 1000;
	/* absent: filled */
	b = body_of("{\"model\": \"g\"}", &ep, false, false);
	assert_int_equal(int_member(b, "max_tokens"), 1000);
	assert_false(has(b, "max_completion_tokens"));
	json_object_put(b);
	/* null counts as absent */
	b = body_of("{\"max_tokens\": null}", &ep, false, false);
	assert_int_equal(int_member(b, "max_tokens"), 1000);
	json_object_put(b);
	/* above: capped */
	b = body_of("{\"max_tokens\": 5000}", &ep, false, false);
	assert_int_equal(int_member(b, "max_tokens"), 1000);
	json_object_put(b);
	/* below or equal: kept */
	b = body_of("{\"max_tokens\": 200}", &ep, false, false);
	assert_int_equal(int_member(b, "max_tokens"), 200);
	json_object_put(b);
	b = body_of("{\"max_tokens\": 1000}", &ep, false, false);
	assert_int_equal(int_member(b, "max_tokens"), 1000);
	json_object_put(b);
}

static void test_max_completion_tokens(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *b;

	ep.max_tokens = 1000;
	b = body_of("{\"max_completion_tokens\": 8000}", &ep, false, false);
	assert_int_equal(int_member(b, "max_completion_tokens"), 1000);
	/* present under its newer name: no max_tokens added beside it */
	assert_false(has(b, "max_tokens"));
	json_object_put(b);

	b = body_of("{\"max_completion_tokens\": 300}", &ep, false, false);
	assert_int_equal(int_member(b, "max_completion_tokens"), 300);
	assert_false(has(b, "max_tokens"));
	json_object_put(b);

	b = body_of("{\"max_completion_tokens\": 3000, \"max_tokens\": 20}", &ep, false, false);
	assert_int_equal(int_member(b, "max_completion_tokens"), 1000);
	assert_int_equal(int_member(b, "max_tokens"), 20);
	json_object_put(b);
}

static const char *const rich_client =
	"{\"model\": \"think\","
	" \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
	"   {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"h\\u00e9llo \\\"q\\\" a/b\"},"
	"     {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,AAAA\"}}]},"
	"   {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\","
	"     \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{\\\"x\\\":1}\"}}]},"
	"   {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"42\"}],"
	" \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
	"   \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}},"
	"   \"required\": [\"x\"]}}}],"
	" \"tool_choice\": \"auto\","
	" \"top_p\": 0.7,"
	" \"frequency_penalty\": -0.25,"
	" \"seed\": 12345678901,"
	" \"n\": 1,"
	" \"stop\": [\"\\n\\n\", \"END\"],"
	" \"logit_bias\": {\"50256\": -100},"
	" \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"s\","
	"   \"schema\": {\"type\": \"object\"}, \"strict\": true}},"
	" \"user\": \"u-1\","
	" \"x_vendor_extension\": {\"nested\": {\"deeper\": [1, 2.5, true, null, \"s\"]}},"
	" \"parallel_tool_calls\": false}";

static void test_other_fields_unchanged(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *client = parse(rich_client);

	ep.has_temperature = true;
	ep.temperature = 0.5;
	ep.max_tokens = 64;
	char *text = upreq_body(client, &ep, true, true);
	struct json_object *b = parse(text);
	static const char *const touched[] = {
		"model", "temperature", "max_tokens", "stream", "stream_options",
	};

	/* every member of the client's request is there, equal */
	json_object_object_foreach(client, key, val) {
		bool skip = false;
		for (size_t i = 0; i < sizeof touched / sizeof touched[0]; i++)
			skip = skip || strcmp(key, touched[i]) == 0;
		if (skip)
			continue;
		struct json_object *got = NULL;
		if (!json_object_object_get_ex(b, key, &got))
			fail_msg("member %s missing", key);
		if (!json_object_equal(val, got))
			fail_msg("member %s changed: %s", key, json_object_to_json_string(got));
	}
	/* and nothing but the touched ones was added */
	json_object_object_foreach(b, bkey, bval) {
		(void)bval;
		if (has(client, bkey))
			continue;
		bool known = false;
		for (size_t i = 0; i < sizeof touched / sizeof touched[0]; i++)
			known = known || strcmp(bkey, touched[i]) == 0;
		if (!known)
			fail_msg("member %s added", bkey);
	}
	/* numbers keep their written form */
	assert_non_null(strstr(text, "\"top_p\":0.7,"));
	assert_non_null(strstr(text, "\"frequency_penalty\":-0.25,"));
	assert_non_null(strstr(text, "\"seed\":12345678901,"));
	assert_non_null(strstr(text, "[1,2.5,true,null,\"s\"]"));
	assert_true(fabs(double_member(b, "top_p") - 0.7) < 1e-15);
	free(text);
	json_object_put(b);
	json_object_put(client);
}

static void test_stream_on(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *b;

	b = body_of("{\"model\": \"g\"}", &ep, true, false);
	assert_true(json_object_is_type(member(b, "stream"), json_type_boolean));
	assert_true(json_object_get_boolean(member(b, "stream")));
	assert_false(has(b, "stream_options"));
	json_object_put(b);

	/* the client's false is overridden */
	b = body_of("{\"model\": \"g\", \"stream\": false}", &ep, true, false);
	assert_true(json_object_get_boolean(member(b, "stream")));
	json_object_put(b);

	/* without want_usage the client's stream_options go through as they are */
	b = body_of("{\"stream\": true, \"stream_options\": {\"include_usage\": false}}", &ep, true, false);
	struct json_object *so = member(b, "stream_options");
	assert_non_null(so);
	assert_false(json_object_get_boolean(member(so, "include_usage")));
	json_object_put(b);
}

static void test_stream_off(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *b;

	b = body_of("{\"model\": \"g\", \"stream\": true, \"stream_options\": {\"include_usage\": true},"
		    " \"messages\": [{\"role\": \"user\", \"content\": \"stream\"}]}", &ep, false, false);
	assert_false(has(b, "stream"));
	assert_false(has(b, "stream_options"));
	assert_true(has(b, "messages"));
	json_object_put(b);

	/* want_usage means nothing without streaming */
	b = body_of("{\"stream\": true}", &ep, false, true);
	assert_false(has(b, "stream"));
	assert_false(has(b, "stream_options"));
	json_object_put(b);
}

static void test_want_usage(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *b, *so;

	b = body_of("{\"model\": \"g\"}", &ep, true, true);
	so = member(b, "stream_options");
	assert_non_null(so);
	assert_true(json_object_is_type(member(so, "include_usage"), json_type_boolean));
	assert_true(json_object_get_boolean(member(so, "include_usage")));
	assert_int_equal(json_object_object_length(so), 1);
	json_object_put(b);

	/* the client's other stream_options stay; its include_usage is overridden */
	b = body_of("{\"stream_options\": {\"include_usage\": false, \"vendor_flag\": \"x\","
		    " \"n\": {\"k\": 1}}}", &ep, true, true);
	so = member(b, "stream_options");
	assert_true(json_object_get_boolean(member(so, "include_usage")));
	assert_string_equal(json_object_get_string(member(so, "vendor_flag")), "x");
	assert_int_equal(int_member(member(so, "n"), "k"), 1);
	assert_int_equal(json_object_object_length(so), 3);
	json_object_put(b);

	/* a stream_options that is not an object is replaced */
	b = body_of("{\"stream_options\": null}", &ep, true, true);
	so = member(b, "stream_options");
	assert_true(json_object_is_type(so, json_type_object));
	assert_true(json_object_get_boolean(member(so, "include_usage")));
	json_object_put(b);
}

static void test_client_not_modified(void **state)
{
	struct endpoint ep = make_ep();
	struct json_object *client = parse(rich_client);
	struct json_object *more = parse("{\"model\": \"think\", \"max_tokens\": 9000,"
					 " \"max_completion_tokens\": 9000, \"stream\": true,"
					 " \"stream_options\": {\"include_usage\": false, \"o\": 1}}");
	char *before = strdup(json_object_to_json_string(client));
	char *before_more = strdup(json_object_to_json_string(more));

	ep.has_temperature = true;
	ep.temperature = 1;
	ep.max_tokens = 10;
	for (int s = 0; s < 2; s++) {
		for (int u = 0; u < 2; u++) {
			free(upreq_body(client, &ep, s, u));
			free(upreq_body(more, &ep, s, u));
		}
	}
	assert_string_equal(json_object_to_json_string(client), before);
	assert_string_equal(json_object_to_json_string(more), before_more);
	free(before);
	free(before_more);
	json_object_put(client);
	json_object_put(more);
}

/* ---- stream decision ---------------------------------------------------------- */

static void test_wants_stream(void **state)
{
	struct endpoint ep = make_ep();

	ep.stream = ENDPOINT_STREAM_FOLLOW;
	assert_true(upreq_wants_stream(&ep, true));
	assert_false(upreq_wants_stream(&ep, false));
	ep.stream = ENDPOINT_STREAM_ON;
	assert_true(upreq_wants_stream(&ep, true));
	assert_true(upreq_wants_stream(&ep, false));
	ep.stream = ENDPOINT_STREAM_OFF;
	assert_false(upreq_wants_stream(&ep, true));
	assert_false(upreq_wants_stream(&ep, false));
}

/* ---- headers ------------------------------------------------------------------ */

static size_t count_prefix(const struct curl_slist *h, const char *prefix)
{
	size_t n = 0;
	for (; h != NULL; h = h->next)
		if (strncasecmp(h->data, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static const char *find_prefix(const struct curl_slist *h, const char *prefix)
{
	for (; h != NULL; h = h->next)
		if (strncasecmp(h->data, prefix, strlen(prefix)) == 0)
			return h->data;
	return NULL;
}

static void test_headers_auth(void **state)
{
	struct endpoint ep = make_ep();
	struct curl_slist *h;

	ep.apikey = ep_key;
	h = upreq_headers(&ep, false);
	assert_non_null(h);
	assert_int_equal(count_prefix(h, "Authorization:"), 1);
	assert_string_equal(find_prefix(h, "Authorization:"),
			    "Authorization: Bearer sk-unit-test-key-0123456789");
	assert_string_equal(find_prefix(h, "Content-Type:"), "Content-Type: application/json");
	curl_slist_free_all(h);
	/* the endpoint's key itself is untouched by the scrubbing of the copy */
	assert_string_equal(ep.apikey, "sk-unit-test-key-0123456789");

	ep.apikey = NULL;
	h = upreq_headers(&ep, true);
	assert_non_null(h);
	assert_int_equal(count_prefix(h, "Authorization"), 0);
	for (const struct curl_slist *l = h; l; l = l->next)
		assert_null(strstr(l->data, "Bearer"));
	curl_slist_free_all(h);
}

static void test_headers_accept(void **state)
{
	struct endpoint ep = make_ep();
	struct curl_slist *h;

	h = upreq_headers(&ep, true);
	assert_int_equal(count_prefix(h, "Accept:"), 1);
	assert_string_equal(find_prefix(h, "Accept:"), "Accept: text/event-stream");
	curl_slist_free_all(h);

	h = upreq_headers(&ep, false);
	assert_int_equal(count_prefix(h, "Accept:"), 1);
	assert_string_equal(find_prefix(h, "Accept:"), "Accept: application/json");
	curl_slist_free_all(h);
}

static void test_headers_openrouter(void **state)
{
	struct endpoint ep = make_ep();
	struct curl_slist *h;

	ep.type = ENDPOINT_OPENROUTER;
	ep.referer = ep_referer;
	ep.title = ep_title;
	h = upreq_headers(&ep, true);
	assert_string_equal(find_prefix(h, "HTTP-Referer:"), "HTTP-Referer: https://app.example.org");
	assert_string_equal(find_prefix(h, "X-Title:"), "X-Title: Example App");
	curl_slist_free_all(h);

	/* only the ones that are set */
	ep.referer = NULL;
	h = upreq_headers(&ep, true);
	assert_int_equal(count_prefix(h, "HTTP-Referer"), 0);
	assert_string_equal(find_prefix(h, "X-Title:"), "X-Title: Example App");
	curl_slist_free_all(h);

	ep.referer = ep_referer;
	ep.title = NULL;
	h = upreq_headers(&ep, false);
	assert_string_equal(find_prefix(h, "HTTP-Referer:"), "HTTP-Referer: https://app.example.org");
	assert_int_equal(count_prefix(h, "X-Title"), 0);
	curl_slist_free_all(h);

	ep.referer = NULL;
	h = upreq_headers(&ep, false);
	assert_int_equal(count_prefix(h, "HTTP-Referer"), 0);
	assert_int_equal(count_prefix(h, "X-Title"), 0);
	curl_slist_free_all(h);
}

static void test_headers_not_openrouter(void **state)
{
	static const enum endpoint_type types[] = { ENDPOINT_OPENAI, ENDPOINT_CHUTES };
	struct endpoint ep = make_ep();

	ep.referer = ep_referer;
	ep.title = ep_title;
	ep.apikey = ep_key;
	for (size_t i = 0; i < 2; i++) {
		ep.type = types[i];
		struct curl_slist *h = upreq_headers(&ep, true);
		assert_int_equal(count_prefix(h, "HTTP-Referer"), 0);
		assert_int_equal(count_prefix(h, "X-Title"), 0);
		assert_int_equal(count_prefix(h, "Authorization:"), 1);
		curl_slist_free_all(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_replaced),
		cmocka_unit_test(test_temperature),
		cmocka_unit_test(test_max_tokens),
		cmocka_unit_test(test_max_completion_tokens),
		cmocka_unit_test(test_other_fields_unchanged),
		cmocka_unit_test(test_stream_on),
		cmocka_unit_test(test_stream_off),
		cmocka_unit_test(test_want_usage),
		cmocka_unit_test(test_client_not_modified),
		cmocka_unit_test(test_wants_stream),
		cmocka_unit_test(test_headers_auth),
		cmocka_unit_test(test_headers_accept),
		cmocka_unit_test(test_headers_openrouter),
		cmocka_unit_test(test_headers_not_openrouter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
