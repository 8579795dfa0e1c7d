/* hoststate.c: the host-wide shared state file (see hoststate.h). */
#include "hoststate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

#define HOSTSTATE_MAGIC 0x494d4d31u   /* "IMM1" */
#define HOSTSTATE_VERSION 1u
#define HOSTSTATE_READY_WAIT_MS 2000

struct hoststate_file {
	uint32_t magic;              /* written last, once initialised */
	uint32_t version;
	uint32_t size;
	pthread_mutex_t lock;
	int64_t streams;
	int64_t requests;
	struct hoststate_group groups[HOSTSTATE_GROUPS];
	struct hoststate_endpoint endpoints[HOSTSTATE_ENDPOINTS];
};

struct hoststate {
	struct hoststate_file *file;
	bool mapped;
	char path[PATH_MAX];
};

const double hoststate_bounds[HOSTSTATE_BUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 1e300,
};

static uint64_t hoststate_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void hoststate_init_file(struct hoststate_file *f)
{
	pthread_mutexattr_t a;

	memset(f, 0, sizeof *f);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	/* A process that dies holding the lock must not freeze the others. */
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&f->lock, &a);
	pthread_mutexattr_destroy(&a);
	f->version = HOSTSTATE_VERSION;
	f->size = (uint32_t)sizeof *f;
	__atomic_store_n(&f->magic, HOSTSTATE_MAGIC, __ATOMIC_RELEASE);
}

static bool hoststate_valid(struct hoststate_file *f)
{
	return __atomic_load_n(&f->magic, __ATOMIC_ACQUIRE) == HOSTSTATE_MAGIC &&
	       f->version == HOSTSTATE_VERSION && f->size == sizeof *f;
}

/* Maps an existing file, waiting briefly for its creator to initialise it. */
static struct hoststate_file *hoststate_map(int fd)
{
	struct stat st;
	void *p;

	for (int waited = 0; waited < HOSTSTATE_READY_WAIT_MS; waited += 10) {
		if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(struct hoststate_file))
			break;
		usleep(10000);
	}
	if (st.st_size < (off_t)sizeof(struct hoststate_file))
		return NULL;
	p = mmap(NULL, sizeof(struct hoststate_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	for (int waited = 0; waited < HOSTSTATE_READY_WAIT_MS; waited += 10) {
		if (hoststate_valid(p))
			return p;
		usleep(10000);
	}
	munmap(p, sizeof(struct hoststate_file));
	return NULL;
}

static struct hoststate_file *hoststate_create(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct hoststate_file *f = NULL;

	if (fd >= 0) {
		if (ftruncate(fd, sizeof *f) == 0) {
			void *p = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p != MAP_FAILED) {
				f = p;
				hoststate_init_file(f);
			}
		}
		close(fd);
		return f;
	}
	if (errno != EEXIST)
		return NULL;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = hoststate_map(fd);
	close(fd);
	if (f == NULL) {
		/* A file from another version, or a creator that died: start over. */
		if (unlink(path) == 0)
			return hoststate_create(path);
	}
	return f;
}

static void hoststate_name(const char *config_dir, const char *dir, char *out, size_t len)
{
	char real[PATH_MAX];
	const char *base = realpath(config_dir, real) ? real : config_dir;
	snprintf(out, len, "%s/immortal-%u-%016llx.state", dir, (unsigned)getuid(),
		 (unsigned long long)hoststate_hash(base));
}

enum im_rc hoststate_open(const char *config_dir, const char *state_dir, struct hoststate **out)
{
	struct hoststate *hs = xcalloc(1, sizeof *hs);
	const char *tmp = getenv("TMPDIR");
	const char *dirs[] = { "/dev/shm", tmp && tmp[0] ? tmp : "/tmp", "/tmp" };
	size_t n_dirs = sizeof dirs / sizeof dirs[0];

	*out = hs;
	if (state_dir != NULL) {
		dirs[0] = state_dir;
		n_dirs = 1;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		hoststate_name(config_dir, dirs[i], hs->path, sizeof hs->path);
		hs->file = hoststate_create(hs->path);
		if (hs->file) {
			hs->mapped = true;
			return IM_OK;
		}
	}
	hs->path[0] = '\0';
	hs->file = xcalloc(1, sizeof *hs->file);
	hoststate_init_file(hs->file);
	return IM_EIO;
}

void hoststate_close(struct hoststate *hs)
{
	if (hs == NULL)
		return;
	if (hs->mapped)
		munmap(hs->file, sizeof *hs->file);
	else
		free(hs->file);
	free(hs);
}

const char *hoststate_path(const struct hoststate *hs)
{
	return hs->path;
}

void hoststate_lock(struct hoststate *hs)
{
	if (pthread_mutex_lock(&hs->file->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&hs->file->lock);
}

void hoststate_unlock(struct hoststate *hs)
{
	pthread_mutex_unlock(&hs->file->lock);
}

struct hoststate_endpoint *hoststate_endpoint(struct hoststate *hs, uint64_t key, bool create)
{
	struct hoststate_endpoint *eps = hs->file->endpoints;

	if (key == 0)
		key = 1;  /* 0 marks a free slot */
	size_t start = (size_t)(key % HOSTSTATE_ENDPOINTS);
	/* open addressing: slots are never freed, so probing stops at a hole */
	for (size_t i = 0; i < HOSTSTATE_ENDPOINTS; i++) {
		struct hoststate_endpoint *e = &eps[(start + i) % HOSTSTATE_ENDPOINTS];
		if (e->key == key)
			return e;
		if (e->key == 0) {
			if (!create)
				return NULL;
			e->key = key;
			return e;
		}
	}
	return NULL;
}

struct hoststate_group *hoststate_group(struct hoststate *hs, const char *name, bool create)
{
	struct hoststate_group *gs = hs->file->groups;
	size_t start = (size_t)(hoststate_hash(name) % HOSTSTATE_GROUPS);

	for (size_t i = 0; i < HOSTSTATE_GROUPS; i++) {
		struct hoststate_group *g = &gs[(start + i) % HOSTSTATE_GROUPS];
		if (strncmp(g->name, name, sizeof g->name) == 0)
			return g;
		if (g->name[0] == '\0') {
			if (!create)
				return NULL;
			snprintf(g->name, sizeof g->name, "%s", name);
			return g;
		}
	}
	return NULL;
}

int64_t *hoststate_streams(struct hoststate *hs)
{
	return &hs->file->streams;
}

int64_t *hoststate_requests(struct hoststate *hs)
{
	return &hs->file->requests;
}

void hoststate_observe(struct hoststate_histogram *h, double seconds)
{
	size_t i = 0;
	while (i < HOSTSTATE_BUCKETS - 1 && seconds > hoststate_bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum_s += seconds;
}
