/* dialect_openai.c: OpenAI chat completions, the canonical form itself
 * (see dialect.h), and the embeddings and legacy completions APIs of the
 * same endpoints, which share its streams and errors.
 *
 * The request is the client's with the endpoint's model, defaults and caps
 * (upreq.h); the answer is already canonical, so an event goes on with its
 * original text. OpenRouter reports provider failures as an
 * `error` object inside a 200 answer or event. */
#include "dialect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "chat.h"
#include "jsonobj.h"
#include "jsonparse.h"
#include "sse.h"
#include "upreq.h"

#define DIALECT_OPENAI_EVENT_MAX (8u << 20)

struct dialect_stream {
	struct sse_parser sse;
	struct dialect_out out;
	bool began;
};

/* ---- request ----------------------------------------------------------------- */

static char *dialect_openai_url(const struct endpoint *ep, const struct dialect_call *call)
{
	(void)call;
	return xstrdup(ep->url);
}

static char *dialect_openai_body(struct json_object *client, const struct endpoint *ep,
				 const struct dialect_call *call)
{
	if (call->prefill != NULL)
		return resume_body(call->prefill, client, ep, call->up_stream);
	return upreq_body(client, ep, call->up_stream, call->want_usage);
}

static struct curl_slist *dialect_openai_headers(const struct endpoint *ep,
						 const struct dialect_call *call)
{
	return upreq_headers(ep, call->up_stream);
}

/* ---- answers ------------------------------------------------------------------- */

static const char *dialect_openai_message(struct json_object *error)
{
	const char *msg = jsonobj_str(error, "message");
	return msg ? msg : json_object_to_json_string_ext(error, JSON_C_TO_STRING_PLAIN);
}

static enum im_rc dialect_openai_event(void *ctx, const struct sse_event *ev)
{
	struct dialect_stream *st = ctx;
	struct json_object *obj, *error;
	enum im_rc rc;

	if (ev->is_comment)
		return IM_OK;  /* keep-alives do not count as progress */
	st->began = true;
	if (strcmp(ev->data, "[DONE]") == 0) {
		st->out.done(st->out.ctx);
		return IM_OK;
	}
	obj = jsonparse(ev->data);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		st->out.dropped(st->out.ctx, ev->data_len);
		json_object_put(obj);
		return IM_OK;
	}
	if (json_object_object_get_ex(obj, "error", &error)) {
		rc = st->out.error(st->out.ctx, errkind_from_error_object(error),
				   dialect_openai_message(error));
	} else {
		/* The event's own text, several lines included: the face
		 * writes it back line by line (sse_write_data). */
		rc = st->out.chunk(st->out.ctx, &(struct canon){ .obj = obj, .text = ev->data });
	}
	json_object_put(obj);
	return rc;
}

static struct dialect_stream *dialect_openai_stream_new(const struct dialect_out *out,
							const struct dialect_call *call)
{
	struct dialect_stream *st = xcalloc(1, sizeof *st);

	(void)call;
	st->out = *out;
	sse_parser_init(&st->sse, DIALECT_OPENAI_EVENT_MAX, dialect_openai_event, st);
	return st;
}

static enum im_rc dialect_openai_stream_feed(struct dialect_stream *st, const char *data, size_t len)
{
	return sse_parser_feed(&st->sse, data, len);
}

static enum im_rc dialect_openai_stream_finish(struct dialect_stream *st)
{
	return sse_parser_finish(&st->sse);
}

static bool dialect_openai_stream_began(const struct dialect_stream *st)
{
	return st->began;
}

static void dialect_openai_stream_free(struct dialect_stream *st)
{
	if (st == NULL)
		return;
	sse_parser_free(&st->sse);
	free(st);
}

static enum errkind dialect_openai_checked(const char *body, bool (*usable)(struct json_object *),
					   struct canon *out, char *detail, size_t n);

static enum errkind dialect_openai_answer(const char *body, struct canon *out,
					  char *detail, size_t n)
{
	return dialect_openai_checked(body, chat_completion_usable, out, detail, n);
}

void dialect_openai_error_of(long status, struct json_object *root, const char *body,
			     struct dialect_error *out)
{
	struct json_object *error = NULL;

	memset(out, 0, sizeof *out);
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "error", &error))
		error = NULL;
	if (error != NULL)
		snprintf(out->message, sizeof out->message, "%s", dialect_openai_message(error));
	else
		snprintf(out->message, sizeof out->message, "%.160s", body);
	out->kind = errkind_from_http_error(status, error);
	out->api_error = error != NULL;
}

static void dialect_openai_error(long status, const char *body, struct dialect_error *out)
{
	struct json_object *root = jsonparse(body);

	dialect_openai_error_of(status, root, body, out);
	json_object_put(root);
}

const struct dialect dialect_openai = {
	.name = "openai",
	.url = dialect_openai_url,
	.body = dialect_openai_body,
	.headers = dialect_openai_headers,
	.stream_new = dialect_openai_stream_new,
	.stream_feed = dialect_openai_stream_feed,
	.stream_finish = dialect_openai_stream_finish,
	.stream_began = dialect_openai_stream_began,
	.stream_free = dialect_openai_stream_free,
	.answer = dialect_openai_answer,
	.error = dialect_openai_error,
};

/* ---- embeddings and legacy completions (route.h) ----------------------------- */

/* baseurl + `tail` */
static char *dialect_openai_url_at(const struct endpoint *ep, const char *tail)
{
	size_t n = strlen(ep->baseurl);
	if (n > 0 && ep->baseurl[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, ep->baseurl, tail);
}

static char *dialect_openai_embeddings_url(const struct endpoint *ep, const struct dialect_call *call)
{
	(void)call;
	return dialect_openai_url_at(ep, "/embeddings");
}

static char *dialect_openai_completions_url(const struct endpoint *ep, const struct dialect_call *call)
{
	(void)call;
	return dialect_openai_url_at(ep, "/completions");
}

/* The client's request with the endpoint's model; the rest passes through. */
static char *dialect_openai_embeddings_body(struct json_object *client, const struct endpoint *ep,
					    const struct dialect_call *call)
{
	struct json_object *body = NULL;

	(void)call;
	if (json_object_deep_copy(client, &body, NULL) != 0)
		xcheck(NULL);
	json_object_object_add(body, "model", xcheck(json_object_new_string(ep->model)));
	char *out = upreq_serialize(body);
	json_object_put(body);
	return out;
}

/* A 2xx answer: the JSON object, unless it is an error or `usable` says it
 * holds nothing; then the kind and a detail. */
static enum errkind dialect_openai_checked(const char *body, bool (*usable)(struct json_object *),
					   struct canon *out, char *detail, size_t n)
{
	struct json_object *root = jsonparse(body);
	struct json_object *error;
	enum errkind kind = ERRKIND_INVALID_RESPONSE;

	out->obj = NULL;
	out->text = NULL;
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(detail, n, "answer is not a JSON object");
	} else if (json_object_object_get_ex(root, "error", &error)) {
		snprintf(detail, n, "error in a 200 answer: %s", dialect_openai_message(error));
		kind = errkind_from_error_object(error);
	} else if (!usable(root)) {
		snprintf(detail, n, "answer holds no usable result");
	} else {
		out->obj = root;
		out->text = body;
		return ERRKIND_NONE;
	}
	json_object_put(root);
	return kind;
}

static bool dialect_openai_embeddings_usable(struct json_object *root)
{
	struct json_object *data;
	return json_object_object_get_ex(root, "data", &data) &&
	       json_object_is_type(data, json_type_array) && json_object_array_length(data) > 0;
}

static bool dialect_openai_completions_usable(struct json_object *root)
{
	struct json_object *choices, *text;
	if (!json_object_object_get_ex(root, "choices", &choices) ||
	    !json_object_is_type(choices, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(choices); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(choices, i), "text", &text) &&
		    json_object_is_type(text, json_type_string))
			return true;
	return false;
}

static enum errkind dialect_openai_embeddings_answer(const char *body, struct canon *out,
						     char *detail, size_t n)
{
	return dialect_openai_checked(body, dialect_openai_embeddings_usable, out, detail, n);
}

static enum errkind dialect_openai_completions_answer(const char *body, struct canon *out,
						      char *detail, size_t n)
{
	return dialect_openai_checked(body, dialect_openai_completions_usable, out, detail, n);
}

const struct dialect dialect_openai_embeddings = {
	.name = "openai-embeddings",
	.url = dialect_openai_embeddings_url,
	.body = dialect_openai_embeddings_body,
	.headers = dialect_openai_headers,
	.answer = dialect_openai_embeddings_answer,
	.error = dialect_openai_error,
};

const struct dialect dialect_openai_completions = {
	.name = "openai-completions",
	.url = dialect_openai_completions_url,
	/* as for chat (the endpoint's model, temperature default and token
	 * cap), and a continuation's prompt (resume.h) */
	.body = dialect_openai_body,
	.headers = dialect_openai_headers,
	.stream_new = dialect_openai_stream_new,
	.stream_feed = dialect_openai_stream_feed,
	.stream_finish = dialect_openai_stream_finish,
	.stream_began = dialect_openai_stream_began,
	.stream_free = dialect_openai_stream_free,
	.answer = dialect_openai_completions_answer,
	.error = dialect_openai_error,
};
