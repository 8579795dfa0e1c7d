/* failover.c: ordered failover across a group's endpoints (see failover.h). */
#include "failover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "apierror.h"
#include "attempt.h"
#include "clock.h"
#include "cstream.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"

#define FAILOVER_JITTER_MIN_MS 100
#define FAILOVER_JITTER_SPAN_MS 200

struct failover {
	const struct failover_request *req;
	struct failover_outcome *out;
	struct cstream *stream;        /* what the client sees */
	struct json_object *records;   /* the attempts, for the final error */
	bool only_request_errors;
	char key_label[16];            /* the pool key in use, "" for none */
};

/* `mark` tells a retry ("retry") or a continuation ("resume"), or NULL. */
static void failover_log_attempt(struct failover *f, const struct endpoint *ep,
				 const struct attempt_result *res, int number, const char *mark)
{
	const char *kind = res->client_gone ? "client_gone" : errkind_name(res->kind);

	if (res->kind == ERRKIND_NONE) {
		/* the outcome line follows at once (failover_run): one write */
		log_info_held(LOG_S("req", f->req->id), LOG_S("group", f->req->group->name),
			 LOG_S("endpoint", ep->name), LOG_IF(f->key_label[0], LOG_S("key", f->key_label)),
			 LOG_I("attempt", number), LOG_IF(mark, LOG_I(mark, 1)),
			 LOG_S("kind", kind), LOG_I("status", res->status), LOG_I("ms", res->elapsed_ms));
		return;
	}
	char *hint = xasprintf("endpoint %s: %s", ep->name, errkind_hint(res->kind));
	log_error(LOG_S("req", f->req->id), LOG_S("group", f->req->group->name),
		  LOG_S("endpoint", ep->name), LOG_IF(f->key_label[0], LOG_S("key", f->key_label)),
		  LOG_I("attempt", number), LOG_IF(mark, LOG_I(mark, 1)),
		  LOG_S("kind", kind), LOG_I("status", res->status), LOG_I("ms", res->elapsed_ms),
		  LOG_S("detail", res->detail), LOG_S("hint", hint));
	free(hint);
}

static void failover_record(struct failover *f, const struct endpoint *ep,
			    const struct attempt_result *res)
{
	struct json_object *rec = xcheck(json_object_new_object());

	json_object_object_add(rec, "endpoint", xcheck(json_object_new_string(ep->name)));
	json_object_object_add(rec, "kind", xcheck(json_object_new_string(errkind_name(res->kind))));
	json_object_object_add(rec, "status", xcheck(json_object_new_int64(res->status)));
	json_object_object_add(rec, "detail", xcheck(json_object_new_string(res->detail)));
	json_object_array_add(f->records, rec);
	if (res->kind != ERRKIND_REQUEST)
		f->only_request_errors = false;
}

static bool failover_should_retry(const struct endpoint *ep, const struct attempt_result *res,
				  int retry)
{
	if (!res->retryable || retry >= ep->retries)
		return false;
	/* A long Retry-After moves on at once rather than holding the client. */
	return res->retry_after_s < 0 || res->retry_after_s <= ep->retry_after_max_s;
}

static long failover_pause_ms(const struct attempt_result *res)
{
	if (res->retry_after_s > 0)
		return res->retry_after_s * 1000;
	return FAILOVER_JITTER_MIN_MS + (long)arc4random_uniform(FAILOVER_JITTER_SPAN_MS);
}

/* The upstream's own error answer when it is OpenAI-shaped, else ours. */
static char *failover_upstream_body(const struct attempt_result *res)
{
	if (res->error_body != NULL && res->error_is_api_error)
		return xstrdup(res->error_body);
	return apierror_text(res->detail, "upstream_error", errkind_name(res->kind), NULL);
}

static void failover_send(struct failover *f, int status, const char *json)
{
	f->out->status = status;
	if (cstream_fail(f->stream, status, json, f->out->attempts) != IM_OK)
		f->out->client_gone = true;
}

static void failover_passthrough(struct failover *f, const struct attempt_result *res)
{
	char *body = failover_upstream_body(res);
	f->out->kind = res->kind == ERRKIND_CONTENT_FILTER ? OUTCOME_CONTENT_FILTER : OUTCOME_REQUEST_ERROR;
	failover_send(f, res->status >= 400 ? (int)res->status : 502, body);
	free(body);
}

static void failover_broken(struct failover *f, const struct endpoint *ep,
			    const struct attempt_result *res)
{
	char *msg = xasprintf("the answer from endpoint %s broke after it had begun: %s: %s",
			      ep->name, errkind_name(res->kind), res->detail);
	char *json = apierror_text(msg, "upstream_error", "stream_interrupted", NULL);

	f->out->status = 200;
	f->out->kind = OUTCOME_BROKEN;
	if (cstream_fail_broken(f->stream, json) != IM_OK)
		f->out->client_gone = true;
	free(json);
	free(msg);
}

static void failover_all_failed(struct failover *f, const struct endpoint *last_ep,
				const struct attempt_result *last)
{
	const struct group *g = f->req->group;

	if (f->only_request_errors) {
		failover_passthrough(f, last);
		return;
	}
	char *msg = xasprintf("all %zu endpoints of group %s failed; last: %s: %s: %s",
			      g->n_endpoints, g->name, last_ep->name,
			      errkind_name(last->kind), last->detail);
	struct json_object *err = apierror_new(msg, "upstream_error", "all_endpoints_failed", NULL);
	struct json_object *inner;
	json_object_object_get_ex(err, "error", &inner);
	json_object_object_add(inner, "attempts", json_object_get(f->records));
	char *json = apierror_serialize(err);
	failover_send(f, 502, json);
	free(json);
	json_object_put(err);
	free(msg);
}

/* Metrics count every attempt; health hears of an endpoint once per try
 * (failover_health), however many retries it took. */
static void failover_count(struct failover *f, const struct endpoint *ep,
			   const struct attempt_result *res)
{
	if (!res->client_gone)
		metrics_attempt(f->req->hs, f->req->group->name, ep, res->kind,
				res->first_content_ms, res->elapsed_ms);
}

static void failover_health(struct failover *f, const struct endpoint *ep,
			    const struct attempt_result *res)
{
	struct hoststate *hs = f->req->hs;

	if (res->client_gone)
		health_release(hs, ep);
	else
		health_report(hs, ep, &f->req->group->cooldown, res->kind, res->retry_after_s, clock_ms());
}

/* Runs one attempt at `ep`, logs and counts it. Returns true when it
 * settled the request (answered, or the client left). */
static bool failover_attempt(struct failover *f, const struct endpoint *ep,
			     struct attempt_result *res, const char *mark)
{
	const struct failover_request *req = f->req;
	struct attempt_input in = {
		.request_id = req->id, .kind = req->kind, .ep = ep, .client_body = req->body,
		.client_stream = req->client_stream, .include_usage = req->include_usage,
		.transport = req->transport, .stream = f->stream,
		.number = ++f->out->attempts,
	};

	attempt_result_clear(res);
	attempt_run(&in, res);
	failover_log_attempt(f, ep, res, in.number, mark);
	failover_count(f, ep, res);
	if (res->client_gone) {
		f->out->client_gone = true;
		return true;
	}
	if (res->kind == ERRKIND_NONE) {
		f->out->status = 200;
		f->out->endpoint = ep->name;
		if (res->first_content_ms >= 0)
			health_note_ttft(req->hs, ep, (double)res->first_content_ms, clock_ms());
		return true;
	}
	failover_record(f, ep, res);
	return false;
}

static bool failover_within_budget(const struct failover *f)
{
	return clock_ms() - f->req->started_ms < (int64_t)(f->req->group->budget_s * 1000);
}

/* Whether `ep` can serve this request's route; `say` logs why not. */
static bool failover_serves(struct failover *f, const struct endpoint *ep, bool say)
{
	const char *why;

	if (route_serves(f->req->kind, ep, f->req->body, &why))
		return true;
	if (say)
		log_info(LOG_S("req", f->req->id), LOG_S("group", f->req->group->name),
			 LOG_S("endpoint", ep->name), LOG_S("route", route_path(f->req->kind)),
			 LOG_MSG("skipped: cannot serve this route"), LOG_S("why", why));
	return false;
}

/* Whether `ep` may be asked to continue the answer that `broken` broke. */
static bool failover_may_continue(struct failover *f, const struct endpoint *ep,
				  const struct endpoint *broken)
{
	int64_t ready_at = 0;

	if (!failover_serves(f, ep, false))
		return false;
	if (cstream_restarting(f->stream))
		return ep != broken;   /* restart on the next endpoint, no prefill */
	/* a legacy completion continues in a longer prompt, not a prefill */
	if (ep->continuation == CONTINUATION_NONE ||
	    (f->req->kind == ROUTE_CHAT && health_refuses_prefill(f->req->hs, ep)))
		return false;
	/* the endpoint that just broke gets its one more chance though cooling */
	return ep == broken || health_admit(f->req->hs, ep, clock_ms(), &ready_at) != HEALTH_SKIP;
}

/* Asks the group's endpoints, in file order and each at most once, for the
 * rest of an answer that broke after content reached the client. Returns
 * true when the request got settled (answer completed, or client gone). */
static bool failover_resume(struct failover *f, const struct endpoint *broken)
{
	const struct group *g = f->req->group;
	const char *why = g->resume ? cstream_resume_refusal(f->stream, f->req->body)
				    : "the group sets resume: false";
	struct attempt_result res = { 0 };
	bool *used = xcalloc(g->n_endpoints, sizeof *used);
	bool settled = false;
	size_t i = 0;

	if (why != NULL)
		log_info(LOG_S("req", f->req->id), LOG_S("group", g->name),
			 LOG_MSG("cannot continue the broken answer"), LOG_S("why", why));
	while (why == NULL && !settled && i < g->n_endpoints && failover_within_budget(f)) {
		const struct endpoint *ep = &g->endpoints[i];
		cstream_continue_begin(f->stream);
		if (used[i] || !failover_may_continue(f, ep, broken)) {
			i++;
			continue;
		}
		used[i] = true;
		struct endpoint view = *ep;   /* a pool continues with the key whose turn it is */
		if (ep->n_keys > 1)
			view.apikey = ep->keys[health_next_key(f->req->hs, ep)];
		settled = failover_attempt(f, &view, &res, "resume");
		failover_health(f, ep, &res);
		if (settled)
			break;
		if (!cstream_restarting(f->stream) && f->req->kind == ROUTE_CHAT &&
		    res.status >= 400 && res.status < 500) {
			log_info(LOG_S("req", f->req->id), LOG_S("endpoint", ep->name), LOG_I("status", res.status),
				 LOG_MSG("does not accept a continuation: not asked again"));
			health_note_prefill_refused(f->req->hs, ep);
		}
		/* more text arrived before this break: start over in file order */
		i = res.broke_midstream ? 0 : i + 1;
	}
	cstream_continue_end(f->stream);
	attempt_result_clear(&res);
	free(used);
	return settled;
}

/* A failure that belongs to the key, not the endpoint. */
static bool failover_key_fault(const struct attempt_result *res)
{
	return res->kind == ERRKIND_RATE_LIMIT || res->kind == ERRKIND_AUTH ||
	       res->kind == ERRKIND_PERMISSION;
}

/* The attempts of one try at `ep`: one, and its retries unless `trial`
 * (a half-open trial that fails proves the endpoint still down). Returns
 * true when they settled the request (answered, or the client left). */
static bool failover_tries(struct failover *f, const struct endpoint *ep,
			   struct attempt_result *res, bool trial)
{
	for (int retry = 0;; retry++) {
		if (failover_attempt(f, ep, res, retry ? "retry" : NULL))
			return true;
		/* in a pool the next key is the better retry */
		if (res->broke_midstream || trial || (ep->n_keys > 1 && failover_key_fault(res)) ||
		    (res->kind == ERRKIND_CONTENT_FILTER && !f->req->group->failover_on_content_filter) ||
		    !failover_should_retry(ep, res, retry))
			return false;
		if (cstream_sleep(f->stream, failover_pause_ms(res)) != IM_OK) {
			f->out->client_gone = true;
			return true;
		}
	}
}

/* Key `k` of pool `ep`, then its health: a key fault cools only the key
 * (true: try the next key); anything else is the endpoint's. */
static bool failover_key(struct failover *f, const struct endpoint *ep, size_t k,
			 struct attempt_result *res, bool trial, bool *settled)
{
	struct endpoint view = *ep;   /* the same endpoint, speaking with key k */
	uint64_t id = endpoint_key_id(ep, k);
	struct hoststate *hs = f->req->hs;

	view.apikey = ep->keys[k];
	endpoint_key_label(ep, k, f->key_label, sizeof f->key_label);
	*settled = failover_tries(f, &view, res, trial);
	f->key_label[0] = '\0';
	if (res->client_gone) {
		health_release_id(hs, id);
		return false;
	}
	if (!*settled && !res->broke_midstream && failover_key_fault(res)) {
		health_report_id(hs, id, &f->req->group->cooldown, res->kind, res->retry_after_s, clock_ms());
		return true;
	}
	/* the upstream took the key: it is good; the endpoint's own failure
	 * says nothing of the key */
	if (*settled || res->kind == ERRKIND_REQUEST || res->kind == ERRKIND_CONTENT_FILTER ||
	    res->broke_midstream)
		health_report_id(hs, id, &f->req->group->cooldown, ERRKIND_NONE, -1, clock_ms());
	else
		health_release_id(hs, id);
	return false;
}

/* The keys of pool `ep` from the one whose turn it is, cooling ones
 * skipped; when every key cools, the soonest healthy is tried. Returns
 * true when the request got settled; *res then (or when the last key
 * tried failed for the endpoint) tells the endpoint's health. */
static bool failover_pool(struct failover *f, const struct endpoint *ep,
			  struct attempt_result *res, bool trial, bool *endpoint_verdict)
{
	struct hoststate *hs = f->req->hs;
	size_t n = ep->n_keys, start = health_next_key(hs, ep), soonest = start;
	int64_t soonest_at = INT64_MAX;
	bool settled = false, tried = false;

	*endpoint_verdict = false;
	for (size_t i = 0; i < n; i++) {
		size_t k = (start + i) % n;
		int64_t ready_at = 0;
		enum health_admit v = health_admit_id(hs, endpoint_key_id(ep, k), ep->timeout_s,
						      clock_ms(), &ready_at);
		if (v == HEALTH_SKIP) {
			if (ready_at < soonest_at) {
				soonest_at = ready_at;
				soonest = k;
			}
			continue;
		}
		if (tried && !failover_within_budget(f))
			return false;
		tried = true;
		if (!failover_key(f, ep, k, res, trial || v == HEALTH_ADMIT_TRIAL, &settled)) {
			*endpoint_verdict = !res->client_gone;
			return settled || res->client_gone;
		}
	}
	if (tried)
		return false;   /* every key failed on its own account */
	if (!failover_key(f, ep, soonest, res, false, &settled)) {
		*endpoint_verdict = !res->client_gone;
		return settled || res->client_gone;
	}
	return false;
}

/* Tries one endpoint, with its retries (or its keys). Returns true when
 * the request is settled (answered, refused, broken or abandoned by the
 * client). */
static bool failover_endpoint(struct failover *f, const struct endpoint *ep,
			      struct attempt_result *res, bool trial)
{
	bool settled;

	if (ep->n_keys > 1) {
		bool verdict = false;
		settled = failover_pool(f, ep, res, trial, &verdict);
		if (verdict)
			failover_health(f, ep, res);
		else
			health_release(f->req->hs, ep);
	} else {
		settled = failover_tries(f, ep, res, trial);
		failover_health(f, ep, res);
	}
	if (settled)
		return true;
	if (res->broke_midstream) {
		if (!failover_resume(f, ep))
			failover_broken(f, ep, res);
		return true;
	}
	if (res->kind == ERRKIND_CONTENT_FILTER && !f->req->group->failover_on_content_filter) {
		failover_passthrough(f, res);
		return true;
	}
	return false;
}

/* Answers 400 when no endpoint of the group can serve the request at all;
 * returns true then. */
static bool failover_unservable(struct failover *f)
{
	const struct group *g = f->req->group;

	for (size_t i = 0; i < g->n_endpoints; i++)
		if (failover_serves(f, &g->endpoints[i], false))
			return false;
	char *msg = xasprintf("no endpoint of group %s can serve %s (anthropic endpoints have no "
			      "embeddings; legacy completions need openai, openrouter or chutes; "
			      "gemini embeds text only)", g->name, route_path(f->req->kind));
	char *json = apierror_text(msg, "invalid_request_error", "route_not_supported", "model");
	f->out->kind = OUTCOME_REQUEST_ERROR;
	failover_send(f, 400, json);
	free(json);
	free(msg);
	return true;
}

struct failover_skipped {
	const struct endpoint *ep;
	int64_t ready_at_ms;
};

static int failover_by_readiness(const void *a, const void *b)
{
	const struct failover_skipped *x = a, *y = b;
	return (x->ready_at_ms > y->ready_at_ms) - (x->ready_at_ms < y->ready_at_ms);
}

static uint64_t failover_rand(void *ctx)
{
	uint64_t r;
	(void)ctx;
	arc4random_buf(&r, sizeof r);
	return r;
}

/* Whom sticky routing keeps in place: the request's `user` field. */
static const char *failover_sticky_id(const struct failover_request *req)
{
	struct json_object *user;
	if (json_object_object_get_ex(req->body, "user", &user) &&
	    json_object_is_type(user, json_type_string))
		return json_object_get_string(user);
	return req->client_key;
}

/* The order of this request's endpoints (plan.h); caller frees. */
static size_t *failover_plan(const struct failover *f)
{
	const struct group *g = f->req->group;
	size_t *order = xcalloc(g->n_endpoints, sizeof *order);
	double *ttft = NULL;

	if (g->strategy == STRATEGY_LATENCY) {
		ttft = xcalloc(g->n_endpoints, sizeof *ttft);
		for (size_t i = 0; i < g->n_endpoints; i++)
			ttft[i] = health_ttft(f->req->hs, &g->endpoints[i], clock_ms());
	}
	plan_order(&(struct plan_input){ .group = g, .ttft_ms = ttft,
					  .sticky_id = failover_sticky_id(f->req),
					  .rand = failover_rand }, order);
	free(ttft);
	return order;
}

/* Healthy endpoints first, in the plan's order; then those cooling down,
 * soonest-healthy first. Returns the last endpoint tried. */
static const struct endpoint *failover_all(struct failover *f, struct attempt_result *res,
					   bool *settled)
{
	const struct group *g = f->req->group;
	struct failover_skipped *skipped = xcalloc(g->n_endpoints, sizeof *skipped);
	size_t *order = failover_plan(f);
	const struct endpoint *last = NULL;
	size_t n_skipped = 0;

	for (size_t i = 0; i < g->n_endpoints && !*settled; i++) {
		const struct endpoint *ep = &g->endpoints[order[i]];
		int64_t ready_at = 0;
		if (last != NULL && !failover_within_budget(f))
			break;
		if (!failover_serves(f, ep, true))
			continue;
		enum health_admit verdict = health_admit(f->req->hs, ep, clock_ms(), &ready_at);
		if (verdict == HEALTH_SKIP) {
			log_info(LOG_S("req", f->req->id), LOG_S("group", g->name), LOG_S("endpoint", ep->name),
				 LOG_MSG("skipped: cooling down"), LOG_I("cooldown_ms", ready_at - clock_ms()));
			skipped[n_skipped++] = (struct failover_skipped){ ep, ready_at };
			continue;
		}
		last = ep;
		*settled = failover_endpoint(f, ep, res, verdict == HEALTH_ADMIT_TRIAL);
	}
	qsort(skipped, n_skipped, sizeof *skipped, failover_by_readiness);
	for (size_t i = 0; i < n_skipped && !*settled && (last == NULL || failover_within_budget(f)); i++) {
		last = skipped[i].ep;
		*settled = failover_endpoint(f, last, res, false);
	}
	free(order);
	free(skipped);
	return last;
}

void failover_run(const struct failover_request *req, struct failover_outcome *out)
{
	struct failover f = { .req = req, .out = out, .only_request_errors = true };
	struct attempt_result res = { 0 };
	const struct group *g = req->group;
	bool settled = false;

	memset(out, 0, sizeof *out);
	out->kind = OUTCOME_FAILED;
	f.records = xcheck(json_object_new_array());
	f.stream = cstream_new(req->sink, &(struct cstream_options){
		.client_stream = req->client_stream, .include_usage = req->include_usage,
		.keepalive_s = req->keepalive_s, .started_ms = req->started_ms, .face = req->face,
		.kind = req->kind,
	});
	if (req->client_stream)
		metrics_streams(req->hs, +1);
	settled = failover_unservable(&f);
	const struct endpoint *last = settled ? NULL : failover_all(&f, &res, &settled);
	if (!settled)
		failover_all_failed(&f, last, &res);
	if (out->client_gone) {
		out->status = 499;
		out->kind = OUTCOME_CLIENT_GONE;
	} else if (out->status == 200 && out->endpoint != NULL) {
		out->kind = OUTCOME_OK;
	}
	if (req->client_stream)
		metrics_streams(req->hs, -1);
	metrics_request_route(req->hs, req->face ? req->face->name : route_name(req->kind), g->name,
			      out->kind);
	log_info(LOG_S("req", req->id), LOG_S("group", g->name),
		 LOG_S("outcome", metrics_outcome_name(out->kind)), LOG_I("status", out->status),
		 LOG_S("endpoint", out->endpoint), LOG_I("attempts", out->attempts),
		 LOG_I("ms", clock_ms() - req->started_ms),
		 LOG_S("stream", req->client_stream ? "true" : "false"),
		 LOG_S("route", req->face ? req->face->name : route_path(req->kind)));
	if (out->kind != OUTCOME_OK && !out->client_gone)
		log_error(LOG_S("req", req->id), LOG_S("group", g->name), LOG_I("status", out->status),
			  LOG_S("outcome", metrics_outcome_name(out->kind)), LOG_I("attempts", out->attempts),
			  LOG_MSG("answered with an error"));
	attempt_result_clear(&res);
	cstream_free(f.stream);
	json_object_put(f.records);
}
