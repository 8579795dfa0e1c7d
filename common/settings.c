/* settings.c: environment variables into struct settings (see settings.h). */
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc.h"

#ifndef IMMORTAL_SYSCONFDIR
#define IMMORTAL_SYSCONFDIR "/etc"
#endif

const struct settings_var settings_vars[] = {
	{ "IMMORTAL_CONFIG_DIR", "~/immortal/groups if it exists, else " IMMORTAL_SYSCONFDIR "/immortal/groups",
	  "the folder of group files" },
	{ "LOG_LEVEL", "true", "true: log every attempt and request; false: errors only" },
	{ "LOG_FORMAT", "text", "text: key=value lines; json: one JSON object per line" },
	{ "IMMORTAL_LOG_DIR", "stderr", "write the log to DIR/immortal.log" },
	{ "IMMORTAL_THREADS", "16", "worker threads kept waiting for requests, per process" },
	{ "IMMORTAL_MAX_THREADS", "4096", "the most worker threads (concurrent requests) per process" },
	{ "IMMORTAL_MAX_BODY", "16777216", "largest request body accepted, in bytes" },
	{ "IMMORTAL_KEEPALIVE", "10", "seconds without content before a stream gets its headers and keep-alive comments" },
	{ "IMMORTAL_ACCESS_KEYS_FILE", "unset (open service)", "a file of client keys" },
	{ "IMMORTAL_PROTECT_METRICS", "false", "true: health, metrics and status need a client key too" },
	{ "IMMORTAL_DRAIN_SECONDS", "30", "on SIGTERM, how long requests in flight may take to finish" },
	{ "IMMORTAL_STATE_DIR", "/dev/shm, else $TMPDIR or /tmp", "where the host-wide state file is kept" },
};
const size_t settings_n_vars = sizeof settings_vars / sizeof settings_vars[0];

static enum im_rc settings_number(settings_getenv_fn get, const char *name,
				  unsigned long long lo, unsigned long long hi,
				  unsigned long long *out, char *err, size_t errlen)
{
	const char *v = get(name);
	char *end;

	if (v == NULL || v[0] == '\0')
		return IM_OK;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || v[0] == '-' || n < lo || n > hi) {
		snprintf(err, errlen, "%s=%s: expected a whole number from %llu to %llu",
			 name, v, lo, hi);
		return IM_EINVAL;
	}
	*out = n;
	return IM_OK;
}

static enum im_rc settings_bool(settings_getenv_fn get, const char *name,
				bool *out, char *err, size_t errlen)
{
	const char *v = get(name);

	if (v == NULL || v[0] == '\0')
		return IM_OK;
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else {
		snprintf(err, errlen, "%s=%s: expected true or false", name, v);
		return IM_EINVAL;
	}
	return IM_OK;
}

/* LOG_FORMAT: text (the default) or json. */
static enum im_rc settings_log_format(settings_getenv_fn get, bool *json, char *err, size_t errlen)
{
	const char *v = get("LOG_FORMAT");

	if (v == NULL || v[0] == '\0' || strcasecmp(v, "text") == 0)
		*json = false;
	else if (strcasecmp(v, "json") == 0)
		*json = true;
	else {
		snprintf(err, errlen, "LOG_FORMAT=%s: expected text or json", v);
		return IM_EINVAL;
	}
	return IM_OK;
}

static char *settings_string(settings_getenv_fn get, const char *name, const char *dflt)
{
	const char *v = get(name);
	if (v == NULL || v[0] == '\0')
		return dflt ? xstrdup(dflt) : NULL;
	return xstrdup(v);
}

/* IMMORTAL_CONFIG_DIR, else ~/immortal/groups when it exists (the place for
 * shared hosting, outside any web root), else the installed default. */
static char *settings_config_dir(settings_getenv_fn get)
{
	const char *v = get("IMMORTAL_CONFIG_DIR");
	const char *home = get("HOME");
	struct stat st;

	if (v != NULL && v[0] != '\0')
		return xstrdup(v);
	if (home != NULL && home[0] == '/') {
		char *dir = xasprintf("%s/immortal/groups", home);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
		free(dir);
	}
	return xstrdup(IMMORTAL_SYSCONFDIR "/immortal/groups");
}

enum im_rc settings_load(struct settings *s, settings_getenv_fn get,
			 char *err, size_t errlen)
{
	unsigned long long threads = 16, max_threads = 4096;
	unsigned long long max_body = 16ull << 20, keepalive = 10, drain = 30;
	enum im_rc rc;

	memset(s, 0, sizeof *s);
	s->verbose = true;
	if ((rc = settings_bool(get, "LOG_LEVEL", &s->verbose, err, errlen)) != IM_OK ||
	    (rc = settings_log_format(get, &s->log_json, err, errlen)) != IM_OK ||
	    (rc = settings_number(get, "IMMORTAL_THREADS", 1, 100000, &threads, err, errlen)) != IM_OK ||
	    (rc = settings_number(get, "IMMORTAL_MAX_THREADS", 1, 100000, &max_threads, err, errlen)) != IM_OK ||
	    (rc = settings_number(get, "IMMORTAL_MAX_BODY", 1024, 1ull << 32, &max_body, err, errlen)) != IM_OK ||
	    (rc = settings_number(get, "IMMORTAL_KEEPALIVE", 1, 3600, &keepalive, err, errlen)) != IM_OK ||
	    (rc = settings_number(get, "IMMORTAL_DRAIN_SECONDS", 0, 86400, &drain, err, errlen)) != IM_OK ||
	    (rc = settings_bool(get, "IMMORTAL_PROTECT_METRICS", &s->protect_metrics, err, errlen)) != IM_OK)
		return rc;
	if (max_threads < threads)
		max_threads = threads;
	s->threads = (unsigned)threads;
	s->max_threads = (unsigned)max_threads;
	s->max_body = (size_t)max_body;
	s->keepalive_s = (unsigned)keepalive;
	s->drain_s = (unsigned)drain;
	s->access_keys_file = settings_string(get, "IMMORTAL_ACCESS_KEYS_FILE", NULL);
	s->state_dir = settings_string(get, "IMMORTAL_STATE_DIR", NULL);
	s->config_dir = settings_config_dir(get);
	s->config_dir_given = get("IMMORTAL_CONFIG_DIR") && get("IMMORTAL_CONFIG_DIR")[0];
	s->log_dir = settings_string(get, "IMMORTAL_LOG_DIR", NULL);
	return IM_OK;
}

void settings_free(struct settings *s)
{
	free(s->config_dir);
	free(s->log_dir);
	free(s->access_keys_file);
	free(s->state_dir);
	memset(s, 0, sizeof *s);
}
