/* log.h: immortal's log: one line per event, written whole.
 *
 * Each line is formatted into one buffer and written with a single write(2)
 * on a descriptor opened with O_APPEND, so lines from every thread and every
 * process sharing the file stay whole. Lines carry no secrets: callers pass
 * upstream text through redact_secrets() first. */
#ifndef IMMORTAL_LOG_H
#define IMMORTAL_LOG_H

#include <stdbool.h>

#include "result.h"

/* `verbose` false keeps only errors. `dir` NULL or "" logs to stderr,
 * otherwise to DIR/immortal.log. */
enum im_rc log_open(bool verbose, const char *dir);
/* Reopens the log file (after rotation); a no-op on stderr. */
enum im_rc log_reopen(void);
void log_close(void);
bool log_verbose(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
