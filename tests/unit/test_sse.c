/* test_sse.c: unit tests for common/sse.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sse.h"

#define MAX_EVENTS 64
#define FEED(p, s) sse_parser_feed((p), (s), strlen(s))

struct rec_event {
	char *event;
	char *data;
	size_t data_len;
	bool is_comment;
};

struct rec {
	struct rec_event ev[MAX_EVENTS];
	size_t n;
	size_t calls;
	size_t stop_at;        /* 1-based call that returns stop_rc; 0: never */
	enum im_rc stop_rc;
};

static char *dup_bytes(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static enum im_rc rec_cb(void *ctx, const struct sse_event *ev)
{
	struct rec *r = ctx;

	r->calls++;
	assert_true(r->n < MAX_EVENTS);
	assert_non_null(ev->event);
	assert_non_null(ev->data);
	/* data is NUL-terminated right after data_len bytes */
	assert_int_equal(ev->data[ev->data_len], '\0');
	r->ev[r->n].event = dup_bytes(ev->event, strlen(ev->event));
	r->ev[r->n].data = dup_bytes(ev->data, ev->data_len);
	r->ev[r->n].data_len = ev->data_len;
	r->ev[r->n].is_comment = ev->is_comment;
	r->n++;
	if (r->stop_at != 0 && r->calls == r->stop_at)
		return r->stop_rc;
	return IM_OK;
}

static void rec_clear(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->ev[i].event);
		free(r->ev[i].data);
	}
	memset(r, 0, sizeof *r);
}

static void rec_assert_same(const struct rec *a, const struct rec *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->ev[i].event, b->ev[i].event);
		assert_int_equal(a->ev[i].data_len, b->ev[i].data_len);
		assert_memory_equal(a->ev[i].data, b->ev[i].data, a->ev[i].data_len);
		assert_int_equal(a->ev[i].is_comment, b->ev[i].is_comment);
	}
}

static void expect_event(const struct rec *r, size_t i, const char *event,
			 const char *data, bool is_comment)
{
	assert_true(i < r->n);
	assert_string_equal(r->ev[i].event, event);
	assert_string_equal(r->ev[i].data, data);
	assert_int_equal(r->ev[i].data_len, strlen(data));
	assert_int_equal(r->ev[i].is_comment, is_comment);
}

/* Parses `s` fed in one piece (then finish) into r. */
static enum im_rc parse_whole(const char *s, size_t max, struct rec *r)
{
	struct sse_parser p;
	enum im_rc rc;

	sse_parser_init(&p, max, rec_cb, r);
	rc = sse_parser_feed(&p, s, strlen(s));
	if (rc == IM_OK)
		rc = sse_parser_finish(&p);
	sse_parser_free(&p);
	return rc;
}

/* The same, fed one byte at a time. */
static enum im_rc parse_bytes(const char *s, size_t max, struct rec *r)
{
	struct sse_parser p;
	enum im_rc rc = IM_OK;
	size_t n = strlen(s);

	sse_parser_init(&p, max, rec_cb, r);
	for (size_t i = 0; i < n && rc == IM_OK; i++)
		rc = sse_parser_feed(&p, s + i, 1);
	if (rc == IM_OK)
		rc = sse_parser_finish(&p);
	sse_parser_free(&p);
	return rc;
}

/* A stream exercising every feature, with every kind of line ending. */
static const char *const mixed_stream =
	": OPENROUTER PROCESSING\n"
	"\n"
	"data: {\"a\":1}\n"
	"\n"
	"event: error\r\n"
	"data: line one\r\n"
	"data:line two\r\n"
	"\r\n"
	"id: 7\r"
	"retry: 1000\r"
	"data: cr only\r"
	"\r"
	":\n"
	"data: x\n"
	": in the middle\n"
	"data: y\n"
	"\n"
	"\r\n\r\n\n\n"
	"data: [DONE]\n"
	"\n"
	"data: trailing";

static void check_mixed(const struct rec *r)
{
	assert_int_equal(r->n, 9);
	expect_event(r, 0, "", " OPENROUTER PROCESSING", true);
	expect_event(r, 1, "", "{\"a\":1}", false);
	expect_event(r, 2, "error", "line one\nline two", false);
	expect_event(r, 3, "", "cr only", false);
	expect_event(r, 4, "", "", true);
	expect_event(r, 5, "", " in the middle", true);
	expect_event(r, 6, "", "x\ny", false);
	expect_event(r, 7, "", "[DONE]", false);
	/* dispatched by sse_parser_finish: no blank line after it */
	expect_event(r, 8, "", "trailing", false);
}

static void test_mixed_whole_and_bytes(void **state)
{
	struct rec whole = { 0 }, bytes = { 0 };

	assert_int_equal(parse_whole(mixed_stream, 4096, &whole), IM_OK);
	assert_int_equal(parse_bytes(mixed_stream, 4096, &bytes), IM_OK);
	check_mixed(&whole);
	check_mixed(&bytes);
	rec_assert_same(&whole, &bytes);
	rec_clear(&whole);
	rec_clear(&bytes);
}

/* Every split into three pieces gives the same events as one piece. */
static void test_arbitrary_boundaries(void **state)
{
	struct rec whole = { 0 };
	size_t n = strlen(mixed_stream);

	assert_int_equal(parse_whole(mixed_stream, 4096, &whole), IM_OK);
	for (size_t i = 0; i <= n; i++) {
		for (size_t j = i; j <= n; j += 3) {
			struct rec r = { 0 };
			struct sse_parser p;
			sse_parser_init(&p, 4096, rec_cb, &r);
			assert_int_equal(sse_parser_feed(&p, mixed_stream, i), IM_OK);
			assert_int_equal(sse_parser_feed(&p, mixed_stream + i, j - i), IM_OK);
			assert_int_equal(sse_parser_feed(&p, mixed_stream + j, n - j), IM_OK);
			assert_int_equal(sse_parser_finish(&p), IM_OK);
			sse_parser_free(&p);
			rec_assert_same(&whole, &r);
			rec_clear(&r);
		}
	}
	rec_clear(&whole);
}

/* The same two events (a multi-line JSON datum holding multi-byte UTF-8,
 * then [DONE]) in every framing the specification allows. */
static const char *const framings[] = {
	"data: {\"c\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\n" "data: \"n\":1}\n\ndata: [DONE]\n\n",
	"data: {\"c\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\r\n" "data: \"n\":1}\r\n\r\ndata: [DONE]\r\n\r\n",
	"data: {\"c\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\r" "data: \"n\":1}\r\rdata: [DONE]\r\r",
	"data:{\"c\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\n" "data:\"n\":1}\n\ndata:[DONE]\n\n",
	": hi\n" "data: {\"c\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\r\n" ": inside\r"
	"data:\"n\":1}\n" "id: 3\n" "\r\n" ":bye\n" "data: [DONE]\r\n\n",
};
static const char *const framed_data[] = {
	"{\"c\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\n\"n\":1}", "[DONE]",
};

/* Feeds `s` cut at i and j into r. */
static void parse_cut3(const char *s, size_t i, size_t j, struct rec *r)
{
	struct sse_parser p;
	size_t n = strlen(s);

	sse_parser_init(&p, 4096, rec_cb, r);
	assert_int_equal(sse_parser_feed(&p, s, i), IM_OK);
	assert_int_equal(sse_parser_feed(&p, s + i, j - i), IM_OK);
	assert_int_equal(sse_parser_feed(&p, s + j, n - j), IM_OK);
	assert_int_equal(sse_parser_finish(&p), IM_OK);
	sse_parser_free(&p);
}

static void expect_framed_data(const struct rec *r)
{
	size_t k = 0;

	for (size_t e = 0; e < r->n; e++) {
		if (r->ev[e].is_comment)
			continue;
		assert_true(k < 2);
		assert_int_equal(r->ev[e].data_len, strlen(framed_data[k]));
		assert_memory_equal(r->ev[e].data, framed_data[k], r->ev[e].data_len);
		k++;
	}
	assert_int_equal(k, 2);
}

/* Every framing, cut at every pair of bytes (through the middle of CRLF
 * pairs and of UTF-8 characters), gives the same data. */
static void test_framing_table(void **state)
{
	for (size_t f = 0; f < sizeof framings / sizeof framings[0]; f++) {
		size_t n = strlen(framings[f]);
		for (size_t i = 0; i <= n; i++) {
			for (size_t j = i; j <= n; j++) {
				struct rec r = { 0 };
				parse_cut3(framings[f], i, j, &r);
				expect_framed_data(&r);
				rec_clear(&r);
			}
		}
	}
}

/* What immortal relays (sse_write_data) reads back as the very same data,
 * for every framing, also when that is parsed one byte at a time. */
static void test_relay_reads_back_the_same(void **state)
{
	for (size_t f = 0; f < sizeof framings / sizeof framings[0]; f++) {
		struct rec up = { 0 }, back = { 0 };
		struct buf out;

		assert_int_equal(parse_whole(framings[f], 4096, &up), IM_OK);
		buf_init(&out, 1u << 16);
		for (size_t e = 0; e < up.n; e++)
			if (!up.ev[e].is_comment)
				assert_int_equal(sse_write_data(&out, up.ev[e].data, up.ev[e].data_len), IM_OK);
		assert_int_equal(parse_bytes(buf_str(&out), 4096, &back), IM_OK);
		expect_framed_data(&back);
		buf_free(&out);
		rec_clear(&up);
		rec_clear(&back);
	}
	/* empty data and empty lines inside the data survive too */
	struct rec back = { 0 };
	struct buf out;
	buf_init(&out, 256);
	assert_int_equal(sse_write_data(&out, "", 0), IM_OK);
	assert_int_equal(sse_write_data(&out, "\na\n\nb\n", 6), IM_OK);
	assert_string_equal(buf_str(&out), "data: \n\ndata: \ndata: a\ndata: \ndata: b\ndata: \n\n");
	assert_int_equal(parse_whole(buf_str(&out), 4096, &back), IM_OK);
	assert_int_equal(back.n, 2);
	expect_event(&back, 0, "", "", false);
	expect_event(&back, 1, "", "\na\n\nb\n", false);
	rec_clear(&back);
	buf_free(&out);
	/* past the buffer's cap: an error, nothing cut */
	buf_init(&out, 8);
	assert_int_equal(sse_write_data(&out, "0123456789", 10), IM_ETOOBIG);
	buf_free(&out);
}

static void test_line_endings(void **state)
{
	static const char *const streams[] = {
		"event: e\ndata: a\ndata: b\n\ndata: c\n\n",
		"event: e\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
		"event: e\rdata: a\rdata: b\r\rdata: c\r\r",
		"event: e\r\ndata: a\rdata: b\n\r\ndata: c\r\r",
	};

	for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
		struct rec r = { 0 }, rb = { 0 };
		struct sse_parser p;
		/* feed without finish: every event must end with its blank line */
		sse_parser_init(&p, 1024, rec_cb, &r);
		assert_int_equal(sse_parser_feed(&p, streams[i], strlen(streams[i])), IM_OK);
		sse_parser_free(&p);
		assert_int_equal(r.n, 2);
		expect_event(&r, 0, "e", "a\nb", false);
		expect_event(&r, 1, "", "c", false);
		assert_int_equal(parse_bytes(streams[i], 1024, &rb), IM_OK);
		rec_assert_same(&r, &rb);
		rec_clear(&r);
		rec_clear(&rb);
	}
}

/* A CR at the end of one feed and the LF at the start of the next are one
 * line break, not a line break and a blank line. */
static void test_crlf_split_across_feeds(void **state)
{
	struct rec r = { 0 };
	struct sse_parser p;

	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(FEED(&p, "data: a\r"), IM_OK);
	assert_int_equal(FEED(&p, "\ndata: b\r"), IM_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(FEED(&p, "\n"), IM_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(FEED(&p, "\r"), IM_OK);
	assert_int_equal(r.n, 1);
	expect_event(&r, 0, "", "a\nb", false);
	sse_parser_free(&p);
	rec_clear(&r);
}

static void test_multiline_data(void **state)
{
	struct rec r = { 0 };

	assert_int_equal(parse_whole("data: first\ndata: second\ndata:\ndata: fourth\n\n",
				     1024, &r), IM_OK);
	assert_int_equal(r.n, 1);
	expect_event(&r, 0, "", "first\nsecond\n\nfourth", false);
	rec_clear(&r);
}

static void test_event_field(void **state)
{
	struct rec r = { 0 };

	assert_int_equal(parse_whole("event: error\ndata: {\"e\":1}\n\n"
				     "data: next\n\n"
				     "event:ping\nevent: last\ndata: z\n\n", 1024, &r), IM_OK);
	assert_int_equal(r.n, 3);
	expect_event(&r, 0, "error", "{\"e\":1}", false);
	/* the event type does not leak into the next event */
	expect_event(&r, 1, "", "next", false);
	/* the last event: field wins */
	expect_event(&r, 2, "last", "z", false);
	rec_clear(&r);
}

static void test_comments(void **state)
{
	struct rec r = { 0 };
	struct sse_parser p;

	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(FEED(&p, ": keep-alive\n"), IM_OK);
	/* a comment is delivered as soon as its line ends */
	assert_int_equal(r.n, 1);
	expect_event(&r, 0, "", " keep-alive", true);
	assert_int_equal(FEED(&p, ":x\n"), IM_OK);
	assert_int_equal(r.n, 2);
	expect_event(&r, 1, "", "x", true);
	/* a comment inside an event does not end nor join the event */
	assert_int_equal(FEED(&p, "event: t\ndata: a\n:mid\ndata: b\n\n"), IM_OK);
	assert_int_equal(r.n, 4);
	expect_event(&r, 2, "", "mid", true);
	expect_event(&r, 3, "t", "a\nb", false);
	sse_parser_free(&p);
	rec_clear(&r);
}

static void test_data_without_space(void **state)
{
	struct rec r = { 0 };

	assert_int_equal(parse_whole("data:compact\n\ndata:  two spaces\n\ndata: \n\n", 1024, &r),
			 IM_OK);
	assert_int_equal(r.n, 3);
	expect_event(&r, 0, "", "compact", false);
	/* only one leading space is removed */
	expect_event(&r, 1, "", " two spaces", false);
	expect_event(&r, 2, "", "", false);
	rec_clear(&r);
}

static void test_blank_lines_without_data(void **state)
{
	struct rec r = { 0 };

	assert_int_equal(parse_whole("\n\n\r\n\r\r"
				     "event: lonely\n\n"
				     "id: 3\nretry: 5\nfoo: bar\n\n"
				     "data: real\n\n", 1024, &r), IM_OK);
	assert_int_equal(r.n, 1);
	/* the event: of the data-less block was dropped with it */
	expect_event(&r, 0, "", "real", false);
	rec_clear(&r);
}

static void test_finish(void **state)
{
	struct rec r = { 0 };
	struct sse_parser p;

	/* no line break at all */
	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(FEED(&p, "data: a\n\nevent: end\ndata: last"), IM_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(sse_parser_finish(&p), IM_OK);
	assert_int_equal(r.n, 2);
	expect_event(&r, 1, "end", "last", false);
	/* finishing again dispatches nothing more */
	assert_int_equal(sse_parser_finish(&p), IM_OK);
	assert_int_equal(r.n, 2);
	sse_parser_free(&p);
	rec_clear(&r);

	/* line ended but no blank line */
	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(FEED(&p, "data: x\ndata: y\n"), IM_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(sse_parser_finish(&p), IM_OK);
	assert_int_equal(r.n, 1);
	expect_event(&r, 0, "", "x\ny", false);
	sse_parser_free(&p);
	rec_clear(&r);

	/* an unterminated comment line: no event after the dispatched one */
	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(FEED(&p, "data: x\n\n: c"), IM_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(sse_parser_finish(&p), IM_OK);
	/* the unterminated comment line is still delivered, as a comment */
	assert_int_equal(r.n, 2);
	expect_event(&r, 1, "", " c", true);
	sse_parser_free(&p);
	rec_clear(&r);

	/* nothing fed: nothing dispatched */
	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(sse_parser_finish(&p), IM_OK);
	assert_int_equal(r.n, 0);
	sse_parser_free(&p);
}

static void test_line_cap(void **state)
{
	struct rec r = { 0 };
	struct sse_parser p;
	char line[64];

	/* exactly at the cap: fine */
	sse_parser_init(&p, 16, rec_cb, &r);
	assert_int_equal(FEED(&p, "data: 0123456789\n\n"), IM_OK);
	assert_int_equal(r.n, 1);
	expect_event(&r, 0, "", "0123456789", false);
	/* one byte more: refused, in one piece */
	assert_int_equal(FEED(&p, "data: 01234567890\n\n"), IM_ETOOBIG);
	assert_int_equal(r.n, 1);
	sse_parser_free(&p);
	rec_clear(&r);

	/* ... and when it creeps over the cap a byte at a time */
	sse_parser_init(&p, 16, rec_cb, &r);
	memset(line, 'x', sizeof line);
	enum im_rc rc = IM_OK;
	size_t fed = 0;
	while (rc == IM_OK && fed < sizeof line)
		rc = sse_parser_feed(&p, line + fed++, 1);
	assert_int_equal(rc, IM_ETOOBIG);
	assert_int_equal(fed, 17);
	assert_int_equal(r.n, 0);
	sse_parser_free(&p);

	/* a comment line is capped too */
	sse_parser_init(&p, 16, rec_cb, &r);
	assert_int_equal(FEED(&p, ": this comment is far too long\n"), IM_ETOOBIG);
	assert_int_equal(r.n, 0);
	sse_parser_free(&p);
}

static void test_event_data_cap(void **state)
{
	struct rec r = { 0 };
	struct sse_parser p;

	/* each line fits, their sum (with the joining '\n') does not */
	sse_parser_init(&p, 16, rec_cb, &r);
	assert_int_equal(FEED(&p, "data: 01234567\n"), IM_OK);
	assert_int_equal(FEED(&p, "data: 0123456\n"), IM_OK);
	assert_int_equal(FEED(&p, "data: 0\n"), IM_ETOOBIG);
	assert_int_equal(r.n, 0);
	sse_parser_free(&p);
}

static void test_callback_stop(void **state)
{
	struct rec r = { 0 };
	struct sse_parser p;
	const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	r.stop_at = 2;
	r.stop_rc = IM_ESTOP;
	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(sse_parser_feed(&p, s, strlen(s)), IM_ESTOP);
	/* the third event was never delivered */
	assert_int_equal(r.calls, 2);
	expect_event(&r, 1, "", "2", false);
	sse_parser_free(&p);
	rec_clear(&r);

	/* any non-OK code is passed through, also from a comment */
	r.stop_at = 1;
	r.stop_rc = IM_EGONE;
	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(FEED(&p, ": ping\ndata: 1\n\n"), IM_EGONE);
	assert_int_equal(r.calls, 1);
	sse_parser_free(&p);
	rec_clear(&r);

	/* and from the event dispatched by finish */
	r.stop_at = 1;
	r.stop_rc = IM_ESTOP;
	sse_parser_init(&p, 1024, rec_cb, &r);
	assert_int_equal(FEED(&p, "data: end"), IM_OK);
	assert_int_equal(sse_parser_finish(&p), IM_ESTOP);
	assert_int_equal(r.calls, 1);
	sse_parser_free(&p);
	rec_clear(&r);
}

static void test_reset(void **state)
{
	struct rec r = { 0 };
	struct sse_parser p;

	sse_parser_init(&p, 1024, rec_cb, &r);
	/* a half event, a half line and a pending CR */
	assert_int_equal(FEED(&p, "event: old\ndata: stale\rdata: par"), IM_OK);
	assert_int_equal(r.n, 0);
	sse_parser_reset(&p);
	assert_int_equal(p.line.len, 0);
	assert_int_equal(p.data.len, 0);
	assert_int_equal(p.event.len, 0);
	assert_false(p.has_data);
	assert_false(p.last_was_cr);
	/* nothing of the old stream survives */
	assert_int_equal(sse_parser_finish(&p), IM_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(FEED(&p, "data: fresh\n\n"), IM_OK);
	assert_int_equal(r.n, 1);
	expect_event(&r, 0, "", "fresh", false);

	/* a CR pending at reset does not swallow the new stream's first LF */
	assert_int_equal(FEED(&p, "data: a\r"), IM_OK);
	assert_true(p.last_was_cr);
	sse_parser_reset(&p);
	assert_false(p.last_was_cr);
	/* the callback is kept */
	assert_int_equal(FEED(&p, "data: b\n\n"), IM_OK);
	assert_int_equal(r.n, 2);
	expect_event(&r, 1, "", "b", false);
	sse_parser_free(&p);
	rec_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed_whole_and_bytes),
		cmocka_unit_test(test_arbitrary_boundaries),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_framing_table),
		cmocka_unit_test(test_relay_reads_back_the_same),
		cmocka_unit_test(test_crlf_split_across_feeds),
		cmocka_unit_test(test_multiline_data),
		cmocka_unit_test(test_event_field),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_data_without_space),
		cmocka_unit_test(test_blank_lines_without_data),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_line_cap),
		cmocka_unit_test(test_event_data_cap),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
