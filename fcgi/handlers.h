/* handlers.h: the endpoints immortal serves. */
#ifndef IMMORTAL_HANDLERS_H
#define IMMORTAL_HANDLERS_H

#include "app.h"
#include "route.h"

/* A model route: reads and checks the body, then fails over (failover.h). */
void handlers_serve(struct request *req, enum route_kind kind);
void handle_chat(struct request *req);
void handle_embeddings(struct request *req);
void handle_completions(struct request *req);
void handle_models(struct request *req);
void handle_health(struct request *req);
void handle_metrics(struct request *req);
/* status.c: the state of the host as an HTML page */
void handle_status(struct request *req);

#endif
