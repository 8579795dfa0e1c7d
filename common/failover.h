/* failover.h: the failover engine.
 *
 * Tries the endpoints of a group in the order route.h plans until one answers, retrying a
 * transiently failing endpoint once, and writes the one answer the client
 * sees: the serving endpoint's, the provider's own refusal, or an error that
 * lists every attempt. Endpoints cooling down (health.h) are tried only after
 * the others, soonest-healthy first, so a cooldown never fails a request by
 * itself. Logs one line per attempt and one per request, and counts both
 * (metrics.h). Endpoints that cannot serve the request's route (route.h) are
 * passed over; a group with none that can answers 400. */
#ifndef IMMORTAL_FAILOVER_H
#define IMMORTAL_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "face.h"
#include "group.h"
#include "hoststate.h"
#include "route.h"
#include "sink.h"
#include "transport.h"

struct json_object;

struct failover_request {
	const char *id;                   /* request id, for logs */
	enum route_kind kind;             /* which API the client speaks */
	const struct group *group;
	struct json_object *body;         /* the client's request; only read */
	bool client_stream;
	bool include_usage;
	unsigned keepalive_s;
	int64_t started_ms;
	struct transport *transport;
	struct sink *sink;
	struct hoststate *hs;             /* health and metrics; NULL: none */
	const struct face *face;          /* the client's wire format; NULL: chat */
	const char *client_key;           /* sticky routing's identity when the
					     body has no `user`; may be NULL */
};

struct failover_outcome {
	int status;              /* HTTP status given to the client */
	int attempts;            /* requests sent upstream */
	bool client_gone;
	enum hoststate_outcome kind;
	const char *endpoint;    /* the endpoint that answered, or NULL */
};

void failover_run(const struct failover_request *req, struct failover_outcome *out);

#endif
