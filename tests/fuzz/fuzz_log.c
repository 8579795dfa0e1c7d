/* fuzz_log.c: libFuzzer harness for the log's escaping (common/log.c).
 * Whatever bytes a value holds, and however small the line, a rendered
 * line is one line without control characters, and in JSON one valid
 * object. The first byte picks the line's cap; the rest, split at its
 * first NUL, gives two values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"

static char line[8192];

static void fuzz_check(enum log_format format, size_t cap, const char *a, const char *b)
{
	const struct log_field fields[] = {
		LOG_S("a", a), LOG_MSG("fuzzed"), LOG_S("b", b), LOG_I("n", 1), { .kind = LOG_F_END },
	};
	size_t n = log_render(line, cap, format, LOG_INFO, "2026-01-01T00:00:00.000Z", 1, fields);

	if (n == 0 || n > cap || line[n - 1] != '\n')
		abort();
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			abort();
	if (format == LOG_JSON) {
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o = json_tokener_parse_ex(tok, line, (int)n);
		if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
		    !json_object_is_type(o, json_type_object))
			abort();
		json_object_put(o);
		json_tokener_free(tok);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t cap = 256 + (size_t)data[0] * 31;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	const char *b = text + strlen(text);   /* "" or past the first NUL */
	if ((size_t)(b - text) < size - 1)
		b++;
	fuzz_check(LOG_TEXT, cap, text, b);
	fuzz_check(LOG_JSON, cap, text, b);
	free(text);
	return 0;
}
