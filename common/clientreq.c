/* clientreq.c: parsing and checking a client's chat request (see clientreq.h). */
#include "clientreq.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

#define CLIENTREQ_JSON_DEPTH 128

struct json_object *clientreq_object(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok = xcheck(json_tokener_new_ex(CLIENTREQ_JSON_DEPTH));
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);

	if (root != NULL && jerr == json_tokener_success && end < len) {
		/* trailing bytes after the object: only white space is fine */
		for (size_t i = end; i < len; i++)
			if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
				jerr = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
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
	memset(out, 0, sizeof *out);
	*param = NULL;
	out->body = clientreq_object(text, len, err, errlen);
	if (out->body == NULL)
		return IM_EINVAL;
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
