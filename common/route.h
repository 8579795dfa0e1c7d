/* route.h: what a client request asks for, and which endpoints can serve it.
 *
 * The failover engine (failover.h) and the attempt (attempt.h) are the same
 * for every route; what differs is the API an endpoint is asked in, chosen
 * here per route and endpoint type. An endpoint whose type has no dialect
 * for the route, or whose dialect refuses this particular request (say token
 * arrays where only text is understood), is skipped for it. */
#ifndef IMMORTAL_ROUTE_H
#define IMMORTAL_ROUTE_H

#include <stdbool.h>

#include "group.h"

struct json_object;
struct dialect;

enum route_kind {
	ROUTE_CHAT = 0,       /* .../chat/completions */
	ROUTE_EMBEDDINGS,     /* .../embeddings */
	ROUTE_COMPLETIONS,    /* .../completions (legacy text completions) */
};

/* The path tail a client uses, for messages ("/embeddings"). */
const char *route_path(enum route_kind kind);
/* The route's name in metrics labels ("chat", "embeddings", "completions"). */
const char *route_name(enum route_kind kind);

/* The dialect `type` speaks for `kind`, or NULL when it cannot serve it. */
const struct dialect *route_dialect(enum route_kind kind, enum endpoint_type type);

/* Whether `ep` can serve the request `client` of `kind`; when not, *why
 * says so (a static string). */
bool route_serves(enum route_kind kind, const struct endpoint *ep,
		  struct json_object *client, const char **why);

#endif
