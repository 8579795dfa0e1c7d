/* handlers.c: chat completions, the model list and health (see handlers.h). */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "apierror.h"
#include "buf.h"
#include "failover.h"
#include "log.h"
#include "respond.h"

#define HANDLERS_JSON_DEPTH 128

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

static void handlers_run(struct request *req, struct catalog *cat, struct json_object *body)
{
	const char *model;
	bool stream, usage;

	if (!handlers_validate(req, body, &model, &stream, &usage))
		return;
	const struct group *g = catalog_find(cat, model);
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
		.sink = &req->conn->sink,
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
			struct catalog *cat = app_catalog(req->app);
			handlers_run(req, cat, json);
			catalog_unref(cat);
			json_object_put(json);
		}
	}
	buf_free(&body);
}

void handle_models(struct request *req)
{
	struct catalog *cat = app_catalog(req->app);
	struct json_object *root = xcheck(json_object_new_object());
	struct json_object *data = xcheck(json_object_new_array());

	for (size_t i = 0; i < cat->n_groups; i++) {
		struct json_object *m = xcheck(json_object_new_object());
		json_object_object_add(m, "id", xcheck(json_object_new_string(cat->groups[i]->name)));
		json_object_object_add(m, "object", xcheck(json_object_new_string("model")));
		json_object_object_add(m, "created", xcheck(json_object_new_int64(req->app->started_unix)));
		json_object_object_add(m, "owned_by", xcheck(json_object_new_string("immortal")));
		json_object_array_add(data, m);
	}
	json_object_object_add(root, "object", xcheck(json_object_new_string("list")));
	json_object_object_add(root, "data", data);
	char *json = apierror_serialize(root);
	respond_json(req->conn, 200, json);
	free(json);
	json_object_put(root);
	catalog_unref(cat);
}

void handle_health(struct request *req)
{
	struct catalog *cat = app_catalog(req->app);
	char json[128];

	snprintf(json, sizeof json, "{\"status\":\"ok\",\"groups\":%zu}", cat->n_groups);
	respond_json(req->conn, 200, json);
	catalog_unref(cat);
}
