/* face.h: the wire format the client speaks, over the canonical stream.
 *
 * The client stream (cstream.h) decides what the client gets and when; a
 * face only decides how it looks on the wire: it serialises canonical
 * chunks (canon.h), the end of a stream, an in-band error and a whole
 * answer. Like the last body filter of a web server, it knows nothing of
 * upstreams or failover. Chat completions keep no state; the Responses and
 * Anthropic Messages faces keep theirs in `st` (sequence numbers, open
 * output items or content blocks, text gathered for their *.done events). */
#ifndef IMMORTAL_FACE_H
#define IMMORTAL_FACE_H

#include "buf.h"
#include "canon.h"
#include "result.h"

struct json_object;

struct face {
	const char *name;
	const char *stream_type;   /* Content-Type of a streamed answer */
	const char *keepalive;     /* what keeps a silent stream alive */
	/* Per-stream state, NULL for a face that keeps none: a fresh state for
	 * a stream (or for an attempt after one that reached no client). */
	void *(*state_new)(void);
	void (*state_free)(void *st);
	/* Each appends to `out` and returns IM_ETOOBIG past its cap. */
	enum im_rc (*chunk)(void *st, const struct canon *chunk, struct buf *out);
	enum im_rc (*done)(void *st, struct buf *out);
	/* An error after the status line went out; `error_json` is an
	 * OpenAI-shaped {"error": ...} text. */
	enum im_rc (*error)(void *st, const char *error_json, struct buf *out);
	/* A whole chat.completion for a client that did not stream. */
	enum im_rc (*answer)(void *st, const struct canon *completion, struct buf *out);
	/* An error answer before anything was streamed, in the face's own
	 * shape: `error_json` (OpenAI-shaped) rewritten into `out`, *status
	 * mapped to the face's status codes. NULL: OpenAI's shape as it is. */
	enum im_rc (*error_answer)(int *status, const char *error_json, struct buf *out);
};

/* ---- helpers for faces (face.c) ---- */

/* `event: NAME` (unless NULL) and `data: JSON` of `data` (borrowed). */
enum im_rc face_event(struct buf *out, const char *name, struct json_object *data);
/* The chunk's object: its own, or parsed from its text into *owned (the
 * caller puts *owned). NULL when neither gives an object. */
struct json_object *face_chunk_obj(const struct canon *c, struct json_object **owned);
/* Member `key` of `obj` as a string, or NULL. */
const char *face_str(struct json_object *obj, const char *key);
/* choices[0] of a chat object, or NULL. */
struct json_object *face_choice(struct json_object *obj);
/* The error's message and type from an OpenAI-shaped error text; borrowed
 * from *root (the caller puts it); never NULL. */
void face_error_parts(const char *error_json, struct json_object **root,
		      const char **message, const char **type, const char **code);
/* A whole chat.completion as one streamed chunk (a new object): the faces
 * build their whole answers by feeding it through their stream state. */
struct json_object *face_completion_as_chunk(struct json_object *completion);

/* OpenAI chat completions: `data: JSON` events and `data: [DONE]`. */
extern const struct face face_chat;

#endif
