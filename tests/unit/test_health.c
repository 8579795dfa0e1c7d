/* test_health.c: unit tests for common/health.c: the cooldown each kind of
 * failure earns with the group file's defaults, and the upstream's
 * Retry-After held to cooldown.max; a key pool's shared turn and per-key
 * health; the decaying time to first token. */
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

#define POOL "[{\"baseurl\": \"https://a.example/v1\", \"model\": \"m\", \"apikey\": [\"k-one-0001\", \"k-two-0002\", \"k-three-0003\"]}]"

/* Two handles on one state file stand for two processes of the host. */
static void test_pool_turn_and_key_health_are_shared(void **state)
{
	char dir[] = "/tmp/test_health.XXXXXX";
	struct hoststate *a, *b;
	struct group *g = load(POOL);
	const struct endpoint *ep = &g->endpoints[0];
	int64_t ready = 0;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(hoststate_open("/conf", dir, &a, NULL, 0), IM_OK);
	assert_int_equal(hoststate_open("/conf", dir, &b, NULL, 0), IM_OK);
	/* the turn goes round across both */
	size_t first = health_next_key(a, ep);
	assert_int_equal(health_next_key(b, ep), (first + 1) % 3);
	assert_int_equal(health_next_key(a, ep), (first + 2) % 3);
	assert_int_equal(health_next_key(b, ep), first);
	/* a rate-limited key cools alone, for both */
	health_report_id(a, endpoint_key_id(ep, 1), &g->cooldown, ERRKIND_RATE_LIMIT, 20, 1000);
	assert_int_equal(health_admit_id(b, endpoint_key_id(ep, 1), ep->timeout_s, 2000, &ready), HEALTH_SKIP);
	assert_int_equal(ready, 21000);
	assert_int_equal(health_admit_id(b, endpoint_key_id(ep, 0), ep->timeout_s, 2000, &ready), HEALTH_ADMIT);
	assert_int_equal(health_admit(b, ep, 2000, &ready), HEALTH_ADMIT);
	/* the time to first token: a decaying average, forgotten when old */
	assert_true(health_ttft(b, ep, 2000) < 0);
	health_note_ttft(a, ep, 100, 3000);
	health_note_ttft(a, ep, 200, 4000);
	double t = health_ttft(b, ep, 5000);
	assert_true(t > 100 && t < 200);
	assert_true(health_ttft(b, ep, 4000 + HEALTH_TTFT_FRESH_MS) < 0);
	unlink(hoststate_path(a));
	hoststate_close(a);
	hoststate_close(b);
	rmdir(dir);
	group_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_stops_at_30_s_by_default),
		cmocka_unit_test(test_retry_after_never_exceeds_max),
		cmocka_unit_test(test_base_above_default_max_raises_it),
		cmocka_unit_test(test_pool_turn_and_key_health_are_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
