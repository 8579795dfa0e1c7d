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
#include <time.h>
#include <unistd.h>

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
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ok = log_put(o, esc, 2);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			ok = log_puts(o, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, format == LOG_JSON ? "\\u%04x" : "\\x%02x", c);
			ok = log_puts(o, esc);
		} else if (c < 0x80) {
			ok = log_put(o, (const char *)u, 1);
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
	char num[32];

	if (!log_put(o, " ", 1))
		return;
	if (f->kind == LOG_F_MSG) {
		log_string(o, f->s, false, LOG_TEXT);
		return;
	}
	if (!log_puts(o, f->key) || !log_put(o, "=", 1))
		return;
	if (f->kind == LOG_F_INT) {
		snprintf(num, sizeof num, "%lld", f->i);
		(void)log_puts(o, num);
		return;
	}
	const char *v = f->s ? f->s : "-";
	log_string(o, v, log_needs_quotes(v), LOG_TEXT);
}

static void log_field_json(struct log_out *o, const struct log_field *f)
{
	char num[96];

	if (f->kind == LOG_F_INT) {
		snprintf(num, sizeof num, ",\"%s\":%lld", f->key, f->i);
		(void)log_puts(o, num);
		return;
	}
	snprintf(num, sizeof num, ",\"%s\":%s", f->key, f->s ? "" : "null");
	if (!log_puts(o, num) || f->s == NULL)
		return;
	log_string(o, f->s, true, LOG_JSON);
}

size_t log_render(char *out, size_t cap, enum log_format format, enum log_level level,
		  const char *time, int pid, const struct log_field *fields)
{
	struct log_out o = { .p = out, .cap = cap - LOG_RESERVE };
	const char *lvl = level == LOG_ERROR ? "error" : "info";
	char head[128];

	if (format == LOG_JSON)
		snprintf(head, sizeof head, "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%d", time, lvl, pid);
	else
		snprintf(head, sizeof head, "%s %s pid=%d", time, lvl, pid);
	(void)log_puts(&o, head);
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

void log_fields(enum log_level level, const struct log_field *fields)
{
	char line[LOG_LINE_SHORT], time[40];
	struct timeval tv;
	struct tm tm;

	if (level == LOG_INFO && !log_state.verbose)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(time + n, sizeof time - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
	int pid = log_state.pid ? log_state.pid : (int)getpid();
	size_t len = log_render(line, sizeof line, log_state.format, level, time, pid, fields);
	char *big = NULL;
	if (len + LOG_RESERVE + LOG_PUT_MAX >= sizeof line && (big = malloc(LOG_LINE_MAX)) != NULL)
		len = log_render(big, LOG_LINE_MAX, log_state.format, level, time, pid, fields);
	log_follow_rotation();
	ssize_t w = write(log_state.fd, big ? big : line, len);
	(void)w;
	free(big);
}
