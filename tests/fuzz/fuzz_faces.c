/* fuzz_faces.c: libFuzzer harness for the three chat routes, each input
 * through all of them: the request body as the route reads it
 * (common/clientreq.c for /chat/completions, common/facereq_*.c for
 * .../responses and .../messages), and the same bytes as canonical chunks,
 * an error and a whole completion through the route's face (common/face*.c),
 * since upstream answers reach the faces as such. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face_messages.h"
#include "face_responses.h"
#include "facereq.h"

typedef enum im_rc fuzz_parse_fn(const char *text, size_t len, struct clientreq *out,
				 char *err, size_t errlen, const char **param);

static const struct {
	fuzz_parse_fn *parse;
	const struct face *face;
} fuzz_routes[] = {
	{ clientreq_parse, &face_chat },
	{ facereq_responses, &face_responses },
	{ facereq_messages, &face_messages },
};

static void fuzz_request(fuzz_parse_fn *parse, const uint8_t *data, size_t size)
{
	struct clientreq r;
	const char *param;
	char err[256];

	if (parse((const char *)data, size, &r, err, sizeof err, &param) != IM_OK)
		return;
	/* what the route reads afterwards */
	if (r.model == NULL || strlen(r.model) > size)
		__builtin_trap();
	clientreq_free(&r);
}

static void fuzz_face(const struct face *f, const char *text)
{
	struct buf out;
	int status = 502;
	void *st = f->state_new ? f->state_new() : NULL;

	buf_init(&out, 1u << 24);
	(void)f->chunk(st, &(struct canon){ .text = text }, &out);
	(void)f->chunk(st, &(struct canon){ .text = text }, &out);
	(void)f->done(st, &out);
	(void)f->error(st, text, &out);
	(void)f->answer(st, &(struct canon){ .text = text }, &out);
	if (f->error_answer != NULL)
		(void)f->error_answer(&status, text, &out);
	if (f->state_free != NULL)
		f->state_free(st);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);

	for (size_t i = 0; i < sizeof fuzz_routes / sizeof fuzz_routes[0]; i++) {
		fuzz_request(fuzz_routes[i].parse, data, size);
		fuzz_face(fuzz_routes[i].face, text);
	}
	free(text);
	return 0;
}
