/* fuzz_dialect.c: libFuzzer harness for the dialects' decoders and request
 * translation (dialect.h). The first byte picks the dialect (modulo their
 * number), what the rest is (a streamed answer split in two feeds, a whole
 * answer, an error answer, a client request) and where the stream is
 * split. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "chat.h"
#include "dialect.h"
#include "resume.h"

static enum im_rc fuzz_chunk(void *ctx, const struct canon *c)
{
	struct chat_aggregate *agg = ctx;
	(void)chat_chunk_has_content(c->obj);
	(void)canon_text(c);
	return chat_aggregate_feed(agg, c->obj) == IM_OK ? IM_OK : IM_ESTOP;
}

static void fuzz_done(void *ctx)
{
	(void)ctx;
}

static enum im_rc fuzz_error(void *ctx, enum errkind kind, const char *message)
{
	(void)ctx;
	(void)kind;
	(void)strlen(message);
	return IM_ESTOP;
}

static void fuzz_dropped(void *ctx, size_t bytes)
{
	(void)ctx;
	(void)bytes;
}

static void fuzz_stream(const struct dialect *d, const char *text, size_t len, size_t split)
{
	struct chat_aggregate *agg = chat_aggregate_new(1u << 20);
	struct dialect_out out = { agg, fuzz_chunk, fuzz_done, fuzz_error, fuzz_dropped };
	struct dialect_call call = { .up_stream = true, .client_usage = true };
	struct dialect_stream *st = d->stream_new(&out, &call);

	if (d->stream_feed(st, text, split) == IM_OK && d->stream_feed(st, text + split, len - split) == IM_OK)
		(void)d->stream_finish(st);
	(void)d->stream_began(st);
	d->stream_free(st);
	free(chat_aggregate_finish(agg));
	chat_aggregate_free(agg);
}

static void fuzz_request(const struct dialect *d, const char *text)
{
	struct endpoint ep = { .name = "e", .baseurl = "https://x.test/v1", .url = "https://x.test/v1/chat/completions",
			       .model = "m", .max_tokens = 100 };
	struct json_object *client = json_tokener_parse(text);
	struct json_object *chunk = json_tokener_parse("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \"}}]}");
	struct resume rs;

	if (!json_object_is_type(client, json_type_object)) {
		json_object_put(client);
		json_object_put(chunk);
		return;
	}
	resume_init(&rs);
	resume_observe(&rs, chunk);
	resume_begin(&rs);
	struct dialect_call fresh = { .up_stream = true }, cont = { .prefill = &rs };
	free(d->body(client, &ep, &fresh));
	free(d->body(client, &ep, &cont));
	resume_free(&rs);
	json_object_put(chunk);
	json_object_put(client);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dialect *const dialects[] = { &dialect_openai, &dialect_anthropic, &dialect_gemini };
	const size_t n_dialects = sizeof dialects / sizeof dialects[0];

	if (size < 1)
		return 0;
	const struct dialect *d = dialects[data[0] % n_dialects];
	unsigned mode = (data[0] / n_dialects) % 4;
	char *text = strndup((const char *)data + 1, size - 1);
	size_t len = strlen(text);
	struct canon c;
	char detail[256];
	struct dialect_error e;

	switch (mode) {
	case 0:
		fuzz_stream(d, text, len, len ? (data[0] * 7u) % (len + 1) : 0);
		break;
	case 1:
		if (d->answer(text, &c, detail, sizeof detail) == ERRKIND_NONE) {
			(void)canon_text(&c);
			json_object_put(c.obj);
		}
		break;
	case 2:
		d->error(429, text, &e);
		free(e.shaped);
		break;
	default:
		fuzz_request(d, text);
		break;
	}
	free(text);
	return 0;
}
