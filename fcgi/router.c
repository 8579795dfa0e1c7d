/* router.c: the route table (see router.h). */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "handlers.h"
#include "log.h"
#include "respond.h"

/* Who may call a route when access keys are configured. */
enum route_guard {
	GUARD_KEY,       /* always a known client key */
	GUARD_MONITOR,   /* open, unless IMMORTAL_PROTECT_METRICS=true */
};

struct route {
	const char *method;
	const char *tail;
	void (*handler)(struct request *req);
	enum route_guard guard;
};

static const struct route router_table[] = {
	{ "POST", "/chat/completions", handle_chat, GUARD_KEY },
	{ "POST", "/responses", handle_responses, GUARD_KEY },
	{ "POST", "/messages", handle_messages, GUARD_KEY },
	{ "POST", "/embeddings", handle_embeddings, GUARD_KEY },
	/* after chat: "/chat/completions" also ends in "/completions" */
	{ "POST", "/completions", handle_completions, GUARD_KEY },
	{ "GET", "/models", handle_models, GUARD_KEY },
	{ "GET", "/health", handle_health, GUARD_MONITOR },
	{ "GET", "/metrics", handle_metrics, GUARD_MONITOR },
	{ "GET", "/status", handle_status, GUARD_MONITOR },
};

/* Checks the client's key; answers 401 itself and returns false. */
static bool router_admit(struct request *req, const struct route *r)
{
	if (req->acl == NULL || (r->guard == GUARD_MONITOR && !req->app->settings.protect_metrics))
		return true;
	const char *auth = conn_param(req->conn, "HTTP_AUTHORIZATION");
	const char *xkey = conn_param(req->conn, "HTTP_X_API_KEY");
	char *bearer = NULL;
	/* Anthropic's clients send their key as x-api-key. */
	if ((auth == NULL || *auth == '\0') && xkey != NULL && *xkey != '\0')
		auth = bearer = xasprintf("Bearer %s", xkey);
	enum access_verdict v = access_check(req->acl, auth, NULL, &req->key);
	free(bearer);
	if (v == ACCESS_OK)
		return true;
	log_info(LOG_S("req", req->id),
		 LOG_MSG(v == ACCESS_MISSING ? "refused: no client key" : "refused: unknown client key"));
	handlers_error_for(req, r->handler, 401,
		      v == ACCESS_MISSING ? "an API key is required: send Authorization: Bearer KEY"
					  : "incorrect API key provided",
		      "invalid_request_error", "invalid_api_key", NULL);
	return false;
}

/* The request path without its query, from REQUEST_URI or the split
 * variables, with one trailing slash dropped (caller frees). On the heap:
 * whatever a worker's stack ever held stays resident for the thread's
 * life, and every request runs below this frame. */
static char *router_path(const struct conn *c)
{
	const char *uri = conn_param(c, "REQUEST_URI");
	char *out;

	if (uri && uri[0]) {
		out = xstrndup(uri, strcspn(uri, "?#"));
	} else {
		const char *script = conn_param(c, "SCRIPT_NAME");
		const char *info = conn_param(c, "PATH_INFO");
		out = xasprintf("%s%s", script ? script : "", info ? info : "");
	}
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '/')
		out[n - 1] = '\0';
	return out;
}

static bool router_tail_matches(const char *path, const char *tail)
{
	size_t pn = strlen(path), tn = strlen(tail);
	return pn >= tn && strcmp(path + pn - tn, tail) == 0;
}

static void router_route(struct request *req, const char *path)
{
	const char *method = conn_param(req->conn, "REQUEST_METHOD");
	const struct route *known = NULL;

	if (method == NULL)
		method = "GET";
	for (size_t i = 0; i < sizeof router_table / sizeof router_table[0]; i++) {
		const struct route *r = &router_table[i];
		if (!router_tail_matches(path, r->tail))
			continue;
		known = r;
		if (strcmp(method, r->method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			if (router_admit(req, r))
				r->handler(req);
			return;
		}
	}
	if (known != NULL) {
		log_info(LOG_S("req", req->id), LOG_S("method", method), LOG_S("path", path),
			 LOG_MSG("method not allowed"));
		handlers_error_for(req, known->handler, 405, "method not allowed on this path",
			      "invalid_request_error", "method_not_allowed", NULL);
		return;
	}
	log_info(LOG_S("req", req->id), LOG_S("method", method), LOG_S("path", path),
		 LOG_MSG("no such route"));
	respond_error(req->conn, 404, "unknown path: immortal serves .../chat/completions, .../completions, .../embeddings, .../responses, .../messages, .../models, .../health, .../metrics and .../status",
		      "invalid_request_error", "not_found", NULL);
}

void router_dispatch(struct request *req)
{
	char *path = router_path(req->conn);

	router_route(req, path);
	free(path);
}
