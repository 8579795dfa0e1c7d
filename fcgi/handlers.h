/* handlers.h: the endpoints immortal serves. */
#ifndef IMMORTAL_HANDLERS_H
#define IMMORTAL_HANDLERS_H

#include "app.h"

void handle_chat(struct request *req);
void handle_models(struct request *req);
void handle_health(struct request *req);
void handle_metrics(struct request *req);
/* status.c: the state of the host as an HTML page */
void handle_status(struct request *req);

#endif
