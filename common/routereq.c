/* routereq.c: checking embeddings and legacy completions requests (see routereq.h). */
#include "routereq.h"

#include <stdio.h>
#include <string.h>

static bool routereq_fail(char *err, size_t errlen, const char **param, const char *field,
			  const char *message)
{
	snprintf(err, errlen, "%s", message);
	*param = field;
	return false;
}

static bool routereq_all(struct json_object *arr, enum json_type type)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!json_object_is_type(json_object_array_get_idx(arr, i), type))
			return false;
	return true;
}

/* Non-empty arrays of integers, each of them. */
static bool routereq_token_arrays(struct json_object *arr)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *t = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(t, json_type_array) || json_object_array_length(t) == 0 ||
		    !routereq_all(t, json_type_int))
			return false;
	}
	return true;
}

/* A text, texts, tokens or token arrays: what both routes take as input. */
static bool routereq_input_ok(struct json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		return true;
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return false;
	return routereq_all(v, json_type_string) || routereq_all(v, json_type_int) ||
	       routereq_token_arrays(v);
}

static bool routereq_embeddings(struct clientreq *r, char *err, size_t errlen, const char **param)
{
	struct json_object *v;

	if (!json_object_object_get_ex(r->body, "input", &v) || !routereq_input_ok(v))
		return routereq_fail(err, errlen, param, "input",
				     "input must be a string, or a non-empty array of strings, "
				     "of token ids or of token id arrays");
	if (json_object_object_get_ex(r->body, "encoding_format", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_string) ||
	     (strcmp(json_object_get_string(v), "float") != 0 &&
	      strcmp(json_object_get_string(v), "base64") != 0)))
		return routereq_fail(err, errlen, param, "encoding_format",
				     "encoding_format must be \"float\" or \"base64\"");
	if (json_object_object_get_ex(r->body, "dimensions", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0))
		return routereq_fail(err, errlen, param, "dimensions",
				     "dimensions must be a positive integer");
	if (json_object_object_get_ex(r->body, "stream", &v) && json_object_get_boolean(v))
		return routereq_fail(err, errlen, param, "stream", "embeddings are not streamed");
	return true;
}

static bool routereq_completions(struct clientreq *r, char *err, size_t errlen, const char **param)
{
	struct json_object *v, *opts;

	if (!json_object_object_get_ex(r->body, "prompt", &v) || !routereq_input_ok(v))
		return routereq_fail(err, errlen, param, "prompt",
				     "prompt must be a string, or a non-empty array of strings, "
				     "of token ids or of token id arrays");
	if (json_object_object_get_ex(r->body, "stream", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean))
			return routereq_fail(err, errlen, param, "stream", "stream must be true or false");
		r->stream = json_object_get_boolean(v);
	}
	r->include_usage = json_object_object_get_ex(r->body, "stream_options", &opts) &&
			   json_object_object_get_ex(opts, "include_usage", &v) &&
			   json_object_get_boolean(v);
	return true;
}

enum im_rc routereq_parse(enum route_kind kind, const char *text, size_t len,
			  struct clientreq *out, char *err, size_t errlen, const char **param)
{
	struct json_object *v;
	bool ok;

	if (kind == ROUTE_CHAT)
		return clientreq_parse(text, len, out, err, errlen, param);
	memset(out, 0, sizeof *out);
	*param = NULL;
	out->body = clientreq_json(text, len, err, errlen);
	if (out->body == NULL)
		return IM_EINVAL;
	if (!json_object_object_get_ex(out->body, "model", &v) || !json_object_is_type(v, json_type_string)) {
		ok = routereq_fail(err, errlen, param, "model",
				   "you must provide a model (the name of a model group)");
	} else {
		out->model = json_object_get_string(v);
		ok = kind == ROUTE_EMBEDDINGS ? routereq_embeddings(out, err, errlen, param)
					      : routereq_completions(out, err, errlen, param);
	}
	if (!ok) {
		clientreq_free(out);
		return IM_EINVAL;
	}
	return IM_OK;
}
