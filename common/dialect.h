/* dialect.h: the wire format of one endpoint type, behind one interface.
 *
 * The attempt (attempt.h) drives the transfer and never knows which API it
 * speaks: a dialect builds the request for an endpoint from the client's
 * canonical chat request, turns the answer's bytes into canonical chunks
 * or a canonical completion (canon.h), and classifies error answers into
 * the taxonomy (errkind.h). One dialect per family of APIs; endpoint types
 * that speak the same API share it. */
#ifndef IMMORTAL_DIALECT_H
#define IMMORTAL_DIALECT_H

#include <stdbool.h>
#include <stddef.h>

#include "canon.h"
#include "errkind.h"
#include "group.h"
#include "result.h"
#include "resume.h"

struct json_object;
struct curl_slist;

/* What the request is for. */
struct dialect_call {
	const char *request_id;         /* for log lines */
	bool up_stream;                 /* ask the upstream for a stream */
	bool want_usage;                /* ... with usage (to aggregate it) */
	bool client_usage;              /* the client asked for a usage chunk */
	const struct resume *prefill;   /* continue this delivered answer; NULL: fresh */
	struct json_object *client;     /* the client's request; only read */
	const struct endpoint *ep;      /* the endpoint asked */
};

/* Where a stream decoder reports what it read, in order. */
struct dialect_out {
	void *ctx;
	/* One canonical chunk, borrowed for the call (the callee may change
	 * it in place). Anything but IM_OK stops the stream. */
	enum im_rc (*chunk)(void *ctx, const struct canon *chunk);
	/* The upstream's own end-of-stream marker. */
	void (*done)(void *ctx);
	/* An error inside the stream, classified, with its message; the
	 * return stops the stream. */
	enum im_rc (*error)(void *ctx, enum errkind kind, const char *message);
	/* An event that was not understood was dropped (its size). */
	void (*dropped)(void *ctx, size_t bytes);
};

struct dialect_stream;

/* A non-2xx answer, read once (its body is parsed a single time). */
struct dialect_error {
	enum errkind kind;
	char message[256];   /* the upstream's message, else the start of its body */
	bool api_error;      /* the body is an API error answer, not a proxy's page */
	char *shaped;        /* owned: that error in OpenAI's shape when the body
				is in another one, else NULL (the body is it) */
};

struct dialect {
	const char *name;
	/* The request: URL, body and headers (each caller frees; the
	 * headers hold the API key and go nowhere but libcurl). `client` is
	 * only read. */
	char *(*url)(const struct endpoint *ep, const struct dialect_call *call);
	char *(*body)(struct json_object *client, const struct endpoint *ep,
		      const struct dialect_call *call);
	struct curl_slist *(*headers)(const struct endpoint *ep, const struct dialect_call *call);

	/* A streamed answer (NULL for a route that never streams): a decoder fed the body's bytes as they come,
	 * for the request `call` described (borrowed for the stream's life). */
	struct dialect_stream *(*stream_new)(const struct dialect_out *out,
					     const struct dialect_call *call);
	/* IM_ETOOBIG past a cap, or a callback's stop code. */
	enum im_rc (*stream_feed)(struct dialect_stream *st, const char *data, size_t len);
	/* The body ended: dispatches what is left. */
	enum im_rc (*stream_finish)(struct dialect_stream *st);
	/* True once the body turned out to be a stream (an event arrived). */
	bool (*stream_began)(const struct dialect_stream *st);
	void (*stream_free)(struct dialect_stream *st);

	/* A whole 2xx answer. Returns ERRKIND_NONE and a canonical completion
	 * in *out (out->obj owned by the caller, out->text borrowed from
	 * `body` or NULL), else the kind and a one-line detail. */
	enum errkind (*answer)(const char *body, struct canon *out, char *detail, size_t n);
	/* A non-2xx answer (`body` at most its first 64 KiB): fills *out; the
	 * caller frees out->shaped. */
	void (*error)(long status, const char *body, struct dialect_error *out);

	/* Optional, for routes other than chat (route.h). */
	/* Why this dialect cannot serve the request `client` (a static
	 * string), or NULL when it can. */
	const char *(*refuses)(struct json_object *client);
	/* Used instead of `answer` (then NULL) when the answer's translation
	 * depends on the request (`call`); same contract. */
	enum errkind (*answer_to)(const char *body, const struct dialect_call *call,
				  struct canon *out, char *detail, size_t n);
};

/* OpenAI's reading of an error answer, `root` its parsed `body` (NULL when
 * it is not JSON); other dialects fall back on it for a proxy's answer. */
void dialect_openai_error_of(long status, struct json_object *root, const char *body,
			     struct dialect_error *out);

/* The dialect an endpoint type speaks. */
const struct dialect *dialect_for(enum endpoint_type type);

/* OpenAI chat completions, as OpenAI, Chutes and OpenRouter speak it. */
extern const struct dialect dialect_openai;
/* Anthropic's Messages API. */
extern const struct dialect dialect_anthropic;
/* Google's Gemini generateContent API. */
extern const struct dialect dialect_gemini;
/* OpenAI's embeddings and legacy completions APIs (dialect_openai.c). */
extern const struct dialect dialect_openai_embeddings;
extern const struct dialect dialect_openai_completions;
/* Gemini's batchEmbedContents, answered in OpenAI's shape (embed_gemini.c). */
extern const struct dialect dialect_gemini_embeddings;

#endif
