/* foreign.h: what the translators of the non-OpenAI APIs (Anthropic's,
 * Gemini's) share: reading the parts of an OpenAI chat request, a stream
 * of JSON events turned into OpenAI chat chunks, and a whole answer's
 * pieces turned into an OpenAI chat completion.
 *
 * A decoder's state (its struct dialect_stream) begins with a struct
 * foreign_stream: the SSE parser, the dialect_out callbacks and what every
 * translated chunk carries (id, model, creation time, token counts). This
 * module parses the events and writes the chunks; the decoder only reads
 * its API's events, so the two translations cannot drift apart in the
 * OpenAI shape they produce. */
#ifndef IMMORTAL_FOREIGN_H
#define IMMORTAL_FOREIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "dialect.h"
#include "sse.h"

/* ---- requests ---- */

/* Appends `items` (an array, taken) to the array `turns` as a turn
 * {"role": role, key: items}, merged into the last turn when that has the
 * same role (both APIs want roles alternating); empty `items` are dropped. */
void foreign_turn(struct json_object *turns, const char *role, const char *key, struct json_object *items);
/* The URL of an image_url part (its string or its {"url"}), borrowed, or NULL. */
const char *foreign_image_url(struct json_object *part);
/* For a data:MEDIA;base64,DATA URL: MEDIA (a new string, caller frees) and
 * *data pointing into `url`; NULL for any other URL. */
char *foreign_data_url(const char *url, const char **data);
/* True for an http:// or https:// URL. */
bool foreign_is_http(const char *url);
/* A tool call's arguments (the JSON text in function.arguments) as a new
 * object; {} when they are missing or no JSON object. */
struct json_object *foreign_call_args(struct json_object *fn);

/* The client's token cap (max_completion_tokens, else max_tokens), lowered
 * to the endpoint's; 0 when neither sets one. */
long foreign_max_tokens(struct json_object *client, const struct endpoint *ep);
/* stop, a string or an array of strings, as a new array of its non-empty
 * strings; NULL when none is left. */
struct json_object *foreign_stop(struct json_object *stop);
/* A function tool's declaration (a new object): name, description and the
 * parameters' schema as `schema_key` (when an object); NULL without a name. */
struct json_object *foreign_tool_decl(struct json_object *tool, const char *schema_key);
/* Logs each member of `client` not in `read` (NULL-terminated), which
 * the translation drops, with `message` (static) naming the API. */
void foreign_log_dropped(struct json_object *client, const char *const *read, const char *message,
			 const struct endpoint *ep, const struct dialect_call *call);
/* The request body `body` (taken) as text (caller frees). */
char *foreign_serialize(struct json_object *body);

/* ---- error answers ---- */

/* How an API's error answers read. */
struct foreign_errors {
	/* The error object of a parsed answer (`root`, may be NULL) in this
	 * API's shape, borrowed from `root`; NULL for any other answer. */
	struct json_object *(*object)(struct json_object *root);
	const char *type_key;        /* the error object's member naming its type */
	/* The error's kind, ERRKIND_COUNT when the API's tables lack it. */
	enum errkind (*kind)(struct json_object *error);
	/* True when `message` says the prompt is too long. */
	bool (*too_long)(const char *message);
};

/* A non-2xx answer, as dialect.h's `error` says: in the API's shape, its
 * message and kind and the error in OpenAI's shape; in any other (a proxy
 * on the way answered), as OpenAI's reading of it. */
void foreign_error(const struct foreign_errors *api, long status, const char *body,
		   struct dialect_error *out);

/* ---- answers: streams, then whole ones ---- */

/* One event's JSON object (borrowed for the call) and its `event:` name
 * ("" when absent), for the decoder's `ctx`. Anything but IM_OK stops the
 * stream. */
typedef enum im_rc (*foreign_event_fn)(void *ctx, const char *event, struct json_object *obj);

struct foreign_stream {
	struct sse_parser sse;
	struct dialect_out out;
	foreign_event_fn on_event;
	void *ctx;
	const char *api;             /* static: stands for the id an answer lacks */
	bool began;
	bool usage_wanted;
	struct json_object *id;      /* of the chunks: chatcmpl-<the answer's id> */
	struct json_object *model;
	int64_t created;
	int64_t prompt_tokens;
	int64_t completion_tokens;
	int n_tools;
};

/* `out` is copied, `api` kept (a static string); `call` is read now only;
 * `on_event` gets `ctx`, the decoder's own state. */
void foreign_stream_init(struct foreign_stream *fs, const char *api, const struct dialect_out *out,
			 const struct dialect_call *call, foreign_event_fn on_event, void *ctx);

/* For a dialect's table (dialect.h); each `st` begins with its struct
 * foreign_stream. foreign_stream_free frees `st` itself: a decoder frees
 * what else it owns first. */
enum im_rc foreign_stream_feed(struct dialect_stream *st, const char *data, size_t len);
enum im_rc foreign_stream_finish(struct dialect_stream *st);
bool foreign_stream_began(const struct dialect_stream *st);
void foreign_stream_free(struct dialect_stream *st);

/* The chunks' id and model, from the first answer that names them; later
 * calls change nothing. Either may be NULL. */
void foreign_identify(struct foreign_stream *fs, const char *id, const char *model);

/* A chunk of choice 0 with `delta` (taken) and a finish reason or null. */
enum im_rc foreign_emit_delta(struct foreign_stream *fs, struct json_object *delta, const char *finish);
/* A delta whose one member `key` is the string `s` (`len` bytes). */
enum im_rc foreign_emit_string(struct foreign_stream *fs, const char *key, const char *s, size_t len);
/* The first delta: role assistant, empty content. */
enum im_rc foreign_emit_role(struct foreign_stream *fs);
/* A delta with one tool call (taken). */
enum im_rc foreign_emit_tool(struct foreign_stream *fs, struct json_object *call);
/* The finish chunk, then the usage chunk when the call wants usage. */
enum im_rc foreign_emit_finish(struct foreign_stream *fs, const char *finish);

/* An OpenAI tool call (a new object) {"index", "id", "type": "function",
 * "function": {"name", "arguments"}}: `index` left out when < 0, `args`
 * (read) serialised, "{}" when NULL. */
struct json_object *foreign_tool_call(int index, const char *id, const char *name, struct json_object *args);

/* A whole answer's assistant message, collected part by part. */
struct foreign_answer {
	struct buf text;
	struct buf reasoning;
	struct json_object *calls;   /* tool calls */
};

void foreign_answer_init(struct foreign_answer *a);
/* The assistant message (a new object); frees the rest of *a. */
struct json_object *foreign_answer_message(struct foreign_answer *a);

/* What an OpenAI chat completion holds. */
struct foreign_completion {
	const char *api;             /* as for foreign_stream_init */
	const char *id;              /* the answer's, or NULL */
	const char *model;           /* or NULL */
	struct json_object *message; /* taken */
	const char *finish;
	int64_t prompt_tokens;
	int64_t completion_tokens;
};

/* The completion (a new object) of *c. */
struct json_object *foreign_completion(const struct foreign_completion *c);

#endif
