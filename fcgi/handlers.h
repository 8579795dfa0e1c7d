/* handlers.h: the endpoints immortal serves. */
#ifndef IMMORTAL_HANDLERS_H
#define IMMORTAL_HANDLERS_H

#include "app.h"

void handle_chat(struct request *req);
/* OpenAI's Responses API and Anthropic's Messages API, served as chat */
void handle_responses(struct request *req);
void handle_messages(struct request *req);
/* An error answer in the shape of the route whose handler is `handler`
 * (respond_error's arguments). */
void handlers_error_for(struct request *req, void (*handler)(struct request *), int status,
			const char *message, const char *type, const char *code, const char *param);
void handle_embeddings(struct request *req);
void handle_completions(struct request *req);
void handle_models(struct request *req);
void handle_health(struct request *req);
void handle_metrics(struct request *req);
/* status.c: the state of the host as an HTML page */
void handle_status(struct request *req);

#endif
