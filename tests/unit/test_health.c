/* test_health.c: unit tests for common/health.c: the cooldown each kind of
 * failure earns with the group file's defaults, and the upstream's
 * Retry-After held to cooldown.max. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "health.h"

static struct group *load(const char *text)
{
	struct group *g = NULL;
	char err[512], warn[512];

	assert_int_equal(group_parse("g", "/x/g.json", text, NULL, &g, err, sizeof err, warn, sizeof warn), IM_OK);
	return g;
}

#define ONE_EP "[{\"baseurl\": \"https://a.example/v1\", \"model\": \"m\"}]"

static void test_backoff_stops_at_30_s_by_default(void **state)
{
	struct group *g = load(ONE_EP);
	const struct cooldown *cd = &g->cooldown;
	(void)state;

	assert_int_equal(health_cooldown_ms(cd, ERRKIND_SERVER, -1, 1), 2000);
	assert_int_equal(health_cooldown_ms(cd, ERRKIND_NETWORK, -1, 2), 4000);
	assert_int_equal(health_cooldown_ms(cd, ERRKIND_TIMEOUT, -1, 4), 16000);
	assert_int_equal(health_cooldown_ms(cd, ERRKIND_INVALID_RESPONSE, -1, 5), 30000);
	assert_int_equal(health_cooldown_ms(cd, ERRKIND_SERVER, -1, 1000), 30000);
	/* the kinds that do not heal by themselves keep their own durations */
	assert_int_equal(health_cooldown_ms(cd, ERRKIND_AUTH, -1, 1), 300000);
	assert_int_equal(health_cooldown_ms(cd, ERRKIND_PERMISSION, -1, 1), 300000);
	assert_int_equal(health_cooldown_ms(cd, ERRKIND_RATE_LIMIT, -1, 1), 30000);
	group_free(g);
}

static void test_retry_after_never_exceeds_max(void **state)
{
	struct group *g = load("{\"cooldown\": {\"max\": 10}, \"endpoints\": " ONE_EP "}");
	(void)state;

	assert_int_equal(health_cooldown_ms(&g->cooldown, ERRKIND_RATE_LIMIT, 5, 1), 5000);
	assert_int_equal(health_cooldown_ms(&g->cooldown, ERRKIND_RATE_LIMIT, 3600, 1), 10000);
	assert_int_equal(health_cooldown_ms(&g->cooldown, ERRKIND_RATE_LIMIT, 0x7fffffffL, 1), 10000);
	group_free(g);
}

static void test_base_above_default_max_raises_it(void **state)
{
	struct group *g = load("{\"cooldown\": {\"base\": 60}, \"endpoints\": " ONE_EP "}");
	struct group *bad = NULL;
	char err[512], warn[512];
	(void)state;

	assert_true(g->cooldown.max_s == 60);
	assert_int_equal(health_cooldown_ms(&g->cooldown, ERRKIND_SERVER, -1, 3), 60000);
	group_free(g);
	/* both given, contradicting each other: an error */
	assert_int_equal(group_parse("g", "/x/g.json", "{\"cooldown\": {\"base\": 60, \"max\": 30}, \"endpoints\": " ONE_EP "}",
				     NULL, &bad, err, sizeof err, warn, sizeof warn), IM_EINVAL);
	assert_non_null(strstr(err, "max must not be below base"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_stops_at_30_s_by_default),
		cmocka_unit_test(test_retry_after_never_exceeds_max),
		cmocka_unit_test(test_base_above_default_max_raises_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
