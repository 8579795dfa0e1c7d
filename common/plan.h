/* plan.h: the order in which one request tries a group's endpoints.
 *
 * Endpoints form tiers by `priority` (lower first; equal priorities keep
 * file order, and the default is 0, so a file without priorities is one
 * tier in file order). Within a tier the group's strategy orders them:
 * ordered (file order), weighted (the first drawn by weight, the rest in
 * a weighted order without repeats: Efraimidis-Spirakis keys), latency
 * (lowest decaying-average time to first token first; an endpoint without
 * a recent figure goes first so it gets one, and now and then a random
 * one does so every figure stays current), sticky (weighted rendezvous
 * hashing of the client's identity with each endpoint's, so removing an
 * endpoint moves only its clients; without an identity: weighted).
 * Pure: no state, no clock; randomness comes from the caller. Failover
 * (failover.h) walks the plan; cooldowns are its business. */
#ifndef IMMORTAL_PLAN_H
#define IMMORTAL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "group.h"

/* The share of latency-routed requests that put a random endpoint of the
 * tier first, so slower endpoints keep a current figure. */
#define PLAN_EXPLORE 0.1

/* A uniform random 64-bit number. */
typedef uint64_t (*plan_rand_fn)(void *ctx);

struct plan_input {
	const struct group *group;
	/* per endpoint, the recent average time to first token in ms, < 0
	 * when there is no recent figure; NULL: none known (latency only) */
	const double *ttft_ms;
	const char *sticky_id;   /* the client's identity (sticky); NULL: none */
	plan_rand_fn rand;
	void *rand_ctx;
};

/* Writes the plan into order[0..n_endpoints): each endpoint index once. */
void plan_order(const struct plan_input *in, size_t *order);

/* The figure a new time to first token makes of the old average (< 0:
 * none yet). */
double plan_ttft_average(double old_ms, double sample_ms);

#endif
