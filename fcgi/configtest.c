/* configtest.c: immortal -t (see configtest.h). */
#include "configtest.h"

#include <stdlib.h>

#include "access.h"
#include "catalog.h"

static const char *configtest_getenv(const char *name)
{
	return getenv(name);
}

/* Returns the number of files with errors, or -1 when the folder cannot
 * be read. */
static long configtest_groups(const char *dir, FILE *out)
{
	struct catalog *cat;

	if (catalog_load(dir, configtest_getenv, NULL, &cat) != IM_OK) {
		fprintf(out, "immortal: %s: cannot read the config folder\n", dir);
		return -1;
	}
	for (size_t i = 0; i < cat->n_problems; i++)
		fprintf(out, "immortal: %s\n", cat->problems[i]);
	long failed = (long)cat->n_failed;
	fprintf(out, "immortal: %s: %zu group%s ok, %ld with errors\n", dir, cat->n_groups,
		cat->n_groups == 1 ? "" : "s", failed);
	if (cat->n_groups + cat->n_failed == 0) {
		fprintf(out, "immortal: %s: no group file (NAME.json): clients would find no model\n", dir);
		failed = 1;
	}
	catalog_unref(cat);
	return failed;
}

static int configtest_keys(const char *path, FILE *out)
{
	struct access *acl;
	char err[512];

	if (path == NULL)
		return 0;
	if (access_load(path, &acl, err, sizeof err) != IM_OK) {
		fprintf(out, "immortal: %s\n", err);
		fprintf(out, "immortal: access keys %s: errors (the server would not start)\n", path);
		return 1;
	}
	access_unref(acl);
	fprintf(out, "immortal: access keys %s: ok\n", path);
	return 0;
}

int configtest_run(const struct settings *s, const char *dir, FILE *out)
{
	long failed = configtest_groups(dir ? dir : s->config_dir, out);
	int keys = configtest_keys(s->access_keys_file, out);

	return failed != 0 || keys != 0 ? 1 : 0;
}
