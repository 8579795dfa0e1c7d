/* attempt.c: one upstream request, relayed and classified (see attempt.h). */
#include "attempt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "chat.h"
#include "clock.h"
#include "log.h"
#include "redact.h"
#include "sse.h"
#include "upreq.h"

#define ATTEMPT_ERROR_BODY_MAX (64u << 10)
/* An error answer still coming this far past the kept part is not an error
 * page: the transfer is dropped, and its connection with it. */
#define ATTEMPT_ERROR_SLACK (1u << 20)
#define ATTEMPT_ANSWER_MAX (64u << 20)
#define ATTEMPT_EVENT_MAX (8u << 20)
#define ATTEMPT_PENDING_MAX (1u << 20)

struct attempt {
	const struct attempt_input *in;
	struct attempt_result *out;
	bool up_stream;
	bool aggregate;          /* streamed upstream, non-streamed client */
	struct buf body;         /* error body, whole answer, or raw bytes until
				    the first SSE event */
	struct sse_parser sse;
	struct chat_aggregate *agg;
	struct buf pending;      /* events held back until the first content */
	struct buf frame;        /* one event as it goes to the client */
	size_t error_bytes;      /* bytes of an error answer seen so far */
	bool error_cut;          /* ... and it went on past the slack */
	bool saw_event;
	bool saw_content;
	bool saw_finish;
	bool saw_done;
	bool committed;          /* this attempt's content reached the client */
	bool stopped;            /* the attempt itself decided to stop */
	const char *too_big;     /* which cap an answer hit, or NULL */
	bool timed_out;
	int64_t start_ms;
	int64_t last_chunk_ms;
};

static void attempt_fail(struct attempt *a, enum errkind kind, const char *detail)
{
	a->out->kind = kind;
	char *clean = redact_secrets(detail, a->in->ep->apikey);
	redact_detail(clean, a->out->detail, sizeof a->out->detail);
	free(clean);
}

/* ---- streamed answers --------------------------------------------------- */

static const char *attempt_error_message(struct json_object *error)
{
	struct json_object *msg;
	if (json_object_is_type(error, json_type_object) &&
	    json_object_object_get_ex(error, "message", &msg) &&
	    json_object_is_type(msg, json_type_string))
		return json_object_get_string(msg);
	return json_object_to_json_string_ext(error, JSON_C_TO_STRING_PLAIN);
}

static enum im_rc attempt_on_error_event(struct attempt *a, struct json_object *error)
{
	enum errkind kind = errkind_from_error_object(error);
	char detail[256];

	snprintf(detail, sizeof detail, "%s error event: %s",
		 a->saw_content ? "stream broke with an" : "stream began with an",
		 attempt_error_message(error));
	attempt_fail(a, kind == ERRKIND_CONTENT_FILTER ? kind : ERRKIND_INVALID_RESPONSE, detail);
	a->stopped = true;
	return IM_ESTOP;
}

static bool attempt_continuing(const struct attempt *a)
{
	return a->in->resume != NULL && a->in->resume->continuing;
}

/* A continuation's chunk, adapted to the stream the client already has. */
static enum im_rc attempt_relay_continued(struct attempt *a, struct json_object *chunk)
{
	char *json = resume_adapt(a->in->resume, chunk);

	if (json == NULL)
		return IM_OK;
	a->committed = true;
	enum im_rc rc = reply_stream_event(a->in->reply, json);
	free(json);
	if (rc != IM_OK) {
		a->out->client_gone = true;
		return IM_EGONE;
	}
	return IM_OK;
}

/* Writes an event on to the client as the upstream sent it. Events before
 * the first content are held back (within ATTEMPT_PENDING_MAX), so a failed
 * attempt leaves nothing at the client; the content event itself is never
 * held, whatever its size. */
static enum im_rc attempt_relay(struct attempt *a, const struct sse_event *ev,
				struct json_object *chunk, bool has_content)
{
	enum im_rc rc = IM_OK;

	if (attempt_continuing(a))
		return attempt_relay_continued(a, chunk);
	if (!a->committed && !has_content) {
		if (sse_write_data(&a->pending, ev->data, ev->data_len) != IM_OK) {
			a->too_big = "events before the first content larger than immortal's cap (1 MiB)";
			return IM_ETOOBIG;
		}
		return IM_OK;
	}
	if (!a->committed) {
		rc = reply_stream_begin(a->in->reply, a->in->ep->name, a->in->number);
		a->committed = true;
	}
	if (a->in->resume != NULL)
		resume_observe(a->in->resume, chunk);
	if (rc == IM_OK && a->pending.len > 0)
		rc = reply_stream_write(a->in->reply, a->pending.data, a->pending.len);
	buf_reset(&a->pending);
	buf_reset(&a->frame);
	if (rc == IM_OK && sse_write_data(&a->frame, ev->data, ev->data_len) != IM_OK) {
		a->too_big = "an upstream event larger than immortal's cap";
		return IM_ETOOBIG;
	}
	if (rc == IM_OK)
		rc = reply_stream_write(a->in->reply, a->frame.data, a->frame.len);
	if (rc != IM_OK) {
		a->out->client_gone = true;
		return IM_EGONE;
	}
	return IM_OK;
}

static enum im_rc attempt_on_chunk(struct attempt *a, const struct sse_event *ev,
				   struct json_object *chunk)
{
	bool has_content = chat_chunk_has_content(chunk);

	a->last_chunk_ms = clock_ms();
	if (has_content && !a->saw_content)
		a->out->first_content_ms = a->last_chunk_ms - a->start_ms;
	a->saw_content |= has_content;
	a->saw_finish |= chat_chunk_has_finish(chunk);
	if (a->aggregate) {
		if (chat_aggregate_feed(a->agg, chunk) != IM_OK) {
			a->too_big = "aggregated answer larger than immortal's cap (64 MiB)";
			return IM_ETOOBIG;
		}
		return IM_OK;
	}
	return attempt_relay(a, ev, chunk, has_content);
}

static enum im_rc attempt_on_event(void *ctx, const struct sse_event *ev)
{
	struct attempt *a = ctx;
	struct json_object *obj, *error;
	enum im_rc rc;

	if (ev->is_comment)
		return IM_OK;  /* keep-alives do not count as progress */
	if (!a->saw_event) {
		a->saw_event = true;
		buf_free(&a->body);
	}
	if (strcmp(ev->data, "[DONE]") == 0) {
		a->saw_done = true;
		return IM_OK;
	}
	obj = json_tokener_parse(ev->data);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		log_info("req=%s endpoint=%s dropped an upstream event that is not JSON (%zu bytes)",
			 a->in->request_id, a->in->ep->name, ev->data_len);
		json_object_put(obj);
		return IM_OK;
	}
	if (json_object_object_get_ex(obj, "error", &error))
		rc = attempt_on_error_event(a, error);
	else
		rc = attempt_on_chunk(a, ev, obj);
	json_object_put(obj);
	return rc;
}

/* ---- transport hooks ---------------------------------------------------- */

static bool attempt_ok_status(long status)
{
	return status >= 200 && status < 300;
}

/* An error answer: its first ATTEMPT_ERROR_BODY_MAX bytes are kept, the
 * rest discarded; past the slack the transfer is aborted. */
static enum im_rc attempt_error_bytes(struct attempt *a, const char *data, size_t len)
{
	size_t room = a->body.len < ATTEMPT_ERROR_BODY_MAX ? ATTEMPT_ERROR_BODY_MAX - a->body.len : 0;

	(void)buf_append(&a->body, data, len < room ? len : room);
	a->error_bytes += len;
	if (a->error_bytes > ATTEMPT_ERROR_BODY_MAX + ATTEMPT_ERROR_SLACK) {
		a->error_cut = true;
		return IM_ETOOBIG;
	}
	return IM_OK;
}

static enum im_rc attempt_on_body(void *ctx, long status, const char *data, size_t len)
{
	struct attempt *a = ctx;

	if (!attempt_ok_status(status))
		return attempt_error_bytes(a, data, len);
	if (!a->up_stream) {
		if (buf_append(&a->body, data, len) != IM_OK) {
			a->too_big = "answer larger than immortal's cap (64 MiB)";
			return IM_ETOOBIG;
		}
		return IM_OK;
	}
	if (!a->saw_event)
		(void)buf_append(&a->body, data, len);  /* in case it is not SSE at all */
	enum im_rc rc = sse_parser_feed(&a->sse, data, len);
	if (rc == IM_ETOOBIG && a->too_big == NULL)
		a->too_big = "an upstream event larger than immortal's cap (8 MiB)";
	return rc;
}

static int64_t attempt_deadline(const struct attempt *a)
{
	int64_t timeout = (int64_t)(a->in->ep->timeout_s * 1000);
	if (a->up_stream && a->saw_content)
		return a->last_chunk_ms + timeout;
	return a->start_ms + timeout;
}

static long attempt_on_tick(void *ctx, bool fd_ready, int *watch_fd)
{
	struct attempt *a = ctx;
	int64_t now = clock_ms();
	long wait = reply_tick(a->in->reply, now, fd_ready, watch_fd);

	if (wait < 0) {
		a->out->client_gone = true;
		return -1;
	}
	int64_t deadline = attempt_deadline(a);
	if (now >= deadline) {
		a->timed_out = true;
		return -1;
	}
	return deadline - now < wait ? (long)(deadline - now) : wait;
}

/* ---- outcomes ------------------------------------------------------------ */

static enum im_rc attempt_emit_chunk(void *ctx, const char *json)
{
	struct attempt *a = ctx;
	struct json_object *chunk;
	enum im_rc rc;

	if (!attempt_continuing(a))
		return reply_stream_event(a->in->reply, json);
	chunk = json_tokener_parse(json);
	rc = chunk ? attempt_relay_continued(a, chunk) : IM_OK;
	json_object_put(chunk);
	return rc;
}

/* A whole completion for the client, in the form the client asked for. */
static void attempt_answer(struct attempt *a, const char *json, struct json_object *completion)
{
	struct reply *r = a->in->reply;
	enum im_rc rc;

	if (!a->in->client_stream) {
		rc = reply_json(r, 200, json, a->in->ep->name, a->in->number);
	} else {
		rc = reply_stream_begin(r, a->in->ep->name, a->in->number);
		if (rc == IM_OK)
			rc = chat_completion_to_chunks(completion, a->in->include_usage,
						       attempt_emit_chunk, a);
		if (rc == IM_OK)
			rc = reply_stream_done(r);
	}
	if (rc != IM_OK)
		a->out->client_gone = true;
}

static void attempt_finish_plain(struct attempt *a)
{
	struct json_object *root = json_tokener_parse(buf_str(&a->body));
	struct json_object *error;

	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		attempt_fail(a, ERRKIND_INVALID_RESPONSE, "answer is not a JSON object");
	} else if (json_object_object_get_ex(root, "error", &error)) {
		char detail[256];
		snprintf(detail, sizeof detail, "error in a 200 answer: %s", attempt_error_message(error));
		attempt_fail(a, errkind_from_error_object(error), detail);
	} else if (!chat_completion_usable(root)) {
		attempt_fail(a, ERRKIND_INVALID_RESPONSE, "answer holds no usable completion");
	} else {
		a->out->first_content_ms = clock_ms() - a->start_ms;
		attempt_answer(a, buf_str(&a->body), root);
	}
	json_object_put(root);
}

static void attempt_finish_aggregate(struct attempt *a)
{
	char *json = chat_aggregate_finish(a->agg);
	struct json_object *root = json_tokener_parse(json);
	attempt_answer(a, json, root);
	json_object_put(root);
	free(json);
}

static void attempt_finish_stream(struct attempt *a)
{
	bool complete = a->saw_done || a->saw_finish;

	if (!a->saw_event && a->body.len > 0) {
		/* The upstream ignored "stream": treat it as a plain answer. */
		attempt_finish_plain(a);
	} else if (!a->saw_content) {
		attempt_fail(a, ERRKIND_INVALID_RESPONSE, "stream ended before any content");
	} else if (!complete) {
		attempt_fail(a, ERRKIND_NETWORK, "stream ended before it was complete");
	} else if (a->aggregate) {
		attempt_finish_aggregate(a);
	} else if (reply_stream_done(a->in->reply) != IM_OK) {
		a->out->client_gone = true;
	}
}

static void attempt_timeout(struct attempt *a)
{
	char detail[128];
	double t = a->in->ep->timeout_s;

	if (!a->up_stream)
		snprintf(detail, sizeof detail, "no complete answer within %gs", t);
	else if (!a->saw_content)
		snprintf(detail, sizeof detail, "no first token within %gs", t);
	else
		snprintf(detail, sizeof detail, "stream silent for %gs", t);
	attempt_fail(a, ERRKIND_TIMEOUT, detail);
}

static void attempt_curl_error(struct attempt *a, const struct transport_result *tr)
{
	char detail[CURL_ERROR_SIZE + 64];
	const char *why = tr->error[0] ? tr->error : curl_easy_strerror(tr->code);

	snprintf(detail, sizeof detail, "%s", why);
	switch (tr->code) {
	case CURLE_OPERATION_TIMEDOUT:
		attempt_fail(a, ERRKIND_TIMEOUT, detail);
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		attempt_fail(a, ERRKIND_NETWORK, detail);
		break;
	default:
		attempt_fail(a, ERRKIND_NETWORK, detail);
		/* a reset before any answer is worth a second try */
		a->out->retryable = !tr->got_response;
		break;
	}
}

/* The error answer is parsed once, here; the kind and the detail both come
 * from that one tree. */
static void attempt_http_error(struct attempt *a, const struct transport_result *tr)
{
	const char *text = buf_str(&a->body);
	struct json_object *root = json_tokener_parse(text);
	struct json_object *error = NULL;
	const char *cut = a->error_cut ? " (error answer went on past 1 MiB; connection dropped)" : "";
	char detail[256];

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "error", &error))
		error = NULL;
	if (error != NULL)
		snprintf(detail, sizeof detail, "HTTP %ld: %s%s", tr->status, attempt_error_message(error), cut);
	else
		snprintf(detail, sizeof detail, "HTTP %ld: %.160s%s", tr->status, text, cut);
	attempt_fail(a, errkind_from_http_error(tr->status, error), detail);
	a->out->error_is_api_error = error != NULL;
	json_object_put(root);
	a->out->retryable = errkind_is_transient(a->out->kind);
	a->out->error_body = redact_secrets(text, a->in->ep->apikey);
}

static void attempt_classify(struct attempt *a, const struct transport_result *tr)
{
	a->out->status = tr->status;
	a->out->retry_after_s = tr->retry_after_s;
	if (a->out->client_gone || a->stopped)
		return;
	if (a->timed_out)
		attempt_timeout(a);
	else if (a->too_big)
		attempt_fail(a, ERRKIND_INVALID_RESPONSE, a->too_big);
	else if (a->error_cut)
		attempt_http_error(a, tr);
	else if (tr->code != CURLE_OK && !(a->saw_content && (a->saw_finish || a->saw_done)))
		attempt_curl_error(a, tr);
	else if (!attempt_ok_status(tr->status))
		attempt_http_error(a, tr);
	else if (a->up_stream)
		attempt_finish_stream(a);
	else
		attempt_finish_plain(a);
}

/* ---- entry ---------------------------------------------------------------- */

static void attempt_init(struct attempt *a, const struct attempt_input *in,
			 struct attempt_result *out)
{
	memset(a, 0, sizeof *a);
	memset(out, 0, sizeof *out);
	out->retry_after_s = -1;
	out->first_content_ms = -1;
	a->in = in;
	a->out = out;
	a->up_stream = upreq_wants_stream(in->ep, in->client_stream);
	a->aggregate = a->up_stream && !in->client_stream;
	buf_init(&a->body, a->up_stream ? ATTEMPT_PENDING_MAX : ATTEMPT_ANSWER_MAX);
	buf_init(&a->pending, ATTEMPT_PENDING_MAX);
	/* one event, framed: its data plus a "data: " per line at most */
	buf_init(&a->frame, 8 * (size_t)ATTEMPT_EVENT_MAX);
	sse_parser_init(&a->sse, ATTEMPT_EVENT_MAX, attempt_on_event, a);
	if (a->aggregate)
		a->agg = chat_aggregate_new(ATTEMPT_ANSWER_MAX);
	a->start_ms = clock_ms();
	a->last_chunk_ms = a->start_ms;
}

static void attempt_cleanup(struct attempt *a)
{
	buf_free(&a->body);
	buf_free(&a->pending);
	buf_free(&a->frame);
	sse_parser_free(&a->sse);
	chat_aggregate_free(a->agg);
}

void attempt_run(const struct attempt_input *in, struct attempt_result *out)
{
	struct attempt a;
	struct transport_result tr;
	const struct endpoint *ep = in->ep;

	attempt_init(&a, in, out);
	char *body = in->resume && in->resume->continuing
			     ? resume_body(in->resume, in->client_body, ep, a.up_stream)
			     : upreq_body(in->client_body, ep, a.up_stream, a.aggregate);
	struct curl_slist *headers = upreq_headers(ep, a.up_stream);
	struct transport_request req = {
		.url = ep->url, .headers = headers, .body = body, .body_len = strlen(body),
		.connect_timeout_ms = (long)(ep->connect_timeout_s * 1000),
	};
	struct transport_hooks hooks = {
		.ctx = &a, .on_body = attempt_on_body, .on_tick = attempt_on_tick,
		.watch_fd = in->reply->watch_fd,
	};

	if (transport_post(in->transport, &req, &hooks, &tr) != IM_OK) {
		attempt_fail(&a, ERRKIND_NETWORK, "libcurl could not start the transfer");
	} else {
		if (a.up_stream && tr.code == CURLE_OK && !a.stopped && !a.timed_out)
			(void)sse_parser_finish(&a.sse);
		attempt_classify(&a, &tr);
	}
	out->broke_midstream = a.committed && out->kind != ERRKIND_NONE;
	out->elapsed_ms = clock_ms() - a.start_ms;
	curl_slist_free_all(headers);
	free(body);
	attempt_cleanup(&a);
}

void attempt_result_clear(struct attempt_result *res)
{
	free(res->error_body);
	res->error_body = NULL;
}
