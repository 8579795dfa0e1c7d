/* fuzz_upstream.c: libFuzzer harness for what immortal reads from an
 * upstream's headers and error answers and what it forwards of a client's
 * body: Retry-After values, secret redaction and value pinning.
 * The first byte picks the parser; the rest is its input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonraw.h"
#include "redact.h"
#include "retryafter.h"

#define FUZZ_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static void fuzz_retryafter(const char *s, size_t n)
{
	long v = retryafter_parse(s, n, n % 2 == 0, (time_t)1700000000);

	if (v < -1 || v > RETRYAFTER_MAX_S)
		abort();
}

/* The secret is the text's first 16 bytes: it never survives redaction. */
static void fuzz_redact(const char *s, size_t n)
{
	char *text = strndup(s, n);
	size_t tl = strlen(text);
	char *secret = strndup(text, tl < 16 ? tl : 16);
	char *out = redact_secrets(text, secret);

	if (strlen(secret) >= 4 && strstr(out, secret) != NULL)
		abort();
	free(out);
	free(secret);
	free(text);
}

/* Pinning never changes a value: when json-c's own output of the input
 * parses back to an equal tree, so does the pinned tree's output. (json-c
 * keeps the text of doubles, so its own output can be invalid, e.g. "02e".) */
static void fuzz_jsonraw(const char *s, size_t n)
{
	struct json_tokener *tok = json_tokener_new_ex(128);
	struct json_object *root = json_tokener_parse_ex(tok, s, (int)n);

	if (root != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		struct json_object *plain = NULL;
		struct json_object *own = json_tokener_parse(json_object_to_json_string_ext(root, FUZZ_FLAGS));
		bool checkable = own != NULL && json_object_equal(own, root);
		json_object_put(own);
		if (checkable && json_object_deep_copy(root, &plain, NULL) == 0) {
			(void)jsonraw_pin(root, s, n);
			struct json_object *back = json_tokener_parse(
				json_object_to_json_string_ext(root, FUZZ_FLAGS));
			if (back == NULL || !json_object_equal(back, plain))
				abort();
			json_object_put(back);
		}
		json_object_put(plain);
	}
	json_object_put(root);
	json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;

	switch (data[0] % 3) {
	case 0: fuzz_retryafter(s, n); break;
	case 1: fuzz_redact(s, n); break;
	default: fuzz_jsonraw(s, n); break;
	}
	return 0;
}
