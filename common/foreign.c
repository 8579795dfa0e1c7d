/* foreign.c: what the decoders of the non-OpenAI APIs share (see foreign.h). */
#include "foreign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "alloc.h"
#include "apierror.h"
#include "jsonobj.h"
#include "jsonparse.h"
#include "log.h"
#include "upreq.h"

#define FOREIGN_EVENT_MAX (8u << 20)
#define FOREIGN_ANSWER_MAX (64u << 20)

/* ---- requests ------------------------------------------------------------------------ */

void foreign_turn(struct json_object *turns, const char *role, const char *key, struct json_object *items)
{
	size_t n = json_object_array_length(turns);
	struct json_object *last = n ? json_object_array_get_idx(turns, n - 1) : NULL;

	if (json_object_array_length(items) == 0) {
		json_object_put(items);
	} else if (last != NULL && strcmp(jsonobj_str(last, "role"), role) == 0) {
		struct json_object *have = jsonobj_get(last, key);
		for (size_t i = 0; i < json_object_array_length(items); i++)
			json_object_array_add(have, json_object_get(json_object_array_get_idx(items, i)));
		json_object_put(items);
	} else {
		struct json_object *t = xcheck(json_object_new_object());
		jsonobj_set_str(t, "role", role);
		jsonobj_set(t, key, items);
		json_object_array_add(turns, t);
	}
}

const char *foreign_image_url(struct json_object *part)
{
	struct json_object *iu = jsonobj_get(part, "image_url");
	return json_object_is_type(iu, json_type_string) ? json_object_get_string(iu) : jsonobj_str(iu, "url");
}

char *foreign_data_url(const char *url, const char **data)
{
	const char *b64 = url != NULL && strncmp(url, "data:", 5) == 0 ? strstr(url, ";base64,") : NULL;

	if (b64 == NULL)
		return NULL;
	*data = b64 + 8;
	return xstrndup(url + 5, (size_t)(b64 - url - 5));
}

bool foreign_is_http(const char *url)
{
	return url != NULL && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
}

struct json_object *foreign_call_args(struct json_object *fn)
{
	const char *args = jsonobj_str(fn, "arguments");
	struct json_object *parsed = args ? json_tokener_parse(args) : NULL;

	if (json_object_is_type(parsed, json_type_object))
		return parsed;
	json_object_put(parsed);
	return xcheck(json_object_new_object());
}

long foreign_max_tokens(struct json_object *client, const struct endpoint *ep)
{
	static const char *const keys[] = { "max_completion_tokens", "max_tokens" };
	long max = 0;

	for (size_t i = 0; i < 2 && max <= 0; i++) {
		struct json_object *v = jsonobj_get(client, keys[i]);
		if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0 &&
		    json_object_get_int64(v) <= 1000000000)
			max = (long)json_object_get_int64(v);
	}
	if (ep->max_tokens > 0 && (max <= 0 || max > ep->max_tokens))
		max = ep->max_tokens;
	return max;
}

struct json_object *foreign_stop(struct json_object *stop)
{
	struct json_object *out = xcheck(json_object_new_array());

	if (json_object_is_type(stop, json_type_string) && json_object_get_string_len(stop) > 0)
		json_object_array_add(out, json_object_get(stop));
	for (size_t i = 0; i < jsonobj_len(stop); i++) {
		struct json_object *s = json_object_array_get_idx(stop, i);
		if (json_object_is_type(s, json_type_string) && json_object_get_string_len(s) > 0)
			json_object_array_add(out, json_object_get(s));
	}
	if (json_object_array_length(out) == 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

struct json_object *foreign_tool_decl(struct json_object *tool, const char *schema_key)
{
	struct json_object *fn = jsonobj_get(tool, "function");
	struct json_object *params = jsonobj_get(fn, "parameters");
	struct json_object *d;

	if (jsonobj_str(fn, "name") == NULL)
		return NULL;
	d = xcheck(json_object_new_object());
	jsonobj_set_str(d, "name", jsonobj_str(fn, "name"));
	if (jsonobj_str(fn, "description") != NULL)
		jsonobj_set_str(d, "description", jsonobj_str(fn, "description"));
	if (json_object_is_type(params, json_type_object))
		jsonobj_set(d, schema_key, json_object_get(params));
	return d;
}

void foreign_log_dropped(struct json_object *client, const char *const *read, const char *message,
			 const struct endpoint *ep, const struct dialect_call *call)
{
	json_object_object_foreach(client, key, val) {
		size_t i = 0;
		(void)val;
		while (read[i] != NULL && strcmp(read[i], key) != 0)
			i++;
		if (read[i] == NULL)
			log_info(LOG_S("req", call->request_id), LOG_S("endpoint", ep->name),
				 LOG_MSG(message), LOG_S("field", key));
	}
}

char *foreign_serialize(struct json_object *body)
{
	char *text = upreq_serialize(body);
	json_object_put(body);
	return text;
}

/* ---- error answers ------------------------------------------------------------------- */

void foreign_error(const struct foreign_errors *api, long status, const char *body,
		   struct dialect_error *out)
{
	struct json_object *root = json_tokener_parse(body);
	struct json_object *error = api->object(root);
	const char *msg = jsonobj_str(error, "message");
	const char *type = jsonobj_str(error, api->type_key);
	enum errkind kind;

	if (error == NULL) {
		dialect_openai_error_of(status, root, body, out);
		json_object_put(root);
		return;
	}
	memset(out, 0, sizeof *out);
	snprintf(out->message, sizeof out->message, "%s",
		 msg ? msg : json_object_to_json_string_ext(error, JSON_C_TO_STRING_PLAIN));
	kind = api->kind(error);
	out->kind = kind != ERRKIND_COUNT ? kind : errkind_from_http_error(status, NULL);
	out->api_error = true;
	/* OpenAI's shape, so OpenAI clients raise it as they would their own;
	 * a prompt too long gets OpenAI's code for it */
	out->shaped = apierror_text(msg ? msg : "", type ? type : "api_error",
				    msg && api->too_long(msg) ? "context_length_exceeded" : NULL, NULL);
	json_object_put(root);
}

/* ---- stream --------------------------------------------------------------------------- */

static enum im_rc foreign_on_sse(void *ctx, const struct sse_event *ev)
{
	struct foreign_stream *fs = ctx;
	struct json_object *obj;
	enum im_rc rc;

	if (ev->is_comment)
		return IM_OK;   /* keep-alives do not count as progress */
	fs->began = true;
	obj = jsonparse(ev->data);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		fs->out.dropped(fs->out.ctx, ev->data_len);
		json_object_put(obj);
		return IM_OK;
	}
	rc = fs->on_event(fs->ctx, ev->event, obj);
	json_object_put(obj);
	return rc;
}

void foreign_stream_init(struct foreign_stream *fs, const char *api, const struct dialect_out *out,
			 const struct dialect_call *call, foreign_event_fn on_event, void *ctx)
{
	fs->out = *out;
	fs->api = api;
	fs->on_event = on_event;
	fs->ctx = ctx;
	fs->usage_wanted = call->want_usage || call->client_usage;
	sse_parser_init(&fs->sse, FOREIGN_EVENT_MAX, foreign_on_sse, fs);
}

/* `st` begins with its struct foreign_stream (C11 6.7.2.1: a pointer to a
 * structure, converted, points to its first member). */
static struct foreign_stream *foreign_of(struct dialect_stream *st)
{
	return (struct foreign_stream *)(void *)st;
}

enum im_rc foreign_stream_feed(struct dialect_stream *st, const char *data, size_t len)
{
	return sse_parser_feed(&foreign_of(st)->sse, data, len);
}

enum im_rc foreign_stream_finish(struct dialect_stream *st)
{
	return sse_parser_finish(&foreign_of(st)->sse);
}

bool foreign_stream_began(const struct dialect_stream *st)
{
	return ((const struct foreign_stream *)(const void *)st)->began;
}

void foreign_stream_free(struct dialect_stream *st)
{
	struct foreign_stream *fs = foreign_of(st);

	if (st == NULL)
		return;
	sse_parser_free(&fs->sse);
	json_object_put(fs->id);
	json_object_put(fs->model);
	free(st);
}

/* ---- stream: chunks ------------------------------------------------------------------- */

static struct json_object *foreign_chat_id(const char *api, const char *id)
{
	char *s = xasprintf("chatcmpl-%.128s", id ? id : api);
	struct json_object *o = xcheck(json_object_new_string(s));
	free(s);
	return o;
}

void foreign_identify(struct foreign_stream *fs, const char *id, const char *model)
{
	if (fs->id != NULL)
		return;
	fs->id = foreign_chat_id(fs->api, id);
	fs->model = xcheck(json_object_new_string(model ? model : ""));
	fs->created = (int64_t)time(NULL);
}

static struct json_object *foreign_chunk_new(struct foreign_stream *fs)
{
	struct json_object *o = xcheck(json_object_new_object());

	foreign_identify(fs, NULL, NULL);
	jsonobj_set(o, "id", json_object_get(fs->id));
	jsonobj_set_str(o, "object", "chat.completion.chunk");
	jsonobj_set(o, "created", json_object_new_int64(fs->created));
	jsonobj_set(o, "model", json_object_get(fs->model));
	return o;
}

static enum im_rc foreign_emit(struct foreign_stream *fs, struct json_object *chunk)
{
	enum im_rc rc = fs->out.chunk(fs->out.ctx, &(struct canon){ .obj = chunk });
	json_object_put(chunk);
	return rc;
}

enum im_rc foreign_emit_delta(struct foreign_stream *fs, struct json_object *delta, const char *finish)
{
	struct json_object *o = foreign_chunk_new(fs);
	struct json_object *choice = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());

	jsonobj_set(choice, "index", json_object_new_int(0));
	jsonobj_set(choice, "delta", delta);
	json_object_object_add(choice, "finish_reason", finish ? xcheck(json_object_new_string(finish)) : NULL);
	json_object_array_add(choices, choice);
	jsonobj_set(o, "choices", choices);
	return foreign_emit(fs, o);
}

enum im_rc foreign_emit_string(struct foreign_stream *fs, const char *key, const char *s, size_t len)
{
	struct json_object *delta = xcheck(json_object_new_object());

	jsonobj_set(delta, key, json_object_new_string_len(s, (int)len));
	return foreign_emit_delta(fs, delta, NULL);
}

enum im_rc foreign_emit_role(struct foreign_stream *fs)
{
	struct json_object *delta = xcheck(json_object_new_object());

	jsonobj_set_str(delta, "role", "assistant");
	jsonobj_set_str(delta, "content", "");
	return foreign_emit_delta(fs, delta, NULL);
}

enum im_rc foreign_emit_tool(struct foreign_stream *fs, struct json_object *call)
{
	struct json_object *calls = xcheck(json_object_new_array());
	struct json_object *delta = xcheck(json_object_new_object());

	json_object_array_add(calls, call);
	jsonobj_set(delta, "tool_calls", calls);
	return foreign_emit_delta(fs, delta, NULL);
}

static struct json_object *foreign_usage(int64_t prompt, int64_t completion)
{
	struct json_object *u = xcheck(json_object_new_object());
	jsonobj_set(u, "prompt_tokens", json_object_new_int64(prompt));
	jsonobj_set(u, "completion_tokens", json_object_new_int64(completion));
	jsonobj_set(u, "total_tokens", json_object_new_int64(prompt + completion));
	return u;
}

enum im_rc foreign_emit_finish(struct foreign_stream *fs, const char *finish)
{
	enum im_rc rc = foreign_emit_delta(fs, xcheck(json_object_new_object()), finish);

	if (rc != IM_OK || !fs->usage_wanted)
		return rc;
	struct json_object *o = foreign_chunk_new(fs);
	jsonobj_set(o, "choices", json_object_new_array());
	jsonobj_set(o, "usage", foreign_usage(fs->prompt_tokens, fs->completion_tokens));
	return foreign_emit(fs, o);
}

struct json_object *foreign_tool_call(int index, const char *id, const char *name, struct json_object *args)
{
	struct json_object *call = xcheck(json_object_new_object());
	struct json_object *fn = xcheck(json_object_new_object());

	if (index >= 0)
		jsonobj_set(call, "index", json_object_new_int(index));
	jsonobj_set_str(call, "id", id ? id : "");
	jsonobj_set_str(call, "type", "function");
	jsonobj_set_str(fn, "name", name ? name : "");
	jsonobj_set_str(fn, "arguments", args ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN |
									       JSON_C_TO_STRING_NOSLASHESCAPE)
					      : "{}");
	jsonobj_set(call, "function", fn);
	return call;
}

/* ---- whole answers -------------------------------------------------------------------- */

void foreign_answer_init(struct foreign_answer *a)
{
	buf_init(&a->text, FOREIGN_ANSWER_MAX);
	buf_init(&a->reasoning, FOREIGN_ANSWER_MAX);
	a->calls = xcheck(json_object_new_array());
}

struct json_object *foreign_answer_message(struct foreign_answer *a)
{
	struct json_object *msg = xcheck(json_object_new_object());
	bool calls = json_object_array_length(a->calls) > 0;

	jsonobj_set_str(msg, "role", "assistant");
	/* null content beside tool calls, as OpenAI answers */
	json_object_object_add(msg, "content", a->text.len || !calls
		? xcheck(json_object_new_string_len(buf_str(&a->text), (int)a->text.len)) : NULL);
	if (a->reasoning.len > 0)
		jsonobj_set(msg, "reasoning_content",
			    json_object_new_string_len(buf_str(&a->reasoning), (int)a->reasoning.len));
	if (calls)
		jsonobj_set(msg, "tool_calls", a->calls);
	else
		json_object_put(a->calls);
	a->calls = NULL;
	buf_free(&a->text);
	buf_free(&a->reasoning);
	return msg;
}

struct json_object *foreign_completion(const struct foreign_completion *c)
{
	struct json_object *o = xcheck(json_object_new_object());
	struct json_object *choice = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());

	jsonobj_set(o, "id", foreign_chat_id(c->api, c->id));
	jsonobj_set_str(o, "object", "chat.completion");
	jsonobj_set(o, "created", json_object_new_int64((int64_t)time(NULL)));
	jsonobj_set_str(o, "model", c->model ? c->model : "");
	jsonobj_set(choice, "index", json_object_new_int(0));
	jsonobj_set(choice, "message", c->message);
	jsonobj_set_str(choice, "finish_reason", c->finish);
	json_object_array_add(choices, choice);
	jsonobj_set(o, "choices", choices);
	jsonobj_set(o, "usage", foreign_usage(c->prompt_tokens, c->completion_tokens));
	return o;
}
