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

#define FAILOVER_JITTER_MIN_MS 100
#define FAILOVER_JITTER_SPAN_MS 200

struct failover {
	const struct failover_request *req;
	struct failover_outcome *out;
	struct cstream *stream;        /* what the client sees */
	struct json_object *records;   /* the attempts, for the final error */
	bool only_request_errors;
};

/* `mark` tells a retry ("retry") or a continuation ("resume"), or NULL. */
static void failover_log_attempt(struct failover *f, const struct endpoint *ep,
				 const struct attempt_result *res, int number, const char *mark)
{
	const char *kind = res->client_gone ? "client_gone" : errkind_name(res->kind);

	if (res->kind == ERRKIND_NONE) {
		log_info(LOG_S("req", f->req->id), LOG_S("group", f->req->group->name),
			 LOG_S("endpoint", ep->name), LOG_I("attempt", number), LOG_IF(mark, LOG_I(mark, 1)),
			 LOG_S("kind", kind), LOG_I("status", res->status), LOG_I("ms", res->elapsed_ms));
		return;
	}
	char *hint = xasprintf("endpoint %s: %s", ep->name, errkind_hint(res->kind));
	log_error(LOG_S("req", f->req->id), LOG_S("group", f->req->group->name),
		  LOG_S("endpoint", ep->name), LOG_I("attempt", number), LOG_IF(mark, LOG_I(mark, 1)),
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
	struct json_object *root = res->error_body ? json_tokener_parse(res->error_body) : NULL;
	bool shaped = root && json_object_is_type(root, json_type_object) &&
		      json_object_object_get_ex(root, "error", NULL);
	json_object_put(root);
	if (shaped)
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
		return true;
	}
	failover_record(f, ep, res);
	return false;
}

static bool failover_within_budget(const struct failover *f)
{
	return clock_ms() - f->req->started_ms < (int64_t)(f->req->group->budget_s * 1000);
}

/* Whether `ep` may be asked to continue the answer that `broken` broke. */
static bool failover_may_continue(struct failover *f, const struct endpoint *ep,
				  const struct endpoint *broken)
{
	int64_t ready_at = 0;

	if (cstream_restarting(f->stream))
		return ep != broken;   /* restart on the next endpoint, no prefill */
	if (ep->continuation == CONTINUATION_NONE || health_refuses_prefill(f->req->hs, ep))
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
	const char *why = f->req->kind != ROUTE_CHAT ? "only chat answers are continued"
			: g->resume ? cstream_resume_refusal(f->stream, f->req->body)
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
		settled = failover_attempt(f, ep, &res, "resume");
		failover_health(f, ep, &res);
		if (settled)
			break;
		if (!cstream_restarting(f->stream) && res.status >= 400 && res.status < 500) {
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

/* The attempts of one try at `ep`: one, and its retries unless `trial`
 * (a half-open trial that fails proves the endpoint still down). Returns
 * true when they settled the request (answered, or the client left). */
static bool failover_tries(struct failover *f, const struct endpoint *ep,
			   struct attempt_result *res, bool trial)
{
	for (int retry = 0;; retry++) {
		if (failover_attempt(f, ep, res, retry ? "retry" : NULL))
			return true;
		if (res->broke_midstream || trial ||
		    (res->kind == ERRKIND_CONTENT_FILTER && !f->req->group->failover_on_content_filter) ||
		    !failover_should_retry(ep, res, retry))
			return false;
		if (cstream_sleep(f->stream, failover_pause_ms(res)) != IM_OK) {
			f->out->client_gone = true;
			return true;
		}
	}
}

/* Tries one endpoint, with its retries. Returns true when the request is
 * settled (answered, refused, broken or abandoned by the client). */
static bool failover_endpoint(struct failover *f, const struct endpoint *ep,
			      struct attempt_result *res, bool trial)
{
	bool settled = failover_tries(f, ep, res, trial);

	failover_health(f, ep, res);
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

/* Healthy endpoints first, in file order; then those cooling down,
 * soonest-healthy first. Returns the last endpoint tried. */
static const struct endpoint *failover_all(struct failover *f, struct attempt_result *res,
					   bool *settled)
{
	const struct group *g = f->req->group;
	struct failover_skipped *skipped = xcalloc(g->n_endpoints, sizeof *skipped);
	const struct endpoint *last = NULL;
	size_t n_skipped = 0;

	for (size_t i = 0; i < g->n_endpoints && !*settled; i++) {
		const struct endpoint *ep = &g->endpoints[i];
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
		.keepalive_s = req->keepalive_s, .started_ms = req->started_ms,
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
	metrics_request(req->hs, g->name, out->kind);
	log_info(LOG_S("req", req->id), LOG_S("group", g->name),
		 LOG_S("outcome", metrics_outcome_name(out->kind)), LOG_I("status", out->status),
		 LOG_S("endpoint", out->endpoint), LOG_I("attempts", out->attempts),
		 LOG_I("ms", clock_ms() - req->started_ms),
		 LOG_S("stream", req->client_stream ? "true" : "false"), LOG_S("route", route_path(req->kind)));
	if (out->kind != OUTCOME_OK && !out->client_gone)
		log_error(LOG_S("req", req->id), LOG_S("group", g->name), LOG_I("status", out->status),
			  LOG_S("outcome", metrics_outcome_name(out->kind)), LOG_I("attempts", out->attempts),
			  LOG_MSG("answered with an error"));
	attempt_result_clear(&res);
	cstream_free(f.stream);
	json_object_put(f.records);
}
