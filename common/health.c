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
void health_check_state(struct hoststate *hs, enum im_rc rc)
{
	const char *why = hoststate_trouble(hs, rc);
	if (why != NULL)
		log_error(LOG_MSG("state file:"), LOG_S("path", hoststate_path(hs)), LOG_S("why", why));
}

struct health_copy {
	bool found;
	struct hoststate_health e;
};

static void health_copy_rec(void *rec, void *arg)
{
	struct health_copy *c = arg;

	if (rec != NULL) {
		c->e = *(struct hoststate_health *)rec;
		c->found = true;
	}
}

/* Copies the record `id` into *e, so that readers decide outside the
 * lock; false when there is none (or no state). */
static bool health_read(struct hoststate *hs, uint64_t id, struct hoststate_health *e)
{
	struct health_copy c = { .found = false };

	if (hs != NULL)
		health_check_state(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, false, health_copy_rec, &c));
	*e = c.e;
	return c.found;
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
	health_check_state(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, false, health_admit_rec, &c));
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
	health_check_state(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, true, health_report_rec, &c));
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
	health_check_state(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, id, false, health_release_rec, NULL));
}

void health_release(struct hoststate *hs, const struct endpoint *ep)
{
	health_release_id(hs, ep->key);
}

void health_inspect(struct hoststate *hs, const struct endpoint *ep, int64_t now,
		    struct health_info *out)
{
	health_inspect_id(hs, ep->key, now, out);
}

void health_inspect_id(struct hoststate *hs, uint64_t id, int64_t now,
		       struct health_info *out)
{
	struct hoststate_health e;

	out->state = HEALTH_HEALTHY;
	out->cooldown_left_s = 0;
	out->failures = 0;
	out->last_kind = ERRKIND_NONE;
	if (!health_read(hs, id, &e) || e.failures == 0)
		return;
	out->failures = e.failures;
	out->last_kind = (enum errkind)e.last_kind;
	if (now < e.cooldown_until_ms) {
		out->state = HEALTH_COOLING;
		out->cooldown_left_s = (double)(e.cooldown_until_ms - now) / 1000.0;
	} else {
		out->state = health_trial_live(&e, now) ? HEALTH_TRIAL : HEALTH_HALF_OPEN;
	}
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

static void health_prefill_set(void *rec, void *arg)
{
	((struct hoststate_health *)rec)->no_prefill_sig = *(const uint64_t *)arg;
}

bool health_refuses_prefill(struct hoststate *hs, const struct endpoint *ep)
{
	struct hoststate_health e;

	return health_read(hs, ep->key, &e) && e.no_prefill_sig == ep->sig;
}

void health_note_prefill_refused(struct hoststate *hs, const struct endpoint *ep)
{
	uint64_t sig = ep->sig;

	if (hs == NULL)
		return;
	health_check_state(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, ep->key, true, health_prefill_set, &sig));
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
		health_check_state(hs, hoststate_apply(hs, HOSTSTATE_HEALTH, ep->key, true,
						       health_ttft_note_rec, &c));
}

double health_ttft(struct hoststate *hs, const struct endpoint *ep, int64_t now)
{
	struct hoststate_health e;

	if (health_read(hs, ep->key, &e) && e.ttft_at_ms != 0 && now - e.ttft_at_ms < HEALTH_TTFT_FRESH_MS)
		return e.ttft_avg_ms;
	return -1;
}
