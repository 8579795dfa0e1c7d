/* reply.c: writing one client's answer (see reply.h). */
#include "reply.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"

#define REPLY_GONE_CHECK_MS 1000

void reply_init(struct reply *r, struct sink *sink, bool client_stream,
		unsigned keepalive_s, int64_t started_ms,
		const char *stream_type, const char *keepalive)
{
	memset(r, 0, sizeof *r);
	r->sink = sink;
	r->client_stream = client_stream;
	r->keepalive_ms = (int64_t)keepalive_s * 1000;
	r->started_ms = started_ms;
	r->last_write_ms = started_ms;
	r->last_gone_check_ms = started_ms;
	r->watch_fd = sink->watch_fd;
	r->stream_type = stream_type;
	r->keepalive = keepalive;
}

static enum im_rc reply_check(struct reply *r, enum im_rc rc)
{
	if (rc != IM_OK)
		r->gone = true;
	return rc;
}

enum im_rc reply_stream_write(struct reply *r, const char *text, size_t len)
{
	enum im_rc rc = r->sink->write(r->sink->ctx, text, len);
	if (rc == IM_OK)
		rc = r->sink->flush(r->sink->ctx);
	r->last_write_ms = clock_ms();
	return reply_check(r, rc);
}

enum im_rc reply_stream_begin(struct reply *r, const char *endpoint, int attempts)
{
	char count[16];
	struct sink_header h[5] = {
		{ "Cache-Control", "no-cache" },
		{ "X-Accel-Buffering", "no" },
		{ "X-Immortal-Attempts", count },
		{ "X-Immortal-Endpoint", endpoint },
	};

	if (r->headers_sent)
		return IM_OK;
	snprintf(count, sizeof count, "%d", attempts);
	r->headers_sent = true;
	return reply_check(r, r->sink->begin(r->sink->ctx, 200, r->stream_type, h,
					     endpoint ? 4 : 3));
}

enum im_rc reply_json(struct reply *r, int status, const char *json,
		      const char *endpoint, int attempts)
{
	char count[16];
	struct sink_header h[2] = {
		{ "X-Immortal-Attempts", count },
		{ "X-Immortal-Endpoint", endpoint },
	};
	enum im_rc rc;

	snprintf(count, sizeof count, "%d", attempts);
	r->headers_sent = true;
	rc = r->sink->begin(r->sink->ctx, status, "application/json", h, endpoint ? 2 : 1);
	if (rc == IM_OK)
		rc = r->sink->write(r->sink->ctx, json, strlen(json));
	/* No flush: the end of the request sends the whole answer at once. */
	return reply_check(r, rc);
}

static bool reply_client_gone(struct reply *r, int64_t now)
{
	r->last_gone_check_ms = now;
	if (!r->gone && r->sink->gone(r->sink->ctx))
		r->gone = true;
	return r->gone;
}

static long reply_keepalive(struct reply *r, int64_t now)
{
	if (!r->client_stream || r->keepalive_ms <= 0)
		return REPLY_GONE_CHECK_MS;
	int64_t due = r->last_write_ms + r->keepalive_ms;
	if (now < due)
		return (long)(due - now);
	/* Slow first token: headers go out so no proxy on the way times out. */
	if (reply_stream_begin(r, NULL, 0) != IM_OK ||
	    reply_stream_write(r, r->keepalive, strlen(r->keepalive)) != IM_OK)
		return -1;
	return (long)r->keepalive_ms;
}

long reply_tick(struct reply *r, int64_t now, bool fd_ready, int *watch_fd)
{
	if (fd_ready) {
		if (reply_client_gone(r, now))
			return -1;
		/* Readable but still there (stray input): stop watching the
		 * descriptor so it cannot wake us in a loop; poll instead. */
		*watch_fd = -1;
	}
	if (*watch_fd < 0 && now - r->last_gone_check_ms >= REPLY_GONE_CHECK_MS &&
	    reply_client_gone(r, now))
		return -1;
	if (r->gone)
		return -1;
	long wait = reply_keepalive(r, now);
	if (wait < 0)
		return -1;
	return wait < REPLY_GONE_CHECK_MS ? wait : REPLY_GONE_CHECK_MS;
}

enum im_rc reply_sleep(struct reply *r, long ms)
{
	int64_t until = clock_ms() + ms;
	int fd = r->watch_fd;

	for (;;) {
		int64_t now = clock_ms();
		if (now >= until)
			return IM_OK;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long wait = reply_tick(r, now, false, &fd);
		if (wait < 0)
			return IM_EGONE;
		if (wait > until - now)
			wait = (long)(until - now);
		int n = poll(&p, fd >= 0 ? 1 : 0, (int)wait);
		if (n > 0 && reply_tick(r, clock_ms(), true, &fd) < 0)
			return IM_EGONE;
	}
}
