/* settings.h: the process-wide settings, read from the environment once.
 *
 * Everything a deployment tunes without editing group files lives here, so
 * the README's table of environment variables is this struct. */
#ifndef IMMORTAL_SETTINGS_H
#define IMMORTAL_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct settings {
	char *config_dir;        /* IMMORTAL_CONFIG_DIR */
	bool config_dir_given;   /* set in the environment, not a default */
	bool verbose;            /* LOG_LEVEL=true|false */
	char *log_dir;           /* IMMORTAL_LOG_DIR, NULL for stderr */
	bool log_json;           /* LOG_FORMAT=json (else text) */
	unsigned threads;        /* IMMORTAL_THREADS: spare workers kept ready */
	unsigned max_threads;    /* IMMORTAL_MAX_THREADS: the pool's ceiling */
	size_t max_body;         /* IMMORTAL_MAX_BODY, bytes */
	unsigned keepalive_s;    /* IMMORTAL_KEEPALIVE: seconds before a slow
				    first token makes headers go out */
	char *access_keys_file;  /* IMMORTAL_ACCESS_KEYS_FILE, NULL: open service */
	bool protect_metrics;    /* IMMORTAL_PROTECT_METRICS: keys for health/metrics too */
	unsigned drain_s;        /* IMMORTAL_DRAIN_SECONDS: SIGTERM's grace period */
	char *state_dir;         /* IMMORTAL_STATE_DIR: where the shared state file
				    goes; NULL: /dev/shm, else $TMPDIR or /tmp */
};

/* Every environment variable settings_load reads, with its default and
 * meaning, for --help (the README's table says the same at more length). */
struct settings_var {
	const char *name;
	const char *dflt;
	const char *meaning;
};
extern const struct settings_var settings_vars[];
extern const size_t settings_n_vars;

/* A function with getenv's contract, so tests can feed their own table. */
typedef const char *(*settings_getenv_fn)(const char *name);

/* Fills `s` from the environment. On error returns IM_EINVAL and writes a
 * message naming the variable into err. Free with settings_free. */
enum im_rc settings_load(struct settings *s, settings_getenv_fn get,
			 char *err, size_t errlen);
void settings_free(struct settings *s);

#endif
