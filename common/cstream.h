/* cstream.h: the stream the client sees, and its one owner.
 *
 * Everything about what reached the client lives here: the reply on the
 * wire (headers, keep-alives, a client gone), the events held back before
 * an attempt's first content, the commit (the first content, reasoning or
 * tool call sent: from then on a failure can no longer be hidden), the
 * record of what was delivered and the continuation of a broken answer
 * (resume.h), and the end (exactly one end of stream, or an in-band error;
 * one JSON answer for a client that did not stream, aggregated from a
 * streamed upstream when needed).
 *
 * Attempts (attempt.h) feed it canonical chunks (canon.h) and whole
 * completions; the failover engine (failover.h) asks it what is still
 * possible and has it send the final error. How things look on the wire is
 * the face's business (face.h). */
#ifndef IMMORTAL_CSTREAM_H
#define IMMORTAL_CSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "canon.h"
#include "face.h"
#include "result.h"
#include "resume.h"
#include "sink.h"

struct json_object;

struct cstream_options {
	bool client_stream;      /* the client asked for a stream */
	bool include_usage;      /* ... with a usage chunk */
	unsigned keepalive_s;
	int64_t started_ms;
	const struct face *face; /* borrowed; NULL: chat completions */
	enum route_kind kind;    /* the route whose chunks come (a broken legacy
				    completion is continued in its own way) */
};

struct cstream;

/* `sink` is borrowed for the stream's life. */
struct cstream *cstream_new(struct sink *sink, const struct cstream_options *opt);
void cstream_free(struct cstream *cs);

/* ---- one attempt ---------------------------------------------------------- */

/* A new attempt at `endpoint` (borrowed until cstream_attempt_end), the
 * `number`th upstream request. `aggregate`: the upstream streams for a
 * client that did not ask to, so its chunks are gathered into one answer. */
void cstream_attempt_begin(struct cstream *cs, const char *endpoint, int number, bool aggregate);
/* Drops what the attempt held back. */
void cstream_attempt_end(struct cstream *cs);
/* What the client received so far, when this attempt is to continue it;
 * NULL for a fresh answer. Borrowed. */
const struct resume *cstream_prefill(const struct cstream *cs);
/* One canonical chunk: held back (only before the attempt's first content,
 * within 1 MiB), sent (committing the stream), adapted as a continuation or
 * aggregated. The content chunk itself is never held, whatever its size. IM_ETOOBIG past a cap, IM_EGONE when the
 * client left. */
enum im_rc cstream_chunk(struct cstream *cs, const struct canon *chunk);
/* A whole completion, in the form the client asked for. IM_EGONE when the
 * client left, IM_ETOOBIG past a cap. */
enum im_rc cstream_answer(struct cstream *cs, const struct canon *completion);
/* The attempt's stream ended complete: the aggregated answer, or the end
 * of the client's stream. Results as cstream_answer. */
enum im_rc cstream_attempt_finish(struct cstream *cs);
/* True when this attempt's content reached the client. */
bool cstream_attempt_committed(const struct cstream *cs);
/* After IM_ETOOBIG: which cap was reached, as a phrase for the attempt's
 * detail ("events before the first content larger than ..."). Static. */
const char *cstream_cap_hit(const struct cstream *cs);

/* Keeps the stream alive and watches the client (transport.h's on_tick):
 * how many ms may pass before it wants to run again, -1 when gone. */
long cstream_tick(struct cstream *cs, int64_t now, bool fd_ready, int *watch_fd);
/* The descriptor that turns readable when the client may have gone, or -1. */
int cstream_watch_fd(const struct cstream *cs);

/* ---- for the failover engine ------------------------------------------------ */

/* Why the delivered answer cannot be continued, or NULL (resume.h). */
const char *cstream_resume_refusal(const struct cstream *cs, struct json_object *client);
/* Prepares the next continuation attempt. */
void cstream_continue_begin(struct cstream *cs);
/* True when the continuation asks afresh (only reasoning was delivered). */
bool cstream_restarting(const struct cstream *cs);
/* No more continuation attempts. */
void cstream_continue_end(struct cstream *cs);

/* Waits `ms` while keeping the stream alive; IM_EGONE when the client left. */
enum im_rc cstream_sleep(struct cstream *cs, long ms);
/* Ends a stream that broke after it had begun with an in-band error
 * (`error_json` is an OpenAI-shaped error), and no end of stream. */
enum im_rc cstream_fail_broken(struct cstream *cs, const char *error_json);
/* Answers with an error: a JSON answer with `status`, or an in-band error
 * when a stream's headers already went out (a keep-alive). */
enum im_rc cstream_fail(struct cstream *cs, int status, const char *error_json, int attempts);

#endif
