/* test_lastgood.c: unit tests for common/lastgood.c (CGI's last good group
 * files), in a scratch folder standing for the state folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastgood.h"

#define GOOD "[{\"baseurl\": \"https://a.example.com/v1\", \"model\": \"first\"}]"
#define GOOD2 "[{\"baseurl\": \"https://a.example.com/v1\", \"model\": \"second\"}]"

struct scratch {
	char top[64];
	char conf[128];
	char state[128];   /* the state file's path: the folder is named after it */
	char kept[128];
};

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static int setup(void **state)
{
	struct scratch *s = calloc(1, sizeof *s);

	snprintf(s->top, sizeof s->top, "/tmp/immortal-lastgood.XXXXXX");
	if (mkdtemp(s->top) == NULL)
		return -1;
	snprintf(s->conf, sizeof s->conf, "%s/groups", s->top);
	snprintf(s->state, sizeof s->state, "%s/immortal-1-abc.state", s->top);
	snprintf(s->kept, sizeof s->kept, "%s/immortal-1-abc.lastgood", s->top);
	mkdir(s->conf, 0755);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", s->top);
	if (system(cmd) != 0)
		return -1;
	free(s);
	return 0;
}

static void write_group(const struct scratch *s, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s.json", s->conf, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Loads the folder as a CGI process would; returns the model of group
 * `name`'s first endpoint, or "" when the group is not served. */
static const char *load_model(const struct scratch *s, const char *name, char *err, size_t errlen)
{
	static char model[64];
	struct catalog *cat = NULL;

	assert_int_equal(lastgood_catalog(s->conf, s->state, no_env, &cat, err, errlen), IM_OK);
	const struct group *g = catalog_find(cat, name);
	snprintf(model, sizeof model, "%s", g ? g->endpoints[0].model : "");
	catalog_unref(cat);
	return model;
}

static void test_broken_edit_serves_last_good(void **state)
{
	struct scratch *s = *state;
	char err[512];
	struct stat st;

	write_group(s, "g", GOOD);
	assert_string_equal(load_model(s, "g", err, sizeof err), "first");
	assert_string_equal(err, "");
	assert_int_equal(stat(s->kept, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	write_group(s, "g", "[{ broken");
	assert_string_equal(load_model(s, "g", err, sizeof err), "first");
	/* a good edit becomes the new last good version */
	write_group(s, "g", GOOD2);
	assert_string_equal(load_model(s, "g", err, sizeof err), "second");
	write_group(s, "g", "{}");
	assert_string_equal(load_model(s, "g", err, sizeof err), "second");
}

static void test_copy_is_private(void **state)
{
	struct scratch *s = *state;
	char err[512], path[256];
	struct stat st;

	write_group(s, "g", GOOD);
	load_model(s, "g", err, sizeof err);
	snprintf(path, sizeof path, "%s/g.json", s->kept);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* A folder others may enter (say, made first by another user of a shared
 * /tmp) is never used: the broken group is left out, and err says why. */
static void test_folder_open_to_others_is_refused(void **state)
{
	struct scratch *s = *state;
	char err[512], path[256];

	assert_int_equal(mkdir(s->kept, 0700), 0);
	assert_int_equal(chmod(s->kept, 0777), 0);
	snprintf(path, sizeof path, "%s/g.json", s->kept);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(GOOD, f);
	fclose(f);
	write_group(s, "g", "[{ broken");
	assert_string_equal(load_model(s, "g", err, sizeof err), "");
	assert_non_null(strstr(err, "not a folder of ours"));
}

static void test_link_in_place_of_folder_is_refused(void **state)
{
	struct scratch *s = *state;
	char err[512], elsewhere[128];

	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", s->top);
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	assert_int_equal(symlink(elsewhere, s->kept), 0);
	write_group(s, "g", GOOD);
	assert_string_equal(load_model(s, "g", err, sizeof err), "first");
	assert_non_null(strstr(err, "cannot be opened as a folder"));
	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere/g.json", s->top);
	assert_int_not_equal(access(elsewhere, F_OK), 0);
}

static void test_without_state_file_loads_plainly(void **state)
{
	struct scratch *s = *state;
	char err[512];
	struct catalog *cat = NULL;

	write_group(s, "g", GOOD);
	assert_int_equal(lastgood_catalog(s->conf, "", no_env, &cat, err, sizeof err), IM_OK);
	assert_non_null(catalog_find(cat, "g"));
	assert_non_null(strstr(err, "no state folder"));
	catalog_unref(cat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_broken_edit_serves_last_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_is_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_open_to_others_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_in_place_of_folder_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_state_file_loads_plainly, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
