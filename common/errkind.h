/* errkind.h: the error taxonomy of an upstream attempt.
 *
 * Every failed attempt is classified into exactly one kind; the kind decides
 * whether the failover engine retries the endpoint, moves on, or hands the
 * answer back to the client, and which hint the log line carries. */
#ifndef IMMORTAL_ERRKIND_H
#define IMMORTAL_ERRKIND_H

#include <stdbool.h>

enum errkind {
	ERRKIND_NONE = 0,         /* success */
	ERRKIND_NETWORK,          /* DNS, refused, reset, cut */
	ERRKIND_AUTH,             /* 401 */
	ERRKIND_PERMISSION,       /* 403, 402 */
	ERRKIND_TIMEOUT,          /* connect, first token, silence, whole answer */
	ERRKIND_RATE_LIMIT,       /* 429 */
	ERRKIND_SERVER,           /* 5xx */
	ERRKIND_REQUEST,          /* other 4xx: the request itself is at fault */
	ERRKIND_CONTENT_FILTER,   /* the provider refused the content */
	ERRKIND_INVALID_RESPONSE, /* 200 without a usable answer */
	ERRKIND_COUNT
};

/* Stable lower-case name used in logs, responses and metrics. */
const char *errkind_name(enum errkind kind);

/* One line telling the operator what to do; `endpoint` names the endpoint. */
const char *errkind_hint(enum errkind kind);

struct json_object;

/* Classifies a non-2xx HTTP answer. `error` is the value of "error" in the
 * upstream's answer, already parsed by the caller (NULL when the answer is
 * not such JSON); it is only read to spot content-filter refusals. */
enum errkind errkind_from_http_error(long status, struct json_object *error);

/* True when a JSON error object (the value of "error") says the provider
 * refused the content (content_policy_violation, content_filter, ...). */
bool errkind_is_content_refusal(struct json_object *error);

/* Classifies an error object found inside a 200 answer or an SSE event
 * (OpenRouter reports provider failures that way): content_filter or
 * invalid_response. */
enum errkind errkind_from_error_object(struct json_object *error);

/* True for the kinds worth one more try on the same endpoint. */
bool errkind_is_transient(enum errkind kind);

#endif
