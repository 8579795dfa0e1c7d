/* fuzz_messages.c: libFuzzer harness for the .../messages route: its request body
 * as the route translates it (common/facereq_messages.c), and the same bytes as
 * a canonical chunk and a whole completion through its face
 * (common/face_messages.c), since upstream answers reach the face as such. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face_messages.h"
#include "facereq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clientreq r;
	const char *param;
	char err[256];

	if (facereq_messages((const char *)data, size, &r, err, sizeof err, &param) == IM_OK) {
		if (r.model == NULL || strlen(r.model) > size)
			__builtin_trap();
		clientreq_free(&r);
	}
	char *text = strndup((const char *)data, size);
	struct buf out;
	buf_init(&out, 1u << 24);
	void *st = face_messages.state_new();
	(void)face_messages.chunk(st, &(struct canon){ .text = text }, &out);
	(void)face_messages.chunk(st, &(struct canon){ .text = text }, &out);
	(void)face_messages.done(st, &out);
	(void)face_messages.error(st, text, &out);
	(void)face_messages.answer(st, &(struct canon){ .text = text }, &out);
	face_messages.state_free(st);
	buf_free(&out);
	free(text);
	return 0;
}
