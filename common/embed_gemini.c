/* embed_gemini.c: OpenAI embeddings over Gemini's batchEmbedContents (see
 * dialect.h, route.h).
 *
 * The request becomes one embedContent request per input text, with
 * `dimensions` as outputDimensionality; the answer's embeddings[].values
 * become OpenAI's list of embedding objects, as floats or, for
 * encoding_format base64, as little-endian float32 bytes in base64 (what
 * OpenAI sends). Gemini reports no token usage for embeddings, so usage is
 * estimated (a token per four bytes of input, at least one per text).
 * Gemini embeds text only: token-array input is refused. */
#include "dialect_gemini.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "jsonobj.h"
#include "upreq.h"

#define EMBED_GEMINI_MAX_VECTOR (1u << 16)

/* The input as an array of strings (a new reference), or NULL when it is
 * not text (token arrays, or nothing). */
static struct json_object *embed_gemini_texts(struct json_object *client)
{
	struct json_object *input = jsonobj_get(client, "input");

	if (json_object_is_type(input, json_type_string)) {
		struct json_object *one = xcheck(json_object_new_array());
		json_object_array_add(one, json_object_get(input));
		return one;
	}
	if (!json_object_is_type(input, json_type_array) || json_object_array_length(input) == 0)
		return NULL;
	for (size_t i = 0; i < json_object_array_length(input); i++)
		if (!json_object_is_type(json_object_array_get_idx(input, i), json_type_string))
			return NULL;
	return json_object_get(input);
}

static const char *embed_gemini_refuses(struct json_object *client)
{
	struct json_object *texts = embed_gemini_texts(client);

	json_object_put(texts);
	return texts ? NULL : "gemini embeds text, not token arrays";
}

static char *embed_gemini_url(const struct endpoint *ep, const struct dialect_call *call)
{
	(void)call;
	return xasprintf("%s/models/%s:batchEmbedContents", ep->baseurl, ep->model);
}

static struct curl_slist *embed_gemini_headers(const struct endpoint *ep, const struct dialect_call *call)
{
	(void)call;
	struct curl_slist *h = upreq_headers_common(ep, false);

	if (ep->apikey)
		h = upreq_header(h, ep, "x-goog-api-key", ep->apikey);
	return upreq_headers_own(h, ep);
}

static struct json_object *embed_gemini_request(const char *model, struct json_object *text,
						struct json_object *dims)
{
	struct json_object *req = xcheck(json_object_new_object());
	struct json_object *content = xcheck(json_object_new_object());
	struct json_object *parts = xcheck(json_object_new_array());
	struct json_object *part = xcheck(json_object_new_object());

	json_object_object_add(part, "text", json_object_get(text));
	json_object_array_add(parts, part);
	json_object_object_add(content, "parts", parts);
	json_object_object_add(req, "model", xcheck(json_object_new_string(model)));
	json_object_object_add(req, "content", content);
	if (json_object_is_type(dims, json_type_int))
		json_object_object_add(req, "outputDimensionality", json_object_get(dims));
	return req;
}

static char *embed_gemini_body(struct json_object *client, const struct endpoint *ep,
			       const struct dialect_call *call)
{
	struct json_object *texts = embed_gemini_texts(client);
	struct json_object *dims = jsonobj_get(client, "dimensions");
	struct json_object *body = xcheck(json_object_new_object());
	struct json_object *reqs = xcheck(json_object_new_array());
	char *model = xasprintf("models/%s", ep->model);

	(void)call;
	for (size_t i = 0; texts && i < json_object_array_length(texts); i++)
		json_object_array_add(reqs, embed_gemini_request(model, json_object_array_get_idx(texts, i), dims));
	json_object_object_add(body, "requests", reqs);
	char *out = upreq_serialize(body);
	json_object_put(body);
	json_object_put(texts);
	free(model);
	return out;
}

/* ---- the answer ------------------------------------------------------------------ */

static void embed_gemini_base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

/* `values` as base64 of little-endian float32s, or NULL when one is not a number. */
static struct json_object *embed_gemini_packed(struct json_object *values)
{
	size_t n = json_object_array_length(values);
	unsigned char *bytes = xcalloc(n ? n * 4 : 1, 1);
	char *text = xcalloc((n * 4 + 2) / 3 * 4 + 1, 1);   /* base64 of n * 4 bytes */
	struct json_object *out = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(values, i);
		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			break;
		float f = (float)json_object_get_double(v);
		uint32_t u;
		memcpy(&u, &f, sizeof u);
		for (int b = 0; b < 4; b++)
			bytes[i * 4 + (size_t)b] = (unsigned char)(u >> (8 * b));
	}
	if (i == n) {
		embed_gemini_base64(bytes, n * 4, text);
		out = xcheck(json_object_new_string(text));
	}
	free(text);
	free(bytes);
	return out;
}

static bool embed_gemini_base64_wanted(struct json_object *client)
{
	struct json_object *f = jsonobj_get(client, "encoding_format");
	return json_object_is_type(f, json_type_string) && strcmp(json_object_get_string(f), "base64") == 0;
}

/* One OpenAI embedding object for Gemini's `item`, or NULL when unusable. */
static struct json_object *embed_gemini_item(struct json_object *item, size_t index, bool base64)
{
	struct json_object *values = jsonobj_get(item, "values");
	struct json_object *vector;

	if (!json_object_is_type(values, json_type_array) || json_object_array_length(values) == 0 ||
	    json_object_array_length(values) > EMBED_GEMINI_MAX_VECTOR)
		return NULL;
	vector = base64 ? embed_gemini_packed(values) : json_object_get(values);
	if (vector == NULL)
		return NULL;
	struct json_object *o = xcheck(json_object_new_object());
	json_object_object_add(o, "object", xcheck(json_object_new_string("embedding")));
	json_object_object_add(o, "index", xcheck(json_object_new_int64((int64_t)index)));
	json_object_object_add(o, "embedding", vector);
	return o;
}

/* Estimated prompt tokens of the input texts: Gemini gives none. */
static int64_t embed_gemini_tokens(struct json_object *texts)
{
	int64_t total = 0;

	for (size_t i = 0; texts && i < json_object_array_length(texts); i++) {
		int64_t len = json_object_get_string_len(json_object_array_get_idx(texts, i));
		total += len > 4 ? (len + 3) / 4 : 1;
	}
	return total;
}

static struct json_object *embed_gemini_usage(struct json_object *client)
{
	struct json_object *texts = embed_gemini_texts(client);
	struct json_object *usage = xcheck(json_object_new_object());
	int64_t tokens = embed_gemini_tokens(texts);

	json_object_object_add(usage, "prompt_tokens", xcheck(json_object_new_int64(tokens)));
	json_object_object_add(usage, "total_tokens", xcheck(json_object_new_int64(tokens)));
	json_object_put(texts);
	return usage;
}

/* The data list for `embeddings`, or NULL with *why set. */
static struct json_object *embed_gemini_data(struct json_object *embeddings, size_t expected,
					     bool base64, const char **why)
{
	struct json_object *data;

	if (!json_object_is_type(embeddings, json_type_array) || json_object_array_length(embeddings) == 0) {
		*why = "answer holds no embeddings";
		return NULL;
	}
	if (json_object_array_length(embeddings) != expected) {
		*why = "answer holds another number of embeddings than texts were sent";
		return NULL;
	}
	data = xcheck(json_object_new_array());
	for (size_t i = 0; i < expected; i++) {
		struct json_object *o = embed_gemini_item(json_object_array_get_idx(embeddings, i), i, base64);
		if (o == NULL) {
			json_object_put(data);
			*why = "an embedding holds no usable values";
			return NULL;
		}
		json_object_array_add(data, o);
	}
	return data;
}

static enum errkind embed_gemini_answer_to(const char *body, const struct dialect_call *call,
					   struct canon *out, char *detail, size_t n)
{
	struct json_object *root = json_tokener_parse(body);
	struct json_object *texts = embed_gemini_texts(call->client);
	size_t expected = texts ? json_object_array_length(texts) : 0;
	struct json_object *error = jsonobj_get(root, "error");
	const char *why = NULL;
	struct json_object *data = NULL;

	json_object_put(texts);
	out->obj = NULL;
	out->text = NULL;
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(detail, n, "answer is not a JSON object");
	} else if (error != NULL) {
		struct json_object *msg = jsonobj_get(error, "message");
		snprintf(detail, n, "error in a 200 answer: %.160s",
			 msg ? json_object_get_string(msg) : "(no message)");
	} else if ((data = embed_gemini_data(jsonobj_get(root, "embeddings"), expected,
					     embed_gemini_base64_wanted(call->client), &why)) == NULL) {
		snprintf(detail, n, "%s", why);
	} else {
		out->obj = xcheck(json_object_new_object());
		json_object_object_add(out->obj, "object", xcheck(json_object_new_string("list")));
		json_object_object_add(out->obj, "data", data);
		json_object_object_add(out->obj, "model", xcheck(json_object_new_string(call->ep->model)));
		json_object_object_add(out->obj, "usage", embed_gemini_usage(call->client));
		json_object_put(root);
		return ERRKIND_NONE;
	}
	json_object_put(root);
	return ERRKIND_INVALID_RESPONSE;
}

const struct dialect dialect_gemini_embeddings = {
	.name = "gemini-embeddings",
	.url = embed_gemini_url,
	.body = embed_gemini_body,
	.headers = embed_gemini_headers,
	.error = gemini_error,   /* in Gemini's shape, as for generateContent */
	.refuses = embed_gemini_refuses,
	.answer_to = embed_gemini_answer_to,
};
