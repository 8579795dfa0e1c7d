/* fuzz_group.c: libFuzzer harness for group files. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"

static const char *fuzz_getenv(const char *name)
{
	return strcmp(name, "SET") == 0 ? "value" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[512], warn[512];
	struct group *g = NULL;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (group_parse("fuzz", "fuzz.json", text, fuzz_getenv, &g, err, sizeof err,
			warn, sizeof warn) == IM_OK)
		group_free(g);
	free(text);
	return 0;
}
