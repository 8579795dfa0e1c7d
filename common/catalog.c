/* catalog.c: loading the config folder into a shared snapshot (see catalog.h). */
#include "catalog.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "refs.h"

static int catalog_cmp(const void *a, const void *b)
{
	const struct group *ga = *(const struct group *const *)a;
	const struct group *gb = *(const struct group *const *)b;
	return strcmp(ga->name, gb->name);
}

static void catalog_note(struct catalog *cat, const char *msg)
{
	cat->problems = xrealloc(cat->problems, (cat->n_problems + 1) * sizeof *cat->problems);
	cat->problems[cat->n_problems++] = xstrdup(msg);
}

static void catalog_add(struct catalog *cat, struct group *g)
{
	cat->groups = xrealloc(cat->groups, (cat->n_groups + 1) * sizeof *cat->groups);
	cat->groups[cat->n_groups++] = g;
}

bool catalog_is_group_file(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static void catalog_load_file(struct catalog *cat, const char *dir, const char *file,
			      group_getenv_fn get, const struct catalog *prev)
{
	char err[1024], warn[1024];
	char *path = xasprintf("%s/%s", dir, file);
	struct group *g = NULL;

	if (group_load(path, get, &g, err, sizeof err, warn, sizeof warn) != IM_OK) {
		cat->n_failed++;
		char *name = xstrndup(file, strlen(file) - 5);
		const struct group *old = catalog_find(prev, name);
		if (old != NULL) {
			char *msg = xasprintf("%s (the last good version of group %s keeps serving)", err, name);
			catalog_note(cat, msg);
			free(msg);
			catalog_add(cat, group_ref((struct group *)old));
		} else {
			catalog_note(cat, err);
		}
		free(name);
	} else {
		catalog_add(cat, g);
	}
	if (warn[0] != '\0')
		catalog_note(cat, warn);
	free(path);
}

enum im_rc catalog_load(const char *dir, group_getenv_fn get, const struct catalog *prev,
			struct catalog **out)
{
	uint64_t stamp = catalog_stamp(dir);
	DIR *d = opendir(dir);
	struct dirent *de;
	struct catalog *cat;

	*out = NULL;
	if (d == NULL)
		return IM_EIO;
	cat = xcalloc(1, sizeof *cat);
	cat->refs = 1;
	cat->stamp = stamp;
	while ((de = readdir(d)) != NULL) {
		if (catalog_is_group_file(de->d_name))
			catalog_load_file(cat, dir, de->d_name, get, prev);
	}
	closedir(d);
	if (cat->n_groups > 1)
		qsort(cat->groups, cat->n_groups, sizeof *cat->groups, catalog_cmp);
	*out = cat;
	return IM_OK;
}

struct catalog *catalog_empty(void)
{
	struct catalog *cat = xcalloc(1, sizeof *cat);
	cat->refs = 1;
	return cat;
}

uint64_t catalog_stamp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t sum = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char path[4096];
		if (!catalog_is_group_file(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		uint64_t h = 1469598103934665603ull;
		uint64_t parts[] = { (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec,
				     (uint64_t)st.st_size, (uint64_t)st.st_ino };
		for (const char *p = de->d_name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		for (size_t i = 0; i < 4; i++)
			h = (h ^ parts[i]) * 1099511628211ull;
		/* a sum is independent of the order readdir returns */
		sum += h;
	}
	closedir(d);
	return sum ? sum : 1;
}

const struct group *catalog_find(const struct catalog *cat, const char *name)
{
	size_t lo = 0, hi = cat ? cat->n_groups : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, cat->groups[mid]->name);
		if (c == 0)
			return cat->groups[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct catalog *catalog_ref(struct catalog *cat)
{
	refs_take(&cat->refs);
	return cat;
}

void catalog_unref(struct catalog *cat)
{
	if (cat == NULL || !refs_drop(&cat->refs))
		return;
	for (size_t i = 0; i < cat->n_groups; i++)
		group_free(cat->groups[i]);
	for (size_t i = 0; i < cat->n_problems; i++)
		free(cat->problems[i]);
	free(cat->groups);
	free(cat->problems);
	free(cat);
}
