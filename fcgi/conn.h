/* conn.h: one client request as seen by immortal: FastCGI or plain CGI.
 *
 * Hides where the request came from (a FastCGI record stream or a CGI
 * process's environment, stdin and stdout) behind request parameters, a
 * capped body reader and a sink (common/sink.h) for the answer. */
#ifndef IMMORTAL_CONN_H
#define IMMORTAL_CONN_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

#include <fcgiapp.h>

#include "buf.h"
#include "result.h"
#include "sink.h"

struct conn {
	FCGX_Request *fcgi;      /* NULL when running as plain CGI */
	struct sink sink;
	bool begun;              /* headers went out */
	bool event_stream;       /* ... and they began an SSE stream */
	bool failed;             /* a write failed: the client is gone */
	bool cut;                /* cut off by conn_stopping: the client is
				    still there and owed an answer */
	unsigned long long body_read;  /* request body bytes read so far */
	bool body_done;          /* the whole body was read (or given up on) */
};

/* Set from a signal handler when a CGI process is told to stop: the
 * request counts as gone from then on. */
extern volatile sig_atomic_t conn_cgi_terminated;

/* Set (once, never cleared) when the process stops for good while
 * requests still run: each request's gone() then reports its client as
 * gone, which aborts the upstream transfer, and marks the conn `cut`. */
extern volatile sig_atomic_t conn_stopping;

/* A FastCGI request accepted by the caller (borrowed for the conn's life). */
void conn_init_fcgi(struct conn *c, FCGX_Request *req);
/* This process's own CGI request (environment, stdin, stdout). */
void conn_init_cgi(struct conn *c);

/* A request variable (CGI meta-variable), or NULL. */
const char *conn_param(const struct conn *c, const char *name);

/* Reads the whole body, at most `max` bytes: IM_ETOOBIG past that,
 * IM_EGONE when the client went away mid-body. As plain CGI, whatever was
 * not read is read and discarded before the answer starts (see conn.c). */
enum im_rc conn_read_body(struct conn *c, size_t max, struct buf *out);

#endif
