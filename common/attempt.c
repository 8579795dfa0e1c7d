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
#include "dialect.h"
#include "log.h"
#include "redact.h"
#include "upreq.h"

#define ATTEMPT_ERROR_BODY_MAX (64u << 10)
/* An error answer still coming this far past the kept part is not an error
 * page: the transfer is dropped, and its connection with it. */
#define ATTEMPT_ERROR_SLACK (1u << 20)
#define ATTEMPT_ANSWER_MAX (64u << 20)
#define ATTEMPT_PROBE_MAX (1u << 20)

struct attempt {
	const struct attempt_input *in;
	struct attempt_result *out;
	const struct dialect *d;
	struct dialect_call call;    /* what is asked of the endpoint */
	struct dialect_stream *dec;  /* decodes a streamed answer */
	bool up_stream;
	bool aggregate;          /* streamed upstream, non-streamed client */
	char *request;           /* the body sent upstream; owned, freed as soon
				    as libcurl needs it no more (on_sent) */
	struct buf body;         /* error body, whole answer, or raw bytes until
				    the stream's first event */
	size_t error_bytes;      /* bytes of an error answer seen so far */
	bool error_cut;          /* ... and it went on past the slack */
	bool saw_content;
	bool saw_finish;
	bool saw_done;
	bool stopped;            /* the attempt itself decided to stop */
	const char *too_big;     /* which cap the answer hit, or NULL */
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

/* What the client stream said: the client left, or a cap was reached. */
static enum im_rc attempt_stream_rc(struct attempt *a, enum im_rc rc)
{
	if (rc == IM_ETOOBIG)
		a->too_big = cstream_cap_hit(a->in->stream);
	else if (rc != IM_OK)
		a->out->client_gone = true;
	return rc;
}

/* ---- what the decoder reads ----------------------------------------------- */

static enum im_rc attempt_on_error(void *ctx, enum errkind kind, const char *message)
{
	struct attempt *a = ctx;
	char detail[256];

	snprintf(detail, sizeof detail, "%s error event: %s",
		 a->saw_content ? "stream broke with an" : "stream began with an", message);
	attempt_fail(a, kind, detail);
	a->stopped = true;
	return IM_ESTOP;
}

static enum im_rc attempt_on_chunk(void *ctx, const struct canon *chunk)
{
	struct attempt *a = ctx;
	bool has_content = chat_chunk_has_content(chunk->obj);

	a->last_chunk_ms = clock_ms();
	if (has_content && !a->saw_content)
		a->out->first_content_ms = a->last_chunk_ms - a->start_ms;
	a->saw_content |= has_content;
	a->saw_finish |= chat_chunk_has_finish(chunk->obj);
	return attempt_stream_rc(a, cstream_chunk(a->in->stream, chunk));
}

static void attempt_on_done(void *ctx)
{
	struct attempt *a = ctx;
	a->saw_done = true;
}

static void attempt_on_dropped(void *ctx, size_t bytes)
{
	struct attempt *a = ctx;
	log_info(LOG_S("req", a->in->request_id), LOG_S("endpoint", a->in->ep->name),
		 LOG_MSG("dropped an upstream event that is not JSON"), LOG_I("bytes", bytes));
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
	bool began = a->d->stream_began(a->dec);
	if (!began)
		(void)buf_append(&a->body, data, len);  /* in case it is not a stream at all */
	enum im_rc rc = a->d->stream_feed(a->dec, data, len);
	if (!began && a->d->stream_began(a->dec))
		buf_free(&a->body);
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

static void attempt_on_sent(void *ctx)
{
	struct attempt *a = ctx;

	free(a->request);
	a->request = NULL;
}

static long attempt_on_tick(void *ctx, bool fd_ready, int *watch_fd)
{
	struct attempt *a = ctx;
	int64_t now = clock_ms();
	long wait = cstream_tick(a->in->stream, now, fd_ready, watch_fd);

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

static void attempt_finish_plain(struct attempt *a)
{
	struct canon completion;
	char detail[256];
	enum errkind kind = a->d->answer_to
		? a->d->answer_to(buf_str(&a->body), &a->call, &completion, detail, sizeof detail)
		: a->d->answer(buf_str(&a->body), &completion, detail, sizeof detail);

	if (kind != ERRKIND_NONE) {
		attempt_fail(a, kind, detail);
		return;
	}
	a->out->first_content_ms = clock_ms() - a->start_ms;
	(void)attempt_stream_rc(a, cstream_answer(a->in->stream, &completion));
	json_object_put(completion.obj);
	if (a->too_big)
		attempt_fail(a, ERRKIND_INVALID_RESPONSE, a->too_big);
}

static void attempt_finish_stream(struct attempt *a)
{
	bool complete = a->saw_done || a->saw_finish;

	if (!a->d->stream_began(a->dec) && a->body.len > 0 && a->in->kind != ROUTE_CHAT) {
		/* only a chat completion can be replayed as a stream */
		attempt_fail(a, ERRKIND_INVALID_RESPONSE, "a stream was asked for, a plain answer came");
	} else if (!a->d->stream_began(a->dec) && a->body.len > 0) {
		/* The upstream ignored "stream": treat it as a plain answer. */
		attempt_finish_plain(a);
	} else if (!a->saw_content) {
		attempt_fail(a, ERRKIND_INVALID_RESPONSE, "stream ended before any content");
	} else if (!complete) {
		attempt_fail(a, ERRKIND_NETWORK, "stream ended before it was complete");
	} else {
		(void)attempt_stream_rc(a, cstream_attempt_finish(a->in->stream));
		if (a->too_big)
			attempt_fail(a, ERRKIND_INVALID_RESPONSE, a->too_big);
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

/* The error answer (its kept part) is read once, by the dialect: the kind,
 * the detail and the body the client may get all come from that reading. */
static void attempt_http_error(struct attempt *a, const struct transport_result *tr)
{
	const char *text = buf_str(&a->body);
	const char *cut = a->error_cut ? " (error answer went on past 1 MiB; connection dropped)" : "";
	struct dialect_error e;
	char detail[sizeof e.message + 96];

	a->d->error(tr->status, text, &e);
	snprintf(detail, sizeof detail, "HTTP %ld: %s%s", tr->status, e.message, cut);
	attempt_fail(a, e.kind, detail);
	a->out->retryable = errkind_is_transient(a->out->kind);
	a->out->error_body = redact_secrets(e.shaped ? e.shaped : text, a->in->ep->apikey);
	a->out->error_is_api_error = e.api_error;
	free(e.shaped);
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
	a->d = route_dialect(in->kind, in->ep->type);
	/* an endpoint's stream setting is about chat: other routes are asked
	 * as the client asked, so their answers never need aggregating */
	a->up_stream = in->kind == ROUTE_CHAT ? upreq_wants_stream(in->ep, in->client_stream)
					      : in->client_stream && a->d->stream_new != NULL;
	a->aggregate = a->up_stream && !in->client_stream;
	a->call = (struct dialect_call){
		.request_id = in->request_id, .up_stream = a->up_stream,
		.want_usage = a->aggregate, .client_usage = in->include_usage,
		.prefill = cstream_prefill(in->stream),
		.client = in->client_body, .ep = in->ep,
	};
	buf_init(&a->body, a->up_stream ? ATTEMPT_PROBE_MAX : ATTEMPT_ANSWER_MAX);
	if (a->up_stream) {
		struct dialect_out dout = {
			.ctx = a, .chunk = attempt_on_chunk, .done = attempt_on_done,
			.error = attempt_on_error, .dropped = attempt_on_dropped,
		};
		a->dec = a->d->stream_new(&dout, &a->call);
	}
	cstream_attempt_begin(in->stream, in->ep->name, in->number, a->aggregate);
	a->start_ms = clock_ms();
	a->last_chunk_ms = a->start_ms;
}

static void attempt_cleanup(struct attempt *a)
{
	buf_free(&a->body);
	if (a->dec != NULL)
		a->d->stream_free(a->dec);
	cstream_attempt_end(a->in->stream);
}

void attempt_run(const struct attempt_input *in, struct attempt_result *out)
{
	struct attempt a;
	struct transport_result tr;
	const struct endpoint *ep = in->ep;

	attempt_init(&a, in, out);
	char *url = a.d->url(ep, &a.call);
	a.request = a.d->body(in->client_body, ep, &a.call);
	struct curl_slist *headers = a.d->headers(ep, &a.call);
	struct transport_request req = {
		.url = url, .headers = headers, .body = a.request, .body_len = strlen(a.request),
		.connect_timeout_ms = (long)(ep->connect_timeout_s * 1000), .stream = a.up_stream,
	};
	struct transport_hooks hooks = {
		.ctx = &a, .on_body = attempt_on_body, .on_tick = attempt_on_tick, .on_sent = attempt_on_sent,
		.watch_fd = cstream_watch_fd(in->stream),
	};

	if (transport_post(in->transport, &req, &hooks, &tr) != IM_OK) {
		attempt_fail(&a, ERRKIND_NETWORK, "libcurl could not start the transfer");
	} else {
		if (a.up_stream && tr.code == CURLE_OK && !a.stopped && !a.timed_out)
			(void)a.d->stream_finish(a.dec);
		attempt_classify(&a, &tr);
	}
	out->broke_midstream = cstream_attempt_committed(in->stream) && out->kind != ERRKIND_NONE;
	out->elapsed_ms = clock_ms() - a.start_ms;
	curl_slist_free_all(headers);
	free(a.request);
	free(url);
	attempt_cleanup(&a);
}

void attempt_result_clear(struct attempt_result *res)
{
	free(res->error_body);
	res->error_body = NULL;
}
