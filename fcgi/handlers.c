/* handlers.c: the model routes (chat, embeddings, completions), the model
 * list and health (see handlers.h). */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "apierror.h"
#include "buf.h"
#include "clientreq.h"
#include "clock.h"
#include "face_messages.h"
#include "face_responses.h"
#include "facereq.h"
#include "failover.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "routereq.h"

/* Sends `root` (consumed) as a JSON answer. */
static void handlers_send_json(struct request *req, int status, struct json_object *root)
{
	char *json = apierror_serialize(root);
	respond_json(req->conn, status, json);
	free(json);
	json_object_put(root);
}

/* A route: which API it asks upstreams for, how its body is read (NULL:
 * routereq_parse for its kind) and how its answers look (NULL: OpenAI's). */
struct handlers_route {
	enum route_kind kind;
	enum im_rc (*parse)(const char *text, size_t len, struct clientreq *out,
			    char *err, size_t errlen, const char **param);
	const struct face *face;
};

/* An error answer in the route's own shape (its face's). */
static void handlers_error(struct request *req, const struct face *face, int status,
			   const char *message, const char *type, const char *code, const char *param)
{
	if (face == NULL || face->error_answer == NULL) {
		respond_error(req->conn, status, message, type, code, param);
		return;
	}
	char *json = apierror_text(message, type, code, param);
	struct buf out;
	buf_init(&out, (size_t)-1);
	if (face->error_answer(&status, json, &out) == IM_OK)
		respond_json(req->conn, status, buf_str(&out));
	buf_free(&out);
	free(json);
}

void handlers_error_for(struct request *req, void (*handler)(struct request *), int status,
			const char *message, const char *type, const char *code, const char *param)
{
	handlers_error(req, handler == handle_messages ? &face_messages : NULL, status, message, type,
		       code, param);
}

static void handlers_bad_request(struct request *req, const struct face *face,
				 const char *message, const char *param)
{
	log_info(LOG_S("req", req->id), LOG_MSG("rejected"), LOG_S("why", message));
	handlers_error(req, face, 400, message, "invalid_request_error",
		       param ? "invalid_value" : "invalid_json", param);
}

static void handlers_run(struct request *req, enum route_kind kind, const struct clientreq *cr,
			 const struct face *face)
{
	const char *model = cr->model;

	if (req->acl != NULL && !access_allows(req->acl, req->key, model)) {
		char *msg = xasprintf("this API key may not use the model `%s`", model);
		log_info(LOG_S("req", req->id), LOG_MSG("refused: key not allowed to use the group"),
			 LOG_S("group", model));
		handlers_error(req, face, 403, msg, "permission_error", "model_not_allowed", "model");
		free(msg);
		return;
	}
	const struct group *g = catalog_find(req->catalog, model);
	if (g == NULL) {
		char *msg = xasprintf("The model `%s` does not exist: no group file %s.json is loaded",
				      model, model);
		log_info(LOG_S("req", req->id), LOG_MSG("unknown group"), LOG_S("group", model));
		handlers_error(req, face, 404, msg, "invalid_request_error", "model_not_found", "model");
		free(msg);
		return;
	}
	char client[32] = "";   /* sticky routing's identity: the access key's position */
	if (req->key >= 0)
		snprintf(client, sizeof client, "access-key-%d", req->key);
	struct failover_request freq = {
		.id = req->id, .kind = kind, .group = g, .body = cr->body, .client_stream = cr->stream,
		.include_usage = cr->include_usage, .keepalive_s = req->app->settings.keepalive_s,
		.started_ms = req->started_ms, .transport = req->transport,
		.sink = &req->conn->sink, .hs = req->site->hs, .face = face,
		.client_key = client[0] ? client : NULL,
	};
	struct failover_outcome out;
	metrics_requests_active(req->site->hs, +1);
	failover_run(&freq, &out);
	metrics_requests_active(req->site->hs, -1);
}

static void handlers_serve(struct request *req, const struct handlers_route *route)
{
	struct buf body;
	size_t max = req->app->settings.max_body;

	buf_init(&body, max);
	enum im_rc rc = conn_read_body(req->conn, max, &body);
	if (rc == IM_ETOOBIG) {
		char msg[128];
		snprintf(msg, sizeof msg, "the request body is larger than %zu bytes (IMMORTAL_MAX_BODY)", max);
		log_info(LOG_S("req", req->id), LOG_MSG("rejected: body too large"), LOG_I("max_body", max));
		handlers_error(req, route->face, 413, msg, "invalid_request_error", "request_too_large", NULL);
	} else if (rc != IM_OK) {
		log_info(LOG_S("req", req->id), LOG_MSG("client went away while sending its body"));
	} else {
		struct clientreq cr;
		const char *param;
		char msg[256];
		enum im_rc parsed = route->parse ? route->parse(buf_str(&body), body.len, &cr, msg, sizeof msg, &param)
						 : routereq_parse(route->kind, buf_str(&body), body.len, &cr, msg,
								  sizeof msg, &param);
		/* the tree holds copies of what it needs: a stream need not keep
		 * the text too, for as long as it lasts */
		buf_free(&body);
		if (parsed != IM_OK) {
			handlers_bad_request(req, route->face, msg, param);
		} else {
			handlers_run(req, route->kind, &cr, route->face);
			clientreq_free(&cr);
		}
	}
	buf_free(&body);
}

void handle_chat(struct request *req)
{
	handlers_serve(req, &(struct handlers_route){ ROUTE_CHAT, clientreq_parse, NULL });
}

void handle_responses(struct request *req)
{
	handlers_serve(req, &(struct handlers_route){ ROUTE_CHAT, facereq_responses, &face_responses });
}

void handle_messages(struct request *req)
{
	handlers_serve(req, &(struct handlers_route){ ROUTE_CHAT, facereq_messages, &face_messages });
}

void handle_embeddings(struct request *req)
{
	handlers_serve(req, &(struct handlers_route){ ROUTE_EMBEDDINGS, NULL, NULL });
}

void handle_completions(struct request *req)
{
	handlers_serve(req, &(struct handlers_route){ ROUTE_COMPLETIONS, NULL, NULL });
}

void handle_models(struct request *req)
{
	const struct catalog *cat = req->catalog;
	struct json_object *root = xcheck(json_object_new_object());
	struct json_object *data = xcheck(json_object_new_array());

	for (size_t i = 0; i < cat->n_groups; i++) {
		const char *name = cat->groups[i]->name;
		if (req->acl != NULL && !access_allows(req->acl, req->key, name))
			continue;
		struct json_object *m = xcheck(json_object_new_object());
		json_object_object_add(m, "id", xcheck(json_object_new_string(name)));
		json_object_object_add(m, "object", xcheck(json_object_new_string("model")));
		json_object_object_add(m, "created", xcheck(json_object_new_int64(req->app->started_unix)));
		json_object_object_add(m, "owned_by", xcheck(json_object_new_string("immortal")));
		json_object_array_add(data, m);
	}
	json_object_object_add(root, "object", xcheck(json_object_new_string("list")));
	json_object_object_add(root, "data", data);
	handlers_send_json(req, 200, root);
}

static void handlers_health_fields(struct json_object *o, const struct health_info *info)
{
	json_object_object_add(o, "state", xcheck(json_object_new_string(health_state_name(info->state))));
	json_object_object_add(o, "consecutive_failures", xcheck(json_object_new_int64(info->failures)));
	json_object_object_add(o, "cooldown_seconds", xcheck(json_object_new_double(info->cooldown_left_s)));
	json_object_object_add(o, "last_error", info->failures
			       ? xcheck(json_object_new_string(errkind_name(info->last_kind))) : NULL);
}

/* A pool's keys, each named by position and last four characters. */
static struct json_object *handlers_keys_health(struct request *req, const struct endpoint *ep,
						int64_t now)
{
	struct json_object *keys = xcheck(json_object_new_array());

	for (size_t k = 0; k < ep->n_keys; k++) {
		struct json_object *o = xcheck(json_object_new_object());
		struct health_info info;
		char label[16];
		endpoint_key_label(ep, k, label, sizeof label);
		health_inspect_id(req->site->hs, endpoint_key_id(ep, k), now, &info);
		json_object_object_add(o, "key", xcheck(json_object_new_string(label)));
		handlers_health_fields(o, &info);
		json_object_array_add(keys, o);
	}
	return keys;
}

static struct json_object *handlers_endpoint_health(struct request *req, const struct endpoint *ep,
						    int64_t now, bool *healthy)
{
	struct health_info info;
	struct json_object *o = xcheck(json_object_new_object());

	health_inspect(req->site->hs, ep, now, &info);
	*healthy = info.state == HEALTH_HEALTHY;
	json_object_object_add(o, "name", xcheck(json_object_new_string(ep->name)));
	handlers_health_fields(o, &info);
	if (ep->n_keys > 1)
		json_object_object_add(o, "keys", handlers_keys_health(req, ep, now));
	return o;
}

static struct json_object *handlers_group_health(struct request *req, const struct group *g,
						 int64_t now, bool *degraded)
{
	struct json_object *o = xcheck(json_object_new_object());
	struct json_object *eps = xcheck(json_object_new_array());
	bool any_healthy = false;

	for (size_t i = 0; i < g->n_endpoints; i++) {
		bool healthy;
		json_object_array_add(eps, handlers_endpoint_health(req, &g->endpoints[i], now, &healthy));
		any_healthy |= healthy;
	}
	*degraded = !any_healthy;
	json_object_object_add(o, "status", xcheck(json_object_new_string(any_healthy ? "ok" : "degraded")));
	json_object_object_add(o, "endpoints", eps);
	return o;
}

/* 200 while the process serves (a load balancer must not drop a node
 * because one provider is down); ?strict: 503 when some group is degraded. */
void handle_health(struct request *req)
{
	const struct catalog *cat = req->catalog;
	const char *query = conn_param(req->conn, "QUERY_STRING");
	struct json_object *root = xcheck(json_object_new_object());
	struct json_object *groups = xcheck(json_object_new_object());
	int64_t now = clock_ms();
	bool any_degraded = false;

	for (size_t i = 0; i < cat->n_groups; i++) {
		bool degraded;
		json_object_object_add(groups, cat->groups[i]->name,
				       handlers_group_health(req, cat->groups[i], now, &degraded));
		any_degraded |= degraded;
	}
	json_object_object_add(root, "status", xcheck(json_object_new_string(any_degraded ? "degraded" : "ok")));
	json_object_object_add(root, "groups", groups);
	bool strict = query && (strcmp(query, "strict") == 0 || strncmp(query, "strict=", 7) == 0 ||
				strstr(query, "&strict") != NULL);
	handlers_send_json(req, strict && any_degraded ? 503 : 200, root);
}

void handle_metrics(struct request *req)
{
	struct buf out;

	buf_init(&out, (size_t)-1);
	metrics_render(req->site->hs, req->catalog, clock_ms(), &out);
	respond_body(req->conn, 200, "text/plain; version=0.0.4", buf_str(&out), out.len);
	buf_free(&out);
}
