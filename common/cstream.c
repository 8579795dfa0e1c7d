/* cstream.c: the client stream's one owner (see cstream.h). */
#include "cstream.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "chat.h"
#include "jsonparse.h"
#include "reply.h"

#define CSTREAM_PENDING_MAX (1u << 20)
#define CSTREAM_ANSWER_MAX (64u << 20)
/* room for an answer at its cap and the JSON escaping around it */
#define CSTREAM_OUT_MAX ((size_t)4 * CSTREAM_ANSWER_MAX)

struct cstream {
	struct reply reply;           /* the wire */
	const struct face *face;
	void *face_state;             /* the face's own (face.h), or NULL */
	bool delivered;               /* some attempt's content reached the client */
	bool client_stream;
	bool include_usage;
	struct resume resume;         /* what reached the client; the continuation */
	struct buf out;               /* one event on its way to the wire */
	/* the current attempt */
	const char *endpoint;
	int number;
	bool aggregate;
	struct chat_aggregate *agg;
	struct buf pending;           /* events held back until the first content */
	bool attempt_committed;       /* this attempt's content reached the client */
	const char *cap_hit;          /* the cap behind the last IM_ETOOBIG */
};

struct cstream *cstream_new(struct sink *sink, const struct cstream_options *opt)
{
	struct cstream *cs = xcalloc(1, sizeof *cs);

	cs->face = opt->face ? opt->face : &face_chat;
	cs->client_stream = opt->client_stream;
	cs->include_usage = opt->include_usage;
	reply_init(&cs->reply, sink, opt->client_stream, opt->keepalive_s, opt->started_ms,
		   cs->face->stream_type, cs->face->keepalive);
	if (cs->face->state_new)
		cs->face_state = cs->face->state_new();
	resume_init_route(&cs->resume, opt->kind);
	buf_init(&cs->out, CSTREAM_OUT_MAX);
	buf_init(&cs->pending, CSTREAM_PENDING_MAX);
	return cs;
}

void cstream_free(struct cstream *cs)
{
	if (cs == NULL)
		return;
	cstream_attempt_end(cs);
	resume_free(&cs->resume);
	buf_free(&cs->out);
	buf_free(&cs->pending);
	if (cs->face->state_free)
		cs->face->state_free(cs->face_state);
	free(cs);
}

/* ---- writing ---------------------------------------------------------------- */

static enum im_rc cstream_too_big(struct cstream *cs, const char *cap)
{
	cs->cap_hit = cap;
	return IM_ETOOBIG;
}

/* Sends what `b` holds and empties it; IM_EGONE when the client left. */
static enum im_rc cstream_flush(struct cstream *cs, struct buf *b)
{
	enum im_rc rc = reply_stream_write(&cs->reply, buf_str(b), b->len);
	buf_reset(b);
	return rc == IM_OK ? IM_OK : IM_EGONE;
}

static enum im_rc cstream_send_chunk(struct cstream *cs, const struct canon *chunk)
{
	if (cs->face->chunk(cs->face_state, chunk, &cs->out) != IM_OK) {
		buf_reset(&cs->out);
		return cstream_too_big(cs, "an event for the client larger than immortal's cap (256 MiB)");
	}
	return cstream_flush(cs, &cs->out);
}

static enum im_rc cstream_send_done(struct cstream *cs)
{
	if (cs->face->done(cs->face_state, &cs->out) != IM_OK) {
		buf_reset(&cs->out);
		return IM_ETOOBIG;
	}
	return cstream_flush(cs, &cs->out);
}

/* ---- one attempt ------------------------------------------------------------- */

void cstream_attempt_begin(struct cstream *cs, const char *endpoint, int number, bool aggregate)
{
	cstream_attempt_end(cs);
	cs->endpoint = endpoint;
	cs->number = number;
	cs->aggregate = aggregate;
	cs->attempt_committed = false;
	if (aggregate)
		cs->agg = chat_aggregate_new(CSTREAM_ANSWER_MAX);
}

void cstream_attempt_end(struct cstream *cs)
{
	chat_aggregate_free(cs->agg);
	cs->agg = NULL;
	buf_free(&cs->pending);
	/* What the face wrote for an attempt that reached nobody was dropped
	 * with `pending`: its state starts afresh with the next attempt. */
	if (cs->attempt_committed)
		cs->delivered = true;
	if (!cs->delivered && cs->face->state_new) {
		cs->face->state_free(cs->face_state);
		cs->face_state = cs->face->state_new();
	}
}

const struct resume *cstream_prefill(const struct cstream *cs)
{
	return cs->resume.continuing ? &cs->resume : NULL;
}

bool cstream_attempt_committed(const struct cstream *cs)
{
	return cs->attempt_committed;
}

const char *cstream_cap_hit(const struct cstream *cs)
{
	return cs->cap_hit ? cs->cap_hit : "answer larger than immortal's cap";
}

/* A continuation's chunk, adapted to the stream the client already has. */
static enum im_rc cstream_continued(struct cstream *cs, struct json_object *chunk)
{
	char *json = resume_adapt(&cs->resume, chunk);

	if (json == NULL)
		return IM_OK;
	cs->attempt_committed = true;
	enum im_rc rc = cstream_send_chunk(cs, &(struct canon){ .obj = chunk, .text = json });
	free(json);
	return rc;
}

/* Holds events back until the attempt's first content, so a failed attempt
 * leaves nothing at the client; then sends them, committing the stream to
 * this attempt. The content chunk goes out on its own, never held. */
static enum im_rc cstream_relay(struct cstream *cs, const struct canon *chunk)
{
	enum im_rc rc = IM_OK;

	if (!cs->attempt_committed && !chat_chunk_has_content(chunk->obj)) {
		if (cs->face->chunk(cs->face_state, chunk, &cs->pending) != IM_OK)
			return cstream_too_big(cs, "events before the first content larger than immortal's cap (1 MiB)");
		return IM_OK;
	}
	if (!cs->attempt_committed) {
		rc = reply_stream_begin(&cs->reply, cs->endpoint, cs->number);
		cs->attempt_committed = true;
		if (rc == IM_OK && cs->pending.len > 0)
			rc = cstream_flush(cs, &cs->pending);
		buf_reset(&cs->pending);
	}
	resume_observe(&cs->resume, chunk->obj);
	if (rc != IM_OK)
		return IM_EGONE;
	return cstream_send_chunk(cs, chunk);
}

enum im_rc cstream_chunk(struct cstream *cs, const struct canon *chunk)
{
	if (cs->aggregate && chat_aggregate_feed(cs->agg, chunk->obj) != IM_OK)
		return cstream_too_big(cs, "aggregated answer larger than immortal's cap (64 MiB)");
	if (cs->aggregate)
		return IM_OK;
	if (cs->resume.continuing)
		return cstream_continued(cs, chunk->obj);
	return cstream_relay(cs, chunk);
}

/* Each chunk of a completion that a streaming client gets whole. */
static enum im_rc cstream_emit(void *ctx, const char *json)
{
	struct cstream *cs = ctx;
	struct json_object *chunk;
	enum im_rc rc;

	if (!cs->resume.continuing)
		return cstream_send_chunk(cs, &(struct canon){ .text = json });
	chunk = jsonparse(json);
	rc = chunk ? cstream_continued(cs, chunk) : IM_OK;
	json_object_put(chunk);
	return rc;
}

enum im_rc cstream_answer(struct cstream *cs, const struct canon *completion)
{
	enum im_rc rc;

	if (!cs->client_stream) {
		if (cs->face->answer(cs->face_state, completion, &cs->out) != IM_OK) {
			buf_reset(&cs->out);
			return cstream_too_big(cs, "answer larger than immortal's cap");
		}
		rc = reply_json(&cs->reply, 200, buf_str(&cs->out), cs->endpoint, cs->number);
		buf_reset(&cs->out);
		return rc == IM_OK ? IM_OK : IM_EGONE;
	}
	rc = reply_stream_begin(&cs->reply, cs->endpoint, cs->number);
	if (rc == IM_OK)
		rc = chat_completion_to_chunks(completion->obj, cs->include_usage, cstream_emit, cs);
	if (rc == IM_OK)
		rc = cstream_send_done(cs);
	return rc;
}

enum im_rc cstream_attempt_finish(struct cstream *cs)
{
	if (!cs->aggregate)
		return cstream_send_done(cs);
	char *json = chat_aggregate_finish(cs->agg);
	struct json_object *root = jsonparse(json);
	enum im_rc rc = cstream_answer(cs, &(struct canon){ .obj = root, .text = json });
	json_object_put(root);
	free(json);
	return rc;
}

long cstream_tick(struct cstream *cs, int64_t now, bool fd_ready, int *watch_fd)
{
	return reply_tick(&cs->reply, now, fd_ready, watch_fd);
}

int cstream_watch_fd(const struct cstream *cs)
{
	return cs->reply.watch_fd;
}

/* ---- for the failover engine ---------------------------------------------------- */

const char *cstream_resume_refusal(const struct cstream *cs, struct json_object *client)
{
	return resume_refusal(&cs->resume, client);
}

void cstream_continue_begin(struct cstream *cs)
{
	resume_begin(&cs->resume);
}

bool cstream_restarting(const struct cstream *cs)
{
	return cs->resume.restart;
}

void cstream_continue_end(struct cstream *cs)
{
	cs->resume.continuing = false;
}

enum im_rc cstream_sleep(struct cstream *cs, long ms)
{
	return reply_sleep(&cs->reply, ms);
}

enum im_rc cstream_fail_broken(struct cstream *cs, const char *error_json)
{
	if (cs->face->error(cs->face_state, error_json, &cs->out) != IM_OK) {
		buf_reset(&cs->out);
		return IM_ETOOBIG;
	}
	return cstream_flush(cs, &cs->out);
}

enum im_rc cstream_fail(struct cstream *cs, int status, const char *error_json, int attempts)
{
	/* The status line is gone: an error can only be an in-band event. */
	if (cs->reply.headers_sent)
		return cstream_fail_broken(cs, error_json);
	if (cs->face->error_answer == NULL)
		return reply_json(&cs->reply, status, error_json, NULL, attempts);
	if (cs->face->error_answer(&status, error_json, &cs->out) != IM_OK) {
		buf_reset(&cs->out);
		return IM_ETOOBIG;
	}
	enum im_rc rc = reply_json(&cs->reply, status, buf_str(&cs->out), NULL, attempts);
	buf_reset(&cs->out);
	return rc;
}
