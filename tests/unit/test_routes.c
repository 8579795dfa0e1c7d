/* test_routes.c: unit tests for the embeddings and legacy completions
 * routes: which endpoint types serve them (common/route.c), the request
 * checks (common/routereq.c) and the Gemini embeddings translation
 * (common/embed_gemini.c). */
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

#include "dialect.h"
#include "route.h"
#include "routereq.h"

static char ep_model[] = "text-embedding-004";
static char ep_base[] = "https://generativelanguage.example/v1beta";
static char ep_key[] = "AIza-unit-test-key";

static struct endpoint make_ep(enum endpoint_type type)
{
	struct endpoint ep;

	memset(&ep, 0, sizeof ep);
	ep.model = ep_model;
	ep.baseurl = ep_base;
	ep.apikey = ep_key;
	ep.type = type;
	return ep;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

static const char *jstr(struct json_object *root, const char *path0, const char *path1)
{
	struct json_object *v = root;
	if (path0)
		assert_true(json_object_object_get_ex(v, path0, &v));
	if (path1)
		assert_true(json_object_object_get_ex(v, path1, &v));
	return json_object_get_string(v);
}

/* ---- route.c ---------------------------------------------------------------- */

static void test_route_types(void **state)
{
	(void)state;
	struct json_object *text = parse("{\"input\":\"x\"}");
	const char *why;
	struct endpoint oai = make_ep(ENDPOINT_OPENROUTER), anth = make_ep(ENDPOINT_ANTHROPIC);

	assert_true(route_serves(ROUTE_EMBEDDINGS, &oai, text, &why));
	assert_null(why);
	assert_true(route_serves(ROUTE_COMPLETIONS, &oai, text, &why));
	assert_false(route_serves(ROUTE_EMBEDDINGS, &anth, text, &why));
	assert_non_null(why);
	assert_false(route_serves(ROUTE_COMPLETIONS, &anth, text, &why));
	assert_true(route_serves(ROUTE_CHAT, &anth, text, &why));
	assert_ptr_equal(route_dialect(ROUTE_CHAT, ENDPOINT_OPENAI), &dialect_openai);
	assert_string_equal(route_path(ROUTE_EMBEDDINGS), "/embeddings");
	assert_string_equal(route_path(ROUTE_CHAT), "/chat/completions");
	assert_string_equal(route_name(ROUTE_CHAT), "chat");
	assert_string_equal(route_name(ROUTE_COMPLETIONS), "completions");
	assert_string_equal(route_name((enum route_kind)42), "chat");
	json_object_put(text);
}

static void test_openai_urls_and_bodies(void **state)
{
	(void)state;
	static char base[] = "http://up.example/v1/";
	struct endpoint ep = make_ep(ENDPOINT_OPENAI);
	ep.baseurl = base;
	ep.max_tokens = 7;
	ep.has_temperature = true;
	ep.temperature = 0.5;
	struct json_object *client = parse("{\"model\":\"grp\",\"input\":[\"a\"],\"dimensions\":3,"
					   "\"encoding_format\":\"base64\",\"user\":\"u\"}");
	struct dialect_call call = { .client = client, .ep = &ep };

	char *url = dialect_openai_embeddings.url(&ep, &call);
	assert_string_equal(url, "http://up.example/v1/embeddings");
	free(url);
	char *body = dialect_openai_embeddings.body(client, &ep, &call);
	struct json_object *b = parse(body);
	assert_string_equal(jstr(b, "model", NULL), "text-embedding-004");
	assert_string_equal(jstr(b, "encoding_format", NULL), "base64");
	assert_string_equal(jstr(b, "user", NULL), "u");
	assert_false(json_object_object_get_ex(b, "temperature", NULL));  /* chat defaults stay out */
	json_object_put(b);
	free(body);
	json_object_put(client);

	client = parse("{\"model\":\"grp\",\"prompt\":\"Say\",\"max_tokens\":100,\"stream\":true}");
	call.client = client;
	call.up_stream = false;
	url = dialect_openai_completions.url(&ep, &call);
	assert_string_equal(url, "http://up.example/v1/completions");
	free(url);
	body = dialect_openai_completions.body(client, &ep, &call);
	b = parse(body);
	assert_int_equal(json_object_get_int(json_object_object_get(b, "max_tokens")), 7);
	assert_true(json_object_get_double(json_object_object_get(b, "temperature")) == 0.5);
	assert_false(json_object_object_get_ex(b, "stream", NULL));
	json_object_put(b);
	free(body);
	json_object_put(client);
}

static void test_openai_answers(void **state)
{
	(void)state;
	struct canon out;
	char detail[256];

	assert_int_equal(dialect_openai_embeddings.answer("{\"object\":\"list\",\"data\":[{\"embedding\":[1]}]}",
							  &out, detail, sizeof detail), ERRKIND_NONE);
	json_object_put(out.obj);
	assert_int_equal(dialect_openai_embeddings.answer("{\"data\":[]}", &out, detail, sizeof detail),
			 ERRKIND_INVALID_RESPONSE);
	assert_int_equal(dialect_openai_completions.answer("{\"choices\":[{\"text\":\"hi\"}]}",
							   &out, detail, sizeof detail), ERRKIND_NONE);
	json_object_put(out.obj);
	assert_int_equal(dialect_openai_completions.answer("{\"choices\":[{\"message\":{}}]}",
							   &out, detail, sizeof detail), ERRKIND_INVALID_RESPONSE);
}

/* ---- routereq.c ---------------------------------------------------------------- */

static enum im_rc req(enum route_kind kind, const char *text, const char **param)
{
	struct clientreq r;
	char err[256];
	enum im_rc rc = routereq_parse(kind, text, strlen(text), &r, err, sizeof err, param);

	if (rc == IM_OK)
		clientreq_free(&r);
	return rc;
}

static void test_routereq(void **state)
{
	(void)state;
	const char *param;
	struct clientreq r;
	char err[256];
	const char *text = "{\"model\":\"g\",\"prompt\":\"x\",\"stream\":true,"
			   "\"stream_options\":{\"include_usage\":true}}";

	assert_int_equal(req(ROUTE_EMBEDDINGS, "{\"model\":\"g\",\"input\":\"x\"}", &param), IM_OK);
	assert_int_equal(req(ROUTE_EMBEDDINGS, "{\"model\":\"g\",\"input\":[[1,2],[3]]}", &param), IM_OK);
	assert_int_equal(req(ROUTE_EMBEDDINGS, "{\"model\":\"g\",\"input\":[1,2]}", &param), IM_OK);
	assert_int_equal(req(ROUTE_EMBEDDINGS, "{\"model\":\"g\",\"input\":[[]]}", &param), IM_EINVAL);
	assert_string_equal(param, "input");
	assert_int_equal(req(ROUTE_EMBEDDINGS, "{\"model\":\"g\",\"input\":\"x\",\"dimensions\":-1}", &param), IM_EINVAL);
	assert_string_equal(param, "dimensions");
	assert_int_equal(req(ROUTE_EMBEDDINGS, "{\"input\":\"x\"}", &param), IM_EINVAL);
	assert_string_equal(param, "model");
	assert_int_equal(req(ROUTE_COMPLETIONS, "{\"model\":\"g\",\"messages\":[]}", &param), IM_EINVAL);
	assert_string_equal(param, "prompt");
	assert_int_equal(req(ROUTE_COMPLETIONS, "{\"model\":\"g\",\"prompt\":\"x\"} x", &param), IM_EINVAL);
	assert_null(param);
	assert_int_equal(routereq_parse(ROUTE_COMPLETIONS, text, strlen(text), &r, err, sizeof err, &param), IM_OK);
	assert_true(r.stream);
	assert_true(r.include_usage);
	assert_string_equal(r.model, "g");
	clientreq_free(&r);
}

/* ---- embed_gemini.c ------------------------------------------------------------------ */

static void test_gemini_request(void **state)
{
	(void)state;
	struct endpoint ep = make_ep(ENDPOINT_OPENAI);
	const struct dialect *d = &dialect_gemini_embeddings;
	struct json_object *client = parse("{\"model\":\"g\",\"input\":[\"a\",\"b\"],\"dimensions\":3}");
	struct dialect_call call = { .client = client, .ep = &ep };

	assert_null(d->refuses(client));
	char *url = d->url(&ep, &call);
	assert_string_equal(url, "https://generativelanguage.example/v1beta/models/text-embedding-004:batchEmbedContents");
	free(url);
	char *body = d->body(client, &ep, &call);
	struct json_object *b = parse(body), *reqs = json_object_object_get(b, "requests");
	assert_int_equal(json_object_array_length(reqs), 2);
	struct json_object *second = json_object_array_get_idx(reqs, 1);
	assert_string_equal(jstr(second, "model", NULL), "models/text-embedding-004");
	struct json_object *parts = json_object_object_get(json_object_object_get(second, "content"), "parts");
	assert_string_equal(jstr(json_object_array_get_idx(parts, 0), "text", NULL), "b");
	assert_int_equal(json_object_get_int(json_object_object_get(second, "outputDimensionality")), 3);
	json_object_put(b);
	free(body);

	struct curl_slist *h = d->headers(&ep, &call);
	bool keyed = false;
	for (struct curl_slist *l = h; l; l = l->next)
		keyed |= strcmp(l->data, "x-goog-api-key: AIza-unit-test-key") == 0;
	assert_true(keyed);
	curl_slist_free_all(h);
	json_object_put(client);

	client = parse("{\"model\":\"g\",\"input\":[[1,2]]}");
	assert_non_null(d->refuses(client));   /* token arrays: not for gemini */
	json_object_put(client);
}

static void test_gemini_answer(void **state)
{
	(void)state;
	struct endpoint ep = make_ep(ENDPOINT_OPENAI);
	const struct dialect *d = &dialect_gemini_embeddings;
	struct json_object *client = parse("{\"model\":\"g\",\"input\":[\"hello world\",\"a\"]}");
	struct dialect_call call = { .client = client, .ep = &ep };
	struct canon out;
	char detail[256];

	assert_int_equal(d->answer_to("{\"embeddings\":[{\"values\":[0.5,-1]},{\"values\":[2,0.25]}]}",
				      &call, &out, detail, sizeof detail), ERRKIND_NONE);
	assert_string_equal(jstr(out.obj, "object", NULL), "list");
	assert_string_equal(jstr(out.obj, "model", NULL), "text-embedding-004");
	struct json_object *data = json_object_object_get(out.obj, "data");
	struct json_object *second = json_object_array_get_idx(data, 1);
	assert_string_equal(jstr(second, "object", NULL), "embedding");
	assert_int_equal(json_object_get_int(json_object_object_get(second, "index")), 1);
	assert_true(json_object_get_double(json_object_array_get_idx(json_object_object_get(second, "embedding"), 1)) == 0.25);
	/* estimated: "hello world" 11 bytes -> 3, "a" -> 1 */
	assert_int_equal(json_object_get_int(json_object_object_get(json_object_object_get(out.obj, "usage"),
								      "prompt_tokens")), 4);
	json_object_put(out.obj);

	/* a count that does not match the texts sent is not an answer */
	assert_int_equal(d->answer_to("{\"embeddings\":[{\"values\":[1]}]}", &call, &out, detail, sizeof detail),
			 ERRKIND_INVALID_RESPONSE);
	assert_int_equal(d->answer_to("{\"error\":{\"message\":\"quota\"}}", &call, &out, detail, sizeof detail),
			 ERRKIND_INVALID_RESPONSE);
	assert_non_null(strstr(detail, "quota"));
	json_object_put(client);
}

static void test_gemini_base64(void **state)
{
	(void)state;
	struct endpoint ep = make_ep(ENDPOINT_OPENAI);
	struct json_object *client = parse("{\"model\":\"g\",\"input\":\"x\",\"encoding_format\":\"base64\"}");
	struct dialect_call call = { .client = client, .ep = &ep };
	struct canon out;
	char detail[256];

	/* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 (little-endian float32) */
	assert_int_equal(dialect_gemini_embeddings.answer_to("{\"embeddings\":[{\"values\":[1,-2]}]}",
							     &call, &out, detail, sizeof detail), ERRKIND_NONE);
	struct json_object *first = json_object_array_get_idx(json_object_object_get(out.obj, "data"), 0);
	assert_string_equal(jstr(first, "embedding", NULL), "AACAPwAAAMA=");
	json_object_put(out.obj);
	json_object_put(client);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_types),
		cmocka_unit_test(test_openai_urls_and_bodies),
		cmocka_unit_test(test_openai_answers),
		cmocka_unit_test(test_routereq),
		cmocka_unit_test(test_gemini_request),
		cmocka_unit_test(test_gemini_answer),
		cmocka_unit_test(test_gemini_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
