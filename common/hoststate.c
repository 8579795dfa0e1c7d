/* hoststate.c: the host-wide shared state file (see hoststate.h). */
#include "hoststate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"

#define HOSTSTATE_MAGIC 0x494d4d31u   /* "IMM1" */
#define HOSTSTATE_VERSION 3u
#define HOSTSTATE_READY_WAIT_MS 2000
/* After one wait ran out, waits are this short until the lock is had
 * again: a lock held for ever costs one request a second, not each one. */
#define HOSTSTATE_BUSY_LOCK_MS 20

/* Every slot starts with its key (0: free) and when it was last used. */
struct hoststate_head {
	uint64_t key;
	int64_t touched_ms;            /* CLOCK_MONOTONIC */
};

struct hoststate_health_slot {
	struct hoststate_head h;
	struct hoststate_health rec;
};

struct hoststate_counters_slot {
	struct hoststate_head h;
	struct hoststate_counters rec;
};

struct hoststate_group_slot {
	struct hoststate_head h;
	struct hoststate_group rec;
};

/* What one process has in flight. */
struct hoststate_proc {
	int32_t pid;                   /* 0: free */
	uint64_t started;              /* its start time, against pid reuse */
	int64_t flights[HOSTSTATE_FLIGHTS];
};

/* hoststate_apply hands out the record just after the head. */
_Static_assert(offsetof(struct hoststate_health_slot, rec) == sizeof(struct hoststate_head), "layout");
_Static_assert(offsetof(struct hoststate_counters_slot, rec) == sizeof(struct hoststate_head), "layout");
_Static_assert(offsetof(struct hoststate_group_slot, rec) == sizeof(struct hoststate_head), "layout");

struct hoststate_file {
	uint32_t magic;              /* written last, once initialised */
	uint32_t version;
	uint32_t size;
	pthread_mutex_t lock;
	uint64_t table_full;         /* records that could not be had */
	uint32_t used[HOSTSTATE_TABLES];
	struct hoststate_proc procs[HOSTSTATE_PROCS];
	struct hoststate_health_slot health[HOSTSTATE_HEALTH_SLOTS];
	struct hoststate_counters_slot counters[HOSTSTATE_COUNTERS_SLOTS];
	struct hoststate_group_slot groups[HOSTSTATE_GROUPS_SLOTS];
};

struct hoststate {
	struct hoststate_file *file;
	bool mapped;
	int busy;                    /* atomic: the last wait ran out */
	int told[2];                 /* atomic: busy, full already reported */
	char path[PATH_MAX];
};

/* One table of the file, seen generically: open addressing with linear
 * probing; deletion shifts the records after it back, so lookups can stop
 * at the first free slot and no tombstones are needed. */
struct hoststate_view {
	char *base;
	size_t stride;
	uint32_t n;
	uint32_t *used;
};

const double hoststate_bounds[HOSTSTATE_BUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 1e300,
};

uint64_t hoststate_hash(uint64_t h, const char *s)
{
	if (h == 0)
		h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* getpid() is a system call each time; immortal never forks after start. */
static int32_t hoststate_pid(void)
{
	static int32_t pid;
	if (pid == 0)
		pid = (int32_t)getpid();
	return pid;
}

/* ---- the file --------------------------------------------------------------- */

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

/* Maps a trusted existing file, waiting briefly for its creator to size
 * and initialise it. */
static struct hoststate_file *hoststate_map(int fd)
{
	struct stat st = { 0 };
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

/* Whether the open file is one this user made and nobody else can write:
 * anyone able to write it could hold its lock or forge its records. */
static bool hoststate_trusted(int fd, char *why, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(why, len, "cannot be examined: %s", strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "is not a regular file");
		return false;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, len, "belongs to uid %u, not to this user (uid %u)",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return false;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, len, "is writable by other users (mode %04o)", (unsigned)(st.st_mode & 07777));
		return false;
	}
	return true;
}

static struct hoststate_file *hoststate_create_new(int fd)
{
	struct hoststate_file *f = NULL;

	if (ftruncate(fd, sizeof *f) == 0) {
		void *p = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			f = p;
			hoststate_init_file(f);
		}
	}
	return f;
}

/* Creates or joins the file at `path`. Returns IM_OK with *out mapped;
 * IM_EIO when it cannot be had here (try elsewhere); IM_EINVAL when the
 * file there is not to be trusted. `why` says which. */
static enum im_rc hoststate_attach(const char *path, struct hoststate_file **out,
				   char *why, size_t len, int tries)
{
	const int flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	int fd = open(path, flags | O_CREAT | O_EXCL, 0600);

	if (fd >= 0) {
		*out = hoststate_create_new(fd);
		close(fd);
		if (*out == NULL)
			snprintf(why, len, "cannot be sized or mapped: %s", strerror(errno));
		return *out ? IM_OK : IM_EIO;
	}
	if (errno != EEXIST) {
		snprintf(why, len, "cannot be created: %s", strerror(errno));
		return IM_EIO;
	}
	fd = open(path, flags);
	if (fd < 0) {
		snprintf(why, len, "%s", errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return IM_EINVAL;
	}
	if (!hoststate_trusted(fd, why, len)) {
		close(fd);
		return IM_EINVAL;
	}
	*out = hoststate_map(fd);
	close(fd);
	if (*out != NULL)
		return IM_OK;
	/* Ours, but from another version or of a creator that died: start over. */
	if (tries > 0 && unlink(path) == 0)
		return hoststate_attach(path, out, why, len, tries - 1);
	snprintf(why, len, "is not a usable state file and cannot be replaced");
	return IM_EINVAL;
}

static void hoststate_name(const char *config_dir, const char *dir, char *out, size_t len)
{
	char real[PATH_MAX];
	const char *base = realpath(config_dir, real) ? real : config_dir;
	snprintf(out, len, "%s/immortal-%u-%016llx.state", dir, (unsigned)getuid(),
		 (unsigned long long)hoststate_hash(0, base));
}

enum im_rc hoststate_open(const char *config_dir, const char *state_dir, struct hoststate **out,
			  char *why, size_t whylen)
{
	struct hoststate *hs = xcalloc(1, sizeof *hs);
	const char *tmp = getenv("TMPDIR");
	const char *dirs[] = { "/dev/shm", tmp && tmp[0] ? tmp : "/tmp", "/tmp" };
	size_t n_dirs = sizeof dirs / sizeof dirs[0];
	char reason[256] = "";
	enum im_rc rc = IM_EIO;

	*out = hs;
	if (state_dir != NULL) {
		dirs[0] = state_dir;
		n_dirs = 1;
	}
	/* An untrusted file ends the search: its owner could plant one in
	 * every folder, and the processes must agree on one file anyway. */
	for (size_t i = 0; i < n_dirs && rc == IM_EIO; i++) {
		hoststate_name(config_dir, dirs[i], hs->path, sizeof hs->path);
		rc = hoststate_attach(hs->path, &hs->file, reason, sizeof reason, 1);
	}
	if (rc == IM_OK) {
		hs->mapped = true;
		return IM_OK;
	}
	if (why != NULL)
		snprintf(why, whylen, "%s %s", hs->path, reason);
	hs->path[0] = '\0';
	hs->file = xcalloc(1, sizeof *hs->file);
	hoststate_init_file(hs->file);
	return rc;
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

/* ---- the lock ------------------------------------------------------------------ */

static enum im_rc hoststate_lock(struct hoststate *hs)
{
	long ms = __atomic_load_n(&hs->busy, __ATOMIC_RELAXED) ? HOSTSTATE_BUSY_LOCK_MS : HOSTSTATE_LOCK_MS;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	int rc = pthread_mutex_timedlock(&hs->file->lock, &ts);
	if (rc == EOWNERDEAD) {
		/* its holder died mid-update: a counter may be off by one, no more */
		pthread_mutex_consistent(&hs->file->lock);
		rc = 0;
	}
	__atomic_store_n(&hs->busy, rc != 0, __ATOMIC_RELAXED);
	return rc == 0 ? IM_OK : IM_EBUSY;
}

static void hoststate_unlock(struct hoststate *hs)
{
	pthread_mutex_unlock(&hs->file->lock);
}

const char *hoststate_trouble(struct hoststate *hs, enum im_rc rc)
{
	if (rc == IM_EBUSY && !__atomic_exchange_n(&hs->told[0], 1, __ATOMIC_RELAXED))
		return "the shared state's lock could not be had within a second (another process holds it): "
		       "requests go on without shared endpoint health and metrics while that lasts "
		       "(said once per process)";
	if (rc == IM_ETOOBIG && !__atomic_exchange_n(&hs->told[1], 1, __ATOMIC_RELAXED))
		return "the shared state's tables are full: endpoints without a record are treated as "
		       "healthy and not counted (immortal_state_table_full_total counts them; said once per process)";
	return NULL;
}

/* ---- the tables ---------------------------------------------------------------- */

static struct hoststate_view hoststate_view(struct hoststate_file *f, enum hoststate_table t)
{
	switch (t) {
	case HOSTSTATE_HEALTH:
		return (struct hoststate_view){ (char *)f->health, sizeof f->health[0],
						HOSTSTATE_HEALTH_SLOTS, &f->used[t] };
	case HOSTSTATE_COUNTERS:
		return (struct hoststate_view){ (char *)f->counters, sizeof f->counters[0],
						HOSTSTATE_COUNTERS_SLOTS, &f->used[t] };
	default:
		return (struct hoststate_view){ (char *)f->groups, sizeof f->groups[0],
						HOSTSTATE_GROUPS_SLOTS, &f->used[HOSTSTATE_GROUPS] };
	}
}

static struct hoststate_head *hoststate_slot(const struct hoststate_view *v, uint32_t i)
{
	return (struct hoststate_head *)(v->base + (size_t)i * v->stride);
}

static uint32_t hoststate_home(const struct hoststate_view *v, uint64_t key)
{
	return (uint32_t)(key % v->n);
}

/* Records beyond three quarters of the slots make probe runs long. */
static uint32_t hoststate_limit(const struct hoststate_view *v)
{
	return v->n - v->n / 4;
}

/* Empties slot i, moving back each record of the run after it that would
 * otherwise no longer be found from its home slot. */
static void hoststate_delete(struct hoststate_view *v, uint32_t i)
{
	for (uint32_t j = i;;) {
		j = (j + 1) % v->n;
		struct hoststate_head *h = hoststate_slot(v, j);
		if (h->key == 0)
			break;
		uint32_t k = hoststate_home(v, h->key);
		bool reachable = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (reachable)
			continue;
		memcpy(hoststate_slot(v, i), h, v->stride);
		i = j;
	}
	memset(hoststate_slot(v, i), 0, v->stride);
	(*v->used)--;
}

static bool hoststate_stale(const struct hoststate_head *h, int64_t now)
{
	/* a stamp from the future is from before a reboot */
	return now - h->touched_ms > HOSTSTATE_STALE_MS || h->touched_ms - now > HOSTSTATE_KEEP_MS;
}

/* Frees the records no live process has mentioned for a while. A record
 * moved into slot i by a deletion is examined again. */
static void hoststate_sweep(struct hoststate_view *v, int64_t now)
{
	for (uint32_t i = 0; i < v->n; i++)
		while (hoststate_slot(v, i)->key != 0 && hoststate_stale(hoststate_slot(v, i), now))
			hoststate_delete(v, i);
}

/* With the lock held: the slot of `key`, created when `create`. NULL with
 * IM_OK when absent, with IM_ETOOBIG when there is no room. */
static struct hoststate_head *hoststate_find(struct hoststate_file *f, enum hoststate_table t,
					     uint64_t key, bool create, int64_t now, enum im_rc *rc)
{
	struct hoststate_view v = hoststate_view(f, t);
	struct hoststate_head *h;
	uint32_t i;

	*rc = IM_OK;
	if (key == 0)
		key = 1;  /* 0 marks a free slot */
	/* used < limit < n: there is always a free slot to end a probe run */
	for (i = hoststate_home(&v, key);; i = (i + 1) % v.n) {
		h = hoststate_slot(&v, i);
		if (h->key == key) {
			h->touched_ms = now;
			return h;
		}
		if (h->key == 0)
			break;
	}
	if (!create)
		return NULL;
	if (*v.used >= hoststate_limit(&v)) {
		hoststate_sweep(&v, now);
		if (*v.used >= hoststate_limit(&v)) {
			f->table_full++;
			*rc = IM_ETOOBIG;
			return NULL;
		}
		/* the sweep moved records: find the free slot again */
		for (i = hoststate_home(&v, key); hoststate_slot(&v, i)->key != 0; i = (i + 1) % v.n)
			;
		h = hoststate_slot(&v, i);
	}
	memset(h, 0, v.stride);
	h->key = key;
	h->touched_ms = now;
	(*v.used)++;
	return h;
}

enum im_rc hoststate_apply(struct hoststate *hs, enum hoststate_table table, uint64_t key,
			   bool create, hoststate_fn fn, void *arg)
{
	enum im_rc rc = hoststate_lock(hs);

	if (rc != IM_OK)
		return rc;
	struct hoststate_head *h = hoststate_find(hs->file, table, key, create, clock_ms(), &rc);
	if (rc == IM_OK)
		fn(h ? h + 1 : NULL, arg);
	hoststate_unlock(hs);
	return rc;
}

enum im_rc hoststate_apply_each(struct hoststate *hs, enum hoststate_table table,
				const uint64_t *keys, size_t n_keys, bool create,
				hoststate_fn fn, void *arg)
{
	enum im_rc rc = hoststate_lock(hs), one;
	int64_t now = clock_ms();

	if (rc != IM_OK)
		return rc;
	for (size_t i = 0; i < n_keys; i++) {
		struct hoststate_head *h = hoststate_find(hs->file, table, keys[i], create, now, &one);
		fn(h ? h + 1 : NULL, arg);
		if (one != IM_OK)
			rc = one;
	}
	hoststate_unlock(hs);
	return rc;
}

enum im_rc hoststate_keep(struct hoststate *hs, enum hoststate_table table,
			  const uint64_t *keys, size_t n_keys)
{
	enum im_rc rc = hoststate_lock(hs), one;
	int64_t now = clock_ms();

	if (rc != IM_OK)
		return rc;
	for (size_t i = 0; i < n_keys; i++) {
		(void)hoststate_find(hs->file, table, keys[i], true, now, &one);
		if (one != IM_OK)
			rc = one;
	}
	hoststate_unlock(hs);
	return rc;
}

/* ---- in flight, per process ------------------------------------------------ */

/* When process `pid` started (clock ticks since boot; 0 when unknown):
 * with the pid, it tells a process from a later one given the same pid. */
static uint64_t hoststate_started(int32_t pid)
{
	char path[64], text[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	/* the command may hold spaces and parentheses: count from the last ')' */
	const char *p = strrchr(text, ')');
	for (int field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static uint64_t hoststate_self_started(void)
{
	static uint64_t started;
	static bool known;
	if (!known) {
		started = hoststate_started(hoststate_pid());
		known = true;
	}
	return started;
}

static bool hoststate_self(const struct hoststate_proc *p)
{
	return p->pid == hoststate_pid() && p->started == hoststate_self_started();
}

/* A slot's process is gone when its pid is free, or taken by another
 * user's process (EPERM: only one user's processes share the file), or by
 * a later process (another start time). */
static bool hoststate_alive(const struct hoststate_proc *p)
{
	return hoststate_self(p) ||
	       (p->pid > 0 && p->pid != hoststate_pid() && kill(p->pid, 0) == 0 &&
		hoststate_started(p->pid) == p->started);
}

static struct hoststate_proc *hoststate_proc(struct hoststate_file *f, bool create)
{
	struct hoststate_proc *spare = NULL;

	for (size_t i = 0; i < HOSTSTATE_PROCS; i++) {
		struct hoststate_proc *p = &f->procs[i];
		if (hoststate_self(p))
			return p;
		if (spare == NULL && p->pid == 0)
			spare = p;
	}
	/* no free slot: take one of a process that is gone */
	for (size_t i = 0; create && spare == NULL && i < HOSTSTATE_PROCS; i++)
		if (!hoststate_alive(&f->procs[i]))
			spare = &f->procs[i];
	if (create && spare != NULL)
		*spare = (struct hoststate_proc){ .pid = hoststate_pid(), .started = hoststate_self_started() };
	return create ? spare : NULL;
}

enum im_rc hoststate_flight_add(struct hoststate *hs, enum hoststate_flight which, int delta)
{
	enum im_rc rc = hoststate_lock(hs);

	if (rc != IM_OK)
		return rc;
	/* an end whose start went uncounted is not counted either */
	struct hoststate_proc *p = hoststate_proc(hs->file, delta > 0);
	if (p == NULL && delta > 0) {
		hs->file->table_full++;
		rc = IM_ETOOBIG;
	} else if (p != NULL) {
		p->flights[which] += delta;
		if (p->flights[which] < 0)
			p->flights[which] = 0;
		bool idle = true;
		for (int i = 0; i < HOSTSTATE_FLIGHTS; i++)
			idle &= p->flights[i] == 0;
		if (idle)
			*p = (struct hoststate_proc){ 0 };
	}
	hoststate_unlock(hs);
	return rc;
}

enum im_rc hoststate_totals(struct hoststate *hs, int64_t flights[HOSTSTATE_FLIGHTS],
			    uint64_t *table_full)
{
	enum im_rc rc = hoststate_lock(hs);

	for (int i = 0; i < HOSTSTATE_FLIGHTS; i++)
		flights[i] = 0;
	*table_full = 0;
	if (rc != IM_OK)
		return rc;
	for (size_t i = 0; i < HOSTSTATE_PROCS; i++) {
		struct hoststate_proc *p = &hs->file->procs[i];
		if (p->pid == 0)
			continue;
		if (!hoststate_alive(p)) {
			*p = (struct hoststate_proc){ 0 };  /* died with requests open */
			continue;
		}
		for (int k = 0; k < HOSTSTATE_FLIGHTS; k++)
			flights[k] += p->flights[k];
	}
	*table_full = hs->file->table_full;
	hoststate_unlock(hs);
	return IM_OK;
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
