/* log.c: whole, escaped log lines to stderr or an O_APPEND file (see log.h). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"

/* A line's cap; longer values are cut short ("...") to keep it whole. */
#define LOG_LINE_MAX 8192
/* Kept free while values are written: room to close the line. */
#define LOG_RESERVE 16
/* Lines are first rendered into this much of the worker's stack: a thread
 * keeps every stack page it ever touched, so an 8 KiB line buffer there
 * cost each open stream two pages. Nothing is put whole that is longer
 * than LOG_PUT_MAX (values are cut to fit), so a line that ends further
 * than that from the short cap was not cut; a longer one is rendered again
 * on the heap. */
#define LOG_LINE_SHORT 1024
#define LOG_PUT_MAX 128

/* How often the log file is checked for rotation. */
#define LOG_ROTATE_CHECK_MS 1000

static struct {
	pthread_mutex_t lock;  /* guards fd and path against a concurrent reopen */
	int fd;
	bool verbose;
	enum log_format format;
	int64_t next_check_ms; /* atomic */
	int pid;               /* cached: immortal never forks after start */
	char path[4096];
} log_state = { PTHREAD_MUTEX_INITIALIZER, 2, true, LOG_TEXT, 0, 0, "" };

static int log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

enum im_rc log_open(bool verbose, enum log_format format, const char *dir)
{
	log_state.verbose = verbose;
	log_state.format = format;
	log_state.pid = (int)getpid();
	if (dir == NULL || dir[0] == '\0')
		return IM_OK;
	int n = snprintf(log_state.path, sizeof log_state.path, "%s/immortal.log", dir);
	if (n < 0 || (size_t)n >= sizeof log_state.path)
		return IM_EINVAL;
	int fd = log_open_file(log_state.path);
	if (fd < 0)
		return IM_EIO;
	log_state.fd = fd;
	return IM_OK;
}

enum im_rc log_reopen(void)
{
	enum im_rc rc = IM_OK;

	pthread_mutex_lock(&log_state.lock);
	if (log_state.path[0] != '\0') {
		int fd = log_open_file(log_state.path);
		if (fd < 0) {
			rc = IM_EIO;
		} else {
			/* dup2 swaps the descriptor atomically for concurrent writers. */
			dup2(fd, log_state.fd);
			close(fd);
		}
	}
	pthread_mutex_unlock(&log_state.lock);
	return rc;
}

void log_close(void)
{
	if (log_state.fd > 2)
		close(log_state.fd);
	log_state.fd = 2;
	log_state.path[0] = '\0';
}

bool log_verbose(void)
{
	return log_state.verbose;
}

/* logrotate renames the file and creates a new one: lines written before
 * the next check still land whole in the renamed file, later ones in the
 * new file, so no line is lost and no signal is needed. */
static void log_follow_rotation(void)
{
	int64_t now = clock_ms();
	int64_t due = __atomic_load_n(&log_state.next_check_ms, __ATOMIC_RELAXED);
	struct stat by_path, by_fd;

	if (log_state.path[0] == '\0' || now < due ||
	    !__atomic_compare_exchange_n(&log_state.next_check_ms, &due, now + LOG_ROTATE_CHECK_MS,
					 false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	if (stat(log_state.path, &by_path) != 0 || fstat(log_state.fd, &by_fd) != 0 ||
	    by_path.st_ino != by_fd.st_ino || by_path.st_dev != by_fd.st_dev)
		(void)log_reopen();
}

/* ---- formatting ------------------------------------------------------------ */

struct log_out {
	char *p;
	size_t len;
	size_t cap;   /* what values may fill: the line's cap less LOG_RESERVE */
	bool full;
};

/* All or nothing: false (and full from then on) when `n` bytes do not fit. */
static bool log_put(struct log_out *o, const char *s, size_t n)
{
	if (o->full || o->len + n > o->cap) {
		o->full = true;
		return false;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return true;
}

static bool log_puts(struct log_out *o, const char *s)
{
	return log_put(o, s, strlen(s));
}

/* Writes `v` in decimal at the end of `end` and returns where it starts:
 * a few instructions where snprintf costs hundreds, twice per field of
 * every request's lines. `end` must have 20 bytes before it. */
static char *log_itoa(char *end, long long v)
{
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	char *p = end;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	return p;
}

static bool log_put_int(struct log_out *o, long long v)
{
	char num[24], *end = num + sizeof num;
	char *p = log_itoa(end, v);

	return log_put(o, p, (size_t)(end - p));
}

/* The length of the valid UTF-8 character at `s`, or 0. */
static size_t log_utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;   /* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Printable ASCII that goes into a value as it is. */
static bool log_plain(unsigned c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Writes `s` escaped, as the inside of a quoted text value or of a JSON
 * string: no control character, quote, backslash or invalid UTF-8 byte
 * gets through as it is. Stops at a character that does not fit. */
static void log_escape(struct log_out *o, const char *s, enum log_format format)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];

	while (*u && !o->full) {
		unsigned c = *u;
		size_t n = 1;
		bool ok;
		if (log_plain(c)) {
			/* most values are plain: copied as one run, as far as it fits */
			while (log_plain(u[n]))
				n++;
			size_t room = o->cap - o->len;
			ok = log_put(o, (const char *)u, n < room ? n : room) && n <= room;
			o->full = !ok;
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ok = log_put(o, esc, 2);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			ok = log_puts(o, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, format == LOG_JSON ? "\\u%04x" : "\\x%02x", c);
			ok = log_puts(o, esc);
		} else if ((n = log_utf8_len(u)) == 0) {
			n = 1;   /* not UTF-8: the byte, by number */
			if (format == LOG_JSON)
				ok = log_puts(o, "\\ufffd");
			else {
				snprintf(esc, sizeof esc, "\\x%02x", c);
				ok = log_puts(o, esc);
			}
		} else if (n == 2 && c == 0xc2 && u[1] < 0xa0) {
			snprintf(esc, sizeof esc, "\\u%04x", u[1]);  /* C1 controls */
			ok = log_puts(o, esc);
		} else {
			ok = log_put(o, (const char *)u, n);
		}
		if (!ok)
			return;
		u += n;
	}
}

/* Plain printable ASCII without quotes, backslashes or '=' goes bare. */
static bool log_needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (const unsigned char *u = (const unsigned char *)s; *u; u++)
		if (*u <= 0x20 || *u >= 0x7f || *u == '"' || *u == '\\' || *u == '=')
			return true;
	return false;
}

/* A string value, quoted (JSON, or text that needs it); "..." marks a cut. */
static void log_string(struct log_out *o, const char *s, bool quoted, enum log_format format)
{
	/* Once a value is begun it is closed whatever fits: the quotes and
	 * the cut mark come out of LOG_RESERVE. */
	if (quoted)
		o->p[o->len++] = '"';
	log_escape(o, s, format);
	if (o->full) {
		memcpy(o->p + o->len, "...", 3);
		o->len += 3;
	}
	if (quoted)
		o->p[o->len++] = '"';
}

static void log_field_text(struct log_out *o, const struct log_field *f)
{
	if (!log_put(o, " ", 1))
		return;
	if (f->kind == LOG_F_MSG) {
		log_string(o, f->s, false, LOG_TEXT);
		return;
	}
	if (!log_puts(o, f->key) || !log_put(o, "=", 1))
		return;
	if (f->kind == LOG_F_INT) {
		(void)log_put_int(o, f->i);
		return;
	}
	const char *v = f->s ? f->s : "-";
	log_string(o, v, log_needs_quotes(v), LOG_TEXT);
}

/* `,"key":` and, for an integer or null, the value, put all or nothing so
 * that a full line never ends inside a key. */
static void log_field_json(struct log_out *o, const struct log_field *f)
{
	char head[128], num[24], *end = num + sizeof num;
	size_t klen = strlen(f->key), n = 0;
	const char *v = f->kind == LOG_F_INT ? log_itoa(end, f->i) : f->s ? "" : "null";
	size_t vlen = f->kind == LOG_F_INT ? (size_t)(end - v) : strlen(v);

	if (klen + vlen + 4 > sizeof head) {
		o->full = true;
		return;
	}
	head[n++] = ',';
	head[n++] = '"';
	memcpy(head + n, f->key, klen);
	n += klen;
	head[n++] = '"';
	head[n++] = ':';
	memcpy(head + n, v, vlen);
	n += vlen;
	if (!log_put(o, head, n) || f->kind == LOG_F_INT || f->s == NULL)
		return;
	log_string(o, f->s, true, LOG_JSON);
}

size_t log_render(char *out, size_t cap, enum log_format format, enum log_level level,
		  const char *time, int pid, const struct log_field *fields)
{
	struct log_out o = { .p = out, .cap = cap - LOG_RESERVE };
	const char *lvl = level == LOG_ERROR ? "error" : "info";
	bool json = format == LOG_JSON;

	/* cap >= 256 holds the head whole: the time and the level are short */
	(void)(log_puts(&o, json ? "{\"time\":\"" : "") && log_puts(&o, time) &&
	       log_puts(&o, json ? "\",\"level\":\"" : " ") && log_puts(&o, lvl) &&
	       log_puts(&o, json ? "\",\"pid\":" : " pid=") && log_put_int(&o, pid));
	for (const struct log_field *f = fields; f->kind != LOG_F_END && !o.full; f++) {
		if (f->kind == LOG_F_SKIP)
			continue;
		if (format == LOG_JSON)
			log_field_json(&o, f);
		else
			log_field_text(&o, f);
	}
	if (format == LOG_JSON)
		out[o.len++] = '}';
	out[o.len++] = '\n';
	return o.len;
}

/* "2026-01-01T00:00:00.000Z" for now into `out` (32 bytes). The text of
 * the second is kept per thread: gmtime_r and strftime cost more than the
 * rest of a line, and a worker writes several lines a second. */
static void log_now(char *out)
{
	static _Thread_local time_t sec = -1;
	static _Thread_local char text[24];
	static _Thread_local size_t len;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != sec) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		len = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
		sec = tv.tv_sec;
	}
	unsigned ms = (unsigned)(tv.tv_usec / 1000);
	memcpy(out, text, len);
	out[len] = '.';
	out[len + 1] = (char)('0' + ms / 100);
	out[len + 2] = (char)('0' + ms / 10 % 10);
	out[len + 3] = (char)('0' + ms % 10);
	out[len + 4] = 'Z';
	out[len + 5] = '\0';
}

/* A line log_hold_fields kept back: this thread's next line takes it along. */
static _Thread_local struct {
	char *p;   /* owned, NULL when none is held */
	size_t len;
} log_held;

/* Writes `line` after the held line, if any, in one system call. */
static void log_emit(const char *line, size_t len)
{
	log_follow_rotation();
	if (log_held.p == NULL) {
		ssize_t w = write(log_state.fd, line, len);
		(void)w;
		return;
	}
	struct iovec iov[2] = { { log_held.p, log_held.len }, { (void *)line, len } };
	ssize_t w = writev(log_state.fd, iov, 2);
	(void)w;
	free(log_held.p);
	log_held.p = NULL;
}

/* Renders the line into `line` (LOG_LINE_SHORT bytes on the caller's
 * stack: a stream's thread keeps every stack page it touched), or, when it
 * may not fit there, into a heap buffer returned in *big (the caller frees
 * it). Returns the length, 0 when the line is not logged. */
static size_t log_line(char *line, char **big, enum log_level level,
		       const struct log_field *fields)
{
	char time[32];

	*big = NULL;
	if (level == LOG_INFO && !log_state.verbose)
		return 0;
	log_now(time);
	int pid = log_state.pid ? log_state.pid : (int)getpid();
	size_t len = log_render(line, LOG_LINE_SHORT, log_state.format, level, time, pid, fields);
	if (len + LOG_RESERVE + LOG_PUT_MAX >= LOG_LINE_SHORT && (*big = malloc(LOG_LINE_MAX)) != NULL)
		len = log_render(*big, LOG_LINE_MAX, log_state.format, level, time, pid, fields);
	return len;
}

void log_fields(enum log_level level, const struct log_field *fields)
{
	char line[LOG_LINE_SHORT], *big;
	size_t len = log_line(line, &big, level, fields);

	if (len > 0)
		log_emit(big ? big : line, len);
	free(big);
}

void log_hold_fields(enum log_level level, const struct log_field *fields)
{
	char line[LOG_LINE_SHORT], *big;
	size_t len = log_line(line, &big, level, fields);

	if (len == 0)
		return;
	if (log_held.p != NULL) {
		log_emit(big ? big : line, len);   /* one held line at most: both go now */
		free(big);
		return;
	}
	if (big == NULL) {
		big = xmalloc(len);
		memcpy(big, line, len);
	}
	log_held.p = big;
	log_held.len = len;
}
