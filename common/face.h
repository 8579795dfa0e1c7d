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

#include <stdbool.h>

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
/* choices[0] of a chat object, or NULL. */
struct json_object *face_choice(struct json_object *obj);
/* The error's message and type from an OpenAI-shaped error text; borrowed
 * from *root (the caller puts it); never NULL. */
void face_error_parts(const char *error_json, struct json_object **root,
		      const char **message, const char **type, const char **code);
/* A whole chat.completion as one streamed chunk (a new object): the faces
 * build their whole answers by feeding it through their stream state. */
struct json_object *face_completion_as_chunk(struct json_object *completion);

/* Appends the JSON text of `obj` (borrowed). */
enum im_rc face_write(struct buf *out, struct json_object *obj);
/* Runs a chunk object (borrowed) through a face's state `st`. */
typedef enum im_rc face_obj_fn(void *st, struct json_object *chunk, struct buf *out);
/* The `chunk` of a stateful face: `c` as an object, through `fn`; a chunk
 * that is no object is passed over. */
enum im_rc face_chunk_via(void *st, const struct canon *c, struct buf *out, face_obj_fn *fn);

/* The delta of a choice (borrowed), or NULL. */
struct json_object *face_delta_of(struct json_object *choice);
/* Reasoning (`reasoning` true) or answer text, possibly NULL or empty. */
typedef enum im_rc face_text_fn(void *st, bool reasoning, const char *text, struct buf *out);
/* One canonical tool call (borrowed). */
typedef enum im_rc face_call_fn(void *st, struct json_object *tool_call, struct buf *out);
/* Feeds the delta of `choice` (may be NULL) to `text`: reasoning_content,
 * reasoning, then content; then each tool call to `call`. Stops at the
 * first error. */
enum im_rc face_delta(struct json_object *choice, void *st, face_text_fn *text, face_call_fn *call,
		      struct buf *out);

/* Makes a whole answer from a completion run as one chunk through the
 * fresh state `st`, whose events go to `scratch` and are dropped. Returns
 * the answer (caller owns it); sets *rc on an error. */
typedef struct json_object *face_whole_fn(void *st, struct json_object *chunk, struct buf *scratch,
					  enum im_rc *rc);
/* The `answer` of a stateful face: `completion` as one chunk
 * (face_completion_as_chunk) through a fresh state of `face` and `whole`,
 * written to `out` as JSON. */
enum im_rc face_answer_via(const struct face *face, const struct canon *completion,
			   face_whole_fn *whole, struct buf *out);

/* OpenAI chat completions: `data: JSON` events and `data: [DONE]`. */
extern const struct face face_chat;

#endif
