/* dialect_gemini.h: Google's Gemini generateContent API, shared between the
 * files that translate it (dialect_gemini.c: the request, the tables,
 * errors; dialect_gemini_decode.c: streamed and whole answers) and the tests.
 *
 * Every mapping between the two APIs is a table here, so one place says
 * how a finish reason, an error status or a reasoning effort translates. */
#ifndef IMMORTAL_DIALECT_GEMINI_H
#define IMMORTAL_DIALECT_GEMINI_H

#include "dialect.h"

struct gemini_pair {
	const char *from;
	const char *to;
};

struct gemini_error_status {
	const char *status;     /* google.rpc status name, e.g. RESOURCE_EXHAUSTED */
	enum errkind kind;
};

struct gemini_budget {
	const char *effort;
	long tokens;            /* thinkingBudget; 0: no thinking */
};

/* Each ends with an entry whose first member is NULL. */
extern const struct gemini_pair gemini_finish_reasons[];      /* finishReason -> finish_reason */
extern const struct gemini_error_status gemini_error_statuses[];
extern const struct gemini_budget gemini_budgets[];           /* reasoning_effort -> thinkingConfig */

/* The finish_reason for a finishReason, NULL when the table lacks it. */
const char *gemini_finish_reason(const char *reason);
/* The kind of an error status, or ERRKIND_COUNT when unknown. */
enum errkind gemini_error_kind(const char *status);

/* The generateContent request for `client` (a new object, caller puts).
 * Fields with no Gemini meaning are dropped with a log line. */
struct json_object *gemini_request(struct json_object *client, const struct endpoint *ep,
				   const struct dialect_call *call);

/* {"error": {"code", "message", "status"}}: its inner object, or NULL. */
struct json_object *gemini_error_object(struct json_object *root);
/* A non-2xx answer, as dialect.h's `error` says (also for embeddings). */
void gemini_error(long status, const char *body, struct dialect_error *out);

/* Decoding (dialect_gemini_decode.c), as dialect.h describes. */
struct dialect_stream *gemini_stream_new(const struct dialect_out *out,
					 const struct dialect_call *call);
enum im_rc gemini_stream_finish(struct dialect_stream *st);
enum errkind gemini_answer(const char *body, struct canon *out, char *detail, size_t n);

#endif
