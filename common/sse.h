/* sse.h: an incremental parser for server-sent events.
 *
 * Upstream streams arrive in arbitrary pieces; the parser assembles lines
 * (LF, CRLF or CR), collects `data:` fields and hands each complete event
 * (and each comment line, which OpenRouter uses as keep-alive) to a callback.
 * A line longer than the cap is an error, never an unbounded allocation.
 * sse_write_data is the other direction: the event as immortal relays it. */
#ifndef IMMORTAL_SSE_H
#define IMMORTAL_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "result.h"

struct sse_event {
	const char *event;   /* the `event:` field, "" when absent */
	const char *data;    /* data lines joined with '\n'; NUL-terminated */
	size_t data_len;
	bool is_comment;     /* a ':' line; data holds the text after ':' */
};

/* Returns IM_OK to go on, anything else to stop feeding (returned by feed). */
typedef enum im_rc (*sse_event_fn)(void *ctx, const struct sse_event *ev);

struct sse_parser {
	struct buf line;
	struct buf data;
	struct buf event;
	bool has_data;
	bool last_was_cr;
	sse_event_fn on_event;
	void *ctx;
};

/* `max_event` caps one line and one event's data, in bytes. */
void sse_parser_init(struct sse_parser *p, size_t max_event, sse_event_fn fn, void *ctx);
/* Empties the parser for a new stream, keeping callback and buffers. */
void sse_parser_reset(struct sse_parser *p);
/* Feeds bytes; returns IM_ETOOBIG past the cap, or the callback's stop code. */
enum im_rc sse_parser_feed(struct sse_parser *p, const char *bytes, size_t len);
/* Dispatches a final event not followed by a blank line (end of stream). */
enum im_rc sse_parser_finish(struct sse_parser *p);
void sse_parser_free(struct sse_parser *p);

/* Appends an event carrying `data` (`len` bytes) to `out`, one "data: "
 * line per line of it, so any conforming parser (this one included) reads
 * back exactly `data`. Returns IM_ETOOBIG past out's cap. */
enum im_rc sse_write_data(struct buf *out, const char *data, size_t len);

#endif
