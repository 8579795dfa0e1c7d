/* canon.h: the canonical form of an answer, between decoders and faces.
 *
 * Whatever an upstream speaks, its decoder (dialect.h) turns the answer into
 * OpenAI chat objects: chat.completion.chunk for streams, chat.completion
 * for whole answers. The client stream (cstream.h) and its face (face.h)
 * only ever see this form. */
#ifndef IMMORTAL_CANON_H
#define IMMORTAL_CANON_H

struct json_object;

struct canon {
	/* The parsed object; borrowed. The client stream may change it in
	 * place (a continuation's chunk is adapted), so it is not const. */
	struct json_object *obj;
	/* The object's text as the upstream sent it (an event's data may
	 * span several lines), or NULL when there is none (translated).
	 * While the object
	 * is unchanged this text is what the client gets, so numbers and
	 * strings reach it byte for byte. Borrowed. */
	const char *text;
};

/* The text of `c`: its original text, else `obj` serialised compactly
 * (valid until `obj` changes or is put). */
const char *canon_text(const struct canon *c);

#endif
