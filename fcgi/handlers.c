/* handlers.c: chat completions, the model list and health (see handlers.h). */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "apierror.h"
#include "buf.h"
#include "clock.h"
#include "failover.h"
#include "health.h"
#include "jsonraw.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"

#define HANDLERS_JSON_DEPTH 128

/* Sends `root` (consumed) as a JSON answer. */
static void handlers_send_json(struct request *req, int status, struct json_object *root)
{
	char *json = apierror_serialize(root);
	respond_json(req->conn, status, json);
	free(json);
	json_object_put(root);
}

static void handlers_bad_request(struct request *req, const char *message, const char *param)
{
	log_info("req=%s rejected: %s", req->id, message);
	respond_error(req->conn, 400, message, "invalid_request_error",
		      param ? "invalid_value" : "invalid_json", param);
}

static struct json_object *handlers_parse(struct request *req, const struct buf *body)
{
	struct json_tokener *tok = xcheck(json_tokener_new_ex(HANDLERS_JSON_DEPTH));
	struct json_object *root = json_tokener_parse_ex(tok, buf_str(body), (int)body->len);
	enum json_tokener_error err = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);

	if (root != NULL && err == json_tokener_success && end < body->len) {
		/* trailing bytes after the object: only white space is fine */
		for (size_t i = end; i < body->len; i++)
			if (!strchr(" \t\r\n", body->data[i]))
				err = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (root == NULL || err != json_tokener_success) {
		char msg[256];
		snprintf(msg, sizeof msg, "the request body is not valid JSON: %s",
			 err == json_tokener_continue ? "unexpected end of input"
						      : json_tokener_error_desc(err));
		json_object_put(root);
		handlers_bad_request(req, msg, NULL);
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		handlers_bad_request(req, "the request body must be a JSON object", NULL);
		return NULL;
	}
	/* Forwarded members print as the client spelled them; a body json-c
	 * accepts beyond strict JSON keeps json-c's spelling past that point. */
	(void)jsonraw_pin(root, buf_str(body), body->len);
	return root;
}

/* Checks the fields immortal itself relies on; the rest is the upstream's. */
static bool handlers_validate(struct request *req, struct json_object *body,
			      const char **model, bool *stream, bool *usage)
{
	struct json_object *v, *opts;

	if (!json_object_object_get_ex(body, "model", &v) || !json_object_is_type(v, json_type_string)) {
		handlers_bad_request(req, "you must provide a model (the name of a model group)", "model");
		return false;
	}
	*model = json_object_get_string(v);
	if (!json_object_object_get_ex(body, "messages", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0) {
		handlers_bad_request(req, "messages must be a non-empty array", "messages");
		return false;
	}
	*stream = false;
	if (json_object_object_get_ex(body, "stream", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean)) {
			handlers_bad_request(req, "stream must be true or false", "stream");
			return false;
		}
		*stream = json_object_get_boolean(v);
	}
	*usage = json_object_object_get_ex(body, "stream_options", &opts) &&
		 json_object_object_get_ex(opts, "include_usage", &v) &&
		 json_object_get_boolean(v);
	return true;
}

static void handlers_run(struct request *req, struct json_object *body)
{
	const char *model;
	bool stream, usage;

	if (!handlers_validate(req, body, &model, &stream, &usage))
		return;
	if (req->acl != NULL && !access_allows(req->acl, req->key, model)) {
		char *msg = xasprintf("this API key may not use the model `%s`", model);
		log_info("req=%s refused: key not allowed to use group %s", req->id, model);
		respond_error(req->conn, 403, msg, "permission_error", "model_not_allowed", "model");
		free(msg);
		return;
	}
	const struct group *g = catalog_find(req->catalog, model);
	if (g == NULL) {
		char *msg = xasprintf("The model `%s` does not exist: no group file %s.json is loaded",
				      model, model);
		log_info("req=%s unknown group %s", req->id, model);
		respond_error(req->conn, 404, msg, "invalid_request_error", "model_not_found", "model");
		free(msg);
		return;
	}
	struct failover_request freq = {
		.id = req->id, .group = g, .body = body, .client_stream = stream,
		.include_usage = usage, .keepalive_s = req->app->settings.keepalive_s,
		.started_ms = req->started_ms, .transport = req->transport,
		.sink = &req->conn->sink, .hs = req->site->hs,
	};
	struct failover_outcome out;
	failover_run(&freq, &out);
}

void handle_chat(struct request *req)
{
	struct buf body;
	size_t max = req->app->settings.max_body;

	buf_init(&body, max);
	enum im_rc rc = conn_read_body(req->conn, max, &body);
	if (rc == IM_ETOOBIG) {
		char msg[128];
		snprintf(msg, sizeof msg, "the request body is larger than %zu bytes (IMMORTAL_MAX_BODY)", max);
		log_info("req=%s rejected: body over %zu bytes", req->id, max);
		respond_error(req->conn, 413, msg, "invalid_request_error", "request_too_large", NULL);
	} else if (rc != IM_OK) {
		log_info("req=%s client went away while sending its body", req->id);
	} else {
		struct json_object *json = handlers_parse(req, &body);
		if (json != NULL) {
			handlers_run(req, json);
			json_object_put(json);
		}
	}
	buf_free(&body);
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

static struct json_object *handlers_endpoint_health(struct request *req, const struct endpoint *ep,
						    int64_t now, bool *healthy)
{
	struct health_info info;
	struct json_object *o = xcheck(json_object_new_object());

	health_inspect(req->site->hs, ep, now, &info);
	*healthy = info.state == HEALTH_HEALTHY;
	json_object_object_add(o, "name", xcheck(json_object_new_string(ep->name)));
	json_object_object_add(o, "state", xcheck(json_object_new_string(health_state_name(info.state))));
	json_object_object_add(o, "consecutive_failures", xcheck(json_object_new_int64(info.failures)));
	json_object_object_add(o, "cooldown_seconds", xcheck(json_object_new_double(info.cooldown_left_s)));
	json_object_object_add(o, "last_error", info.failures
			       ? xcheck(json_object_new_string(errkind_name(info.last_kind))) : NULL);
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
