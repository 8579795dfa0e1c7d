/* log.c: whole-line logging to stderr or an O_APPEND file (see log.h). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define LOG_LINE_MAX 4096

/* How often the log file is checked for rotation. */
#define LOG_ROTATE_CHECK_MS 1000

static struct {
	pthread_mutex_t lock;  /* guards fd and path against a concurrent reopen */
	int fd;
	bool verbose;
	int64_t next_check_ms; /* atomic */
	int pid;               /* cached: immortal never forks after start */
	char path[4096];
} log_state = { PTHREAD_MUTEX_INITIALIZER, 2, true, 0, 0, "" };

static int log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

enum im_rc log_open(bool verbose, const char *dir)
{
	log_state.verbose = verbose;
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

__attribute__((format(printf, 2, 0)))
static void log_write(const char *level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timeval tv;
	struct tm tm;
	size_t len;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	len = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	len += (size_t)snprintf(line + len, sizeof line - len, ".%03ldZ %s pid=%d ",
				(long)(tv.tv_usec / 1000), level,
				log_state.pid ? log_state.pid : (int)getpid());
	int n = vsnprintf(line + len, sizeof line - len - 1, fmt, ap);
	if (n < 0)
		n = 0;
	len += (size_t)n;
	if (len > sizeof line - 2)
		len = sizeof line - 2;  /* truncated: keep it one line */
	line[len++] = '\n';
	log_follow_rotation();
	ssize_t w = write(log_state.fd, line, len);
	(void)w;
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	if (!log_state.verbose)
		return;
	va_start(ap, fmt);
	log_write("info", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_write("error", fmt, ap);
	va_end(ap);
}
