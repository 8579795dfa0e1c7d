/* router.h: which handler serves a request, by method and path tail.
 *
 * Routing looks only at the end of the path, so the service works mounted
 * under any prefix (/v1/..., /ai/v1/...) and behind any front server, which
 * each split SCRIPT_NAME, PATH_INFO and REQUEST_URI their own way. */
#ifndef IMMORTAL_ROUTER_H
#define IMMORTAL_ROUTER_H

#include "app.h"

/* Serves one request completely. */
void router_dispatch(struct request *req);

#endif
