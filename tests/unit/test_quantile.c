/* test_quantile.c: quantiles from histogram buckets, as Prometheus'
 * histogram_quantile() computes them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "quantile.h"

static const double bounds[] = { 0.1, 0.5, 1, 1e300 };
#define N (sizeof bounds / sizeof bounds[0])

static void test_empty_is_nan(void **state)
{
	uint64_t b[N] = { 0 };
	(void)state;
	assert_true(isnan(quantile_histogram(b, bounds, N, 0.5)));
	assert_true(isnan(quantile_histogram(b, bounds, 1, 0.5)));
}

/* 10 observations in (0.1, 0.5]: the median lies halfway through it. */
static void test_interpolates_within_the_bucket(void **state)
{
	uint64_t b[N] = { 0, 10, 0, 0 };
	(void)state;
	assert_float_equal(quantile_histogram(b, bounds, N, 0.5), 0.3, 1e-9);
	assert_float_equal(quantile_histogram(b, bounds, N, 0.95), 0.48, 1e-9);
}

/* The first bucket starts at zero. */
static void test_first_bucket_starts_at_zero(void **state)
{
	uint64_t b[N] = { 4, 0, 0, 0 };
	(void)state;
	assert_float_equal(quantile_histogram(b, bounds, N, 0.5), 0.05, 1e-9);
}

/* Ranks crossing buckets: 2 in the first, 2 in the second, 4 in the third. */
static void test_rank_across_buckets(void **state)
{
	uint64_t b[N] = { 2, 2, 4, 0 };
	(void)state;
	/* rank 4 of 8: the end of the second bucket */
	assert_float_equal(quantile_histogram(b, bounds, N, 0.5), 0.5, 1e-9);
	/* rank 6 of 8: halfway through the third */
	assert_float_equal(quantile_histogram(b, bounds, N, 0.75), 0.75, 1e-9);
}

/* A rank in +Inf gets the highest finite bound, not infinity. */
static void test_inf_bucket_answers_the_last_bound(void **state)
{
	uint64_t b[N] = { 1, 0, 0, 9 };
	(void)state;
	assert_float_equal(quantile_histogram(b, bounds, N, 0.95), 1, 1e-9);
}

/* q outside 0..1 is clamped; q = 0 gives the start of the data. */
static void test_q_is_clamped(void **state)
{
	uint64_t b[N] = { 0, 0, 2, 0 };
	(void)state;
	assert_float_equal(quantile_histogram(b, bounds, N, 7), 1, 1e-9);
	assert_float_equal(quantile_histogram(b, bounds, N, -1), 0.5, 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_nan),
		cmocka_unit_test(test_interpolates_within_the_bucket),
		cmocka_unit_test(test_first_bucket_starts_at_zero),
		cmocka_unit_test(test_rank_across_buckets),
		cmocka_unit_test(test_inf_bucket_answers_the_last_bound),
		cmocka_unit_test(test_q_is_clamped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
