/* lastgood.c: last good group files kept on disk for plain CGI (see lastgood.h). */
#include "lastgood.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"

#define LASTGOOD_STATE_EXT ".state"

/* The folder: the state file's path with ".lastgood" for ".state". */
static bool lastgood_path(const char *state_path, char *out, size_t len)
{
	size_t n = strlen(state_path), ext = strlen(LASTGOOD_STATE_EXT);

	if (n <= ext || strcmp(state_path + n - ext, LASTGOOD_STATE_EXT) != 0)
		return false;
	return snprintf(out, len, "%.*s.lastgood", (int)(n - ext), state_path) < (int)len;
}

/* Opens (creating it) the folder; -1 with err set unless it is a folder of
 * ours that nobody else may enter. A name another user took first in a
 * shared /dev/shm or /tmp is refused, never followed. */
static int lastgood_open_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s cannot be created: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s cannot be opened as a folder: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s is not a folder of ours closed to others: not used", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads a copy: a regular file of ours, never through a link. */
static enum im_rc lastgood_read(int dfd, const char *name, struct buf *text)
{
	struct stat st;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	enum im_rc rc = IM_EIO;

	if (fd < 0)
		return IM_EIO;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		rc = buf_read_fd(text, fd);
	close(fd);
	return rc;
}

/* Replaces the copy `name` at once (a reader sees the old or the new). */
static void lastgood_write(int dfd, const char *name, const struct buf *text)
{
	char tmp[64];
	int fd;
	bool ok;

	snprintf(tmp, sizeof tmp, ".tmp-%ld", (long)getpid());
	(void)unlinkat(dfd, tmp, 0);  /* left by a process of ours that died */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = write(fd, text->data ? text->data : "", text->len) == (ssize_t)text->len;
	ok = close(fd) == 0 && ok;
	if (!ok || renameat(dfd, tmp, dfd, name) != 0)
		(void)unlinkat(dfd, tmp, 0);
}

/* Keeps the text of group file `file` of `dir` when it differs from the
 * copy and parses: only a text that loads ever becomes the last good one,
 * whatever happens to the file meanwhile. */
static void lastgood_keep(int dfd, const char *dir, const char *file, group_getenv_fn get)
{
	char *path = xasprintf("%s/%s", dir, file);
	char *name = xstrndup(file, strlen(file) - 5);
	struct buf text, kept;
	char err[1024];
	struct group *g = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf_init(&text, GROUP_FILE_MAX);
	buf_init(&kept, GROUP_FILE_MAX);
	if (fd < 0 || buf_read_fd(&text, fd) != IM_OK)
		goto out;
	if (lastgood_read(dfd, file, &kept) == IM_OK && kept.len == text.len &&
	    memcmp(buf_str(&kept), buf_str(&text), text.len) == 0)
		goto out;
	if (group_parse(name, path, buf_str(&text), get, &g, err, sizeof err, NULL, 0) == IM_OK)
		lastgood_write(dfd, file, &text);
	group_free(g);
out:
	if (fd >= 0)
		close(fd);
	buf_free(&text);
	buf_free(&kept);
	free(name);
	free(path);
}

/* Keeps the files `cat` loaded; true when some group file of `dir` is
 * missing from it (broken). */
static bool lastgood_sync(int dfd, const char *dir, const struct catalog *cat,
			  group_getenv_fn get)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool broken = false;

	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		if (!catalog_is_group_file(de->d_name))
			continue;
		char *name = xstrndup(de->d_name, strlen(de->d_name) - 5);
		if (catalog_find(cat, name) == NULL)
			broken = true;
		else
			lastgood_keep(dfd, dir, de->d_name, get);
		free(name);
	}
	closedir(d);
	return broken;
}

/* Removes the copies of group files that are gone: a file of that name
 * made later must not come back as its predecessor. */
static void lastgood_prune(int dfd, const char *dir)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!catalog_is_group_file(de->d_name))
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 && errno == ENOENT)
			(void)unlinkat(dfd, de->d_name, 0);
		free(path);
	}
	closedir(d);
}

enum im_rc lastgood_catalog(const char *dir, const char *state_path, group_getenv_fn get,
			    struct catalog **out, char *err, size_t errlen)
{
	char keep[PATH_MAX];
	struct catalog *prev = NULL;
	enum im_rc rc;
	int dfd = -1;

	err[0] = '\0';
	if (!lastgood_path(state_path, keep, sizeof keep))
		snprintf(err, errlen, "no state folder: a broken group file is left out, "
			 "not served in its last good version");
	else
		dfd = lastgood_open_dir(keep, err, errlen);
	rc = catalog_load(dir, get, NULL, out);
	if (rc != IM_OK || dfd < 0)
		goto done;
	if (lastgood_sync(dfd, dir, *out, get) &&
	    catalog_load(keep, get, NULL, &prev) == IM_OK) {
		struct catalog *again = NULL;
		if (catalog_load(dir, get, prev, &again) == IM_OK) {
			catalog_unref(*out);
			*out = again;
		}
		catalog_unref(prev);
	}
	lastgood_prune(dfd, dir);
done:
	if (dfd >= 0)
		close(dfd);
	return rc;
}
