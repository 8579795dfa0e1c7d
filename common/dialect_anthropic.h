/* dialect_anthropic.h: Anthropic's Messages API, shared between the files
 * that translate it (dialect_anthropic.c: the request, the tables, errors;
 * dialect_anthropic_decode.c: streamed and whole answers) and the tests.
 *
 * Every mapping between the two APIs is a table of pairs here, so one
 * place says how a stop reason, an error type or a role translates. */
#ifndef IMMORTAL_DIALECT_ANTHROPIC_H
#define IMMORTAL_DIALECT_ANTHROPIC_H

#include "dialect.h"

#define ANTHROPIC_VERSION "2023-06-01"
#define ANTHROPIC_MAX_TOKENS_DEFAULT 4096

struct anthropic_pair {
	const char *from;
	const char *to;
};

struct anthropic_error_type {
	const char *type;
	enum errkind kind;
};

struct anthropic_budget {
	const char *effort;
	long tokens;          /* 0: no thinking */
};

/* Each ends with an entry whose first member is NULL. */
extern const struct anthropic_pair anthropic_stop_reasons[];   /* stop_reason -> finish_reason */
extern const struct anthropic_pair anthropic_roles[];          /* OpenAI role -> Anthropic turn */
extern const struct anthropic_error_type anthropic_error_types[];
extern const struct anthropic_budget anthropic_budgets[];      /* reasoning_effort -> thinking */

/* `to` for `from` in a pair table, or `fallback`. */
const char *anthropic_lookup(const struct anthropic_pair *table, const char *from,
			     const char *fallback);
/* The kind of an error type, or ERRKIND_COUNT when unknown. */
enum errkind anthropic_error_kind(const char *type);

/* The Messages request for `client` (a new object, caller puts). Fields
 * with no Anthropic meaning are dropped with a log line. */
struct json_object *anthropic_request(struct json_object *client, const struct endpoint *ep,
				      const struct dialect_call *call);

/* {"type": "error", "error": {"type", "message"}}: its inner object, or NULL. */
struct json_object *anthropic_error_object(struct json_object *root);

/* Decoding (dialect_anthropic_decode.c), as dialect.h describes. */
struct dialect_stream *anthropic_stream_new(const struct dialect_out *out,
					    const struct dialect_call *call);
void anthropic_stream_free(struct dialect_stream *st);
enum errkind anthropic_answer(const char *body, struct canon *out, char *detail, size_t n);

#endif
