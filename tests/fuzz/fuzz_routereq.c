/* fuzz_routereq.c: libFuzzer harness for the embeddings and legacy
 * completions request checks (common/routereq.c) and the Gemini embeddings
 * translation (common/embed_gemini.c). The first byte picks the route; the
 * rest is the client's body, and, for an embeddings request that passes,
 * also the answer the translation reads. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dialect.h"
#include "routereq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_gemini(struct json_object *client, const char *answer)
{
	static char model[] = "text-embedding-004", url[] = "http://127.0.0.1:1/v1beta";
	struct endpoint ep = { .model = model, .baseurl = url, .type = ENDPOINT_OPENAI };
	struct dialect_call call = { .request_id = "fuzz", .client = client, .ep = &ep };
	const struct dialect *d = &dialect_gemini_embeddings;
	struct canon out;
	char detail[256];

	free(dialect_openai_embeddings.body(client, &ep, &call));
	if (d->refuses(client) != NULL)
		return;
	free(d->body(client, &ep, &call));
	if (d->answer_to(answer, &call, &out, detail, sizeof detail) == ERRKIND_NONE) {
		if (out.obj == NULL)
			__builtin_trap();
		(void)canon_text(&out);
		json_object_put(out.obj);
	} else if (strlen(detail) >= sizeof detail) {
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clientreq r;
	const char *param;
	char err[256];

	if (size < 1)
		return 0;
	enum route_kind kind = data[0] % 2 ? ROUTE_EMBEDDINGS : ROUTE_COMPLETIONS;
	/* NUL-terminated for the answer parser; the request parser gets the
	 * length and may see NULs inside */
	char *text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (routereq_parse(kind, text, size - 1, &r, err, sizeof err, &param) == IM_OK) {
		if (r.model == NULL || strlen(r.model) > size)
			__builtin_trap();
		if (kind == ROUTE_EMBEDDINGS)
			fuzz_gemini(r.body, text);
		clientreq_free(&r);
	}
	free(text);
	return 0;
}
