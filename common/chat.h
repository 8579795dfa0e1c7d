/* chat.h: the shapes of OpenAI chat answers, and conversion between them.
 *
 * Knows what a chat.completion and a chat.completion.chunk look like: which
 * chunk carries content, when a stream is finished, whether a completion is
 * usable, how chunks aggregate into one completion (streamed upstream,
 * non-streamed client) and how a completion becomes chunks (the reverse). */
#ifndef IMMORTAL_CHAT_H
#define IMMORTAL_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct json_object;

/* True when a chunk's delta carries content, reasoning or tool calls (a
 * role-only chunk or an empty delta does not), or, in a legacy
 * text_completion chunk, a choice carries non-empty `text`. */
bool chat_chunk_has_content(struct json_object *chunk);
/* True when some choice of the chunk has a non-null finish_reason. */
bool chat_chunk_has_finish(struct json_object *chunk);
/* True when a non-streamed answer holds a usable completion. */
bool chat_completion_usable(struct json_object *completion);

/* Aggregates stream chunks into one chat.completion. */
struct chat_aggregate;
/* `max_bytes` caps the text held, across all choices. */
struct chat_aggregate *chat_aggregate_new(size_t max_bytes);
/* Adds one parsed chunk (only read). IM_ETOOBIG past the cap. */
enum im_rc chat_aggregate_feed(struct chat_aggregate *agg, struct json_object *chunk);
/* Returns the completion as a new JSON text (caller frees). */
char *chat_aggregate_finish(struct chat_aggregate *agg);
void chat_aggregate_free(struct chat_aggregate *agg);

/* Called with each chunk's JSON text, in order. */
typedef enum im_rc (*chat_chunk_fn)(void *ctx, const char *json);

/* Turns a completion into stream chunks: per choice a delta with all its
 * content and a finish chunk, then a usage chunk when `include_usage`. */
enum im_rc chat_completion_to_chunks(struct json_object *completion, bool include_usage,
				     chat_chunk_fn fn, void *ctx);

#endif
