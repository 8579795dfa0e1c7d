/* buf.c: growable byte buffer with a hard cap (see buf.h). */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

char *buf_room(struct buf *b, size_t n)
{
	if (n > b->max - b->len)
		return NULL;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

enum im_rc buf_append(struct buf *b, const void *p, size_t n)
{
	char *room = buf_room(b, n);

	if (room == NULL)
		return IM_ETOOBIG;
	if (n)
		memcpy(room, p, n);
	buf_commit(b, n);
	return IM_OK;
}

enum im_rc buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum im_rc buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return IM_EINVAL;
	if ((size_t)n < sizeof small)
		return buf_append(b, small, (size_t)n);
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	enum im_rc rc = buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *buf_take(struct buf *b)
{
	char *out = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return out;
}

enum im_rc buf_read_fd(struct buf *b, int fd)
{
	char chunk[8192];
	enum im_rc rc = IM_OK;

	while (rc == IM_OK) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return IM_EIO;
		if (n == 0)
			break;
		rc = buf_append(b, chunk, (size_t)n);
	}
	return rc;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}
