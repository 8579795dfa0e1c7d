/* fuzz_sse.c: libFuzzer harness for the SSE parser and the chunk shapes.
 * The first byte says where to split the input into two feeds, so event
 * boundaries falling across reads are exercised too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chat.h"
#include "sse.h"

static enum im_rc fuzz_on_event(void *ctx, const struct sse_event *ev)
{
	struct chat_aggregate *agg = ctx;
	struct json_object *o = json_tokener_parse(ev->data);

	if (o != NULL) {
		(void)chat_chunk_has_content(o);
		(void)chat_chunk_has_finish(o);
		(void)chat_aggregate_feed(agg, o);
		json_object_put(o);
	}
	return IM_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_parser p;
	struct chat_aggregate *agg = chat_aggregate_new(1u << 20);
	size_t split = size ? data[0] % (size + 1) : 0;

	sse_parser_init(&p, 4096, fuzz_on_event, agg);
	if (sse_parser_feed(&p, (const char *)data, split) == IM_OK &&
	    sse_parser_feed(&p, (const char *)data + split, size - split) == IM_OK)
		(void)sse_parser_finish(&p);
	sse_parser_free(&p);
	char *json = chat_aggregate_finish(agg);
	free(json);
	chat_aggregate_free(agg);
	return 0;
}
