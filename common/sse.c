/* sse.c: incremental server-sent events parser (see sse.h). */
#include "sse.h"

#include <string.h>

void sse_parser_init(struct sse_parser *p, size_t max_event, sse_event_fn fn, void *ctx)
{
	buf_init(&p->line, max_event);
	buf_init(&p->data, max_event);
	buf_init(&p->event, 256);
	p->has_data = false;
	p->last_was_cr = false;
	p->on_event = fn;
	p->ctx = ctx;
}

void sse_parser_reset(struct sse_parser *p)
{
	buf_reset(&p->line);
	buf_reset(&p->data);
	buf_reset(&p->event);
	p->has_data = false;
	p->last_was_cr = false;
}

static enum im_rc sse_dispatch(struct sse_parser *p)
{
	enum im_rc rc = IM_OK;

	if (p->has_data) {
		struct sse_event ev = {
			.event = buf_str(&p->event),
			.data = buf_str(&p->data),
			.data_len = p->data.len,
			.is_comment = false,
		};
		rc = p->on_event(p->ctx, &ev);
	}
	buf_reset(&p->data);
	buf_reset(&p->event);
	p->has_data = false;
	return rc;
}

static enum im_rc sse_field(struct sse_parser *p, const char *name, size_t nlen,
			    const char *value, size_t vlen)
{
	if (nlen == 4 && memcmp(name, "data", 4) == 0) {
		if (p->has_data && buf_append(&p->data, "\n", 1) != IM_OK)
			return IM_ETOOBIG;
		p->has_data = true;
		return buf_append(&p->data, value, vlen);
	}
	if (nlen == 5 && memcmp(name, "event", 5) == 0) {
		buf_reset(&p->event);
		return buf_append(&p->event, value, vlen < 255 ? vlen : 255);
	}
	return IM_OK;  /* id:, retry: and unknown fields mean nothing here */
}

static enum im_rc sse_line(struct sse_parser *p, const char *line, size_t len)
{
	if (len == 0)
		return sse_dispatch(p);
	if (line[0] == ':') {
		struct sse_event ev = { .event = "", .data = line + 1,
					.data_len = len - 1, .is_comment = true };
		return p->on_event(p->ctx, &ev);
	}
	const char *colon = memchr(line, ':', len);
	size_t nlen = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t vlen = colon ? len - nlen - 1 : 0;
	if (vlen > 0 && value[0] == ' ') {
		value++;
		vlen--;
	}
	return sse_field(p, line, nlen, value, vlen);
}

/* Ends the line assembled so far, NUL-terminating it for the comment case. */
static enum im_rc sse_end_line(struct sse_parser *p)
{
	enum im_rc rc = sse_line(p, buf_str(&p->line), p->line.len);
	buf_reset(&p->line);
	return rc;
}

enum im_rc sse_parser_feed(struct sse_parser *p, const char *bytes, size_t len)
{
	size_t i = 0;

	while (i < len) {
		char c = bytes[i];
		if (p->last_was_cr && c == '\n') {
			p->last_was_cr = false;
			i++;
			continue;
		}
		p->last_was_cr = false;
		if (c == '\n' || c == '\r') {
			enum im_rc rc = sse_end_line(p);
			if (rc != IM_OK)
				return rc;
			p->last_was_cr = (c == '\r');
			i++;
			continue;
		}
		/* Copy the run up to the next line break in one append. */
		size_t j = i;
		while (j < len && bytes[j] != '\n' && bytes[j] != '\r')
			j++;
		if (buf_append(&p->line, bytes + i, j - i) != IM_OK)
			return IM_ETOOBIG;
		i = j;
	}
	return IM_OK;
}

enum im_rc sse_parser_finish(struct sse_parser *p)
{
	enum im_rc rc = IM_OK;

	if (p->line.len > 0)
		rc = sse_end_line(p);
	if (rc == IM_OK)
		rc = sse_dispatch(p);
	return rc;
}

void sse_parser_free(struct sse_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
	buf_free(&p->event);
}

enum im_rc sse_write_data(struct buf *out, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (buf_append_str(out, "data: ") != IM_OK || buf_append(out, p, n) != IM_OK ||
		    buf_append_str(out, "\n") != IM_OK)
			return IM_ETOOBIG;
		if (nl == NULL)
			return buf_append_str(out, "\n");
		p = nl + 1;
	}
}
