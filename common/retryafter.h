/* retryafter.h: reading an upstream's "come back later" headers.
 *
 * `Retry-After` holds delta-seconds or an HTTP-date (RFC 9110 10.2.3);
 * `retry-after-ms` (OpenAI, Azure) holds milliseconds. Both come from a peer
 * that may lie: a value that is negative, longer than RETRYAFTER_MAX_S,
 * unparsable or too long to be a real value counts as absent, so nothing
 * downstream (pauses, cooldowns) ever works with an absurd number. */
#ifndef IMMORTAL_RETRYAFTER_H
#define IMMORTAL_RETRYAFTER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Longer than this is not a hint anyone should follow. */
#define RETRYAFTER_MAX_S 86400L
/* A longer header value is not a number or a date. */
#define RETRYAFTER_VALUE_MAX 64

/* Parses one header value of `len` bytes (not NUL-terminated, surrounding
 * white space allowed). `millis` says it is retry-after-ms. `now` is the
 * current time, for HTTP-dates. Returns whole seconds (milliseconds round up,
 * a date in the past is 0), or -1 for absent/invalid. Pure: no clock, no state. */
long retryafter_parse(const char *value, size_t len, bool millis, time_t now);

#endif
