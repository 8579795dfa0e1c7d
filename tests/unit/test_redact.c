/* test_redact.c: unit tests for common/redact.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Included, not linked, to reach redact_run's step counter. */
#include "redact.c"

/* A key not shaped like "sk-...", so only the secret matching can catch it. */
#define KEY "cpk_7Hq2Lx9Wm4Rt8Zn3Vb6Yc1"

static void expect_redacted(const char *text, const char *secret, const char *want)
{
	char *got = redact_secrets(text, secret);
	assert_non_null(got);
	bool same = strcmp(got, want) == 0;
	if (!same)
		print_error("redact_secrets gave \"%s\", want \"%s\"\n", got, want);
	free(got);   /* before a failing assertion, so it does not leak */
	assert_true(same);
}

static void test_exact_key(void **state)
{
	expect_redacted("Incorrect API key provided: " KEY " (check it)", KEY,
			"Incorrect API key provided: [redacted] (check it)");
	/* every occurrence, inside JSON too */
	expect_redacted("{\"key\": \"" KEY "\", \"again\": \"" KEY "\"}", KEY,
			"{\"key\": \"[redacted]\", \"again\": \"[redacted]\"}");
	/* at the very start and end */
	expect_redacted(KEY, KEY, "[redacted]");
	/* glued to other token characters, the whole token goes */
	expect_redacted("key=" KEY "_suffix done", KEY, "key=[redacted] done");
	/* a short secret of 4 characters or more */
	expect_redacted("token abcd here", "abcd", "token [redacted] here");
	/* under 4 characters it would eat ordinary text: left alone */
	expect_redacted("abc is not a secret", "abc", "abc is not a secret");
}

static void test_partial_key(void **state)
{
	char *got;

	/* the first 8 characters, the rest masked */
	got = redact_secrets("Incorrect API key provided: cpk_7Hq2********Yc1.", KEY);
	assert_null(strstr(got, "cpk_7Hq2"));
	assert_non_null(strstr(got, "Incorrect API key provided: [redacted]"));
	free(got);
	/* the last 8 characters */
	got = redact_secrets("key ending in ****n3Vb6Yc1 was revoked", KEY);
	assert_string_equal(got, "key ending in ****[redacted] was revoked");
	free(got);
	got = redact_secrets("key ...Zn3Vb6Yc1 was revoked", KEY);
	assert_null(strstr(got, "Zn3Vb6Yc1"));
	assert_null(strstr(got, "3Vb6Yc1"));
	assert_non_null(strstr(got, "[redacted]"));
	assert_non_null(strstr(got, " was revoked"));
	free(got);
	/* seven characters are not enough to say it is the key */
	expect_redacted("prefix cpk_7Hq masked", KEY, "prefix cpk_7Hq masked");
}

static void test_sk_tokens(void **state)
{
	expect_redacted("Incorrect API key provided: sk-proj-AbCdEf123456_-xyz. You can find"
			" your API key at https://platform.openai.com/account/api-keys.", NULL,
			"Incorrect API key provided: [redacted] You can find your API key at"
			" https://platform.openai.com/account/api-keys.");
	expect_redacted("bad key sk-or-v1-0123456789abcdef", "", "bad key [redacted]");
	expect_redacted("(sk-ant-api03-QWERTYuiop)", "unrelated-secret", "([redacted])");
	/* too short to be a key */
	expect_redacted("sk-abc and sk- alone", NULL, "sk-abc and sk- alone");
}

static void test_bearer_tokens(void **state)
{
	expect_redacted("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", NULL,
			"Authorization: [redacted]");
	expect_redacted("got 'bearer abcdef123456' from you", NULL, "got '[redacted]' from you");
	expect_redacted("BEARER ZZZZZZZZZZ", NULL, "[redacted]");
	/* "Bearer" and a short word is prose */
	expect_redacted("use Bearer auth", NULL, "use Bearer auth");
}

static void test_ordinary_text_untouched(void **state)
{
	static const char *const texts[] = {
		"The model `gpt-4o-mini` does not exist or you do not have access to it.",
		"Rate limit reached for gpt-4 in organization org-abc on tokens per min (TPM): Limit 10000.",
		("{\"error\": {\"message\": \"Invalid 'messages[1].content': string too long.\","
		 " \"type\": \"invalid_request_error\", \"code\": null}}"),
		"Upstream 503: Service Unavailable\r\n\tRetry later.",
		"caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac",
		"",
	};

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		expect_redacted(texts[i], KEY, texts[i]);
		expect_redacted(texts[i], NULL, texts[i]);
	}
	expect_redacted(NULL, KEY, "");
}

/* BUG (common/redact.c, redact_token_at): "sk-" and "bearer " are matched
 * anywhere, also inside a word, so ordinary words lose their tail:
 * "disk-backed" becomes "di[redacted]", "task-specific" "ta[redacted]",
 * "cupbearer tokens" "cup[redacted]". A token should only start at a word
 * boundary. */
static void test_ordinary_words_with_sk(void **state)
{
	expect_redacted("a disk-backed queue for task-specific prompts", NULL,
			"a disk-backed queue for task-specific prompts");   /* fails: see BUG */
}

/* Inputs that made the old scan (the secret compared at every position)
 * quadratic: the work is checked against a linear bound by counting steps,
 * not by timing. */
static void test_linear_work(void **state)
{
	enum { N = 200000, M = 5000 };
	char *text = malloc(N + 1), *secret = malloc(M + 1);
	size_t work;
	char *out;

	assert_non_null(text);
	assert_non_null(secret);
	/* a secret (keys may hold any character) that matches a long way at
	 * every other position and fails at its end; the fragment match there
	 * swallows only one word, so the old scan went on comparing */
	for (size_t i = 0; i < M; i++)
		secret[i] = i % 2 ? ' ' : 'a';
	secret[M - 1] = 'b';
	secret[M] = '\0';
	for (size_t i = 0; i < N; i++)
		text[i] = i % 2 ? ' ' : 'a';
	text[N] = '\0';
	work = 0;
	out = redact_run(text, secret, &work);
	assert_true(work <= 40 * (size_t)(N + M));
	free(out);
	/* the secret itself, many times over: every copy goes */
	for (size_t i = 0; i + M < N; i += M + 1) {
		memcpy(text + i, secret, M);
		text[i + M] = '\n';
	}
	work = 0;
	out = redact_run(text, secret, &work);
	assert_null(strstr(out, "a b"));
	assert_true(work <= 40 * (size_t)(N + M));
	free(out);
	/* "bearer " before short words: each word scanned a bounded number of times */
	for (size_t i = 0; i + 10 <= N; i += 10)
		memcpy(text + i, "bearer ab ", 10);
	text[N - N % 10] = '\0';
	work = 0;
	out = redact_run(text, NULL, &work);
	assert_string_equal(out, text);
	assert_true(work <= 40 * (size_t)N);
	free(out);
	free(text);
	free(secret);
}

/* ---- redact_detail ------------------------------------------------------------ */

static void expect_detail(const char *text, size_t outlen, const char *want)
{
	char out[512];

	assert_true(outlen <= sizeof out);
	memset(out, 'Z', sizeof out);
	redact_detail(text, out, outlen);
	assert_string_equal(out, want);
	/* nothing written past outlen */
	for (size_t i = outlen; i < sizeof out; i++)
		assert_int_equal(out[i], 'Z');
}

static void test_detail_one_line_no_quotes(void **state)
{
	expect_detail("HTTP 400: bad request", 100, "HTTP 400: bad request");
	expect_detail("line one\nline two\r\nline three\rfour", 100, "line one line two line three four");
	expect_detail("tabs\tand  many    spaces", 100, "tabs and many spaces");
	expect_detail("  leading and trailing \n ", 100, "leading and trailing");
	expect_detail("say \"hi\" \\o/", 100, "say 'hi' o/");
	expect_detail("ctl\x01\x1f" "chars", 100, "ctl chars");
	expect_detail(NULL, 100, "");
	expect_detail("", 100, "");

	char out[200];
	redact_detail("{\"error\": {\"message\": \"Bad\\nthing\",\n \"code\": \"x\"}}", out, sizeof out);
	assert_null(strchr(out, '"'));
	assert_null(strchr(out, '\\'));
	assert_null(strchr(out, '\n'));
	assert_non_null(strstr(out, "message"));
	assert_non_null(strstr(out, "Bad"));
}

static void test_detail_truncation(void **state)
{
	expect_detail("abcdefghijklmnopqrstuvwxyz", 10, "abcdef...");
	expect_detail("one two three four five six", 12, "one two ...");
	/* long text in a log-sized buffer */
	char text[1000], out[256];
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	redact_detail(text, out, sizeof out);
	assert_int_equal(strlen(out), sizeof out - 1);
	assert_string_equal(out + sizeof out - 4, "...");
	/* nothing at all for a zero-size buffer, an empty string for one byte */
	out[0] = 'Q';
	redact_detail("abc", out, 0);
	assert_int_equal(out[0], 'Q');
	redact_detail("abc", out, 1);
	assert_string_equal(out, "");
	/* what fits is not truncated */
	expect_detail("hello", 7, "hello");
	expect_detail("hello world", 20, "hello world");
}

/* BUG (common/redact.c, redact_detail): text that exactly fills the buffer
 * (strlen == outlen - 1) is marked truncated although nothing was cut:
 * redact_detail("hello", out, 6) gives "he..." instead of "hello". The test
 * `o + 1 >= outlen` cannot tell "full" from "cut". (Trailing spaces after
 * such text hit the same path.) */
static void test_detail_exact_fit(void **state)
{
	expect_detail("hello", 6, "hello");                   /* fails: see BUG */
}

/* BUG (common/redact.c, redact_detail): truncation cuts through a UTF-8
 * sequence: the "..." is written over the last 3 bytes whatever they are,
 * leaving a lone lead byte before it. The detail goes into log lines and
 * the JSON "attempts" of the error response, which must be valid UTF-8.
 * "\xc3\xa9" is e-acute; with outlen 9, 8 bytes fit and out[4] is a lone 0xc3. */
static void test_detail_truncation_keeps_utf8(void **state)
{
	char out[9];

	redact_detail("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", out, sizeof out);
	size_t n = strlen(out);
	assert_true(n >= 3);
	assert_string_equal(out + n - 3, "...");
	/* the bytes before "..." are whole characters */
	assert_int_equal((n - 3) % 2, 0);                      /* fails: see BUG */
	for (size_t i = 0; i + 3 < n; i += 2) {
		assert_int_equal((unsigned char)out[i], 0xc3);
		assert_int_equal((unsigned char)out[i + 1], 0xa9);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_key),
		cmocka_unit_test(test_partial_key),
		cmocka_unit_test(test_sk_tokens),
		cmocka_unit_test(test_bearer_tokens),
		cmocka_unit_test(test_ordinary_text_untouched),
		cmocka_unit_test(test_linear_work),
		cmocka_unit_test(test_ordinary_words_with_sk),
		cmocka_unit_test(test_detail_one_line_no_quotes),
		cmocka_unit_test(test_detail_truncation),
		cmocka_unit_test(test_detail_exact_fit),
		cmocka_unit_test(test_detail_truncation_keeps_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
