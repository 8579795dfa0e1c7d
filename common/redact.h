/* redact.h: keeping API keys out of logs, errors and responses.
 *
 * Upstream error bodies sometimes echo the key they were given ("Incorrect
 * API key provided: sk-..."); anything immortal repeats from an upstream goes
 * through here first. */
#ifndef IMMORTAL_REDACT_H
#define IMMORTAL_REDACT_H

#include <stddef.h>

/* Returns a new string (caller frees) equal to `text` with every occurrence of
 * `secret` (when at least 4 characters long), of a long prefix or suffix of it,
 * and of anything shaped like a bearer token or an "sk-" key replaced by
 * "[redacted]". */
char *redact_secrets(const char *text, const char *secret);

/* Copies `text` into `out` (size `outlen`) as a one-line short
 * detail for a log line (double quotes become single ones, backslashes go),
 * truncated with "..." past `outlen`, never inside a UTF-8 character. */
void redact_detail(const char *text, char *out, size_t outlen);

#endif
