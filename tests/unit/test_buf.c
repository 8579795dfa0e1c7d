/* test_buf.c: unit tests for common/buf.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_init_is_empty(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 100);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void test_append_nul_terminated(void **state)
{
	struct buf b;

	buf_init(&b, 1000);
	assert_int_equal(buf_append(&b, "abcXYZ", 3), IM_OK);
	assert_int_equal(b.len, 3);
	assert_non_null(b.data);
	assert_int_equal(b.data[3], '\0');
	assert_string_equal(buf_str(&b), "abc");
	assert_int_equal(buf_append_str(&b, "def"), IM_OK);
	assert_int_equal(b.len, 6);
	assert_string_equal(b.data, "abcdef");
	/* Embedded NUL bytes are data; len counts them. */
	assert_int_equal(buf_append(&b, "g\0h", 3), IM_OK);
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data, "abcdefg\0h", 10);
	buf_free(&b);
}

static void test_append_empty_terminates(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "", 0), IM_OK);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

static void test_append_grows(void **state)
{
	struct buf b;
	char chunk[100];

	buf_init(&b, 100000);
	for (int i = 0; i < 1000; i++) {
		memset(chunk, 'a' + i % 26, sizeof chunk);
		assert_int_equal(buf_append(&b, chunk, sizeof chunk), IM_OK);
	}
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	for (int i = 0; i < 1000; i++)
		assert_int_equal(b.data[i * 100 + 99], 'a' + i % 26);
	buf_free(&b);
}

static void test_cap_enforced(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append_str(&b, "12345"), IM_OK);
	/* 5 + 4 > 8: refused, buffer unchanged. */
	assert_int_equal(buf_append_str(&b, "6789"), IM_ETOOBIG);
	assert_int_equal(b.len, 5);
	assert_string_equal(buf_str(&b), "12345");
	/* Exactly up to the cap is fine. */
	assert_int_equal(buf_append_str(&b, "678"), IM_OK);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_str(&b), "12345678");
	/* Not even one more byte. */
	assert_int_equal(buf_append(&b, "9", 1), IM_ETOOBIG);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_str(&b), "12345678");
	/* An empty append at the cap is still fine. */
	assert_int_equal(buf_append(&b, "", 0), IM_OK);
	assert_int_equal(b.len, 8);
	buf_free(&b);
}

static void test_cap_on_fresh_buffer(void **state)
{
	struct buf b;

	buf_init(&b, 3);
	assert_int_equal(buf_append_str(&b, "abcd"), IM_ETOOBIG);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);

	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "x", 1), IM_ETOOBIG);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	assert_int_equal(buf_append_str(&b, "hello"), IM_OK);
	char *mem = b.data;
	size_t cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, mem);
	assert_int_equal(b.cap, cap);
	assert_string_equal(buf_str(&b), "");
	/* After a reset the whole cap is available again. */
	assert_int_equal(buf_append(&b, "0123456789012345678901234567890123456789"
				    "0123456789012345678901234567890123456789"
				    "01234567890123456789", 100), IM_OK);
	assert_int_equal(b.len, 100);
	buf_free(&b);
}

static void test_consume(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	assert_int_equal(buf_append_str(&b, "line1\nline2\n"), IM_OK);
	buf_consume(&b, 6);
	assert_int_equal(b.len, 6);
	assert_string_equal(buf_str(&b), "line2\n");
	buf_consume(&b, 0);
	assert_int_equal(b.len, 6);
	assert_string_equal(buf_str(&b), "line2\n");
	buf_consume(&b, 5);
	assert_int_equal(b.len, 1);
	assert_string_equal(buf_str(&b), "\n");
	/* Consuming everything (or more) empties the buffer. */
	buf_consume(&b, 1);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_append_str(&b, "abc"), IM_OK);
	buf_consume(&b, 50);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	/* Consumed bytes free room under the cap. */
	buf_free(&b);
	buf_init(&b, 4);
	assert_int_equal(buf_append_str(&b, "abcd"), IM_OK);
	assert_int_equal(buf_append_str(&b, "e"), IM_ETOOBIG);
	buf_consume(&b, 2);
	assert_int_equal(buf_append_str(&b, "ef"), IM_OK);
	assert_string_equal(buf_str(&b), "cdef");
	buf_free(&b);
}

static void test_consume_on_empty(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	buf_consume(&b, 3);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void test_take(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	assert_int_equal(buf_append_str(&b, "payload"), IM_OK);
	char *mem = b.data;
	char *s = buf_take(&b);
	assert_ptr_equal(s, mem);
	assert_string_equal(s, "payload");
	/* The buffer no longer owns the memory and is empty but usable. */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_append_str(&b, "again"), IM_OK);
	assert_ptr_not_equal(b.data, s);
	assert_string_equal(buf_str(&b), "again");
	assert_string_equal(s, "payload");
	buf_free(&b);
	/* s outlives the buffer: freeing it is the caller's job. */
	assert_string_equal(s, "payload");
	free(s);
}

static void test_take_empty(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	char *s = buf_take(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	buf_free(&b);
}

static void test_free_keeps_max(void **state)
{
	struct buf b;

	buf_init(&b, 5);
	assert_int_equal(buf_append_str(&b, "abc"), IM_OK);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 5);
	assert_int_equal(buf_append_str(&b, "abcdef"), IM_ETOOBIG);
	assert_int_equal(buf_append_str(&b, "abcde"), IM_OK);
	buf_free(&b);
}

/* Reading in place: room within the cap, bytes counted on commit. */
static void test_room_and_commit(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 10);
	char *room = buf_room(&b, 6);
	assert_non_null(room);
	memcpy(room, "abc", 3);
	buf_commit(&b, 3);
	assert_int_equal(b.len, 3);
	assert_string_equal(buf_str(&b), "abc");
	assert_null(buf_room(&b, 8));          /* 3 + 8 > 10: past the cap */
	assert_int_equal(b.len, 3);
	room = buf_room(&b, 7);
	assert_non_null(room);
	memcpy(room, "defghij", 7);
	buf_commit(&b, 7);
	assert_string_equal(buf_str(&b), "abcdefghij");
	assert_null(buf_room(&b, 1));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_empty),
		cmocka_unit_test(test_append_nul_terminated),
		cmocka_unit_test(test_append_empty_terminates),
		cmocka_unit_test(test_append_grows),
		cmocka_unit_test(test_cap_enforced),
		cmocka_unit_test(test_cap_on_fresh_buffer),
		cmocka_unit_test(test_reset_keeps_memory),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_consume_on_empty),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_take_empty),
		cmocka_unit_test(test_free_keeps_max),
		cmocka_unit_test(test_room_and_commit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
