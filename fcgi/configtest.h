/* configtest.h: immortal -t, the config tested as nginx -t tests its own.
 *
 * Loads the group files and the access keys file with the very functions
 * the server uses (catalog.h, access.h), prints one line per problem and a
 * summary, and touches no network. */
#ifndef IMMORTAL_CONFIGTEST_H
#define IMMORTAL_CONFIGTEST_H

#include <stdio.h>

#include "settings.h"

/* Tests the group files of `dir` (NULL: s->config_dir) and s's access keys
 * file, reporting to `out`. Returns the exit status: 0 when the server
 * would load everything, 1 otherwise. */
int configtest_run(const struct settings *s, const char *dir, FILE *out);

#endif
