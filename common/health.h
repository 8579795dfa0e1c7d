/* health.h: endpoint health: cooldowns after failures and half-open trials.
 *
 * An endpoint that failed is skipped for a while, by kind of failure: auth
 * and permission for minutes, rate limits for the upstream's Retry-After
 * (at most the group's cooldown.max), other failures with a backoff that
 * grows with consecutive failures up to cooldown.max. A request reports
 * each endpoint it tried once, however many retries it made there. When
 * the cooldown is over the endpoint gets one trial request (half-open): the
 * first request to claim it tries it once while the others skip it; success
 * restores it. The state lives in the host-wide shared file (hoststate.h);
 * without it (lock held elsewhere, no room) every endpoint counts as
 * healthy, and the log says so once. */
#ifndef IMMORTAL_HEALTH_H
#define IMMORTAL_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "errkind.h"
#include "group.h"
#include "hoststate.h"

enum health_admit {
	HEALTH_ADMIT,            /* healthy: try it */
	HEALTH_ADMIT_TRIAL,      /* the half-open trial is ours: try it */
	HEALTH_SKIP,             /* cooling down, or another request holds the trial */
};

enum health_state {
	HEALTH_HEALTHY,
	HEALTH_COOLING,
	HEALTH_HALF_OPEN,        /* cooldown over, waiting for its trial */
	HEALTH_TRIAL,            /* a trial request is in flight */
};

struct health_info {
	enum health_state state;
	double cooldown_left_s;
	uint32_t failures;
	enum errkind last_kind;
};

/* Whether `ep` may be tried now. On SKIP, *ready_at_ms tells when it will
 * be worth trying again (for the soonest-healthy-first order). */
enum health_admit health_admit(struct hoststate *hs, const struct endpoint *ep,
			       int64_t now_ms, int64_t *ready_at_ms);

/* Records the outcome of a request's try at `ep` (ERRKIND_NONE for
 * success; the last attempt's kind after retries) and releases a trial
 * held by this process. */
void health_report(struct hoststate *hs, const struct endpoint *ep,
		   const struct cooldown *cfg, enum errkind kind,
		   long retry_after_s, int64_t now_ms);

/* Releases this process's trial on `ep` without a verdict (client left). */
void health_release(struct hoststate *hs, const struct endpoint *ep);

void health_inspect(struct hoststate *hs, const struct endpoint *ep, int64_t now_ms,
		    struct health_info *out);
const char *health_state_name(enum health_state state);

/* Whether `ep`, as defined now, refused a continuation (resume.h) before;
 * the memory ends when the endpoint's definition changes. */
bool health_refuses_prefill(struct hoststate *hs, const struct endpoint *ep);
void health_note_prefill_refused(struct hoststate *hs, const struct endpoint *ep);

/* The same, for a record named by `id`: one key of a key pool
 * (endpoint_key_id), whose own health rate limits and auth failures set. */
enum health_admit health_admit_id(struct hoststate *hs, uint64_t id, double timeout_s,
				  int64_t now_ms, int64_t *ready_at_ms);
void health_report_id(struct hoststate *hs, uint64_t id, const struct cooldown *cfg,
		      enum errkind kind, long retry_after_s, int64_t now_ms);
void health_release_id(struct hoststate *hs, uint64_t id);
void health_inspect_id(struct hoststate *hs, uint64_t id, int64_t now_ms,
		       struct health_info *out);

/* The key of pool endpoint `ep` whose turn it is (round-robin shared by
 * every process of the host); 0 without a pool. */
size_t health_next_key(struct hoststate *hs, const struct endpoint *ep);

/* A figure older than this is no longer recent (route.h explores). */
#define HEALTH_TTFT_FRESH_MS 300000
/* Records a time to first token of `ep` into its decaying average. */
void health_note_ttft(struct hoststate *hs, const struct endpoint *ep, double ms, int64_t now_ms);
/* The recent average time to first token of `ep` in ms, or -1. */
double health_ttft(struct hoststate *hs, const struct endpoint *ep, int64_t now_ms);

/* Logs `rc` of a call on the shared state the first time this process
 * meets that failure (hoststate_trouble); metrics.c reports the same way. */
void health_check_state(struct hoststate *hs, enum im_rc rc);

/* The cooldown, in ms, that `kind` earns after `failures` consecutive ones. */
int64_t health_cooldown_ms(const struct cooldown *cfg, enum errkind kind,
			   long retry_after_s, uint32_t failures);

#endif
