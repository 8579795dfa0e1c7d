/* resume.h: continuing a streamed answer whose upstream broke midway.
 *
 * Remembers what of a streamed answer reached the client (its text, whether
 * it was still reasoning, tool calls, the first chunk's id and created, how
 * many content chunks), builds the request that asks an endpoint for the
 * rest (chat: the delivered text as a trailing assistant message, in the
 * endpoint's continuation style; a legacy text completion: the prompt with
 * the delivered text appended), and adapts the continuation's chunks so the
 * client sees one stream: the same id and created, no second role, no text
 * twice (a model may repeat the end of the prefill or start over), usage
 * counting the content chunks the client received (a token each).
 *
 * A chat chunk carries its text in choices[0].delta.content, a text
 * completion's in choices[0].text; everything else is the same for both. */
#ifndef IMMORTAL_RESUME_H
#define IMMORTAL_RESUME_H

#include <stdbool.h>

#include "buf.h"
#include "group.h"
#include "result.h"
#include "route.h"

struct json_object;

/* The shortest repeat of the delivered text's end that is dropped; shorter
 * coincidences (a space, a full stop) are left alone. */
#define RESUME_MIN_OVERLAP 4

struct resume {
	enum route_kind route;       /* ROUTE_CHAT or ROUTE_COMPLETIONS */
	struct buf text;             /* content the client received (choice 0) */
	bool saw_reasoning;          /* reasoning reached the client */
	bool saw_tools;              /* tool calls reached the client */
	bool saw_other_choice;       /* a choice other than 0 */
	struct json_object *id;      /* of the stream's first chunk */
	struct json_object *created;
	long chunks;                 /* content chunks the client received */
	/* while a continuation runs */
	bool continuing;
	bool restart;                /* reasoning only: ask afresh, forward content only */
	size_t base_len;             /* text.len when the continuation began */
	struct buf held;             /* continuation text held until the overlap is known */
	bool decided;
};

/* For a chat stream. */
void resume_init(struct resume *rs);
/* For a stream of `route` (chat or legacy completions). */
void resume_init_route(struct resume *rs, enum route_kind route);
void resume_free(struct resume *rs);

/* Notes a chunk that reached the client unchanged (only read). */
void resume_observe(struct resume *rs, struct json_object *chunk);

/* Why this answer cannot be continued (tool calls, n > 1, logprobs; for a
 * text completion also echo, or a prompt that is not one text), or NULL
 * when it can. `client` is the client's request. */
const char *resume_refusal(const struct resume *rs, struct json_object *client);

/* Prepares the next continuation attempt. */
void resume_begin(struct resume *rs);

/* The body asking `ep` for the rest (caller frees): the client's request
 * with the delivered text as a trailing assistant message in the endpoint's
 * continuation style, or unchanged when restarting after reasoning. For a
 * text completion, the prompt followed by the delivered text, and a
 * client's max_tokens less the chunks delivered (at least 1). */
char *resume_body(const struct resume *rs, struct json_object *client,
		  const struct endpoint *ep, bool upstream_stream);

/* The delivered text a continuation carries as a trailing assistant turn
 * (borrowed until the next chunk), or false when it asks afresh. For
 * dialects that build that turn themselves. */
bool resume_prefill(const struct resume *rs, const char **text, size_t *len);

/* Adapts one chunk of a continuation for the client. Returns the JSON text
 * to forward (caller frees) or NULL when nothing of it is for the client
 * yet (a second role, held text, dropped reasoning). */
char *resume_adapt(struct resume *rs, struct json_object *chunk);

#endif
