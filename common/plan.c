/* plan.c: planning the endpoint order of one request (see plan.h). */
#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hoststate.h"

/* The weight of a new sample in the decaying average. */
#define PLAN_TTFT_ALPHA 0.3

struct plan_item {
	size_t index;
	double score;            /* higher goes first within a tier */
};

/* A number uniform in (0, 1): never 0, so its logarithm is finite. */
static double plan_unit(uint64_t r)
{
	return ((double)(r >> 11) + 0.5) / 9007199254740992.0;
}

/* Efraimidis-Spirakis: sorting by u^(1/w), i.e. ln(u)/w, descending draws
 * a weighted order without repeats. */
static double plan_weighted_score(double u, double w)
{
	return log(u) / w;
}

static uint64_t plan_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Weighted rendezvous hashing: each (client, endpoint) pair draws its own
 * fixed u; the endpoint with the highest ln(u)/w wins, so an endpoint
 * leaving the tier changes nobody else's winner. */
static double plan_sticky_score(uint64_t client, const struct endpoint *ep)
{
	return plan_weighted_score(plan_unit(plan_mix(client ^ plan_mix(ep->key))), ep->weight);
}

static int plan_by_tier_score(const void *a, const void *b, const struct endpoint *eps)
{
	const struct plan_item *x = a, *y = b;
	int px = eps[x->index].priority, py = eps[y->index].priority;

	if (px != py)
		return px < py ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* qsort has no context argument; insertion sort keeps it pure and stable
 * (groups are small). */
static void plan_sort(struct plan_item *items, size_t n, const struct endpoint *eps)
{
	for (size_t i = 1; i < n; i++) {
		struct plan_item it = items[i];
		size_t j = i;
		while (j > 0 && plan_by_tier_score(&items[j - 1], &it, eps) > 0) {
			items[j] = items[j - 1];
			j--;
		}
		items[j] = it;
	}
}

/* Latency: unknown figures first (optimistic), then fastest first. */
static double plan_latency_score(const struct plan_input *in, size_t i)
{
	double t = in->ttft_ms ? in->ttft_ms[i] : -1;
	return t < 0 ? INFINITY : -t;
}

/* Puts a random endpoint of each tier first, for PLAN_EXPLORE of the
 * requests. */
static void plan_explore(const struct plan_input *in, struct plan_item *items, size_t n)
{
	const struct endpoint *eps = in->group->endpoints;

	for (size_t lo = 0; lo < n;) {
		size_t hi = lo + 1;
		while (hi < n && eps[items[hi].index].priority == eps[items[lo].index].priority)
			hi++;
		if (hi - lo > 1 && plan_unit(in->rand(in->rand_ctx)) < PLAN_EXPLORE) {
			size_t pick = lo + (size_t)(in->rand(in->rand_ctx) % (hi - lo));
			struct plan_item it = items[pick];
			memmove(&items[lo + 1], &items[lo], (pick - lo) * sizeof *items);
			items[lo] = it;
		}
		lo = hi;
	}
}

void plan_order(const struct plan_input *in, size_t *order)
{
	const struct group *g = in->group;
	struct plan_item *items = xcalloc(g->n_endpoints ? g->n_endpoints : 1, sizeof *items);
	enum group_strategy s = g->strategy;
	uint64_t client = 0;

	if (s == STRATEGY_STICKY && (in->sticky_id == NULL || in->sticky_id[0] == '\0'))
		s = STRATEGY_WEIGHTED;
	else if (s == STRATEGY_STICKY)
		client = hoststate_hash(0, in->sticky_id);
	for (size_t i = 0; i < g->n_endpoints; i++) {
		const struct endpoint *ep = &g->endpoints[i];
		items[i].index = i;
		if (s == STRATEGY_WEIGHTED)
			items[i].score = plan_weighted_score(plan_unit(in->rand(in->rand_ctx)), ep->weight);
		else if (s == STRATEGY_STICKY)
			items[i].score = plan_sticky_score(client, ep);
		else if (s == STRATEGY_LATENCY)
			items[i].score = plan_latency_score(in, i);
	}
	plan_sort(items, g->n_endpoints, g->endpoints);
	if (s == STRATEGY_LATENCY)
		plan_explore(in, items, g->n_endpoints);
	for (size_t i = 0; i < g->n_endpoints; i++)
		order[i] = items[i].index;
	free(items);
}

double plan_ttft_average(double old_ms, double sample_ms)
{
	if (old_ms < 0)
		return sample_ms;
	return old_ms + PLAN_TTFT_ALPHA * (sample_ms - old_ms);
}
