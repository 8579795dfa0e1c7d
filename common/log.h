/* log.h: immortal's log: one line per event, written whole, that no client
 * or upstream can forge.
 *
 * A line is a list of fields. The code gives each value as a field
 * (LOG_S, LOG_I) and the logger escapes it, so a value holding newlines,
 * quotes or stray bytes stays inside its own field of its own line; only
 * LOG_MSG text, which must be a constant of the code, is written as it is.
 * Text lines (the default) read
 *   2026-01-01T00:00:00.000Z info pid=7 req=ab12 group="a b" refused: ...
 * (a value is quoted when it holds anything but plain printable ASCII);
 * LOG_FORMAT=json makes each line one JSON object with the same fields:
 *   {"time":"...","level":"info","pid":7,"req":"ab12","group":"a b","msg":"refused: ..."}
 *
 * Each line is formatted into one buffer and written with a single write(2)
 * on a descriptor opened with O_APPEND, so lines from every thread and every
 * process sharing the file stay whole. Lines carry no secrets: callers pass
 * upstream text through redact_secrets() first. */
#ifndef IMMORTAL_LOG_H
#define IMMORTAL_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

enum log_kind { LOG_F_END, LOG_F_SKIP, LOG_F_STR, LOG_F_INT, LOG_F_MSG };

/* One field of a line: key=value, or the line's message (LOG_F_MSG). */
struct log_field {
	enum log_kind kind;
	const char *key;         /* a constant of the code: letters, digits, _ */
	const char *s;           /* LOG_F_STR (NULL is written as -), LOG_F_MSG */
	long long i;             /* LOG_F_INT */
};

/* A value from anywhere (client, upstream, config): escaped. */
#define LOG_S(k, v) ((struct log_field){ .kind = LOG_F_STR, .key = (k), .s = (v) })
#define LOG_I(k, v) ((struct log_field){ .kind = LOG_F_INT, .key = (k), .i = (long long)(v) })
/* The line's message, at most one per line: constant text of the code only,
 * written unescaped in text lines ("msg" in JSON). */
#define LOG_MSG(text) ((struct log_field){ .kind = LOG_F_MSG, .key = "msg", .s = (text) })
/* A field only when `cond` holds. */
#define LOG_IF(cond, field) ((cond) ? (field) : (struct log_field){ .kind = LOG_F_SKIP })

/* log_info(field, ...), log_error(field, ...): one line of these fields. */
#define log_info(...) log_fields(LOG_INFO, (const struct log_field[]){ __VA_ARGS__, { .kind = LOG_F_END } })
#define log_error(...) log_fields(LOG_ERROR, (const struct log_field[]){ __VA_ARGS__, { .kind = LOG_F_END } })

enum log_level { LOG_INFO, LOG_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

/* `verbose` false keeps only errors. `dir` NULL or "" logs to stderr,
 * otherwise to DIR/immortal.log. */
enum im_rc log_open(bool verbose, enum log_format format, const char *dir);
/* Reopens the log file (after rotation); a no-op on stderr. */
enum im_rc log_reopen(void);
void log_close(void);
bool log_verbose(void);

/* Writes one line; `fields` ends with a LOG_F_END field. */
void log_fields(enum log_level level, const struct log_field *fields);

/* Like log_fields, but the line is kept back and written with this
 * thread's next line, in the same write(2): a request's last attempt line
 * and its outcome line cost one system call. The caller must log another
 * line soon (the outcome always follows); the order of lines is kept. */
void log_hold_fields(enum log_level level, const struct log_field *fields);
#define log_info_held(...) \
	log_hold_fields(LOG_INFO, (const struct log_field[]){ __VA_ARGS__, { .kind = LOG_F_END } })

/* Formats one line (with its newline) into `out` and returns its length;
 * the line always fits, values are cut short when they would not. `out`
 * must hold at least 256 bytes. For the unit tests and log_fields. */
size_t log_render(char *out, size_t cap, enum log_format format, enum log_level level,
		  const char *time, int pid, const struct log_field *fields);

#endif
