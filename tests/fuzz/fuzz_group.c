/* fuzz_group.c: libFuzzer harness for group files, and the request plan
 * (plan.h) of every group that parses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "plan.h"

/* A fixed sequence: the plan must hold for any random numbers. */
static uint64_t fuzz_rand(void *ctx)
{
	uint64_t *s = ctx;
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s;
}

/* Plans the group with every strategy; each plan must be a permutation. */
static void fuzz_plan(struct group *g)
{
	size_t *order = calloc(g->n_endpoints, sizeof *order);
	char *seen = calloc(g->n_endpoints, 1);
	double *ttft = calloc(g->n_endpoints, sizeof *ttft);
	uint64_t seed = g->n_endpoints;

	if (order == NULL || seen == NULL || ttft == NULL)
		goto out;
	for (size_t i = 0; i < g->n_endpoints; i++)
		ttft[i] = i % 3 ? (double)(g->endpoints[i].priority % 1000) : -1;
	for (int s = STRATEGY_ORDERED; s <= STRATEGY_STICKY; s++) {
		g->strategy = (enum group_strategy)s;
		plan_order(&(struct plan_input){ .group = g, .ttft_ms = ttft, .sticky_id = "u",
						  .rand = fuzz_rand, .rand_ctx = &seed }, order);
		memset(seen, 0, g->n_endpoints);
		for (size_t i = 0; i < g->n_endpoints; i++) {
			if (order[i] >= g->n_endpoints || seen[order[i]])
				abort();
			seen[order[i]] = 1;
		}
	}
	for (size_t i = 0; i < g->n_endpoints; i++)
		for (size_t k = 0; k < g->endpoints[i].n_keys; k++)
			(void)endpoint_key_id(&g->endpoints[i], k);
out:
	free(order);
	free(seen);
	free(ttft);
}

static const char *fuzz_getenv(const char *name)
{
	return strcmp(name, "SET") == 0 ? "value" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[512], warn[512];
	struct group *g = NULL;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (group_parse("fuzz", "fuzz.json", text, fuzz_getenv, &g, err, sizeof err,
			warn, sizeof warn) == IM_OK) {
		fuzz_plan(g);
		group_free(g);
	}
	free(text);
	return 0;
}
