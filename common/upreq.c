/* upreq.c: building an endpoint's request body and headers (see upreq.h). */
#include "upreq.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "alloc.h"
#include "jsonraw.h"

bool upreq_wants_stream(const struct endpoint *ep, bool client_stream)
{
	switch (ep->stream) {
	case ENDPOINT_STREAM_ON: return true;
	case ENDPOINT_STREAM_OFF: return false;
	default: return client_stream;
	}
}

/* A client max_tokens above the endpoint's is capped; an absent one filled. */
static void upreq_cap_tokens(struct json_object *body, const struct endpoint *ep)
{
	static const char *const keys[] = { "max_tokens", "max_completion_tokens" };
	bool present = false;

	if (ep->max_tokens <= 0)
		return;
	for (size_t i = 0; i < 2; i++) {
		struct json_object *v;
		if (!json_object_object_get_ex(body, keys[i], &v) || json_object_is_type(v, json_type_null))
			continue;
		present = true;
		if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) > ep->max_tokens)
			json_object_object_add(body, keys[i], xcheck(json_object_new_int64(ep->max_tokens)));
	}
	if (!present)
		json_object_object_add(body, "max_tokens", xcheck(json_object_new_int64(ep->max_tokens)));
}

static void upreq_set_stream(struct json_object *body, bool upstream_stream, bool want_usage)
{
	if (!upstream_stream) {
		/* OpenAI rejects stream_options on a non-streamed request. */
		json_object_object_del(body, "stream");
		json_object_object_del(body, "stream_options");
		return;
	}
	json_object_object_add(body, "stream", xcheck(json_object_new_boolean(1)));
	if (!want_usage)
		return;
	struct json_object *opts;
	if (!json_object_object_get_ex(body, "stream_options", &opts) ||
	    !json_object_is_type(opts, json_type_object)) {
		opts = xcheck(json_object_new_object());
		json_object_object_add(body, "stream_options", opts);
	}
	json_object_object_add(opts, "include_usage", xcheck(json_object_new_boolean(1)));
}

struct json_object *upreq_body_json(struct json_object *client, const struct endpoint *ep,
				    bool upstream_stream, bool want_usage)
{
	struct json_object *body = NULL;

	if (json_object_deep_copy(client, &body, NULL) != 0)
		xcheck(NULL);
	json_object_object_add(body, "model", xcheck(json_object_new_string(ep->model)));
	if (ep->has_temperature && !json_object_object_get_ex(body, "temperature", NULL))
		json_object_object_add(body, "temperature", jsonraw_new_double(ep->temperature));
	upreq_cap_tokens(body, ep);
	upreq_set_stream(body, upstream_stream, want_usage);
	return body;
}

char *upreq_serialize(struct json_object *body)
{
	return xstrdup(json_object_to_json_string_ext(body,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

char *upreq_body(struct json_object *client, const struct endpoint *ep,
		 bool upstream_stream, bool want_usage)
{
	struct json_object *body = upreq_body_json(client, ep, upstream_stream, want_usage);
	char *out = upreq_serialize(body);
	json_object_put(body);
	return out;
}

static struct curl_slist *upreq_add(struct curl_slist *list, const char *line)
{
	return xcheck(curl_slist_append(list, line));
}

static bool upreq_overridden(const struct endpoint *ep, const char *name)
{
	for (size_t i = 0; i < ep->n_headers; i++)
		if (strcasecmp(ep->headers[i].name, name) == 0)
			return true;
	return false;
}

static struct curl_slist *upreq_line(struct curl_slist *h, const char *name, const char *value)
{
	char *line = xasprintf("%s: %s", name, value);
	h = upreq_add(h, line);
	memset(line, 0, strlen(line));   /* it may hold a key */
	free(line);
	return h;
}

struct curl_slist *upreq_header(struct curl_slist *h, const struct endpoint *ep,
				const char *name, const char *value)
{
	return upreq_overridden(ep, name) ? h : upreq_line(h, name, value);
}

struct curl_slist *upreq_headers_common(const struct endpoint *ep, bool upstream_stream)
{
	struct curl_slist *h = NULL;

	h = upreq_header(h, ep, "Content-Type", "application/json");
	h = upreq_header(h, ep, "Accept", upstream_stream ? "text/event-stream" : "application/json");
	/* Large bodies would otherwise wait for a 100-continue round trip. */
	h = upreq_add(h, "Expect:");
	return h;
}

struct curl_slist *upreq_headers_own(struct curl_slist *h, const struct endpoint *ep)
{
	for (size_t i = 0; i < ep->n_headers; i++)
		h = upreq_line(h, ep->headers[i].name, ep->headers[i].value);
	return h;
}

struct curl_slist *upreq_headers(const struct endpoint *ep, bool upstream_stream)
{
	struct curl_slist *h = upreq_headers_common(ep, upstream_stream);

	if (ep->apikey) {
		char *bearer = xasprintf("Bearer %s", ep->apikey);
		h = upreq_header(h, ep, "Authorization", bearer);
		memset(bearer, 0, strlen(bearer));
		free(bearer);
	}
	if (ep->type == ENDPOINT_OPENROUTER) {
		if (ep->referer)
			h = upreq_header(h, ep, "HTTP-Referer", ep->referer);
		if (ep->title)
			h = upreq_header(h, ep, "X-Title", ep->title);
	}
	return upreq_headers_own(h, ep);
}
