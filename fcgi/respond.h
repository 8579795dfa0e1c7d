/* respond.h: writing immortal's own answers (not an upstream's) to a client. */
#ifndef IMMORTAL_RESPOND_H
#define IMMORTAL_RESPOND_H

#include "conn.h"

/* Sends a complete answer of any type. */
void respond_body(struct conn *c, int status, const char *content_type, const char *body,
		  size_t len);
/* Sends a complete JSON answer. */
void respond_json(struct conn *c, int status, const char *json);

/* Sends an OpenAI-shaped error; `code` and `param` may be NULL. */
void respond_error(struct conn *c, int status, const char *message, const char *type,
		   const char *code, const char *param);

#endif
