/* test_retryafter.c: unit tests for common/retryafter.c (a table of header values). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#include <cmocka.h>

#include "retryafter.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date */
#define NOW 784111777L

static void test_table(void **state)
{
	static const struct {
		const char *value;
		bool millis;
		long want;
	} cases[] = {
		{ "0", false, 0 },
		{ "5", false, 5 },
		{ " 120\r\n", false, 120 },
		{ "86400", false, 86400 },
		{ "86401", false, -1 },                  /* more than a day: a lie */
		{ "-5", false, -1 },
		{ "+5", false, -1 },
		{ "5s", false, -1 },
		{ "1.5", false, -1 },
		{ "", false, -1 },
		{ "   ", false, -1 },
		{ "soon", false, -1 },
		{ "99999999999999999999999999999", false, -1 },  /* no overflow */
		{ "9223372036854775808", false, -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", false, 0 },
		{ "Sun, 06 Nov 1994 08:50:37 GMT", false, 60 },
		{ "Sunday, 06-Nov-94 09:49:37 GMT", false, 3600 },
		{ "Sat, 05 Nov 1994 08:49:37 GMT", false, 0 },  /* past: now */
		{ "Mon, 07 Nov 1994 08:49:38 GMT", false, -1 }, /* more than a day */
		{ "Fri, 31 Dec 9999 23:59:59 GMT", false, -1 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", false, 0 },
		{ "Xyz, 99 Foo 1994 99:99:99 GMT", false, -1 },
		{ "0", true, 0 },
		{ "1", true, 1 },
		{ "999", true, 1 },
		{ "1000", true, 1 },
		{ "1001", true, 2 },
		{ "20000", true, 20 },
		{ "1500.75", true, 2 },
		{ "86400000", true, 86400 },
		{ "86400001", true, -1 },
		{ "-1", true, -1 },
		{ "1e3", true, -1 },
		{ "1.", true, -1 },
		{ ".5", true, -1 },
		{ "99999999999999999999999999999", true, -1 },
		{ "Sun, 06 Nov 1994 08:50:37 GMT", true, -1 },
		{ "1234567890123456789012345678901234567890123456789012345678901234567890", false, -1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long got = retryafter_parse(cases[i].value, strlen(cases[i].value),
					    cases[i].millis, NOW);
		if (got != cases[i].want)
			fail_msg("\"%s\"%s: got %ld, want %ld", cases[i].value,
				 cases[i].millis ? " (ms)" : "", got, cases[i].want);
	}
}

/* The value is read only within its length (it is not NUL-terminated in a header line). */
static void test_length_bounds(void **state)
{
	assert_int_equal(retryafter_parse("12345", 2, false, NOW), 12);
	assert_int_equal(retryafter_parse(NULL, 0, false, NOW), -1);
	/* a long value of spaces around a short number is still that number */
	assert_int_equal(retryafter_parse("      7       ", 14, false, NOW), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_length_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
