/* sink.h: where an answer to the client goes.
 *
 * common/ knows nothing of FastCGI: the failover engine writes its answer
 * through this small interface, which fcgi/ implements on a FastCGI (or
 * CGI) request and the unit tests implement on a buffer. */
#ifndef IMMORTAL_SINK_H
#define IMMORTAL_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct sink_header {
	const char *name;
	const char *value;
};

struct sink {
	void *ctx;
	/* Sends the status and headers; called at most once per request. */
	enum im_rc (*begin)(void *ctx, int status, const char *content_type,
			    const struct sink_header *headers, size_t n_headers);
	/* Appends body bytes; IM_EGONE when the client went away. */
	enum im_rc (*write)(void *ctx, const char *data, size_t len);
	/* Pushes what was written to the client now. */
	enum im_rc (*flush)(void *ctx);
	/* True when the client has gone away. */
	bool (*gone)(void *ctx);
	/* A descriptor that turns readable when the client may have gone,
	 * or -1 (then gone() is polled about once a second). */
	int watch_fd;
};

#endif
