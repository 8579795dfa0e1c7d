/* test_cstream.c: unit tests for common/cstream.c, the client stream's owner,
 * over a sink that records what the client would receive. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "clock.h"
#include "cstream.h"
#include "face_messages.h"

/* ---- a client that records ------------------------------------------------------ */

struct client {
	int begins;
	int status;
	char content_type[64];
	char endpoint[64];
	struct buf body;
};

static enum im_rc client_begin(void *ctx, int status, const char *content_type,
			       const struct sink_header *h, size_t n)
{
	struct client *c = ctx;
	c->begins++;
	c->status = status;
	snprintf(c->content_type, sizeof c->content_type, "%s", content_type);
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, "X-Immortal-Endpoint") == 0)
			snprintf(c->endpoint, sizeof c->endpoint, "%s", h[i].value);
	return IM_OK;
}

static enum im_rc client_write(void *ctx, const char *data, size_t len)
{
	struct client *c = ctx;
	return buf_append(&c->body, data, len);
}

static enum im_rc client_flush(void *ctx)
{
	(void)ctx;
	return IM_OK;
}

static bool client_gone(void *ctx)
{
	(void)ctx;
	return false;
}

static struct sink client_sink(struct client *c)
{
	memset(c, 0, sizeof *c);
	buf_init(&c->body, 1u << 20);
	return (struct sink){ .ctx = c, .begin = client_begin, .write = client_write,
			      .flush = client_flush, .gone = client_gone, .watch_fd = -1 };
}

/* How a test's stream is opened (its cmocka prestate). */
struct opening {
	bool client_stream;
	unsigned keepalive_s;
	int64_t started_ago_ms;
	const struct face *face;
};

/* What each test starts from: a stream to a recording client. */
struct fixture {
	struct client c;
	struct sink sink;
	struct cstream *cs;
};

static int fixture_open(void **state)
{
	const struct opening *o = *state;
	struct fixture *f = calloc(1, sizeof *f);

	f->sink = client_sink(&f->c);
	f->cs = cstream_new(&f->sink, &(struct cstream_options){
		.client_stream = o->client_stream, .keepalive_s = o->keepalive_s,
		.started_ms = clock_ms() - o->started_ago_ms, .face = o->face });
	*state = f;
	return 0;
}

static int fixture_close(void **state)
{
	struct fixture *f = *state;

	cstream_free(f->cs);
	buf_free(&f->c.body);
	free(f);
	return 0;
}

/* Feeds one chunk as a decoder would, with its original text. */
static enum im_rc chunk(struct cstream *cs, const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	enum im_rc rc = cstream_chunk(cs, &(struct canon){ .obj = o, .text = text });
	json_object_put(o);
	return rc;
}

/* One attempt of endpoint `ep` that sends `text` and ends. */
static void attempt(struct cstream *cs, const char *ep, int n, const char *text)
{
	cstream_attempt_begin(cs, ep, n, false);
	assert_int_equal(chunk(cs, text), IM_OK);
	cstream_attempt_end(cs);
}

#define ROLE "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}"
#define TEXT "{\"id\":\"c1\",\"x\":1.50e0,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}"
#define FIN "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"

/* ---- tests ------------------------------------------------------------------------- */

/* Nothing reaches the client before the first content; then the held
 * events go out with their original text, and the stream ends once. */
static void test_held_until_first_content(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;

	cstream_attempt_begin(cs, "ep1", 1, false);
	assert_int_equal(chunk(cs, ROLE), IM_OK);
	assert_int_equal(c->begins, 0);
	assert_int_equal(c->body.len, 0);
	assert_false(cstream_attempt_committed(cs));
	assert_int_equal(chunk(cs, TEXT), IM_OK);
	assert_true(cstream_attempt_committed(cs));
	assert_int_equal(chunk(cs, FIN), IM_OK);
	assert_int_equal(cstream_attempt_finish(cs), IM_OK);
	cstream_attempt_end(cs);
	assert_int_equal(c->begins, 1);
	assert_int_equal(c->status, 200);
	assert_string_equal(c->content_type, "text/event-stream");
	assert_string_equal(c->endpoint, "ep1");
	assert_string_equal(buf_str(&c->body),
			    "data: " ROLE "\n\ndata: " TEXT "\n\ndata: " FIN "\n\ndata: [DONE]\n\n");
}

/* What a failed attempt held back is never seen; the next one starts clean. */
static void test_failed_attempt_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;

	attempt(cs, "ep1", 1, ROLE);
	cstream_attempt_begin(cs, "ep2", 2, false);
	assert_false(cstream_attempt_committed(cs));
	assert_int_equal(chunk(cs, TEXT), IM_OK);
	cstream_attempt_end(cs);
	assert_string_equal(c->endpoint, "ep2");
	assert_string_equal(buf_str(&c->body), "data: " TEXT "\n\n");
}

/* After a keep-alive sent the headers, an error can only be in-band. */
static void test_error_after_keepalive_is_in_band(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;
	int fd = -1;

	assert_true(cstream_tick(cs, clock_ms(), false, &fd) > 0);
	assert_int_equal(c->begins, 1);
	assert_string_equal(buf_str(&c->body), ": keep-alive\n\n");
	assert_int_equal(cstream_fail(cs, 502, "{\"error\":{}}", 3), IM_OK);
	assert_int_equal(c->begins, 1);
	assert_int_equal(c->status, 200);
	assert_string_equal(buf_str(&c->body), ": keep-alive\n\ndata: {\"error\":{}}\n\n");
}

/* A client that did not stream gets the error as a JSON answer. */
static void test_error_as_json_answer(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;
	int fd = -1;

	assert_true(cstream_tick(cs, clock_ms(), false, &fd) > 0);  /* no keep-alive */
	assert_int_equal(cstream_fail(cs, 502, "{\"error\":{}}", 3), IM_OK);
	assert_int_equal(c->status, 502);
	assert_string_equal(c->content_type, "application/json");
	assert_string_equal(buf_str(&c->body), "{\"error\":{}}");
}

/* A streamed upstream for a client that did not stream: one answer. */
static void test_aggregated_answer(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;

	cstream_attempt_begin(cs, "ep1", 1, true);
	assert_int_equal(chunk(cs, ROLE), IM_OK);
	assert_int_equal(chunk(cs, TEXT), IM_OK);
	assert_int_equal(chunk(cs, FIN), IM_OK);
	assert_false(cstream_attempt_committed(cs));
	assert_int_equal(c->begins, 0);
	assert_int_equal(cstream_attempt_finish(cs), IM_OK);
	cstream_attempt_end(cs);
	assert_int_equal(c->status, 200);
	struct json_object *o = json_tokener_parse(buf_str(&c->body));
	struct json_object *choices, *msg, *content;
	assert_true(json_object_object_get_ex(o, "choices", &choices));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(choices, 0), "message", &msg));
	assert_true(json_object_object_get_ex(msg, "content", &content));
	assert_string_equal(json_object_get_string(content), "Hi");
	json_object_put(o);
}

/* A continuation's chunks join the stream the client has: its id, no
 * second role, and its end is the stream's only end. */
static void test_continuation_joins_the_stream(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;

	attempt(cs, "ep1", 1, TEXT);
	assert_null(cstream_resume_refusal(cs, NULL));
	assert_null(cstream_prefill(cs));
	cstream_continue_begin(cs);
	assert_false(cstream_restarting(cs));
	assert_non_null(cstream_prefill(cs));
	cstream_attempt_begin(cs, "ep2", 2, false);
	assert_int_equal(chunk(cs, "{\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}"), IM_OK);
	assert_false(cstream_attempt_committed(cs));
	assert_int_equal(chunk(cs, "{\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}"), IM_OK);
	assert_true(cstream_attempt_committed(cs));
	assert_int_equal(cstream_attempt_finish(cs), IM_OK);
	cstream_attempt_end(cs);
	cstream_continue_end(cs);
	assert_null(cstream_prefill(cs));
	assert_string_equal(buf_str(&c->body),
			    "data: " TEXT "\n\n"
			    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}\n\n"
			    "data: [DONE]\n\n");
}

/* The broken end: an in-band error and no end of stream. */
static void test_broken_stream_ends_with_error(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;

	attempt(cs, "ep1", 1, TEXT);
	assert_int_equal(cstream_fail_broken(cs, "{\"error\":{\"code\":\"stream_interrupted\"}}"), IM_OK);
	assert_string_equal(buf_str(&c->body), "data: " TEXT "\n\n"
			    "data: {\"error\":{\"code\":\"stream_interrupted\"}}\n\n");
}

/* A multi-line event's original text goes out as the same data lines. */
static void test_multiline_text_keeps_its_lines(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;

	attempt(cs, "ep1", 1, "{\"id\":\"c1\",\n\"choices\":[{\"index\":0,\n\"delta\":{\"content\":\"Hi\"}}]}");
	assert_string_equal(buf_str(&c->body),
			    "data: {\"id\":\"c1\",\ndata: \"choices\":[{\"index\":0,\n"
			    "data: \"delta\":{\"content\":\"Hi\"}}]}\n\n");
}

/* A chunk of `pad` bytes of padding, with content or without. */
static char *padded(size_t pad, bool content)
{
	char *text = malloc(pad + 128);
	int n = sprintf(text, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"%s\":\"",
			content ? "content" : "role");
	memset(text + n, 'a', pad);
	strcpy(text + n + pad, "\"}}]}");
	return text;
}

/* The events held before the first content have a cap, and say so; the
 * content chunk itself is never held, whatever its size. */
static void test_only_events_before_content_are_held(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;
	char *small = padded(600u << 10, false);
	char *big = padded(3u << 20, true);

	buf_free(&c->body);
	buf_init(&c->body, 8u << 20);
	cstream_attempt_begin(cs, "ep1", 1, false);
	assert_int_equal(chunk(cs, small), IM_OK);
	assert_int_equal(chunk(cs, big), IM_OK);
	assert_int_equal(chunk(cs, small), IM_OK);
	cstream_attempt_end(cs);
	assert_true(c->body.len > (3u << 20) + (1200u << 10));

	cstream_attempt_begin(cs, "ep2", 2, false);
	assert_int_equal(chunk(cs, small), IM_OK);
	assert_int_equal(chunk(cs, small), IM_ETOOBIG);
	assert_non_null(strstr(cstream_cap_hit(cs), "events before the first content"));
	assert_non_null(strstr(cstream_cap_hit(cs), "1 MiB"));
	cstream_attempt_end(cs);
	free(small);
	free(big);
}

/* A face's state follows what reached the client: a failed attempt's
 * message_start was never seen, so the next attempt sends its own, once. */
static void test_face_state_restarts_with_the_attempt(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;
	const char *body;

	attempt(cs, "ep1", 1, ROLE);
	cstream_attempt_begin(cs, "ep2", 2, false);
	assert_int_equal(chunk(cs, ROLE), IM_OK);
	assert_int_equal(chunk(cs, TEXT), IM_OK);
	assert_int_equal(cstream_attempt_finish(cs), IM_OK);
	cstream_attempt_end(cs);
	body = buf_str(&c->body);
	assert_non_null(strstr(body, "event: message_start\n"));
	assert_null(strstr(strstr(body, "event: message_start\n") + 1, "event: message_start"));
	assert_non_null(strstr(body, "\"text\":\"Hi\""));
	assert_non_null(strstr(body, "event: message_stop\n"));
}

/* An error answer before the stream began takes the face's shape and
 * status (Anthropic's 529 for all endpoints failing). */
static void test_face_error_answer(void **state)
{
	struct fixture *f = *state;
	struct cstream *cs = f->cs;
	struct client *c = &f->c;

	assert_int_equal(cstream_fail(cs, 502, "{\"error\":{\"message\":\"all down\",\"type\":\"upstream_error\"}}", 2), IM_OK);
	assert_int_equal(c->status, 529);
	assert_string_equal(buf_str(&c->body),
			    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"all down\"}}");
}

/* A test with its fixture, opened as the rest of the arguments say (what
 * cmocka_unit_test_prestate_setup_teardown gives, but for the commas). */
#define TEST(fn, ...) { #fn, fn, fixture_open, fixture_close, &(struct opening){ __VA_ARGS__ } }

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_held_until_first_content, .client_stream = true),
		TEST(test_failed_attempt_leaves_nothing, .client_stream = true),
		TEST(test_error_after_keepalive_is_in_band, .client_stream = true, .keepalive_s = 1,
		     .started_ago_ms = 5000),
		TEST(test_error_as_json_answer, .keepalive_s = 1, .started_ago_ms = 5000),
		TEST(test_aggregated_answer, .client_stream = false),
		TEST(test_continuation_joins_the_stream, .client_stream = true),
		TEST(test_broken_stream_ends_with_error, .client_stream = true),
		TEST(test_multiline_text_keeps_its_lines, .client_stream = true),
		TEST(test_only_events_before_content_are_held, .client_stream = true),
		TEST(test_face_state_restarts_with_the_attempt, .client_stream = true, .face = &face_messages),
		TEST(test_face_error_answer, .face = &face_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
