/* options.h: the command line: what immortal was asked to do, and --help.
 *
 * Serving is the default; the operator's tools (-t, --check) and the two
 * informational options replace it. Configuration itself comes from the
 * environment (settings.h), never from arguments. */
#ifndef IMMORTAL_OPTIONS_H
#define IMMORTAL_OPTIONS_H

#include <stdio.h>

enum options_mode {
	OPTIONS_SERVE = 0,
	OPTIONS_TEST,            /* -t [DIR]: test the config, no network */
	OPTIONS_CHECK,           /* --check [GROUP...]: one request per endpoint */
	OPTIONS_HELP,
	OPTIONS_VERSION,
};

struct options {
	enum options_mode mode;
	const char *listen_spec;  /* --listen, NULL: fd 0 or CGI */
	const char *test_dir;     /* -t DIR, NULL: the configured folder */
	char **groups;            /* --check's groups, borrowed from argv */
	int n_groups;             /* 0: every group */
};

/* Parses argv (borrowed: *o points into it). Returns 0, or -1 after
 * printing why to stderr. Under CGI (GATEWAY_INTERFACE set) argv comes
 * from the client and is ignored: the mode is always OPTIONS_SERVE. */
int options_parse(int argc, char **argv, struct options *o);

/* The usage text, every option and environment variable with its default. */
void options_usage(FILE *out);

#endif
