/* health.c: cooldowns and half-open trials (see health.h). */
#include "health.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

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
		s = retry_after_s >= 0 ? (double)retry_after_s : cfg->rate_limit_s;
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

static bool health_trial_live(const struct hoststate_endpoint *e, int64_t now)
{
	if (e->trial_pid == 0 || now >= e->trial_deadline_ms)
		return false;
	/* a trial whose process died is void at once */
	return kill(e->trial_pid, 0) == 0 || errno == EPERM;
}

enum health_admit health_admit(struct hoststate *hs, const struct endpoint *ep,
			       int64_t now, int64_t *ready_at)
{
	enum health_admit verdict = HEALTH_ADMIT;

	if (hs == NULL)
		return HEALTH_ADMIT;
	hoststate_lock(hs);
	struct hoststate_endpoint *e = hoststate_endpoint(hs, ep->key, false);
	if (e == NULL || e->failures == 0) {
		verdict = HEALTH_ADMIT;
	} else if (now < e->cooldown_until_ms) {
		verdict = HEALTH_SKIP;
		*ready_at = e->cooldown_until_ms;
	} else if (health_trial_live(e, now)) {
		verdict = HEALTH_SKIP;
		*ready_at = e->cooldown_until_ms;
	} else {
		verdict = HEALTH_ADMIT_TRIAL;
		e->trial_pid = health_pid();
		e->trial_deadline_ms = now + (int64_t)(ep->timeout_s * 1000) + HEALTH_TRIAL_SLACK_MS;
	}
	hoststate_unlock(hs);
	return verdict;
}

void health_report(struct hoststate *hs, const struct endpoint *ep,
		   const struct cooldown *cfg, enum errkind kind,
		   long retry_after_s, int64_t now)
{
	if (hs == NULL)
		return;
	hoststate_lock(hs);
	struct hoststate_endpoint *e = hoststate_endpoint(hs, ep->key, true);
	if (e != NULL) {
		if (health_counts_as_alive(kind)) {
			e->failures = 0;
			e->cooldown_until_ms = 0;
		} else {
			e->failures++;
			e->last_kind = (uint8_t)kind;
			e->cooldown_until_ms = now + health_cooldown_ms(cfg, kind, retry_after_s, e->failures);
		}
		if (e->trial_pid == health_pid())
			e->trial_pid = 0;
	}
	hoststate_unlock(hs);
}

void health_release(struct hoststate *hs, const struct endpoint *ep)
{
	if (hs == NULL)
		return;
	hoststate_lock(hs);
	struct hoststate_endpoint *e = hoststate_endpoint(hs, ep->key, false);
	if (e != NULL && e->trial_pid == health_pid())
		e->trial_pid = 0;
	hoststate_unlock(hs);
}

void health_inspect(struct hoststate *hs, const struct endpoint *ep, int64_t now,
		    struct health_info *out)
{
	out->state = HEALTH_HEALTHY;
	out->cooldown_left_s = 0;
	out->failures = 0;
	out->last_kind = ERRKIND_NONE;
	if (hs == NULL)
		return;
	hoststate_lock(hs);
	struct hoststate_endpoint *e = hoststate_endpoint(hs, ep->key, false);
	if (e != NULL && e->failures > 0) {
		out->failures = e->failures;
		out->last_kind = (enum errkind)e->last_kind;
		if (now < e->cooldown_until_ms) {
			out->state = HEALTH_COOLING;
			out->cooldown_left_s = (double)(e->cooldown_until_ms - now) / 1000.0;
		} else {
			out->state = health_trial_live(e, now) ? HEALTH_TRIAL : HEALTH_HALF_OPEN;
		}
	}
	hoststate_unlock(hs);
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

bool health_refuses_prefill(struct hoststate *hs, const struct endpoint *ep)
{
	bool refuses = false;

	if (hs == NULL)
		return false;
	hoststate_lock(hs);
	struct hoststate_endpoint *e = hoststate_endpoint(hs, ep->key, false);
	refuses = e != NULL && e->no_prefill_sig == ep->sig;
	hoststate_unlock(hs);
	return refuses;
}

void health_note_prefill_refused(struct hoststate *hs, const struct endpoint *ep)
{
	if (hs == NULL)
		return;
	hoststate_lock(hs);
	struct hoststate_endpoint *e = hoststate_endpoint(hs, ep->key, true);
	if (e != NULL)
		e->no_prefill_sig = ep->sig;
	hoststate_unlock(hs);
}
