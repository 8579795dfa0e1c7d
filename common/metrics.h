/* metrics.h: what immortal counts, and its Prometheus text rendering.
 *
 * Counters and histograms live in the host-wide shared file (hoststate.h),
 * so every process adds to the same figures and any scrape sees the host. */
#ifndef IMMORTAL_METRICS_H
#define IMMORTAL_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "catalog.h"
#include "errkind.h"
#include "hoststate.h"

/* One attempt at `ep` of `group`: its kind (ERRKIND_NONE for success), the
 * time to its first content (-1 when none came) and its duration, in ms. */
void metrics_attempt(struct hoststate *hs, const char *group, const struct endpoint *ep,
		     enum errkind kind, int64_t first_content_ms, int64_t duration_ms);
/* One finished request of `group`. */
void metrics_request(struct hoststate *hs, const char *group, enum hoststate_outcome outcome);
/* The same for a request on `route` (a face's name or route_name();
 * NULL or "chat": chat completions, counted as metrics_request does). */
void metrics_request_route(struct hoststate *hs, const char *route, const char *group,
			   enum hoststate_outcome outcome);
/* A streamed answer starts (+1) or ends (-1). */
void metrics_streams(struct hoststate *hs, int delta);
/* A chat request starts (+1) or ends (-1). */
void metrics_requests_active(struct hoststate *hs, int delta);

/* Copies the counters of `ep` in `group` into *out (zeroes when it has
 * none yet). */
void metrics_endpoint(struct hoststate *hs, const char *group, const struct endpoint *ep,
		      struct hoststate_counters *out);
/* The host-wide chat requests and streamed answers in flight. */
void metrics_in_flight(struct hoststate *hs, int64_t *requests, int64_t *streams);

/* Marks the shared records of every group and endpoint of `cat` (health
 * and counters) as still in use, so that they are not reclaimed; every
 * process calls it for its configuration at least every HOSTSTATE_KEEP_MS. */
void metrics_keep(struct hoststate *hs, const struct catalog *cat);

const char *metrics_outcome_name(enum hoststate_outcome outcome);

/* Appends the Prometheus text exposition of every group and endpoint of
 * `cat` to `out`. */
void metrics_render(struct hoststate *hs, const struct catalog *cat, int64_t now_ms,
		    struct buf *out);

#endif
