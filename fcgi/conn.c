/* conn.c: FastCGI and CGI requests behind one interface (see conn.h). */
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"

/* Cap of one response's header block. */
#define CONN_HEAD_MAX (64u << 10)

volatile sig_atomic_t conn_cgi_terminated;
volatile sig_atomic_t conn_stopping;

/* The most a CGI answer waits for the unread rest of a body: bytes (keep
 * etc/apache/htaccess*'s LimitRequestBody at or below) and time. */
#define CONN_DRAIN_MAX (64ull << 20)
#define CONN_DRAIN_MS 10000

static const char *conn_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 500 ? "Client Error" : "Server Error";
	}
}

/* ---- raw output, per transport ------------------------------------------ */

static enum im_rc conn_put(struct conn *c, const char *data, size_t len)
{
	if (c->failed)
		return IM_EGONE;
	if (c->fcgi) {
		while (len > 0) {
			int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
			if (FCGX_PutStr(data, chunk, c->fcgi->out) != chunk)
				goto gone;
			data += chunk;
			len -= (size_t)chunk;
		}
		return IM_OK;
	}
	if (fwrite(data, 1, len, stdout) != len)
		goto gone;
	return IM_OK;
gone:
	c->failed = true;
	return IM_EGONE;
}

static enum im_rc conn_flush(void *ctx)
{
	struct conn *c = ctx;

	if (c->failed)
		return IM_EGONE;
	if (c->fcgi ? FCGX_FFlush(c->fcgi->out) != 0 || FCGX_GetError(c->fcgi->out) != 0
		    : fflush(stdout) != 0) {
		c->failed = true;
		return IM_EGONE;
	}
	return IM_OK;
}

static enum im_rc conn_write(void *ctx, const char *data, size_t len)
{
	return conn_put(ctx, data, len);
}

/* Appends one header line; a value's control characters become '?' so no
 * config or upstream text can end the header block early or split a line. */
static void conn_header(struct buf *head, const char *name, const char *value)
{
	buf_append_str(head, name);
	buf_append_str(head, ": ");
	for (const char *v = value; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		char safe = (ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : (char)ch;
		buf_append(head, &safe, 1);
	}
	buf_append_str(head, "\r\n");
}

static void conn_cgi_drain(struct conn *c);

static enum im_rc conn_begin(void *ctx, int status, const char *content_type,
			     const struct sink_header *headers, size_t n)
{
	struct conn *c = ctx;
	struct buf head;
	char line[64];
	enum im_rc rc;

	if (c->begun)
		return IM_OK;
	c->begun = true;
	c->event_stream = strcmp(content_type, "text/event-stream") == 0;
	if (c->fcgi == NULL)
		conn_cgi_drain(c);
	/* Any length of header value fits, up to a cap far above a sane
	 * header block: past it the remaining headers are left out. */
	buf_init(&head, CONN_HEAD_MAX);
	snprintf(line, sizeof line, "Status: %d %s\r\n", status, conn_reason(status));
	buf_append_str(&head, line);
	conn_header(&head, "Content-Type", content_type);
	for (size_t i = 0; i < n; i++) {
		size_t need = strlen(headers[i].name) + strlen(headers[i].value) + 4;
		if (head.len + need + 2 > CONN_HEAD_MAX)
			break;  /* a whole line or none, and room for the end */
		conn_header(&head, headers[i].name, headers[i].value);
	}
	buf_append_str(&head, "\r\n");
	rc = conn_put(c, head.data, head.len);
	buf_free(&head);
	return rc;
}

/* A front server that lost its client closes the FastCGI connection; a CGI
 * parent closes our stdout pipe. */
static bool conn_gone(void *ctx)
{
	struct conn *c = ctx;
	int fd = c->fcgi ? c->fcgi->ipcFd : STDOUT_FILENO;
	struct pollfd p = { .fd = fd, .events = c->fcgi ? POLLIN | POLLRDHUP : 0 };
	char byte;

	if (c->failed || c->cut)
		return true;
	if (conn_stopping) {
		c->cut = true;
		return true;
	}
	if (c->fcgi == NULL && conn_cgi_terminated)
		goto gone;
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL))
		goto gone;
	if (c->fcgi && (p.revents & POLLIN)) {
		ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			goto gone;
	}
	return false;
gone:
	c->failed = true;
	return true;
}

static void conn_init_sink(struct conn *c, int watch_fd)
{
	c->sink.ctx = c;
	c->sink.begin = conn_begin;
	c->sink.write = conn_write;
	c->sink.flush = conn_flush;
	c->sink.gone = conn_gone;
	c->sink.watch_fd = watch_fd;
}

void conn_init_fcgi(struct conn *c, FCGX_Request *req)
{
	memset(c, 0, sizeof *c);
	c->fcgi = req;
	conn_init_sink(c, req->ipcFd);
}

void conn_init_cgi(struct conn *c)
{
	memset(c, 0, sizeof *c);
	conn_init_sink(c, -1);
}

const char *conn_param(const struct conn *c, const char *name)
{
	if (c->fcgi)
		return FCGX_GetParam(name, c->fcgi->envp);
	return getenv(name);
}

static long conn_read_some(struct conn *c, char *dst, size_t want)
{
	long n;

	if (c->fcgi) {
		n = FCGX_GetStr(dst, (int)want, c->fcgi->in);
	} else {
		do {
			n = read(STDIN_FILENO, dst, want);
		} while (n < 0 && errno == EINTR);
	}
	if (n > 0)
		c->body_read += (unsigned long long)n;
	return n;
}

/* The bytes of body still to come: CONTENT_LENGTH less what was read;
 * without a length, none, or "until end of input" (ULLONG_MAX) for a
 * chunked body passed on as it comes. */
static unsigned long long conn_body_left(const struct conn *c)
{
	const char *cl = conn_param(c, "CONTENT_LENGTH");

	if (cl == NULL || cl[0] == '\0')
		return conn_param(c, "HTTP_TRANSFER_ENCODING") ? ~0ull : 0;
	unsigned long long expected = strtoull(cl, NULL, 10);
	return expected > c->body_read ? expected - c->body_read : 0;
}

/* A CGI parent (Apache's mod_cgi) writes the whole body before it reads
 * our answer: a program that exits or answers without reading it breaks
 * that pipe, and the client may get no answer at all (a 413, or a 401
 * decided before the body). So the rest is read and thrown away first,
 * within CONN_DRAIN_MAX bytes and CONN_DRAIN_MS. */
static void conn_cgi_drain(struct conn *c)
{
	unsigned long long left = conn_body_left(c), drained = 0;
	int64_t deadline = clock_ms() + CONN_DRAIN_MS;
	char chunk[65536];

	if (c->body_done)
		return;
	c->body_done = true;
	while (left > 0 && drained < CONN_DRAIN_MAX) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int64_t wait = deadline - clock_ms();
		if (wait <= 0 || poll(&p, 1, (int)wait) <= 0)
			return;
		size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
		long n = conn_read_some(c, chunk, want);
		if (n <= 0)
			return;
		drained += (unsigned long long)n;
		left -= left == ~0ull ? 0 : (unsigned long long)n;
	}
}

/* The body is read in place into the buffer, at most this much ahead of
 * what has arrived: no chunk on the worker's stack, whose pages a thread
 * keeps for as long as it lives. */
#define CONN_BODY_STEP (64u << 10)

enum im_rc conn_read_body(struct conn *c, size_t max, struct buf *out)
{
	const char *cl = conn_param(c, "CONTENT_LENGTH");
	unsigned long long expected = 0;
	bool known = cl && cl[0];

	if (known) {
		expected = strtoull(cl, NULL, 10);
		if (expected > max)
			return IM_ETOOBIG;
	}
	for (;;) {
		size_t want = CONN_BODY_STEP;
		if (known && expected - out->len < want)
			want = (size_t)(expected - out->len);
		if (known && want == 0)
			break;
		size_t fit = max - out->len < want ? max - out->len : want;
		char past;   /* at the cap, one more byte says the body is too big */
		char *dst = fit > 0 ? buf_room(out, fit) : &past;
		if (dst == NULL)
			return IM_ETOOBIG;
		long n = conn_read_some(c, dst, fit > 0 ? fit : 1);
		if (n <= 0 && known)
			return IM_EGONE;
		if (n <= 0)
			break;
		if (fit == 0)
			return IM_ETOOBIG;
		buf_commit(out, (size_t)n);
	}
	c->body_done = true;
	return IM_OK;
}
