/* face_chat.c: the chat completions face (see face.h). */
#include "face.h"

#include <string.h>

#include "sse.h"

/* One `data: ` line per line of `data`: an upstream's multi-line event
 * reaches the client as the same data lines. */
static enum im_rc face_chat_event(struct buf *out, const char *data)
{
	return sse_write_data(out, data, strlen(data));
}

static enum im_rc face_chat_chunk(void *st, const struct canon *chunk, struct buf *out)
{
	(void)st;
	return face_chat_event(out, canon_text(chunk));
}

static enum im_rc face_chat_done(void *st, struct buf *out)
{
	(void)st;
	return face_chat_event(out, "[DONE]");
}

static enum im_rc face_chat_error(void *st, const char *error_json, struct buf *out)
{
	(void)st;
	return face_chat_event(out, error_json);
}

static enum im_rc face_chat_answer(void *st, const struct canon *completion, struct buf *out)
{
	(void)st;
	return buf_append_str(out, canon_text(completion));
}

const struct face face_chat = {
	.name = "chat",
	.stream_type = "text/event-stream",
	.keepalive = ": keep-alive\n\n",
	.chunk = face_chat_chunk,
	.done = face_chat_done,
	.error = face_chat_error,
	.answer = face_chat_answer,
};
