/* reply.h: the wire to one client.
 *
 * Sends the status line and headers (once), writes and flushes bytes, keeps
 * a slow stream alive and notices a client that went away. What is written
 * and when is decided by the client stream (cstream.h), its only user. */
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
	bool headers_sent;       /* no other status can follow */
	bool gone;               /* the client went away */
	const char *stream_type; /* Content-Type of a stream; borrowed */
	const char *keepalive;   /* text that keeps a silent stream alive; borrowed */
	int64_t keepalive_ms;
	int64_t last_write_ms;
	int64_t last_gone_check_ms;
	int64_t started_ms;
	int watch_fd;
};

/* `stream_type` and `keepalive` come from the client's face (face.h). */
void reply_init(struct reply *r, struct sink *sink, bool client_stream,
		unsigned keepalive_s, int64_t started_ms,
		const char *stream_type, const char *keepalive);

/* Sends the stream's headers (once), naming the endpoint when known. */
enum im_rc reply_stream_begin(struct reply *r, const char *endpoint, int attempts);
/* Writes stream text and flushes. */
enum im_rc reply_stream_write(struct reply *r, const char *text, size_t len);

/* Sends a whole JSON answer, left for the end of the request to flush.
 * Only while no headers went out (see headers_sent). */
enum im_rc reply_json(struct reply *r, int status, const char *json,
		      const char *endpoint, int attempts);

/* Keeps the stream alive and watches the client. Returns how many ms may
 * pass before it wants to run again, or -1 when the client is gone. */
long reply_tick(struct reply *r, int64_t now, bool fd_ready, int *watch_fd);

/* Waits `ms` while ticking; IM_EGONE when the client left meanwhile. */
enum im_rc reply_sleep(struct reply *r, long ms);

#endif
