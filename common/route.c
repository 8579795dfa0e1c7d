/* route.c: the dialect for each route and endpoint type (see route.h). */
#include "route.h"

#include <stddef.h>

#include "dialect.h"

/* How each route is called: the path tail clients use, the metrics label. */
static const struct {
	const char *path;
	const char *name;
} route_names[] = {
	[ROUTE_CHAT] = { "/chat/completions", "chat" },
	[ROUTE_EMBEDDINGS] = { "/embeddings", "embeddings" },
	[ROUTE_COMPLETIONS] = { "/completions", "completions" },
};

static enum route_kind route_known(enum route_kind kind)
{
	return (size_t)kind < sizeof route_names / sizeof *route_names ? kind : ROUTE_CHAT;
}

const char *route_path(enum route_kind kind)
{
	return route_names[route_known(kind)].path;
}

const char *route_name(enum route_kind kind)
{
	return route_names[route_known(kind)].name;
}

const struct dialect *route_dialect(enum route_kind kind, enum endpoint_type type)
{
	bool openai_style = type == ENDPOINT_OPENAI || type == ENDPOINT_CHUTES ||
			    type == ENDPOINT_OPENROUTER;

	switch (kind) {
	case ROUTE_CHAT:
		return dialect_for(type);
	case ROUTE_EMBEDDINGS:
		if (type == ENDPOINT_GEMINI)
			return &dialect_gemini_embeddings;
		return openai_style ? &dialect_openai_embeddings : NULL;
	case ROUTE_COMPLETIONS:
		return openai_style ? &dialect_openai_completions : NULL;
	}
	return NULL;
}

bool route_serves(enum route_kind kind, const struct endpoint *ep,
		  struct json_object *client, const char **why)
{
	const struct dialect *d = route_dialect(kind, ep->type);

	*why = NULL;
	if (d == NULL) {
		*why = "its type has no such API";
		return false;
	}
	if (d->refuses != NULL)
		*why = d->refuses(client);
	return *why == NULL;
}
