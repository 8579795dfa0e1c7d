/* fuzz_access.c: libFuzzer harness for the access keys file (both forms:
 * one key per line, or a JSON object of key: [groups]) and the checks made
 * with what it loaded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct access *acl = NULL;
	char err[512];
	int who = -1;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (access_parse(text, &acl, err, sizeof err) == IM_OK) {
		/* the first line doubles as a presented key */
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		(void)access_check(acl, text, "g", &who);
		(void)access_check(acl, "Bearer  x ", NULL, NULL);
		(void)access_allows(acl, who, "*");
		access_unref(acl);
	}
	free(text);
	return 0;
}
