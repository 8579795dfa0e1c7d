/* metrics.c: shared counters and their Prometheus rendering (see metrics.h). */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "health.h"

static const char *const metrics_outcomes[OUTCOME_COUNT] = {
	[OUTCOME_OK] = "ok",
	[OUTCOME_FAILED] = "failed",
	[OUTCOME_REQUEST_ERROR] = "request_error",
	[OUTCOME_CONTENT_FILTER] = "content_filter",
	[OUTCOME_BROKEN] = "broken",
	[OUTCOME_CLIENT_GONE] = "client_gone",
};

const char *metrics_outcome_name(enum hoststate_outcome outcome)
{
	return (unsigned)outcome < OUTCOME_COUNT ? metrics_outcomes[outcome] : "unknown";
}

/* Health is shared by every group holding the same endpoint; its counters
 * are kept per group, so that sums over groups count each attempt once. */
static uint64_t metrics_key(const char *group, const struct endpoint *ep)
{
	return hoststate_hash(ep->key ^ 0x9E3779B97F4A7C15ull, group);
}

struct metrics_attempt_ctx {
	enum errkind kind;
	int64_t first_content_ms;
	int64_t duration_ms;
	int64_t wall_ms;             /* when, as a time of day (the status page) */
};

static int64_t metrics_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void metrics_attempt_rec(void *rec, void *arg)
{
	struct hoststate_counters *e = rec;
	const struct metrics_attempt_ctx *c = arg;

	e->attempts[(unsigned)c->kind < ERRKIND_COUNT ? c->kind : ERRKIND_INVALID_RESPONSE]++;
	if (c->kind != ERRKIND_NONE) {
		e->last_kind = (uint8_t)c->kind;
		e->last_failure_ms = c->wall_ms;
	}
	if (c->first_content_ms >= 0)
		hoststate_observe(&e->ttft, (double)c->first_content_ms / 1000.0);
	hoststate_observe(&e->duration, (double)c->duration_ms / 1000.0);
}

void metrics_attempt(struct hoststate *hs, const char *group, const struct endpoint *ep,
		     enum errkind kind, int64_t first_content_ms, int64_t duration_ms)
{
	struct metrics_attempt_ctx c = { kind, first_content_ms, duration_ms,
					 kind != ERRKIND_NONE ? metrics_wall_ms() : 0 };

	if (hs != NULL)
		health_check_state(hs, hoststate_apply(hs, HOSTSTATE_COUNTERS, metrics_key(group, ep), true,
						       metrics_attempt_rec, &c));
}

static void metrics_request_rec(void *rec, void *arg)
{
	((struct hoststate_group *)rec)->outcomes[*(enum hoststate_outcome *)arg]++;
}

/* The routes whose requests are counted apart, each series labelled with
 * its route; chat first, whose series every group has from the start (its
 * records keep their key from before routes had one, so its counts carry
 * over), the others once they had a request. Faces name the chat, responses
 * and messages routes (face.h), route.h the others. */
static const char *const metrics_routes[] = { "chat", "responses", "messages", "embeddings",
					       "completions", NULL };

static uint64_t metrics_group_key(const char *route, const char *group)
{
	if (route == NULL || strcmp(route, "chat") == 0)
		return hoststate_hash(0, group);
	return hoststate_hash(hoststate_hash(0, route), group);
}

void metrics_request(struct hoststate *hs, const char *group, enum hoststate_outcome outcome)
{
	metrics_request_route(hs, NULL, group, outcome);
}

void metrics_request_route(struct hoststate *hs, const char *route, const char *group,
			   enum hoststate_outcome outcome)
{
	if (hs != NULL && (unsigned)outcome < OUTCOME_COUNT)
		health_check_state(hs, hoststate_apply(hs, HOSTSTATE_GROUPS, metrics_group_key(route, group),
						       true, metrics_request_rec, &outcome));
}

void metrics_streams(struct hoststate *hs, int delta)
{
	if (hs != NULL)
		health_check_state(hs, hoststate_flight_add(hs, HOSTSTATE_STREAMS, delta));
}

void metrics_requests_active(struct hoststate *hs, int delta)
{
	if (hs != NULL)
		health_check_state(hs, hoststate_flight_add(hs, HOSTSTATE_REQUESTS, delta));
}

void metrics_in_flight(struct hoststate *hs, int64_t *requests, int64_t *streams)
{
	int64_t flights[HOSTSTATE_FLIGHTS] = { 0 };
	uint64_t full;

	if (hs != NULL)
		health_check_state(hs, hoststate_totals(hs, flights, &full));
	*requests = flights[HOSTSTATE_REQUESTS];
	*streams = flights[HOSTSTATE_STREAMS];
}

void metrics_keep(struct hoststate *hs, const struct catalog *cat)
{
	size_t n = 0, k = 0, n_health = 0;

	if (hs == NULL)
		return;
	for (size_t g = 0; g < cat->n_groups; g++) {
		n += cat->groups[g]->n_endpoints;
		for (size_t i = 0; i < cat->groups[g]->n_endpoints; i++)
			n_health += cat->groups[g]->endpoints[i].n_keys;   /* a pool's keys */
	}
	n_health += n;
	uint64_t *health = xcalloc(n_health + 1, sizeof *health);
	uint64_t *counters = xcalloc(n + 1, sizeof *counters);
	uint64_t *groups = xcalloc(cat->n_groups + 1, sizeof *groups);
	for (size_t g = 0; g < cat->n_groups; g++) {
		const struct group *grp = cat->groups[g];
		groups[g] = hoststate_hash(0, grp->name);
		for (size_t i = 0; i < grp->n_endpoints; i++, k++) {
			health[k] = grp->endpoints[i].key;
			counters[k] = metrics_key(grp->name, &grp->endpoints[i]);
		}
	}
	for (size_t g = 0, h = n; g < cat->n_groups; g++)
		for (size_t i = 0; i < cat->groups[g]->n_endpoints; i++)
			for (size_t j = 0; j < cat->groups[g]->endpoints[i].n_keys; j++)
				health[h++] = endpoint_key_id(&cat->groups[g]->endpoints[i], j);
	health_check_state(hs, hoststate_keep(hs, HOSTSTATE_HEALTH, health, n_health));
	health_check_state(hs, hoststate_keep(hs, HOSTSTATE_COUNTERS, counters, n));
	health_check_state(hs, hoststate_keep(hs, HOSTSTATE_GROUPS, groups, cat->n_groups));
	free(health);
	free(counters);
	free(groups);
}

/* Copies a record out, so that rendering holds the lock only briefly. */
struct metrics_copy {
	void *dst;
	size_t len;
};

static void metrics_copy_rec(void *rec, void *arg)
{
	struct metrics_copy *c = arg;
	if (rec != NULL)
		memcpy(c->dst, rec, c->len);
}

void metrics_endpoint(struct hoststate *hs, const char *group, const struct endpoint *ep,
		      struct hoststate_counters *out)
{
	struct metrics_copy c = { out, sizeof *out };

	memset(out, 0, sizeof *out);
	if (hs != NULL)
		health_check_state(hs, hoststate_apply(hs, HOSTSTATE_COUNTERS, metrics_key(group, ep), false,
						       metrics_copy_rec, &c));
}

/* ---- rendering ------------------------------------------------------------ */

static void metrics_head(struct buf *out, const char *name, const char *type, const char *help)
{
	(void)buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are group and endpoint names from the config: escape them. */
static void metrics_label(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 2 < len; src++) {
		if (*src == '"' || *src == '\\')
			dst[o++] = '\\';
		dst[o++] = *src;
	}
	dst[o] = '\0';
}

static void metrics_histogram(struct buf *out, const char *name, const char *labels,
			      const struct hoststate_histogram *h)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < HOSTSTATE_BUCKETS; i++) {
		cum += h->buckets[i];
		if (i == HOSTSTATE_BUCKETS - 1)
			(void)buf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, labels, cum);
		else
			(void)buf_printf(out, "%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n", name, labels,
				       hoststate_bounds[i], cum);
	}
	(void)buf_printf(out, "%s_sum{%s} %.6f\n%s_count{%s} %" PRIu64 "\n", name, labels, h->sum_s,
		       name, labels, h->count);
}

/* One (group, endpoint) pair of the catalog, with its shared record. */
struct metrics_row {
	char labels[600];
	struct hoststate_counters slot;
	struct health_info health;
};

static struct metrics_row *metrics_rows(struct hoststate *hs, const struct catalog *cat,
					int64_t now, size_t *n_rows)
{
	size_t n = 0, k = 0;

	for (size_t g = 0; g < cat->n_groups; g++)
		n += cat->groups[g]->n_endpoints;
	struct metrics_row *rows = xcalloc(n ? n : 1, sizeof *rows);
	for (size_t g = 0; g < cat->n_groups; g++) {
		const struct group *grp = cat->groups[g];
		for (size_t i = 0; i < grp->n_endpoints; i++, k++) {
			const struct endpoint *ep = &grp->endpoints[i];
			char gl[256], el[256];
			struct metrics_copy c = { &rows[k].slot, sizeof rows[k].slot };
			health_check_state(hs, hoststate_apply(hs, HOSTSTATE_COUNTERS, metrics_key(grp->name, ep),
							       false, metrics_copy_rec, &c));
			health_inspect(hs, ep, now, &rows[k].health);
			metrics_label(gl, sizeof gl, grp->name);
			metrics_label(el, sizeof el, ep->name);
			snprintf(rows[k].labels, sizeof rows[k].labels, "group=\"%s\",endpoint=\"%s\"", gl, el);
		}
	}
	*n_rows = n;
	return rows;
}

static void metrics_endpoints(const struct metrics_row *rows, size_t n, struct buf *out)
{
	metrics_head(out, "immortal_attempts_total", "counter", "Requests sent upstream, by endpoint and error kind (ok: success).");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < ERRKIND_COUNT; k++)
			(void)buf_printf(out, "immortal_attempts_total{%s,kind=\"%s\"} %" PRIu64 "\n", rows[i].labels,
				       errkind_name((enum errkind)k), rows[i].slot.attempts[k]);
	metrics_head(out, "immortal_first_token_seconds", "histogram", "Time from an attempt's start to its first content.");
	for (size_t i = 0; i < n; i++)
		metrics_histogram(out, "immortal_first_token_seconds", rows[i].labels, &rows[i].slot.ttft);
	metrics_head(out, "immortal_attempt_duration_seconds", "histogram", "Duration of attempts, by endpoint.");
	for (size_t i = 0; i < n; i++)
		metrics_histogram(out, "immortal_attempt_duration_seconds", rows[i].labels, &rows[i].slot.duration);
	metrics_head(out, "immortal_endpoint_healthy", "gauge", "1 when the endpoint is healthy (not cooling down or on trial).");
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(out, "immortal_endpoint_healthy{%s} %d\n", rows[i].labels,
			       rows[i].health.state == HEALTH_HEALTHY);
	metrics_head(out, "immortal_endpoint_state", "gauge", "The endpoint's health state (healthy, cooling, half_open, trial).");
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(out, "immortal_endpoint_state{%s,state=\"%s\"} 1\n", rows[i].labels,
			       health_state_name(rows[i].health.state));
	metrics_head(out, "immortal_endpoint_cooldown_seconds", "gauge", "Seconds until the endpoint's cooldown ends.");
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(out, "immortal_endpoint_cooldown_seconds{%s} %.3f\n", rows[i].labels,
			       rows[i].health.cooldown_left_s);
	metrics_head(out, "immortal_endpoint_consecutive_failures", "gauge", "Failures in a row of the endpoint.");
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(out, "immortal_endpoint_consecutive_failures{%s} %u\n", rows[i].labels,
			       rows[i].health.failures);
}

/* The keys of pool endpoints, each named by position and last four
 * characters (endpoint_key_label), never more. */
static void metrics_keys(struct hoststate *hs, const struct catalog *cat, int64_t now,
			 struct buf *out)
{
	metrics_head(out, "immortal_key_cooldown_seconds", "gauge",
		     "Seconds until a pool key's own cooldown ends (rate limit, auth); 0: usable.");
	for (size_t g = 0; g < cat->n_groups; g++) {
		const struct group *grp = cat->groups[g];
		for (size_t i = 0; i < grp->n_endpoints; i++) {
			const struct endpoint *ep = &grp->endpoints[i];
			char gl[256], el[256], kl[16];
			metrics_label(gl, sizeof gl, grp->name);
			metrics_label(el, sizeof el, ep->name);
			for (size_t k = 0; ep->n_keys > 1 && k < ep->n_keys; k++) {
				struct health_info h;
				health_inspect_id(hs, endpoint_key_id(ep, k), now, &h);
				endpoint_key_label(ep, k, kl, sizeof kl);
				(void)buf_printf(out, "immortal_key_cooldown_seconds{group=\"%s\",endpoint=\"%s\",key=\"%s\"} %.3f\n",
					       gl, el, kl, h.cooldown_left_s);
			}
		}
	}
}

/* Copies each record read into the next of `slots` (zeroes when absent). */
struct metrics_copy_each {
	struct hoststate_group *slots;
	size_t next;
};

static void metrics_copy_next(void *rec, void *arg)
{
	struct metrics_copy_each *c = arg;
	if (rec != NULL)
		memcpy(&c->slots[c->next], rec, sizeof c->slots[c->next]);
	c->next++;
}

/* One group's requests on `route`; a route other than chat only once it
 * had a request. */
static void metrics_group_requests(const char *group, const char *route,
				   const struct hoststate_group *slot, struct buf *out)
{
	char gl[256];
	uint64_t any = 0;

	for (int o = 0; o < OUTCOME_COUNT; o++)
		any |= slot->outcomes[o];
	if (route != metrics_routes[0] && any == 0)
		return;
	metrics_label(gl, sizeof gl, group);
	for (int o = 0; o < OUTCOME_COUNT; o++)
		(void)buf_printf(out, "immortal_requests_total{group=\"%s\",outcome=\"%s\",route=\"%s\"} %" PRIu64 "\n",
			       gl, metrics_outcomes[o], route, slot->outcomes[o]);
}

/* Every group's requests on every route, read under one lock: a lock held
 * elsewhere is waited for once per scrape, not once per group and route. */
static void metrics_requests(struct hoststate *hs, const struct catalog *cat, struct buf *out)
{
	size_t n_routes = sizeof metrics_routes / sizeof *metrics_routes - 1;
	size_t n = cat->n_groups * n_routes;
	uint64_t *keys = xcalloc(n + 1, sizeof *keys);
	struct metrics_copy_each c = { .slots = xcalloc(n + 1, sizeof *c.slots) };

	for (size_t g = 0; g < cat->n_groups; g++)
		for (size_t r = 0; r < n_routes; r++)
			keys[g * n_routes + r] = metrics_group_key(metrics_routes[r], cat->groups[g]->name);
	health_check_state(hs, hoststate_apply_each(hs, HOSTSTATE_GROUPS, keys, n, false, metrics_copy_next, &c));
	for (size_t g = 0; g < cat->n_groups; g++)
		for (size_t r = 0; r < n_routes; r++)
			metrics_group_requests(cat->groups[g]->name, metrics_routes[r],
					       &c.slots[g * n_routes + r], out);
	free(c.slots);
	free(keys);
}

void metrics_render(struct hoststate *hs, const struct catalog *cat, int64_t now,
		    struct buf *out)
{
	size_t n;
	int64_t flights[HOSTSTATE_FLIGHTS] = { 0 };
	uint64_t full = 0;
	struct metrics_row *rows = metrics_rows(hs, cat, now, &n);

	metrics_head(out, "immortal_requests_total", "counter", "Requests finished, by group, outcome and route.");
	metrics_requests(hs, cat, out);
	metrics_endpoints(rows, n, out);
	free(rows);
	metrics_keys(hs, cat, now, out);
	health_check_state(hs, hoststate_totals(hs, flights, &full));
	metrics_head(out, "immortal_requests_in_flight", "gauge", "Chat requests in progress on this host.");
	(void)buf_printf(out, "immortal_requests_in_flight %" PRId64 "\n", flights[HOSTSTATE_REQUESTS]);
	metrics_head(out, "immortal_streams_in_flight", "gauge", "Streamed answers in progress on this host.");
	(void)buf_printf(out, "immortal_streams_in_flight %" PRId64 "\n", flights[HOSTSTATE_STREAMS]);
	metrics_head(out, "immortal_state_table_full_total", "counter",
		     "Times a shared health or metrics record could not be had: the state file's tables were full.");
	(void)buf_printf(out, "immortal_state_table_full_total %" PRIu64 "\n", full);
}
