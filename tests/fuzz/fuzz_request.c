/* fuzz_request.c: libFuzzer harness for a client's chat request body as
 * the /chat/completions route parses and checks it (common/clientreq.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clientreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clientreq r;
	const char *param;
	char err[256];

	if (clientreq_parse((const char *)data, size, &r, err, sizeof err, &param) == IM_OK) {
		/* what the route reads afterwards */
		if (r.model == NULL || strlen(r.model) > size)
			__builtin_trap();
		clientreq_free(&r);
	}
	return 0;
}
