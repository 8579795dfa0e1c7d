/* test_group.c: unit tests for common/group.c, through group_parse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "group.h"

#define PATH "/etc/immortal/groups/think.json"

/* ---- a fake environment -------------------------------------------------- */

static const char *const fake_env[][2] = {
	{ "OPENAI_KEY", "sk-test-0123456789" },
	{ "OR_KEY", "sk-or-v1-abcdef" },
	{ "BASE", "https://api.example.com/v1/" },
	{ "HOST", "llm.example.org" },
	{ "PORT", "8443" },
	{ "EMPTY", "" },
};

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; i < sizeof fake_env / sizeof fake_env[0]; i++)
		if (strcmp(fake_env[i][0], name) == 0)
			return fake_env[i][1];
	return NULL;
}

/* ---- helpers ---------------------------------------------------------------- */

/* What *out holds before a call, to check that group_parse sets it. */
static struct group sentinel;

struct parsed {
	enum im_rc rc;
	struct group *g;
	char err[1024];
	char warn[1024];
};

static void parse(const char *text, struct parsed *p)
{
	memset(p->err, 'E', sizeof p->err - 1);
	p->err[sizeof p->err - 1] = '\0';
	memset(p->warn, 'W', sizeof p->warn - 1);
	p->warn[sizeof p->warn - 1] = '\0';
	p->g = &sentinel;   /* must be overwritten */
	p->rc = group_parse("think", PATH, text, fake_getenv, &p->g,
			    p->err, sizeof p->err, p->warn, sizeof p->warn);
}

static struct group *parse_ok(const char *text, struct parsed *p)
{
	parse(text, p);
	if (p->rc != IM_OK)
		fail_msg("unexpected error: %s", p->err);
	assert_non_null(p->g);
	assert_string_equal(p->warn, "");
	return p->g;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void assert_not_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("\"%s\" contains \"%s\"", hay, needle);
}

/* Parses text, expects IM_EINVAL and an error holding the path and every
 * string of the NULL-terminated list. */
static void expect_error(const char *text, ...)
{
	struct parsed p;
	va_list ap;

	parse(text, &p);
	if (p.rc == IM_OK) {
		group_free(p.g);
		fail_msg("accepted: %s", text);
	}
	assert_int_equal(p.rc, IM_EINVAL);
	assert_null(p.g);
	assert_true(strncmp(p.err, PATH ": ", strlen(PATH) + 2) == 0);
	va_start(ap, text);
	for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *))
		assert_contains(p.err, s);
	va_end(ap);
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

#define EP_OK "\"baseurl\": \"https://api.example.com/v1\", \"model\": \"m\""


/* ---- routing fields (issue 13) ------------------------------------------- */

static void test_routing_defaults(void **state)
{
	struct parsed p;
	(void)state;
	struct group *g = parse_ok("[{" EP_OK "}, {" EP_OK ", \"apikey\": \"${OPENAI_KEY}\"}]", &p);
	assert_int_equal(g->strategy, STRATEGY_ORDERED);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(g->endpoints[i].priority, 0);
		assert_true(near(g->endpoints[i].weight, 1));
		assert_int_equal(g->endpoints[i].n_keys, 0);
		assert_null(g->endpoints[i].keys);
	}
	group_free(g);
}

static void test_routing_fields(void **state)
{
	struct parsed p;
	(void)state;
	struct group *g = parse_ok("{\"strategy\": \"weighted\", \"endpoints\": ["
				   "{" EP_OK ", \"priority\": 2, \"weight\": 3.5},"
				   "{" EP_OK ", \"priority\": -1}]}", &p);
	assert_int_equal(g->strategy, STRATEGY_WEIGHTED);
	assert_int_equal(g->endpoints[0].priority, 2);
	assert_true(near(g->endpoints[0].weight, 3.5));
	assert_int_equal(g->endpoints[1].priority, -1);
	group_free(g);
	const char *names[] = { "ordered", "weighted", "latency", "sticky" };
	for (int i = 0; i < 4; i++) {
		char text[256];
		snprintf(text, sizeof text, "{\"strategy\": \"%s\", \"endpoints\": [{" EP_OK "}]}", names[i]);
		g = parse_ok(text, &p);
		assert_int_equal(g->strategy, i);
		assert_string_equal(group_strategy_name(g->strategy), names[i]);
		group_free(g);
	}
}

static void test_key_pool(void **state)
{
	struct parsed p;
	(void)state;
	/* an unset key is left out; the others stay, without a warning */
	struct group *g = parse_ok("[{" EP_OK ", \"apikey\": [\"${OPENAI_KEY}\", \"${MISSING}\", \"lit-${OR_KEY}\"]}]", &p);
	const struct endpoint *ep = &g->endpoints[0];
	assert_int_equal(ep->n_keys, 2);
	assert_string_equal(ep->keys[0], "sk-test-0123456789");
	assert_string_equal(ep->keys[1], "lit-sk-or-v1-abcdef");
	assert_string_equal(ep->apikey, ep->keys[0]);
	assert_true(endpoint_key_id(ep, 0) != endpoint_key_id(ep, 1));
	assert_true(endpoint_key_id(ep, 0) != ep->key);
	group_free(g);

	/* one key as a list is the same endpoint as the key alone */
	g = parse_ok("[{" EP_OK ", \"apikey\": [\"k1\"]}, {" EP_OK ", \"apikey\": \"k1\"}]", &p);
	assert_true(g->endpoints[0].key == g->endpoints[1].key);
	group_free(g);

	/* every key unset: the endpoint is left out, as with one key */
	parse("[{" EP_OK ", \"apikey\": [\"${MISSING_A}\", \"${MISSING_B}\"]}, {" EP_OK "}]", &p);
	assert_int_equal(p.rc, IM_OK);
	assert_int_equal(p.g->n_endpoints, 1);
	assert_contains(p.warn, "left out");
	group_free(p.g);
}

static void test_error_routing(void **state)
{
	(void)state;
	expect_error("[{" EP_OK ", \"apikey\": []}]", "endpoint 1", "\"apikey\"", NULL);
	expect_error("[{" EP_OK ", \"apikey\": [\"a\", 5]}]", "\"apikey\"", "string", NULL);
	expect_error("[{" EP_OK ", \"apikey\": [\"a\\nb\"]}]", "\"apikey\"", "one line", NULL);
	expect_error("[{" EP_OK ", \"name\": \"p\", \"priority\": 1.5}]", "endpoint 1 (p): field \"priority\"", NULL);
	expect_error("[{" EP_OK ", \"priority\": \"1\"}]", "\"priority\"", NULL);
	expect_error("[{" EP_OK ", \"weight\": 0}]", "\"weight\"", NULL);
	expect_error("[{" EP_OK ", \"weight\": -2}]", "\"weight\"", NULL);
	expect_error("{\"strategy\": \"fastest\", \"endpoints\": [{" EP_OK "}]}", "\"strategy\"", "fastest", NULL);
	expect_error("{\"strategy\": 1, \"endpoints\": [{" EP_OK "}]}", "\"strategy\"", NULL);
}

/* ---- the three shapes ---------------------------------------------------- */

static void test_shape_array(void **state)
{
	struct parsed p;
	struct group *g = parse_ok(
		"[{\"baseurl\": \"https://a.example.com/v1\", \"model\": \"gpt-4o\"},"
		" {\"baseurl\": \"http://b.example.com\", \"model\": \"llama\", \"name\": \"local\"}]", &p);

	assert_string_equal(g->name, "think");
	assert_string_equal(g->path, PATH);
	assert_int_equal(g->n_endpoints, 2);
	assert_false(g->failover_on_content_filter);
	assert_string_equal(g->endpoints[0].model, "gpt-4o");
	assert_string_equal(g->endpoints[0].url, "https://a.example.com/v1/chat/completions");
	assert_string_equal(g->endpoints[1].model, "llama");
	assert_string_equal(g->endpoints[1].name, "local");
	assert_string_equal(g->endpoints[1].url, "http://b.example.com/chat/completions");
	group_free(g);
}

static void test_shape_single_object(void **state)
{
	struct parsed p;
	struct group *g = parse_ok("{\"baseurl\": \"https://a.example.com/v1\", \"model\": \"solo\"}", &p);

	assert_int_equal(g->n_endpoints, 1);
	assert_string_equal(g->endpoints[0].model, "solo");
	assert_string_equal(g->endpoints[0].name, "think#1");
	assert_false(g->failover_on_content_filter);
	group_free(g);
}

static void test_shape_endpoints_object(void **state)
{
	struct parsed p;
	struct group *g = parse_ok(
		"{\"endpoints\": [{" EP_OK "}, {\"baseurl\": \"https://c.example.com\", \"model\": \"x\"}],"
		" \"failover_on_content_filter\": true}", &p);

	assert_int_equal(g->n_endpoints, 2);
	assert_true(g->failover_on_content_filter);
	assert_string_equal(g->endpoints[1].model, "x");
	group_free(g);

	g = parse_ok("{\"failover_on_content_filter\": false, \"endpoints\": [{" EP_OK "}]}", &p);
	assert_int_equal(g->n_endpoints, 1);
	assert_false(g->failover_on_content_filter);
	group_free(g);

	g = parse_ok("{\"endpoints\": [{" EP_OK "}]}", &p);
	assert_false(g->failover_on_content_filter);
	group_free(g);
}

/* ---- defaults and explicit values ------------------------------------------ */

static void test_defaults(void **state)
{
	struct parsed p;
	struct group *g = parse_ok(
		"[{\"baseurl\": \"https://api.example.com/v1///\", \"model\": \"a\"},"
		" {\"baseurl\": \"https://api.example.com\", \"model\": \"b\"},"
		" {\"baseurl\": \"https://api.example.com/\", \"model\": \"c\", \"timeout\": 4}]", &p);

	assert_int_equal(g->n_endpoints, 3);
	const struct endpoint *ep = &g->endpoints[0];
	assert_string_equal(ep->name, "think#1");
	assert_string_equal(g->endpoints[1].name, "think#2");
	assert_string_equal(g->endpoints[2].name, "think#3");
	assert_string_equal(ep->baseurl, "https://api.example.com/v1");
	assert_string_equal(ep->url, "https://api.example.com/v1/chat/completions");
	assert_string_equal(g->endpoints[1].url, "https://api.example.com/chat/completions");
	assert_string_equal(g->endpoints[2].baseurl, "https://api.example.com");
	assert_string_equal(g->endpoints[2].url, "https://api.example.com/chat/completions");
	assert_null(ep->apikey);
	assert_int_equal(ep->type, ENDPOINT_OPENAI);
	assert_int_equal(ep->stream, ENDPOINT_STREAM_FOLLOW);
	assert_true(near(ep->timeout_s, 30));
	assert_int_equal(ep->retries, 1);
	assert_true(near(ep->retry_after_max_s, 3));
	assert_false(ep->has_temperature);
	assert_int_equal(ep->max_tokens, 0);
	assert_null(ep->referer);
	assert_null(ep->title);
	/* connect timeout: 10 s, or the timeout when that is shorter */
	assert_true(near(ep->connect_timeout_s, 10));
	assert_true(near(g->endpoints[2].timeout_s, 4));
	assert_true(near(g->endpoints[2].connect_timeout_s, 4));
	group_free(g);
}

static void test_explicit_values(void **state)
{
	struct parsed p;
	struct group *g = parse_ok(
		"[{\"name\": \"or-main\", \"type\": \"openrouter\", \"baseurl\": \"https://openrouter.ai/api/v1\","
		"  \"apikey\": \"literal-key\", \"model\": \"deepseek/deepseek-r1\", \"timeout\": 12.5,"
		"  \"connect_timeout\": 2, \"temperature\": 0.2, \"max_tokens\": 4096, \"stream\": true,"
		"  \"retries\": 0, \"retry_after_max\": 0, \"referer\": \"https://app.example\","
		"  \"title\": \"My App\"},"
		" {\"type\": \"chutes\", \"baseurl\": \"https://llm.chutes.ai/v1\", \"model\": \"q\","
		"  \"stream\": false, \"retries\": 5, \"temperature\": 0},"
		" {\"type\": \"openai\", " EP_OK ", \"temperature\": 2}]", &p);

	assert_int_equal(g->n_endpoints, 3);
	const struct endpoint *a = &g->endpoints[0], *b = &g->endpoints[1], *c = &g->endpoints[2];
	assert_string_equal(a->name, "or-main");
	assert_int_equal(a->type, ENDPOINT_OPENROUTER);
	assert_string_equal(a->apikey, "literal-key");
	assert_string_equal(a->model, "deepseek/deepseek-r1");
	assert_true(near(a->timeout_s, 12.5));
	assert_true(near(a->connect_timeout_s, 2));
	assert_true(a->has_temperature);
	assert_true(near(a->temperature, 0.2));
	assert_int_equal(a->max_tokens, 4096);
	assert_int_equal(a->stream, ENDPOINT_STREAM_ON);
	assert_int_equal(a->retries, 0);
	assert_true(near(a->retry_after_max_s, 0));
	assert_string_equal(a->referer, "https://app.example");
	assert_string_equal(a->title, "My App");
	assert_int_equal(b->type, ENDPOINT_CHUTES);
	assert_int_equal(b->stream, ENDPOINT_STREAM_OFF);
	assert_int_equal(b->retries, 5);
	assert_true(b->has_temperature);
	assert_true(near(b->temperature, 0));
	assert_int_equal(c->type, ENDPOINT_OPENAI);
	assert_true(near(c->temperature, 2));
	group_free(g);
}

static void test_endpoint_type_name(void **state)
{
	assert_string_equal(endpoint_type_name(ENDPOINT_OPENAI), "openai");
	assert_string_equal(endpoint_type_name(ENDPOINT_CHUTES), "chutes");
	assert_string_equal(endpoint_type_name(ENDPOINT_OPENROUTER), "openrouter");
	assert_string_equal(endpoint_type_name(ENDPOINT_ANTHROPIC), "anthropic");
	assert_string_equal(endpoint_type_name(ENDPOINT_GEMINI), "gemini");
}

/* An anthropic endpoint continues by prefill, a gemini one not at all,
 * unless the file says otherwise. */
static void test_type_default_continuation(void **state)
{
	static const struct {
		const char *type;
		enum endpoint_type want;
		enum continuation by_default, told;
	} cases[] = {
		{ "anthropic", ENDPOINT_ANTHROPIC, CONTINUATION_PREFILL, CONTINUATION_NONE },
		{ "gemini", ENDPOINT_GEMINI, CONTINUATION_NONE, CONTINUATION_PREFILL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512];
		struct parsed p;
		snprintf(text, sizeof text, "[{" EP_OK ", \"type\": \"%s\"},"
			 " {" EP_OK ", \"type\": \"%s\", \"continuation\": \"%s\"}]",
			 cases[i].type, cases[i].type, continuation_name(cases[i].told));
		struct group *g = parse_ok(text, &p);
		assert_int_equal(g->endpoints[0].type, cases[i].want);
		assert_int_equal(g->endpoints[0].continuation, cases[i].by_default);
		assert_int_equal(g->endpoints[1].continuation, cases[i].told);
		group_free(g);
	}
}

/* `headers`: names kept as written, values expanded, in file order. */
static void test_headers(void **state)
{
	struct parsed p;
	struct group *g = parse_ok("[{" EP_OK ", \"headers\": {\"anthropic-beta\": \"x-1\","
				   " \"X-Key\": \"k ${OR_KEY}\"}}, {" EP_OK "}]", &p);

	(void)state;
	assert_int_equal(g->endpoints[0].n_headers, 2);
	assert_string_equal(g->endpoints[0].headers[0].name, "anthropic-beta");
	assert_string_equal(g->endpoints[0].headers[0].value, "x-1");
	assert_string_equal(g->endpoints[0].headers[1].name, "X-Key");
	assert_string_equal(g->endpoints[0].headers[1].value, "k sk-or-v1-abcdef");
	assert_int_equal(g->endpoints[1].n_headers, 0);
	group_free(g);
	/* an unset ${VAR} leaves the endpoint out, as in apikey */
	parse("[{" EP_OK ", \"headers\": {\"X-Key\": \"${NOPE}\"}}, {" EP_OK ", \"name\": \"b\"}]", &p);
	assert_int_equal(p.rc, IM_OK);
	assert_int_equal(p.g->n_endpoints, 1);
	assert_string_equal(p.g->endpoints[0].name, "b");
	assert_contains(p.warn, "${NOPE}");
	group_free(p.g);
}

static void test_error_headers(void **state)
{
	(void)state;
	expect_error("[{" EP_OK ", \"headers\": [\"a\"]}]", "\"headers\"", "object", NULL);
	expect_error("[{" EP_OK ", \"headers\": {\"a b\": \"v\"}}]", "\"headers\"", "a b", NULL);
	expect_error("[{" EP_OK ", \"headers\": {\"a:b\": \"v\"}}]", "\"headers\"", NULL);
	expect_error("[{" EP_OK ", \"headers\": {\"a\": 1}}]", "\"headers\"", "string", NULL);
	expect_error("[{" EP_OK ", \"headers\": {\"a\": \"v\\r\\nX: y\"}}]", "\"headers\"", "one line", NULL);
	expect_error("[{" EP_OK ", \"headers\": {\"a\": \"\"}}]", "\"headers\"", NULL);
}

/* ---- ${VAR} expansion ------------------------------------------------------ */

static void test_expansion(void **state)
{
	struct parsed p;
	struct group *g = parse_ok(
		"[{\"baseurl\": \"${BASE}\", \"apikey\": \"${OPENAI_KEY}\", \"model\": \"m\"},"
		" {\"baseurl\": \"https://${HOST}:${PORT}/v1\", \"apikey\": \"pre-${OR_KEY}-post\","
		"  \"model\": \"m\"},"
		" {\"baseurl\": \"https://h.example/$HOST/{x}/$\", \"apikey\": \"a${b\", \"model\": \"m\"}]",
		&p);

	assert_int_equal(g->n_endpoints, 3);
	assert_string_equal(g->endpoints[0].apikey, "sk-test-0123456789");
	/* the trailing slash of the expanded baseurl is removed too */
	assert_string_equal(g->endpoints[0].baseurl, "https://api.example.com/v1");
	assert_string_equal(g->endpoints[0].url, "https://api.example.com/v1/chat/completions");
	assert_string_equal(g->endpoints[1].baseurl, "https://llm.example.org:8443/v1");
	assert_string_equal(g->endpoints[1].apikey, "pre-sk-or-v1-abcdef-post");
	/* a '$' without braces and an unclosed ${ are plain text */
	assert_string_equal(g->endpoints[2].baseurl, "https://h.example/$HOST/{x}/$");
	assert_string_equal(g->endpoints[2].apikey, "a${b");
	group_free(g);
}

static void test_model_not_expanded(void **state)
{
	struct parsed p;
	struct group *g = parse_ok("[{\"baseurl\": \"https://a.example\", \"model\": \"${HOST}\"}]", &p);

	assert_string_equal(g->endpoints[0].model, "${HOST}");
	group_free(g);
}

static void test_unset_var_leaves_endpoint_out(void **state)
{
	struct parsed p;

	parse("[{\"name\": \"primary\", \"baseurl\": \"https://a.example\", \"apikey\": \"${MISSING_KEY}\","
	      "  \"model\": \"m1\"},"
	      " {\"baseurl\": \"https://b.example\", \"apikey\": \"${OPENAI_KEY}\", \"model\": \"m2\"}]", &p);
	assert_int_equal(p.rc, IM_OK);
	assert_non_null(p.g);
	assert_int_equal(p.g->n_endpoints, 1);
	assert_string_equal(p.g->endpoints[0].model, "m2");
	/* the survivor keeps its position in the file as its number */
	assert_string_equal(p.g->endpoints[0].name, "think#2");
	assert_contains(p.warn, PATH);
	assert_contains(p.warn, "endpoint 1");
	assert_contains(p.warn, "primary");
	assert_contains(p.warn, "apikey");
	assert_contains(p.warn, "${MISSING_KEY}");
	group_free(p.g);

	/* in baseurl, and an empty variable counts as unset */
	parse("[{\"baseurl\": \"https://b.example\", \"model\": \"m1\"},"
	      " {\"baseurl\": \"${EMPTY}\", \"model\": \"m2\"}]", &p);
	assert_int_equal(p.rc, IM_OK);
	assert_int_equal(p.g->n_endpoints, 1);
	assert_string_equal(p.g->endpoints[0].model, "m1");
	assert_contains(p.warn, "endpoint 2");
	assert_contains(p.warn, "baseurl");
	assert_contains(p.warn, "${EMPTY}");
	group_free(p.g);

	/* warn may be NULL */
	struct group *g = NULL;
	char err[256];
	assert_int_equal(group_parse("think", PATH,
				     "[{\"baseurl\": \"${NOPE}\", \"model\": \"a\"}, {" EP_OK "}]",
				     fake_getenv, &g, err, sizeof err, NULL, 0), IM_OK);
	assert_int_equal(g->n_endpoints, 1);
	group_free(g);
}

static void test_unset_var_leaves_no_endpoint(void **state)
{
	struct parsed p;

	parse("[{\"baseurl\": \"https://a.example\", \"apikey\": \"${MISSING_A}\", \"model\": \"m1\"},"
	      " {\"baseurl\": \"${MISSING_B}\", \"model\": \"m2\"}]", &p);
	assert_int_equal(p.rc, IM_EINVAL);
	assert_null(p.g);
	assert_contains(p.err, PATH);
	assert_contains(p.err, "no endpoint");
	assert_contains(p.warn, "${MISSING_B}");

	parse("{\"baseurl\": \"https://a.example\", \"apikey\": \"${MISSING_A}\", \"model\": \"m1\"}", &p);
	assert_int_equal(p.rc, IM_EINVAL);
	assert_null(p.g);
	assert_contains(p.err, "no endpoint");
	assert_contains(p.warn, "${MISSING_A}");
}

/* ---- errors ------------------------------------------------------------------ */

static void test_error_unknown_type(void **state)
{
	expect_error("[{" EP_OK ", \"type\": \"azure\"}]",
		     "endpoint 1", "\"type\"", "azure", NULL);
	expect_error("[{" EP_OK "}, {\"name\": \"second\", " EP_OK ", \"type\": \"OpenAI\"}]",
		     "endpoint 2 (second)", "\"type\"", NULL);
	expect_error("[{" EP_OK ", \"type\": 1}]", "endpoint 1", "\"type\"", NULL);
}

static void test_error_missing_baseurl(void **state)
{
	expect_error("[{\"model\": \"m\"}]", "endpoint 1", "\"baseurl\"", "required", NULL);
	expect_error("[{" EP_OK "}, {\"name\": \"b\", \"model\": \"m\"}]",
		     "endpoint 2 (b)", "\"baseurl\"", "required", NULL);
	expect_error("[{\"baseurl\": \"\", \"model\": \"m\"}]", "endpoint 1", "\"baseurl\"", NULL);
}

static void test_error_missing_model(void **state)
{
	expect_error("[{" EP_OK "}, {\"name\": \"backup\", \"baseurl\": \"https://x.example\"}]",
		     "endpoint 2 (backup)", "\"model\"", "required", NULL);
	expect_error("{\"baseurl\": \"https://x.example\", \"model\": \"\"}",
		     "endpoint 1", "\"model\"", NULL);
	expect_error("{\"baseurl\": \"https://x.example\", \"model\": 4}",
		     "endpoint 1", "\"model\"", NULL);
}

static void test_error_baseurl_not_http(void **state)
{
	expect_error("[{\"baseurl\": \"ftp://x.example\", \"model\": \"m\"}]",
		     "endpoint 1", "\"baseurl\"", "http", NULL);
	expect_error("[{\"baseurl\": \"api.openai.com/v1\", \"model\": \"m\"}]",
		     "endpoint 1", "\"baseurl\"", NULL);
	/* checked after expansion */
	expect_error("[{\"baseurl\": \"${HOST}/v1\", \"model\": \"m\"}]",
		     "endpoint 1", "\"baseurl\"", NULL);
}

static void test_error_timeout(void **state)
{
	expect_error("[{" EP_OK ", \"timeout\": 0}]", "endpoint 1", "\"timeout\"", NULL);
	expect_error("[{" EP_OK ", \"timeout\": -5}]", "endpoint 1", "\"timeout\"", NULL);
	expect_error("[{\"name\": \"slow\", " EP_OK ", \"timeout\": \"30\"}]",
		     "endpoint 1 (slow)", "\"timeout\"", NULL);
	expect_error("[{" EP_OK ", \"timeout\": null}]", "\"timeout\"", NULL);
	expect_error("[{" EP_OK ", \"connect_timeout\": 0}]", "\"connect_timeout\"", NULL);
}

static void test_error_temperature(void **state)
{
	expect_error("[{" EP_OK ", \"temperature\": 2.5}]", "endpoint 1", "\"temperature\"", NULL);
	expect_error("[{" EP_OK ", \"temperature\": -0.1}]", "endpoint 1", "\"temperature\"", NULL);
	expect_error("[{" EP_OK ", \"temperature\": \"0.5\"}]", "\"temperature\"", NULL);
}

static void test_error_max_tokens(void **state)
{
	expect_error("[{" EP_OK ", \"max_tokens\": 0}]", "endpoint 1", "\"max_tokens\"", NULL);
	expect_error("[{" EP_OK ", \"max_tokens\": -100}]", "\"max_tokens\"", NULL);
	expect_error("[{" EP_OK ", \"max_tokens\": 1.5}]", "\"max_tokens\"", NULL);
	expect_error("[{" EP_OK ", \"max_tokens\": \"100\"}]", "\"max_tokens\"", NULL);
}

static void test_error_retries(void **state)
{
	expect_error("[{" EP_OK ", \"retries\": 6}]", "\"retries\"", NULL);
	expect_error("[{" EP_OK ", \"retries\": -1}]", "\"retries\"", NULL);
	expect_error("[{" EP_OK ", \"retries\": 1.5}]", "\"retries\"", NULL);
	expect_error("[{" EP_OK ", \"retry_after_max\": 601}]", "\"retry_after_max\"", NULL);
}

static void test_error_unknown_field(void **state)
{
	expect_error("[{" EP_OK ", \"modle\": \"x\"}]", "endpoint 1", "\"modle\"", "unknown", NULL);
	expect_error("[{" EP_OK "}, {\"name\": \"n2\", " EP_OK ", \"api_key\": \"k\"}]",
		     "endpoint 2 (n2)", "\"api_key\"", NULL);
	/* at group level */
	expect_error("{\"endpoints\": [{" EP_OK "}], \"failover\": true}", "\"failover\"", NULL);
	expect_error("{\"endpoints\": [{" EP_OK "}], \"failover_on_content_filter\": \"yes\"}",
		     "\"failover_on_content_filter\"", NULL);
}

static void test_error_invalid_json(void **state)
{
	struct parsed p;

	/* the ':' expected at byte 5 is missing */
	expect_error("{\"a\" 1}", "invalid JSON", "byte 5", NULL);
	/* a truncated file: the offset is where the text ended */
	parse("[{" EP_OK "}", &p);
	assert_int_equal(p.rc, IM_EINVAL);
	assert_null(p.g);
	char where[64];
	snprintf(where, sizeof where, "byte %zu", strlen("[{" EP_OK "}"));
	assert_contains(p.err, where);
	assert_contains(p.err, "invalid JSON");
	expect_error("", "invalid JSON", "byte 0", NULL);
	/* the '3' at byte 12 lacks its ',' */
	expect_error("{\"a\": [1, 2 3]}", "invalid JSON", "byte 12", NULL);
}

static void test_error_not_an_endpoint(void **state)
{
	expect_error("\"just a string\"", NULL);
	expect_error("42", NULL);
	expect_error("{\"endpoints\": {\"baseurl\": \"https://a\"}}", "\"endpoints\"", NULL);
}

/* BUG (common/group.c, group_fail): an array element that is not an object
 * is reported with a NULL field, which group_fail formats with "%s" when
 * c->index > 0: undefined behaviour (glibc prints `field "(null)"`). The
 * message should name the endpoint without a field. */
static void test_error_endpoint_not_object(void **state)
{
	struct parsed p;

	parse("[1]", &p);
	assert_int_equal(p.rc, IM_EINVAL);
	assert_null(p.g);
	assert_contains(p.err, "endpoint 1");
	assert_contains(p.err, "object");
	assert_not_contains(p.err, "(null)");   /* fails: see BUG above */
}

static void test_error_empty_list(void **state)
{
	expect_error("[]", "at least one", NULL);
	expect_error("{\"endpoints\": []}", "at least one", NULL);
	expect_error("{\"endpoints\": [], \"failover_on_content_filter\": true}", "at least one", NULL);
}

static void test_error_stream_not_bool(void **state)
{
	expect_error("[{" EP_OK ", \"stream\": \"yes\"}]", "endpoint 1", "\"stream\"", NULL);
	expect_error("[{" EP_OK ", \"stream\": 1}]", "\"stream\"", NULL);
	expect_error("[{" EP_OK ", \"stream\": null}]", "\"stream\"", NULL);
}

static void test_error_name_newline(void **state)
{
	expect_error("[{" EP_OK ", \"name\": \"two\\nlines\"}]", "endpoint 1", "\"name\"", "one line", NULL);
	expect_error("[{" EP_OK ", \"name\": \"cr\\rhere\"}]", "\"name\"", "one line", NULL);
	expect_error("[{" EP_OK ", \"title\": \"a\\nb\"}]", "\"title\"", NULL);
	expect_error("[{" EP_OK ", \"apikey\": \"k\\r\\nX-Evil: 1\"}]", "\"apikey\"", NULL);
}

/* BUG (common/group.c, group_fail via group_parse_endpoint): the error for a
 * name with a newline quotes that very name ("endpoint 1 (two\nlines): ..."),
 * so the one-line error message that goes to the log spans two lines. */
static void test_error_message_is_one_line(void **state)
{
	struct parsed p;

	parse("[{" EP_OK ", \"name\": \"two\\nlines\"}]", &p);
	assert_int_equal(p.rc, IM_EINVAL);
	assert_null(strchr(p.err, '\n'));       /* fails: see BUG above */
	assert_null(strchr(p.err, '\r'));
}

/* BUG (common/group.c, group_parse): text after the first JSON value is
 * ignored, so "[{...}]]" or two concatenated endpoint objects load silently
 * (json_tokener_parse_ex stops after one value; group_parse never checks
 * json_tokener_get_parse_end against the length). */
static void test_error_trailing_garbage(void **state)
{
	struct parsed p;

	parse("[{" EP_OK "}]]", &p);
	if (p.rc == IM_OK)
		group_free(p.g);
	assert_int_equal(p.rc, IM_EINVAL);      /* fails: see BUG above */
	parse("{" EP_OK "}\n{\"baseurl\": \"https://b.example\", \"model\": \"second\"}", &p);
	if (p.rc == IM_OK)
		group_free(p.g);
	assert_int_equal(p.rc, IM_EINVAL);
}

/* BUG (common/group.c, group_parse): the json_tokener is created before the
 * group name is checked, and the early return for an invalid name never
 * frees it: every call with an invalid name leaks it (~1.1 KB). There is no
 * assertion for this; LeakSanitizer reports it in the sanitizer build. */
static void test_error_invalid_group_name(void **state)
{
	struct group *g = &sentinel;
	char err[256];

	assert_int_equal(group_parse("../etc", PATH, "[{" EP_OK "}]", fake_getenv, &g,
				     err, sizeof err, NULL, 0), IM_EINVAL);
	assert_null(g);
	assert_contains(err, PATH);
}

static void test_error_truncated_buffer(void **state)
{
	struct group *g = NULL;
	char err[16];

	/* a short error buffer is filled, never overrun */
	memset(err, 'x', sizeof err);
	assert_int_equal(group_parse("think", PATH, "[]", fake_getenv, &g, err, sizeof err, NULL, 0),
			 IM_EINVAL);
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_true(strncmp(err, PATH, sizeof err - 1) == 0);
}

/* BUG (common/group.c, group_load): when the file cannot be read, warn is
 * never written, yet the caller (catalog_load_file) reads warn[0]: it holds
 * whatever was there before (uninitialised stack in catalog.c). group_parse
 * empties warn first; group_load should too. */
static void test_load_unreadable_clears_warn(void **state)
{
	struct group *g = &sentinel;
	char err[256], warn[64];

	memset(warn, 'W', sizeof warn - 1);
	warn[sizeof warn - 1] = '\0';
	assert_int_equal(group_load("/nonexistent/dir/think.json", fake_getenv, &g,
				    err, sizeof err, warn, sizeof warn), IM_EINVAL);
	assert_null(g);
	assert_contains(err, "/nonexistent/dir/think.json");
	assert_string_equal(warn, "");          /* fails: see BUG above */
}

/* ---- group_name_valid ------------------------------------------------------ */

static void test_group_name_valid(void **state)
{
	char longname[200];

	assert_true(group_name_valid("think"));
	assert_true(group_name_valid("fast"));
	assert_true(group_name_valid("gpt-4o_mini"));
	assert_true(group_name_valid("v1.5"));
	assert_true(group_name_valid("org:model"));
	assert_true(group_name_valid("A9"));
	assert_false(group_name_valid(NULL));
	assert_false(group_name_valid(""));
	assert_false(group_name_valid(".hidden"));
	assert_false(group_name_valid(".."));
	assert_false(group_name_valid("a/b"));
	assert_false(group_name_valid("../etc"));
	assert_false(group_name_valid("a b"));
	assert_false(group_name_valid("a\nb"));
	assert_false(group_name_valid("semi;colon"));
	assert_false(group_name_valid("caf\xc3\xa9"));
	memset(longname, 'a', sizeof longname);
	longname[128] = '\0';
	assert_true(group_name_valid(longname));
	longname[128] = 'a';
	longname[129] = '\0';
	assert_false(group_name_valid(longname));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_array),
		cmocka_unit_test(test_shape_single_object),
		cmocka_unit_test(test_shape_endpoints_object),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_explicit_values),
		cmocka_unit_test(test_endpoint_type_name),
		cmocka_unit_test(test_type_default_continuation),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_error_headers),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_model_not_expanded),
		cmocka_unit_test(test_unset_var_leaves_endpoint_out),
		cmocka_unit_test(test_unset_var_leaves_no_endpoint),
		cmocka_unit_test(test_error_unknown_type),
		cmocka_unit_test(test_error_missing_baseurl),
		cmocka_unit_test(test_error_missing_model),
		cmocka_unit_test(test_error_baseurl_not_http),
		cmocka_unit_test(test_error_timeout),
		cmocka_unit_test(test_error_temperature),
		cmocka_unit_test(test_error_max_tokens),
		cmocka_unit_test(test_error_retries),
		cmocka_unit_test(test_error_unknown_field),
		cmocka_unit_test(test_error_invalid_json),
		cmocka_unit_test(test_error_not_an_endpoint),
		cmocka_unit_test(test_error_endpoint_not_object),
		cmocka_unit_test(test_error_empty_list),
		cmocka_unit_test(test_error_stream_not_bool),
		cmocka_unit_test(test_error_name_newline),
		cmocka_unit_test(test_error_message_is_one_line),
		cmocka_unit_test(test_error_trailing_garbage),
		cmocka_unit_test(test_error_invalid_group_name),
		cmocka_unit_test(test_error_truncated_buffer),
		cmocka_unit_test(test_load_unreadable_clears_warn),
		cmocka_unit_test(test_group_name_valid),
		cmocka_unit_test(test_routing_defaults),
		cmocka_unit_test(test_routing_fields),
		cmocka_unit_test(test_key_pool),
		cmocka_unit_test(test_error_routing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
