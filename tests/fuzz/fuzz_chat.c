/* fuzz_chat.c: libFuzzer harness for what immortal does with a client's
 * request and an upstream's answer: the endpoint body, a continuation,
 * completion-to-chunks conversion and chunk adaptation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chat.h"
#include "resume.h"
#include "upreq.h"

static enum im_rc fuzz_on_chunk(void *ctx, const char *json)
{
	struct resume *rs = ctx;
	struct json_object *o = json_tokener_parse(json);

	if (o != NULL) {
		char *out = resume_adapt(rs, o);
		free(out);
		json_object_put(o);
	}
	return IM_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct endpoint ep = { .model = "m", .max_tokens = 100, .has_temperature = true,
			       .temperature = 0.5, .continuation = CONTINUATION_VLLM };
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	struct resume rs;

	json_tokener_free(tok);
	if (o == NULL)
		return 0;
	if (json_object_is_type(o, json_type_object)) {
		free(upreq_body(o, &ep, true, true));
		free(upreq_body(o, &ep, false, false));
		(void)chat_completion_usable(o);
		resume_init(&rs);
		resume_observe(&rs, o);
		(void)resume_refusal(&rs, o);
		resume_begin(&rs);
		free(resume_body(&rs, o, &ep, true));
		(void)chat_completion_to_chunks(o, true, fuzz_on_chunk, &rs);
		resume_free(&rs);
		/* a legacy text completion: the input is its chunk and its request */
		resume_init_route(&rs, ROUTE_COMPLETIONS);
		resume_observe(&rs, o);
		(void)resume_refusal(&rs, o);
		resume_begin(&rs);
		free(resume_body(&rs, o, &ep, true));
		free(resume_adapt(&rs, o));
		resume_free(&rs);
	}
	json_object_put(o);
	return 0;
}
