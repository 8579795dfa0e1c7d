/* app.h: what every request handler shares: settings, the live catalog and
 * access keys, and the host-wide state. */
#ifndef IMMORTAL_APP_H
#define IMMORTAL_APP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "catalog.h"
#include "conn.h"
#include "hoststate.h"
#include "settings.h"
#include "transport.h"

#define APP_MAX_SITES 16

/* One config folder and what belongs to it: its groups and its own access
 * keys. The process serves the folder of its environment; on shared
 * hosting a request may name another one (SetEnv IMMORTAL_CONFIG_DIR in
 * .htaccess reaches immortal as a request variable, and so may
 * IMMORTAL_ACCESS_KEYS_FILE), which becomes a site of its own, so that two
 * sites served by one process never share keys. Sites live as long as the
 * process. */
struct site {
	char *config_dir;
	char *keys_asked;                /* the request's IMMORTAL_ACCESS_KEYS_FILE, or
					    NULL: with config_dir, the site's identity */
	char *keys_file;                 /* the keys file watched (it may not exist) */
	uint64_t keys_stamp;             /* the reload thread's alone once published */
	struct hoststate *hs;
	struct catalog *catalog;         /* guarded by app.lock */
	struct access *acl;              /* guarded by app.lock; NULL: the site is open */
};

struct app {
	struct settings settings;
	pthread_mutex_t lock;            /* guards the sites and their pointers */
	struct site *sites[APP_MAX_SITES];
	size_t n_sites;
	int64_t started_unix;
	bool cgi;                        /* one plain CGI request, then exit */
};

/* One request being served by a worker. */
struct request {
	struct app *app;
	struct site *site;
	struct conn *conn;
	struct transport *transport;     /* the worker's own */
	struct catalog *catalog;         /* this request's snapshot (a reference) */
	struct access *acl;              /* likewise, NULL when open */
	int key;                         /* the client's key (access_check), -1 */
	char id[16];
	int64_t started_ms;
};

/* The site for config folder `dir` (NULL: the process's own) with the
 * keys file a request named (`keys`, NULL: none), loaded on first use
 * without holding up requests of other sites; with its current catalog and
 * access keys, each with a reference the caller drops (catalog_unref,
 * access_unref; *acl NULL: open). Returns NULL (logged) when a new folder
 * or its keys cannot be read. */
struct site *app_snapshot(struct app *app, const char *dir, const char *keys,
			  struct catalog **cat, struct access **acl);

#endif
