/* route.c: planning the endpoint order of one request (see route.h). */
#include "route.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hoststate.h"

/* The weight of a new sample in the decaying average. */
#define ROUTE_TTFT_ALPHA 0.3

struct route_item {
	size_t index;
	double score;            /* higher goes first within a tier */
};

/* A number uniform in (0, 1): never 0, so its logarithm is finite. */
static double route_unit(uint64_t r)
{
	return ((double)(r >> 11) + 0.5) / 9007199254740992.0;
}

/* Efraimidis-Spirakis: sorting by u^(1/w), i.e. ln(u)/w, descending draws
 * a weighted order without repeats. */
static double route_weighted_score(double u, double w)
{
	return log(u) / w;
}

static uint64_t route_mix(uint64_t x)
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
static double route_sticky_score(uint64_t client, const struct endpoint *ep)
{
	return route_weighted_score(route_unit(route_mix(client ^ route_mix(ep->key))), ep->weight);
}

static int route_by_tier_score(const void *a, const void *b, const struct endpoint *eps)
{
	const struct route_item *x = a, *y = b;
	int px = eps[x->index].priority, py = eps[y->index].priority;

	if (px != py)
		return px < py ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* qsort has no context argument; insertion sort keeps it pure and stable
 * (groups are small). */
static void route_sort(struct route_item *items, size_t n, const struct endpoint *eps)
{
	for (size_t i = 1; i < n; i++) {
		struct route_item it = items[i];
		size_t j = i;
		while (j > 0 && route_by_tier_score(&items[j - 1], &it, eps) > 0) {
			items[j] = items[j - 1];
			j--;
		}
		items[j] = it;
	}
}

/* Latency: unknown figures first (optimistic), then fastest first. */
static double route_latency_score(const struct route_input *in, size_t i)
{
	double t = in->ttft_ms ? in->ttft_ms[i] : -1;
	return t < 0 ? INFINITY : -t;
}

/* Puts a random endpoint of each tier first, for ROUTE_EXPLORE of the
 * requests. */
static void route_explore(const struct route_input *in, struct route_item *items, size_t n)
{
	const struct endpoint *eps = in->group->endpoints;

	for (size_t lo = 0; lo < n;) {
		size_t hi = lo + 1;
		while (hi < n && eps[items[hi].index].priority == eps[items[lo].index].priority)
			hi++;
		if (hi - lo > 1 && route_unit(in->rand(in->rand_ctx)) < ROUTE_EXPLORE) {
			size_t pick = lo + (size_t)(in->rand(in->rand_ctx) % (hi - lo));
			struct route_item it = items[pick];
			memmove(&items[lo + 1], &items[lo], (pick - lo) * sizeof *items);
			items[lo] = it;
		}
		lo = hi;
	}
}

void route_plan(const struct route_input *in, size_t *order)
{
	const struct group *g = in->group;
	struct route_item *items = xcalloc(g->n_endpoints ? g->n_endpoints : 1, sizeof *items);
	enum route_strategy s = g->strategy;
	uint64_t client = 0;

	if (s == ROUTE_STICKY && (in->sticky_id == NULL || in->sticky_id[0] == '\0'))
		s = ROUTE_WEIGHTED;
	else if (s == ROUTE_STICKY)
		client = hoststate_hash(0, in->sticky_id);
	for (size_t i = 0; i < g->n_endpoints; i++) {
		const struct endpoint *ep = &g->endpoints[i];
		items[i].index = i;
		if (s == ROUTE_WEIGHTED)
			items[i].score = route_weighted_score(route_unit(in->rand(in->rand_ctx)), ep->weight);
		else if (s == ROUTE_STICKY)
			items[i].score = route_sticky_score(client, ep);
		else if (s == ROUTE_LATENCY)
			items[i].score = route_latency_score(in, i);
	}
	route_sort(items, g->n_endpoints, g->endpoints);
	if (s == ROUTE_LATENCY)
		route_explore(in, items, g->n_endpoints);
	for (size_t i = 0; i < g->n_endpoints; i++)
		order[i] = items[i].index;
	free(items);
}

double route_ttft_average(double old_ms, double sample_ms)
{
	if (old_ms < 0)
		return sample_ms;
	return old_ms + ROUTE_TTFT_ALPHA * (sample_ms - old_ms);
}
