/* health.c: cooldowns and half-open trials (see health.h). */
#include "health.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "log.h"
#include "plan.h"

/* A trial that has run this long past its endpoint's timeout is void. */
#define HEALTH_TRIAL_SLACK_MS 5000

/* getpid() is a system call each time; immortal never forks after start. */
static int32_t health_pid(void)
{
	static int32_t pid;
	if (pid == 0)
		pid = (int32_t)getpid();
	return pid;
}

static bool health_counts_as_alive(enum errkind kind)
{
	/* The endpoint answered; only the request was at fault. */
	return kind == ERRKIND_NONE || kind == ERRKIND_REQUEST || kind == ERRKIND_CONTENT_FILTER;
}

int64_t health_cooldown_ms(const struct cooldown *cfg, enum errkind kind,
			   long retry_after_s, uint32_t failures)
{
	double s;

	switch (kind) {
	case ERRKIND_AUTH:
		s = cfg->auth_s;
		break;
	case ERRKIND_PERMISSION:
		s = cfg->permission_s;
		break;
	case ERRKIND_RATE_LIMIT:
		/* the upstream's word, but never longer than the group allows */
		s = retry_after_s < 0 ? cfg->rate_limit_s
		    : (double)retry_after_s < cfg->max_s ? (double)retry_after_s : cfg->max_s;
		break;
	default:
		s = cfg->base_s;
		for (uint32_t i = 1; i < failures && s < cfg->max_s; i++)
			s *= 2;
		if (s > cfg->max_s)
			s = cfg->max_s;
		break;
	}
	return (int64_t)(s * 1000);
}

static bool health_trial_live(const struct hoststate_health *e, int64_t now)
{
	if (e->trial_pid == 0 || now >= e->trial_deadline_ms)
		return false;
	/* a trial whose process died is void at once */
	return kill(e->trial_pid, 0) == 0 || errno == EPERM;
}

/* Without the shared state (lock held elsewhere, tables full) endpoints
 * count as healthy: better a failed attempt than none; the log says so once. */
static void health_check(struct hoststate *hs, enum im_rc rc)
{
	const char *why = hoststate_trouble(hs, rc);
	if (why != NULL)
		log_error(LOG_MSG("state file:"), LOG_S("path", hoststate_path(hs)), LOG_S("why", why));
}

struct health_admit_ctx {
	double timeout_s;
	int64_t now;
	int64_t ready_at;
	enum health_admit verdict;
};

static void health_admit_rec(void *rec, void *arg)
{
	struct hoststate_health *e = rec;
	struct health_admit_ctx *c = arg;

	if (e == NULL || e->failures == 0) {
		c->verdict = HEALTH_ADMIT;
	} else if (c->now < e->cooldown_until_ms || health_trial_live(e, c->now)) {
		c->verdict = HEALTH_SKIP;
		c->ready_at = e->cooldown_until_ms;
	} else {
		c->verdict = HEALTH_ADMIT_TRIAL;
		e->trial_pid = health_pid();
		e->trial_deadline_ms = c->now + (int64_t)(c->timeout_s * 1000) + HEALTH_TRIAL_SLACK_MS;
	}
}

enum health_admit health_admit_id(struct hoststate *hs, uint64_t id, double timeout_s,
				  int64_t now, int64_t *ready_at)
{
	struct health_admit_ctx c = { .timeout_s = timeout_s, .now = now, .verdict = HEALTH_ADMIT };

	if (hs == NULL)
		return HEALTH_ADMIT;
	health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, false, health_admit_rec, &c));
	*ready_at = c.ready_at;
	return c.verdict;
}

enum health_admit health_admit(struct hoststate *hs, const struct endpoint *ep,
			       int64_t now, int64_t *ready_at)
{
	return health_admit_id(hs, ep->key, ep->timeout_s, now, ready_at);
}

struct health_report_ctx {
	const struct cooldown *cfg;
	enum errkind kind;
	long retry_after_s;
	int64_t now;
};

static void health_report_rec(void *rec, void *arg)
{
	struct hoststate_health *e = rec;
	struct health_report_ctx *c = arg;

	if (health_counts_as_alive(c->kind)) {
		e->failures = 0;
		e->cooldown_until_ms = 0;
	} else {
		e->failures++;
		e->last_kind = (uint8_t)c->kind;
		e->cooldown_until_ms = c->now + health_cooldown_ms(c->cfg, c->kind, c->retry_after_s, e->failures);
	}
	if (e->trial_pid == health_pid())
		e->trial_pid = 0;
}

void health_report_id(struct hoststate *hs, uint64_t id, const struct cooldown *cfg,
		      enum errkind kind, long retry_after_s, int64_t now)
{
	struct health_report_ctx c = { cfg, kind, retry_after_s, now };

	if (hs == NULL)
		return;
	health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, true, health_report_rec, &c));
}

void health_report(struct hoststate *hs, const struct endpoint *ep,
		   const struct cooldown *cfg, enum errkind kind,
		   long retry_after_s, int64_t now)
{
	health_report_id(hs, ep->key, cfg, kind, retry_after_s, now);
}

static void health_release_rec(void *rec, void *arg)
{
	struct hoststate_health *e = rec;

	(void)arg;
	if (e != NULL && e->trial_pid == health_pid())
		e->trial_pid = 0;
}

void health_release_id(struct hoststate *hs, uint64_t id)
{
	if (hs == NULL)
		return;
	health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, false, health_release_rec, NULL));
}

void health_release(struct hoststate *hs, const struct endpoint *ep)
{
	health_release_id(hs, ep->key);
}

struct health_inspect_ctx {
	int64_t now;
	struct health_info *out;
};

static void health_inspect_rec(void *rec, void *arg)
{
	struct hoststate_health *e = rec;
	struct health_inspect_ctx *c = arg;

	if (e == NULL || e->failures == 0)
		return;
	c->out->failures = e->failures;
	c->out->last_kind = (enum errkind)e->last_kind;
	if (c->now < e->cooldown_until_ms) {
		c->out->state = HEALTH_COOLING;
		c->out->cooldown_left_s = (double)(e->cooldown_until_ms - c->now) / 1000.0;
	} else {
		c->out->state = health_trial_live(e, c->now) ? HEALTH_TRIAL : HEALTH_HALF_OPEN;
	}
}

void health_inspect(struct hoststate *hs, const struct endpoint *ep, int64_t now,
		    struct health_info *out)
{
	health_inspect_id(hs, ep->key, now, out);
}

void health_inspect_id(struct hoststate *hs, uint64_t id, int64_t now,
		       struct health_info *out)
{
	struct health_inspect_ctx c = { now, out };

	out->state = HEALTH_HEALTHY;
	out->cooldown_left_s = 0;
	out->failures = 0;
	out->last_kind = ERRKIND_NONE;
	if (hs == NULL)
		return;
	health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, false, health_inspect_rec, &c));
}

const char *health_state_name(enum health_state state)
{
	switch (state) {
	case HEALTH_COOLING: return "cooling";
	case HEALTH_HALF_OPEN: return "half_open";
	case HEALTH_TRIAL: return "trial";
	default: return "healthy";
	}
}

struct health_prefill_ctx {
	uint64_t sig;
	bool refuses;
};

static void health_prefill_get(void *rec, void *arg)
{
	struct hoststate_health *e = rec;
	struct health_prefill_ctx *c = arg;

	c->refuses = e != NULL && e->no_prefill_sig == c->sig;
}

static void health_prefill_set(void *rec, void *arg)
{
	((struct hoststate_health *)rec)->no_prefill_sig = ((struct health_prefill_ctx *)arg)->sig;
}

bool health_refuses_prefill(struct hoststate *hs, const struct endpoint *ep)
{
	struct health_prefill_ctx c = { ep->sig, false };

	if (hs == NULL)
		return false;
	health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, ep->key, false, health_prefill_get, &c));
	return c.refuses;
}

void health_note_prefill_refused(struct hoststate *hs, const struct endpoint *ep)
{
	struct health_prefill_ctx c = { ep->sig, true };

	if (hs == NULL)
		return;
	health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, ep->key, true, health_prefill_set, &c));
}

static void health_turn_rec(void *rec, void *arg)
{
	struct hoststate_health *e = rec;
	*(uint32_t *)arg = e->next_key++;
}

size_t health_next_key(struct hoststate *hs, const struct endpoint *ep)
{
	static uint32_t private_turn;   /* without the shared state */
	uint32_t turn = 0;

	if (ep->n_keys < 2)
		return 0;
	if (hs == NULL ||
	    hoststate_apply(hs, HOSTSTATE_HEALTH, ep->key, true, health_turn_rec, &turn) != IM_OK)
		turn = __atomic_fetch_add(&private_turn, 1, __ATOMIC_RELAXED);
	return turn % ep->n_keys;
}

struct health_ttft_ctx {
	double ms;
	int64_t now;
};

static void health_ttft_note_rec(void *rec, void *arg)
{
	struct hoststate_health *e = rec;
	struct health_ttft_ctx *c = arg;

	e->ttft_avg_ms = plan_ttft_average(e->ttft_at_ms ? e->ttft_avg_ms : -1, c->ms);
	e->ttft_at_ms = c->now;
}

void health_note_ttft(struct hoststate *hs, const struct endpoint *ep, double ms, int64_t now)
{
	struct health_ttft_ctx c = { ms, now };

	if (hs != NULL)
		health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, ep->key, true,
						 health_ttft_note_rec, &c));
}

static void health_ttft_get_rec(void *rec, void *arg)
{
	struct hoststate_health *e = rec;
	struct health_ttft_ctx *c = arg;

	if (e != NULL && e->ttft_at_ms != 0 && c->now - e->ttft_at_ms < HEALTH_TTFT_FRESH_MS)
		c->ms = e->ttft_avg_ms;
}

double health_ttft(struct hoststate *hs, const struct endpoint *ep, int64_t now)
{
	struct health_ttft_ctx c = { -1, now };

	if (hs != NULL)
		health_check(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, ep->key, false,
						 health_ttft_get_rec, &c));
	return c.ms;
}
