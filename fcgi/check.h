/* check.h: immortal --check, one tiny real request to every endpoint.
 *
 * The first thing to run after pasting keys into group files: each endpoint
 * of the chosen groups gets one chat request (a one-word message,
 * max_tokens 1), each key of a key pool one of its own, through the very
 * attempt code the server uses (attempt.h),
 * so every endpoint type is checked the way it will be used. The answers are
 * thrown away; a table says what came of each. Keys are never printed (a
 * pool's are named as the logs name them, "2/…abcd"). The
 * shared health state is left alone: a check is not traffic. */
#ifndef IMMORTAL_CHECK_H
#define IMMORTAL_CHECK_H

#include <stdio.h>

#include "settings.h"

/* Checks the endpoints of `groups` (n_groups of them; 0: every group) of
 * s->config_dir, a few at a time, and prints the table to `out`. Returns
 * the exit status: 0 when every endpoint answered and every group file
 * loaded whole (no endpoint left out for an unset ${VAR}), 1 otherwise. */
int check_run(const struct settings *s, char **groups, int n_groups, FILE *out);

#endif
