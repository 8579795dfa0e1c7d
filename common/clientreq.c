/* clientreq.c: parsing and checking a client's chat request (see clientreq.h). */
#include "clientreq.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "jsonparse.h"
#include "jsonraw.h"

/* The object, or NULL with err set (clientreq.h). */
struct json_object *clientreq_json(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok = jsonparse_take(JSONPARSE_DEEP);
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);

	if (root != NULL && jerr == json_tokener_success && end < len) {
		/* trailing bytes after the object: only white space is fine */
		for (size_t i = end; i < len; i++)
			if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
				jerr = json_tokener_error_parse_unexpected;
	}
	jsonparse_give(tok, JSONPARSE_DEEP);
	if (root == NULL || jerr != json_tokener_success) {
		snprintf(err, errlen, "the request body is not valid JSON: %s",
			 jerr == json_tokener_continue ? "unexpected end of input"
						       : json_tokener_error_desc(jerr));
		json_object_put(root);
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		snprintf(err, errlen, "the request body must be a JSON object");
		return NULL;
	}
	/* Forwarded members print as the client spelled them; a body json-c
	 * accepts beyond strict JSON keeps json-c's spelling past that point. */
	(void)jsonraw_pin(root, text, len);
	return root;
}

/* Checks the fields immortal relies on; *param names the one at fault. */
static bool clientreq_check(struct clientreq *r, char *err, size_t errlen, const char **param)
{
	struct json_object *v, *opts;

	if (!json_object_object_get_ex(r->body, "model", &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "you must provide a model (the name of a model group)");
		*param = "model";
		return false;
	}
	r->model = json_object_get_string(v);
	if (!json_object_object_get_ex(r->body, "messages", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0) {
		snprintf(err, errlen, "messages must be a non-empty array");
		*param = "messages";
		return false;
	}
	r->stream = false;
	if (json_object_object_get_ex(r->body, "stream", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean)) {
			snprintf(err, errlen, "stream must be true or false");
			*param = "stream";
			return false;
		}
		r->stream = json_object_get_boolean(v);
	}
	r->include_usage = json_object_object_get_ex(r->body, "stream_options", &opts) &&
			   json_object_object_get_ex(opts, "include_usage", &v) &&
			   json_object_get_boolean(v);
	return true;
}

enum im_rc clientreq_parse(const char *text, size_t len, struct clientreq *out,
			   char *err, size_t errlen, const char **param)
{
	*param = NULL;
	struct json_object *body = clientreq_json(text, len, err, errlen);
	if (body == NULL) {
		memset(out, 0, sizeof *out);
		return IM_EINVAL;
	}
	return clientreq_adopt(body, out, err, errlen, param);
}

enum im_rc clientreq_adopt(struct json_object *body, struct clientreq *out,
			   char *err, size_t errlen, const char **param)
{
	memset(out, 0, sizeof *out);
	*param = NULL;
	out->body = body;
	if (!clientreq_check(out, err, errlen, param)) {
		clientreq_free(out);
		return IM_EINVAL;
	}
	return IM_OK;
}

void clientreq_free(struct clientreq *r)
{
	json_object_put(r->body);
	memset(r, 0, sizeof *r);
}
