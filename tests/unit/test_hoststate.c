/* test_hoststate.c: unit tests for common/hoststate.c: trust in the file,
 * the bounded lock, records that fit and are reclaimed, streams per live
 * process. Includes the file under test to reach its slots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/hoststate.c"

#include <sys/wait.h>

static char dir[] = "/tmp/immortal-hoststate-XXXXXX";

static void count_rec(void *rec, void *arg)
{
	(void)arg;
	((struct hoststate_group *)rec)->outcomes[OUTCOME_OK]++;
}

static void read_rec(void *rec, void *arg)
{
	*(uint64_t *)arg = rec ? ((struct hoststate_group *)rec)->outcomes[OUTCOME_OK] : UINT64_MAX;
}

static uint64_t group_count(struct hoststate *hs, uint64_t key)
{
	uint64_t n = 0;
	assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, key, false, read_rec, &n), IM_OK);
	return n;
}

static struct hoststate *open_in(const char *sub, enum im_rc want, char *why, size_t len)
{
	char path[256];
	struct hoststate *hs;

	snprintf(path, sizeof path, "%s/%s", dir, sub);
	mkdir(path, 0700);
	assert_int_equal(hoststate_open(dir, path, &hs, why, len), want);
	return hs;
}

/* The name the file for config folder `dir` gets in `sub`. */
static void file_in(const char *sub, char *out, size_t len)
{
	char folder[256];
	snprintf(folder, sizeof folder, "%s/%s", dir, sub);
	mkdir(folder, 0700);
	hoststate_name(dir, folder, out, len);
}

static void test_file_is_private_and_shared(void **state)
{
	char why[512] = "";
	struct stat st;
	(void)state;
	struct hoststate *a = open_in("ok", IM_OK, why, sizeof why);
	struct hoststate *b = open_in("ok", IM_OK, why, sizeof why);

	assert_int_equal(stat(hoststate_path(a), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(hoststate_apply(a, HOSTSTATE_GROUPS, 7, true, count_rec, NULL), IM_OK);
	assert_int_equal(group_count(b, 7), 1);
	hoststate_close(a);
	hoststate_close(b);
}

static void test_untrusted_files_are_left_alone(void **state)
{
	char path[512], why[1024];
	(void)state;

	/* a symbolic link, to a file that must not be created */
	file_in("link", path, sizeof path);
	assert_int_equal(symlink("/tmp/immortal-hoststate-nowhere", path), 0);
	struct hoststate *hs = open_in("link", IM_EINVAL, why, sizeof why);
	assert_non_null(strstr(why, "symbolic link"));
	assert_string_equal(hoststate_path(hs), "");
	assert_int_equal(access("/tmp/immortal-hoststate-nowhere", F_OK), -1);
	/* the private state still works */
	assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, 7, true, count_rec, NULL), IM_OK);
	assert_int_equal(group_count(hs, 7), 1);
	hoststate_close(hs);

	/* a file others may write */
	file_in("open", path, sizeof path);
	int fd = open(path, O_CREAT | O_WRONLY, 0666);
	assert_true(fd >= 0);
	fchmod(fd, 0666);
	close(fd);
	hs = open_in("open", IM_EINVAL, why, sizeof why);
	assert_non_null(strstr(why, "writable by other users"));
	hoststate_close(hs);

	/* not a regular file */
	file_in("fifo", path, sizeof path);
	assert_int_equal(mkfifo(path, 0600), 0);
	hs = open_in("fifo", IM_EINVAL, why, sizeof why);
	assert_non_null(strstr(why, "not a regular file"));
	hoststate_close(hs);

	/* another user's file (only root can make one) */
	if (geteuid() == 0) {
		file_in("other", path, sizeof path);
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		assert_int_equal(fchown(fd, 65534, 65534), 0);
		close(fd);
		hs = open_in("other", IM_EINVAL, why, sizeof why);
		assert_non_null(strstr(why, "belongs to uid 65534"));
		hoststate_close(hs);
	}
}

struct holder {
	struct hoststate *hs;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int phase;                   /* 1: holds the lock; 2: may let go */
};

static void *hold_lock(void *arg)
{
	struct holder *h = arg;

	assert_int_equal(hoststate_lock(h->hs), IM_OK);
	pthread_mutex_lock(&h->mu);
	h->phase = 1;
	pthread_cond_broadcast(&h->cv);
	while (h->phase != 2)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	hoststate_unlock(h->hs);
	return NULL;
}

static void test_lock_wait_is_bounded(void **state)
{
	char why[512];
	struct holder h = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	pthread_t t;
	(void)state;

	h.hs = open_in("lock", IM_OK, why, sizeof why);
	pthread_create(&t, NULL, hold_lock, &h);
	pthread_mutex_lock(&h.mu);
	while (h.phase != 1)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);

	assert_int_equal(hoststate_apply(h.hs, HOSTSTATE_GROUPS, 7, true, count_rec, NULL), IM_EBUSY);
	assert_non_null(hoststate_trouble(h.hs, IM_EBUSY));
	assert_int_equal(hoststate_flight_add(h.hs, HOSTSTATE_STREAMS, 1), IM_EBUSY);
	assert_null(hoststate_trouble(h.hs, IM_EBUSY));   /* said once */

	pthread_mutex_lock(&h.mu);
	h.phase = 2;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	pthread_join(t, NULL);
	assert_int_equal(hoststate_apply(h.hs, HOSTSTATE_GROUPS, 7, true, count_rec, NULL), IM_OK);
	assert_int_equal(group_count(h.hs, 7), 1);
	hoststate_close(h.hs);
}

/* Keys that all share one home slot make the longest probe runs. */
static uint64_t colliding(uint64_t i)
{
	return 5 + i * HOSTSTATE_GROUPS_SLOTS;
}

static void test_full_table_reclaims_stale_records(void **state)
{
	char why[512];
	struct hoststate *hs = open_in("full", IM_OK, why, sizeof why);
	struct hoststate_view v = hoststate_view(hs->file, HOSTSTATE_GROUPS);
	uint32_t limit = hoststate_limit(&v);
	int64_t flights[HOSTSTATE_FLIGHTS];
	uint64_t full;
	(void)state;

	for (uint64_t i = 0; i < limit; i++)
		assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, colliding(i), true, count_rec, NULL), IM_OK);
	/* full: refused and counted, and the records there keep working */
	assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, 1, true, count_rec, NULL), IM_ETOOBIG);
	assert_non_null(hoststate_trouble(hs, IM_ETOOBIG));
	assert_null(hoststate_trouble(hs, IM_ETOOBIG));
	assert_int_equal(hoststate_totals(hs, flights, &full), IM_OK);
	assert_int_equal(full, 1);
	assert_int_equal(group_count(hs, colliding(3)), 1);

	/* every other record goes unmentioned for longer than the stale age */
	for (uint32_t i = 0; i < v.n; i++) {
		struct hoststate_head *h = hoststate_slot(&v, i);
		if (h->key != 0 && (h->key - 5) / HOSTSTATE_GROUPS_SLOTS % 2 == 1)
			h->touched_ms = clock_ms() - HOSTSTATE_STALE_MS - 1;
	}
	assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, 1, true, count_rec, NULL), IM_OK);
	assert_int_equal(*v.used, limit - limit / 2 + 1);
	/* the records kept are all still found, with their counts */
	for (uint64_t i = 0; i < limit; i += 2)
		assert_int_equal(group_count(hs, colliding(i)), 1);
	assert_int_equal(group_count(hs, colliding(1)), UINT64_MAX);
	hoststate_close(hs);
}

static void test_keep_refreshes_records(void **state)
{
	char why[512];
	struct hoststate *hs = open_in("keep", IM_OK, why, sizeof why);
	struct hoststate_view v = hoststate_view(hs->file, HOSTSTATE_HEALTH);
	uint64_t keys[] = { 11, 12, 13 };
	(void)state;

	assert_int_equal(hoststate_keep(hs, HOSTSTATE_HEALTH, keys, 3), IM_OK);
	assert_int_equal(*v.used, 3);
	for (uint32_t i = 0; i < v.n; i++)
		hoststate_slot(&v, i)->touched_ms -= HOSTSTATE_STALE_MS + 1;
	assert_int_equal(hoststate_keep(hs, HOSTSTATE_HEALTH, keys, 2), IM_OK);
	hoststate_sweep(&v, clock_ms());
	assert_int_equal(*v.used, 2);   /* 13 was mentioned by nobody */
	hoststate_close(hs);
}

/* Each key's record in order, NULL for an absent one, under one lock;
 * the lock held elsewhere is waited for once. */
static void collect_rec(void *rec, void *arg)
{
	uint64_t **next = arg;
	*(*next)++ = rec ? ((struct hoststate_group *)rec)->outcomes[OUTCOME_OK] : UINT64_MAX;
}

static void test_apply_each_reads_in_order(void **state)
{
	char why[512];
	struct hoststate *hs = open_in("each", IM_OK, why, sizeof why);
	uint64_t keys[] = { 21, 22, 23 }, got[3], *next = got;
	(void)state;

	assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, 21, true, count_rec, NULL), IM_OK);
	assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, 23, true, count_rec, NULL), IM_OK);
	assert_int_equal(hoststate_apply(hs, HOSTSTATE_GROUPS, 23, true, count_rec, NULL), IM_OK);
	assert_int_equal(hoststate_apply_each(hs, HOSTSTATE_GROUPS, keys, 3, false, collect_rec, &next), IM_OK);
	assert_int_equal(next - got, 3);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], UINT64_MAX);   /* absent, not created */
	assert_int_equal(got[2], 2);
	assert_int_equal(group_count(hs, 22), UINT64_MAX);
	hoststate_close(hs);
}

static void test_dead_process_streams_are_dropped(void **state)
{
	char why[512];
	struct hoststate *hs = open_in("streams", IM_OK, why, sizeof why);
	int64_t flights[HOSTSTATE_FLIGHTS];
	uint64_t full;
	(void)state;

	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	/* a process that died with two streams open */
	hs->file->procs[5] = (struct hoststate_proc){ .pid = child, .started = hoststate_started(child), .flights[HOSTSTATE_STREAMS] = 2 };
	/* and one whose pid a later process (our parent, say) has now */
	hs->file->procs[6] = (struct hoststate_proc){ .pid = getppid(), .started = 1, .flights[HOSTSTATE_STREAMS] = 4 };
	assert_int_equal(hoststate_flight_add(hs, HOSTSTATE_STREAMS, 1), IM_OK);
	assert_int_equal(hoststate_flight_add(hs, HOSTSTATE_STREAMS, 1), IM_OK);
	assert_int_equal(hoststate_flight_add(hs, HOSTSTATE_STREAMS, -1), IM_OK);
	assert_int_equal(hoststate_totals(hs, flights, &full), IM_OK);
	assert_int_equal(flights[HOSTSTATE_STREAMS], 1);
	assert_int_equal(hs->file->procs[5].pid, 0);
	assert_int_equal(hs->file->procs[6].pid, 0);
	/* a live process of this user counts */
	hs->file->procs[7] = (struct hoststate_proc){ .pid = getppid(), .started = hoststate_started(getppid()), .flights[HOSTSTATE_STREAMS] = 3 };
	assert_int_equal(hoststate_totals(hs, flights, &full), IM_OK);
	assert_int_equal(flights[HOSTSTATE_STREAMS], 4);
	hs->file->procs[7] = (struct hoststate_proc){ 0 };
	assert_int_equal(hoststate_flight_add(hs, HOSTSTATE_STREAMS, -1), IM_OK);
	assert_int_equal(hoststate_totals(hs, flights, &full), IM_OK);
	assert_int_equal(flights[HOSTSTATE_STREAMS], 0);
	hoststate_close(hs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_is_private_and_shared),
		cmocka_unit_test(test_untrusted_files_are_left_alone),
		cmocka_unit_test(test_lock_wait_is_bounded),
		cmocka_unit_test(test_full_table_reclaims_stale_records),
		cmocka_unit_test(test_keep_refreshes_records),
		cmocka_unit_test(test_apply_each_reads_in_order),
		cmocka_unit_test(test_dead_process_streams_are_dropped),
	};
	if (mkdtemp(dir) == NULL)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
