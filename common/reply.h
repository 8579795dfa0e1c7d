/* reply.h: the answer to one client, as it is being written.
 *
 * Tracks what the client has already seen (headers, stream content) so that
 * the failover engine can decide what is still possible: before the first
 * content a failure is invisible; after it, only an SSE error can follow.
 * Also keeps a slow stream alive with SSE comments and notices a client
 * that went away. */
#ifndef IMMORTAL_REPLY_H
#define IMMORTAL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "sink.h"

struct reply {
	struct sink *sink;
	bool client_stream;      /* the client asked for SSE */
	bool headers_sent;
	bool content_sent;       /* stream content reached the client */
	bool gone;               /* the client went away */
	int64_t keepalive_ms;
	int64_t last_write_ms;
	int64_t last_gone_check_ms;
	int64_t started_ms;
	int watch_fd;
};

void reply_init(struct reply *r, struct sink *sink, bool client_stream,
		unsigned keepalive_s, int64_t started_ms);

/* Sends the SSE headers (once), naming the endpoint when known. */
enum im_rc reply_stream_begin(struct reply *r, const char *endpoint, int attempts);
/* Writes raw SSE text and flushes; marks content as sent. */
enum im_rc reply_stream_write(struct reply *r, const char *text, size_t len);
/* Writes one `data: JSON` event and flushes. */
enum im_rc reply_stream_event(struct reply *r, const char *json);
/* Ends a complete stream. */
enum im_rc reply_stream_done(struct reply *r);

/* Sends a whole JSON answer, left for the end of the request to flush;
 * when SSE headers already went out, a non-200 answer becomes an SSE error
 * event instead (no [DONE]). */
enum im_rc reply_json(struct reply *r, int status, const char *json,
		      const char *endpoint, int attempts);

/* Keeps the stream alive and watches the client. Returns how many ms may
 * pass before it wants to run again, or -1 when the client is gone. */
long reply_tick(struct reply *r, int64_t now, bool fd_ready, int *watch_fd);

/* Waits `ms` while ticking; IM_EGONE when the client left meanwhile. */
enum im_rc reply_sleep(struct reply *r, long ms);

#endif
