/* test_log.c: unit tests for common/log.c: escaping and whole lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "log.h"

#define TIME "2026-01-01T00:00:00.000Z"

static char line[8192];

static const char *render(enum log_format format, size_t cap, const struct log_field *f)
{
	size_t n = log_render(line, cap, format, LOG_INFO, TIME, 7, f);
	assert_true(n < cap + 1);
	line[n] = '\0';
	return line;
}

#define FIELDS(...) ((const struct log_field[]){ __VA_ARGS__, { .kind = LOG_F_END } })

static void test_text_plain_values_stay_bare(void **state)
{
	(void)state;
	assert_string_equal(render(LOG_TEXT, sizeof line,
				   FIELDS(LOG_S("req", "ab12"), LOG_I("status", 502), LOG_S("endpoint", NULL),
					  LOG_MSG("refused: no client key"))),
			    TIME " info pid=7 req=ab12 status=502 endpoint=- refused: no client key\n");
}

static void test_text_escapes_what_could_forge(void **state)
{
	(void)state;
	assert_string_equal(render(LOG_TEXT, sizeof line,
				   FIELDS(LOG_S("group", "x\n" TIME " error pid=1 \"q\" \\ \xff\x01 k=v"),
					  LOG_S("empty", ""), LOG_S("c1", "\xc2\x85"), LOG_S("utf8", "caf\xc3\xa9"))),
			    TIME " info pid=7 group=\"x\\n" TIME " error pid=1 \\\"q\\\" \\\\ \\xff\\x01 k=v\""
			    " empty=\"\" c1=\"\\u0085\" utf8=\"caf\xc3\xa9\"\n");
}

static void test_json_is_one_valid_object(void **state)
{
	(void)state;
	const char *got = render(LOG_JSON, sizeof line,
				 FIELDS(LOG_S("req", "ab"), LOG_MSG("unknown group"),
					LOG_S("group", "a\n\"b\"\\\xff\x01"), LOG_I("n", -3), LOG_S("none", NULL)));
	assert_string_equal(got, "{\"time\":\"" TIME "\",\"level\":\"info\",\"pid\":7,\"req\":\"ab\","
			    "\"msg\":\"unknown group\",\"group\":\"a\\n\\\"b\\\"\\\\\\ufffd\\u0001\",\"n\":-3,\"none\":null}\n");
	struct json_object *o = json_tokener_parse(got);
	assert_non_null(o);
	json_object_put(o);
}

static void test_skipped_fields_are_left_out(void **state)
{
	(void)state;
	assert_string_equal(render(LOG_TEXT, sizeof line,
				   FIELDS(LOG_IF(false, LOG_I("retry", 1)), LOG_IF(true, LOG_I("resume", 1)))),
			    TIME " info pid=7 resume=1\n");
}

/* Integers are written by hand (no printf): every edge case exactly. */
static void test_integers_print_exactly(void **state)
{
	(void)state;
	assert_string_equal(render(LOG_TEXT, sizeof line,
				   FIELDS(LOG_I("a", 0), LOG_I("b", -7), LOG_I("c", 1234567890123LL),
					  LOG_I("d", INT64_MIN), LOG_I("e", INT64_MAX))),
			    TIME " info pid=7 a=0 b=-7 c=1234567890123 d=-9223372036854775808 "
				 "e=9223372036854775807\n");
	assert_string_equal(render(LOG_JSON, sizeof line, FIELDS(LOG_I("d", INT64_MIN), LOG_S("n", NULL))),
			    "{\"time\":\"" TIME "\",\"level\":\"info\",\"pid\":7,"
			    "\"d\":-9223372036854775808,\"n\":null}\n");
}

static size_t file_text(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(out, 1, cap - 1, f) : 0;
	if (f)
		fclose(f);
	out[n] = '\0';
	return n;
}

/* A held line waits for the thread's next line and goes out before it. */
static void test_held_line_goes_with_the_next(void **state)
{
	char dir[] = "/tmp/test_log.XXXXXX", path[64], got[1024];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/immortal.log", dir);
	assert_int_equal(log_open(true, LOG_TEXT, dir), IM_OK);
	log_info_held(LOG_S("req", "r1"), LOG_I("attempt", 1));
	assert_int_equal(file_text(path, got, sizeof got), 0);
	log_info(LOG_S("req", "r1"), LOG_S("outcome", "ok"));
	file_text(path, got, sizeof got);
	assert_non_null(strstr(got, " req=r1 attempt=1\n"));
	assert_non_null(strstr(got, " req=r1 outcome=ok\n"));
	assert_true(strstr(got, "attempt=1") < strstr(got, "outcome=ok"));
	log_info(LOG_S("req", "r2"));   /* nothing held any more: written once */
	file_text(path, got, sizeof got);
	assert_null(strstr(strstr(got, "attempt=1") + 1, "attempt=1"));
	assert_non_null(strstr(got, " req=r2\n"));
	log_close();
	unlink(path);
	rmdir(dir);
}

/* A value longer than the line is cut, and the line stays whole and valid
 * at every cap, whatever the value's characters. */
static void test_long_values_keep_the_line_whole(void **state)
{
	static char big[20000];
	(void)state;
	for (size_t i = 0; i < sizeof big - 1; i++)
		big[i] = "a\"\n\xe2\x82\xac\xff"[i % 7];
	for (size_t cap = 256; cap <= sizeof line; cap += 397) {
		const char *got = render(LOG_JSON, cap, FIELDS(LOG_S("a", big), LOG_I("after", 1)));
		size_t n = strlen(got);
		assert_true(n <= cap);
		assert_int_equal(got[n - 1], '\n');
		assert_null(memchr(got, '\n', n - 1));
		struct json_object *o = json_tokener_parse(got);
		assert_non_null(o);
		json_object_put(o);
		got = render(LOG_TEXT, cap, FIELDS(LOG_S("a", big), LOG_I("after", 1)));
		n = strlen(got);
		assert_true(n <= cap);
		assert_null(memchr(got, '\n', n - 1));
		assert_int_equal(got[n - 2], '"');
	}
}

/* log_fields renders into a short buffer first: lines around and past its
 * size must still come out whole, up to the line's cap. */
static void test_written_lines_are_not_cut_short(void **state)
{
	static char value[3001];
	char dir[] = "/tmp/immortal-test-log-XXXXXX", path[64], *text = NULL;
	size_t lens[] = { 700, 850, 880, 900, 950, 1000, 1010, 1100, 2000, 3000 };
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/immortal.log", dir);
	assert_int_equal(log_open(true, LOG_TEXT, dir), IM_OK);
	memset(value, 'x', sizeof value - 1);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		log_info(LOG_S("v", value + sizeof value - 1 - lens[i]), LOG_I("after", (long long)i));
	log_close();
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t cap = 0;
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		assert_true(getline(&text, &cap, f) > 0);
		char want[32];
		snprintf(want, sizeof want, " after=%zu\n", i);
		assert_int_equal(strspn(strstr(text, " v=") + 3, "x"), lens[i]);
		assert_non_null(strstr(text, want));
	}
	free(text);
	fclose(f);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_plain_values_stay_bare),
		cmocka_unit_test(test_text_escapes_what_could_forge),
		cmocka_unit_test(test_json_is_one_valid_object),
		cmocka_unit_test(test_skipped_fields_are_left_out),
		cmocka_unit_test(test_integers_print_exactly),
		cmocka_unit_test(test_held_line_goes_with_the_next),
		cmocka_unit_test(test_long_values_keep_the_line_whole),
		cmocka_unit_test(test_written_lines_are_not_cut_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
