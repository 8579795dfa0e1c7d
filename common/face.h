/* face.h: the wire format the client speaks, over the canonical stream.
 *
 * The client stream (cstream.h) decides what the client gets and when; a
 * face only decides how it looks on the wire: it serialises canonical
 * chunks (canon.h), the end of a stream, an in-band error and a whole
 * answer. Like the last body filter of a web server, it knows nothing of
 * upstreams or failover. Today there is one face, chat completions; other
 * APIs (Responses, Anthropic Messages) become further faces with their own
 * state in `st` (sequence numbers, open content blocks). */
#ifndef IMMORTAL_FACE_H
#define IMMORTAL_FACE_H

#include "buf.h"
#include "canon.h"
#include "result.h"

struct face {
	const char *name;
	const char *stream_type;   /* Content-Type of a streamed answer */
	const char *keepalive;     /* what keeps a silent stream alive */
	/* Each appends to `out` and returns IM_ETOOBIG past its cap. */
	enum im_rc (*chunk)(void *st, const struct canon *chunk, struct buf *out);
	enum im_rc (*done)(void *st, struct buf *out);
	/* An error after the status line went out; `error_json` is an
	 * OpenAI-shaped {"error": ...} text. */
	enum im_rc (*error)(void *st, const char *error_json, struct buf *out);
	/* A whole chat.completion for a client that did not stream. */
	enum im_rc (*answer)(void *st, const struct canon *completion, struct buf *out);
};

/* OpenAI chat completions: `data: JSON` events and `data: [DONE]`. */
extern const struct face face_chat;

#endif
