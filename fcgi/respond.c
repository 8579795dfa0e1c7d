/* respond.c: immortal's own JSON answers and errors (see respond.h). */
#include "respond.h"

#include <stdlib.h>
#include <string.h>

#include "apierror.h"

void respond_body(struct conn *c, int status, const char *content_type, const char *body,
		  size_t len)
{
	/* No flush: finishing the request sends it all in one go. */
	if (c->sink.begin(c, status, content_type, NULL, 0) == IM_OK)
		(void)c->sink.write(c, body, len);
}

void respond_json(struct conn *c, int status, const char *json)
{
	respond_body(c, status, "application/json", json, strlen(json));
}

void respond_error(struct conn *c, int status, const char *message, const char *type,
		   const char *code, const char *param)
{
	char *json = apierror_text(message, type, code, param);
	respond_json(c, status, json);
	free(json);
}
