/* test_plan.c: unit tests for common/plan.c (request plans), with a
 * seeded random source. */
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

#include "plan.h"

#define DRAWS 20000

/* splitmix64: a fixed sequence, so the shares below are reproducible */
static uint64_t seeded(void *ctx)
{
	uint64_t *s = ctx;
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A group of n endpoints with the given priorities and weights. */
static struct group *make(size_t n, const int *prio, const double *weight,
			  enum group_strategy s)
{
	struct group *g = calloc(1, sizeof *g);
	g->endpoints = calloc(n, sizeof *g->endpoints);
	g->n_endpoints = n;
	g->strategy = s;
	for (size_t i = 0; i < n; i++) {
		g->endpoints[i].priority = prio ? prio[i] : 0;
		g->endpoints[i].weight = weight ? weight[i] : 1;
		g->endpoints[i].key = 1000 + i * 7919;   /* what each endpoint is */
	}
	return g;
}

static void drop(struct group *g)
{
	free(g->endpoints);
	free(g);
}

static void plan(const struct group *g, const double *ttft, const char *id,
		 uint64_t *seed, size_t *order)
{
	plan_order(&(struct plan_input){ .group = g, .ttft_ms = ttft, .sticky_id = id,
					  .rand = seeded, .rand_ctx = seed }, order);
}

static void assert_permutation(const size_t *order, size_t n)
{
	bool seen[16] = { false };
	for (size_t i = 0; i < n; i++) {
		assert_true(order[i] < n);
		assert_false(seen[order[i]]);
		seen[order[i]] = true;
	}
}

static void test_ordered_is_file_order(void **state)
{
	(void)state;
	struct group *g = make(4, NULL, (double[]){ 9, 1, 5, 2 }, STRATEGY_ORDERED);
	size_t order[4];
	uint64_t seed = 1;
	plan(g, NULL, "user", &seed, order);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(order[i], i);
	drop(g);
}

static void test_priority_tiers(void **state)
{
	(void)state;
	/* tiers by priority; ties keep file order */
	struct group *g = make(5, (int[]){ 2, 1, 2, 0, 1 }, NULL, STRATEGY_ORDERED);
	size_t order[5];
	const size_t want[5] = { 3, 1, 4, 0, 2 };
	uint64_t seed = 1;
	plan(g, NULL, NULL, &seed, order);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(order[i], want[i]);
	drop(g);
}

static void test_weighted_shares(void **state)
{
	(void)state;
	const double w[3] = { 6, 3, 1 };
	struct group *g = make(3, NULL, w, STRATEGY_WEIGHTED);
	size_t order[3];
	int first[3] = { 0 };
	uint64_t seed = 42;
	for (int i = 0; i < DRAWS; i++) {
		plan(g, NULL, NULL, &seed, order);
		assert_permutation(order, 3);
		first[order[0]]++;
	}
	for (size_t i = 0; i < 3; i++)
		assert_true(fabs((double)first[i] / DRAWS - w[i] / 10) < 0.02);
	drop(g);
}

static void test_weighted_stays_in_tier(void **state)
{
	(void)state;
	/* the heavy endpoint of the second tier never goes before the first */
	struct group *g = make(3, (int[]){ 0, 1, 0 }, (double[]){ 1, 1000, 1 }, STRATEGY_WEIGHTED);
	size_t order[3];
	uint64_t seed = 7;
	for (int i = 0; i < 1000; i++) {
		plan(g, NULL, NULL, &seed, order);
		assert_int_equal(order[2], 1);
	}
	drop(g);
}

static void test_latency(void **state)
{
	(void)state;
	struct group *g = make(3, NULL, NULL, STRATEGY_LATENCY);
	size_t order[3];
	int first[3] = { 0 };
	uint64_t seed = 3;
	/* an endpoint without a figure goes first so it gets one */
	plan(g, (double[]){ 50, -1, 900 }, NULL, &seed, order);
	for (int i = 0; i < DRAWS; i++) {
		plan(g, (double[]){ 900, 100, 400 }, NULL, &seed, order);
		assert_permutation(order, 3);
		first[order[0]]++;
	}
	/* the fastest leads; the others are still probed now and then */
	assert_true(first[1] > DRAWS * (1 - PLAN_EXPLORE));
	assert_true(first[0] > 0);
	assert_true(first[2] > 0);
	drop(g);
}

static void test_latency_unknown_first(void **state)
{
	(void)state;
	struct group *g = make(3, NULL, NULL, STRATEGY_LATENCY);
	size_t order[3];
	int unknown_first = 0;
	uint64_t seed = 5;
	for (int i = 0; i < 1000; i++) {
		plan(g, (double[]){ 50, -1, 900 }, NULL, &seed, order);
		unknown_first += order[0] == 1;
	}
	assert_true(unknown_first > 1000 * (1 - PLAN_EXPLORE));
	drop(g);
}

static void test_ttft_average(void **state)
{
	(void)state;
	assert_true(plan_ttft_average(-1, 120) == 120);
	double a = 1000;
	for (int i = 0; i < 20; i++)
		a = plan_ttft_average(a, 100);
	assert_true(a < 110 && a > 100);
}

/* Sticky: the same user lands on the same endpoint; shares follow the
 * weights; removing one endpoint moves only the users it had. */
static void test_sticky(void **state)
{
	(void)state;
	const double w[4] = { 1, 2, 1, 1 };
	struct group *g = make(4, NULL, w, STRATEGY_STICKY);
	struct group *less = make(3, NULL, NULL, STRATEGY_STICKY);
	size_t order[4], again[4], first[2000];
	int count[4] = { 0 };
	uint64_t seed = 11;
	char id[32];

	/* `less` is g without its endpoint 2 */
	for (size_t i = 0, j = 0; i < 4; i++)
		if (i != 2)
			less->endpoints[j++] = g->endpoints[i];
	for (size_t u = 0; u < 2000; u++) {
		snprintf(id, sizeof id, "user-%zu", u);
		plan(g, NULL, id, &seed, order);
		plan(g, NULL, id, &seed, again);
		assert_memory_equal(order, again, sizeof order);
		first[u] = order[0];
		count[order[0]]++;
		plan(less, NULL, id, &seed, again);
		size_t was = again[0] >= 2 ? again[0] + 1 : again[0];
		if (first[u] != 2)
			assert_int_equal(was, first[u]);
	}
	for (size_t i = 0; i < 4; i++)
		assert_true(fabs(count[i] / 2000.0 - w[i] / 5) < 0.05);
	drop(less);
	drop(g);
}

static void test_sticky_without_identity_is_weighted(void **state)
{
	(void)state;
	struct group *g = make(2, NULL, (double[]){ 1, 1 }, STRATEGY_STICKY);
	size_t order[2];
	int first0 = 0;
	uint64_t seed = 9;
	for (int i = 0; i < 2000; i++) {
		plan(g, NULL, i % 2 ? NULL : "", &seed, order);
		first0 += order[0] == 0;
	}
	assert_true(first0 > 800 && first0 < 1200);
	drop(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordered_is_file_order),
		cmocka_unit_test(test_priority_tiers),
		cmocka_unit_test(test_weighted_shares),
		cmocka_unit_test(test_weighted_stays_in_tier),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_latency_unknown_first),
		cmocka_unit_test(test_ttft_average),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_sticky_without_identity_is_weighted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
