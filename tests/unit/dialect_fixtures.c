/* dialect_fixtures.c: JSON paths and a capturing stream decoder for the
 * unit tests (see dialect_fixtures.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "dialect_fixtures.h"
#include "resume.h"

struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	if (o == NULL)
		fail_msg("not JSON: %s", text);
	return o;
}

struct json_object *path(struct json_object *obj, const char *keys)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", keys);
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		struct json_object *next = NULL;
		if (obj == NULL)
			return NULL;
		if (k[0] >= '0' && k[0] <= '9') {
			if (!json_object_is_type(obj, json_type_array))
				return NULL;
			next = json_object_array_get_idx(obj, (size_t)atoi(k));
		} else if (!json_object_object_get_ex(obj, k, &next)) {
			return NULL;
		}
		obj = next;
	}
	return obj;
}

/* The value at `keys` when it has `type`, else the test fails. */
static struct json_object *typed_at(struct json_object *obj, const char *keys, enum json_type type,
				    const char *what)
{
	struct json_object *v = path(obj, keys);
	if (v == NULL || !json_object_is_type(v, type))
		fail_msg("%s is not %s in %s", keys, what, json_object_to_json_string(obj));
	return v;
}

const char *str_at(struct json_object *obj, const char *keys)
{
	return json_object_get_string(typed_at(obj, keys, json_type_string, "a string"));
}

int64_t int_at(struct json_object *obj, const char *keys)
{
	return json_object_get_int64(typed_at(obj, keys, json_type_int, "a number"));
}

size_t len_at(struct json_object *obj, const char *keys)
{
	return json_object_array_length(typed_at(obj, keys, json_type_array, "an array"));
}

bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

bool has_line(const struct curl_slist *h, const char *line)
{
	for (; h; h = h->next)
		if (strcmp(h->data, line) == 0)
			return true;
	return false;
}

/* ---- requests ------------------------------------------------------------------------------ */

struct json_object *request_with(request_fn build, const struct endpoint *ep, const char *client_text,
				 bool stream)
{
	struct json_object *client = parse(client_text);
	struct dialect_call call = { .request_id = "r1", .up_stream = stream };
	struct json_object *body = build(client, ep, &call);
	json_object_put(client);
	return body;
}

struct json_object *request_prefilled(request_fn build, const struct endpoint *ep, const char *client_text,
				      const char *delivered)
{
	struct resume rs;
	struct json_object *client = parse(client_text);
	struct json_object *chunk = parse(delivered);

	resume_init(&rs);
	resume_observe(&rs, chunk);
	resume_begin(&rs);
	struct dialect_call call = { .up_stream = true, .prefill = &rs };
	struct json_object *body = build(client, ep, &call);
	json_object_put(chunk);
	json_object_put(client);
	resume_free(&rs);
	return body;
}

/* ---- a capturing stream decoder ----------------------------------------------------------- */

static enum im_rc cap_chunk(void *ctx, const struct canon *c)
{
	struct capture *cap = ctx;
	assert_null(c->text);   /* translated: no original text to keep */
	json_object_array_add(cap->chunks, json_object_get(c->obj));
	return IM_OK;
}

static void cap_done(void *ctx)
{
	((struct capture *)ctx)->done++;
}

static enum im_rc cap_error(void *ctx, enum errkind kind, const char *message)
{
	struct capture *cap = ctx;
	cap->errors++;
	cap->kind = kind;
	snprintf(cap->message, sizeof cap->message, "%s", message);
	return IM_ESTOP;
}

static void cap_dropped(void *ctx, size_t bytes)
{
	((struct capture *)ctx)->dropped += bytes;
}

void decode_call(const struct dialect *d, const char *sse, size_t step, const struct dialect_call *call,
		 struct capture *cap)
{
	struct dialect_out out = { cap, cap_chunk, cap_done, cap_error, cap_dropped };
	struct dialect_stream *st = d->stream_new(&out, call);
	size_t len = strlen(sse);

	memset(cap, 0, sizeof *cap);
	cap->chunks = json_object_new_array();
	cap->kind = ERRKIND_NONE;
	for (size_t i = 0; i < len; i += step)
		if (d->stream_feed(st, sse + i, len - i < step ? len - i : step) != IM_OK)
			break;
	(void)d->stream_finish(st);
	assert_true(d->stream_began(st));
	d->stream_free(st);
}

void decode(const struct dialect *d, const char *sse, size_t step, bool usage, struct capture *cap)
{
	struct dialect_call call = { .up_stream = true, .client_usage = usage };
	decode_call(d, sse, step, &call, cap);
}

void check_chunks(const struct capture *cap, const char *id, const char *model)
{
	struct json_object *c = cap->chunks;

	assert_int_equal(cap->done, 1);
	assert_int_equal(cap->errors, 0);
	for (size_t i = 0; i < json_object_array_length(c); i++) {
		struct json_object *k = json_object_array_get_idx(c, i);
		assert_string_equal(str_at(k, "id"), id);
		assert_string_equal(str_at(k, "object"), "chat.completion.chunk");
		assert_string_equal(str_at(k, "model"), model);
		assert_int_equal(int_at(k, "created"), int_at(json_object_array_get_idx(c, 0), "created"));
	}
}

void decode_splits(const struct dialect *d, const char *sse, size_t len,
		   void (*check)(const struct capture *cap, bool usage))
{
	static const struct { size_t step; bool usage; } splits[] = {
		{ 0, true },     /* whole */
		{ 1, false },    /* any split; no usage unless asked */
		{ 7, false },
	};
	struct capture cap;

	for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
		decode(d, sse, splits[i].step ? splits[i].step : len, splits[i].usage, &cap);
		check(&cap, splits[i].usage);
		json_object_put(cap.chunks);
	}
}
