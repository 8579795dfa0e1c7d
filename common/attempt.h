/* attempt.h: one request to one endpoint, and what came of it.
 *
 * Sends the client's request to an endpoint in its dialect (dialect.h),
 * hands the canonical chunks or completion the dialect decodes to the
 * client stream (cstream.h), watches the endpoint's timers and classifies
 * the outcome. On success the client stream has the whole answer; on
 * failure nothing of this attempt reached the client unless
 * `broke_midstream` says so. */
#ifndef IMMORTAL_ATTEMPT_H
#define IMMORTAL_ATTEMPT_H

#include <stdbool.h>
#include <stdint.h>

#include "cstream.h"
#include "errkind.h"
#include "group.h"
#include "route.h"
#include "transport.h"

struct json_object;

struct attempt_input {
	const char *request_id;
	enum route_kind kind;             /* which API; the endpoint serves it (route.h) */
	const struct endpoint *ep;
	struct json_object *client_body;  /* only read */
	bool client_stream;
	bool include_usage;               /* the client asked for a usage chunk */
	struct transport *transport;
	struct cstream *stream;           /* the client's; continuing when it says so */
	int number;                       /* 1-based, counting every upstream request */
};

struct attempt_result {
	enum errkind kind;       /* ERRKIND_NONE on success */
	long status;             /* upstream HTTP status, 0 if none */
	long retry_after_s;      /* -1 when absent */
	bool retryable;          /* worth one more try on the same endpoint */
	bool broke_midstream;    /* content reached the client, then it failed */
	bool client_gone;
	char detail[256];        /* short, one line, secrets removed */
	char *error_body;        /* the upstream's error answer (its first 64 KiB),
				    secrets removed; owned, free with
				    attempt_result_clear */
	bool error_is_api_error; /* error_body is an OpenAI-shaped {"error": ...} */
	int64_t elapsed_ms;
	int64_t first_content_ms; /* from the start to the first content, -1: none */
};

void attempt_run(const struct attempt_input *in, struct attempt_result *out);
void attempt_result_clear(struct attempt_result *res);

#endif
