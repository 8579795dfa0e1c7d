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

/* One config folder and what belongs to it. The process serves the folder
 * of its environment; on shared hosting a request may name another one
 * (SetEnv IMMORTAL_CONFIG_DIR in .htaccess reaches immortal as a request
 * variable), which becomes a site of its own. Sites live as long as the
 * process. */
struct site {
	char *config_dir;
	struct hoststate *hs;
	struct catalog *catalog;         /* guarded by app.lock */
};

struct app {
	struct settings settings;
	pthread_mutex_t lock;            /* guards the sites and the pointers below */
	struct site *sites[APP_MAX_SITES];
	size_t n_sites;
	struct access *acl;              /* NULL: the service is open */
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

/* The site for config folder `dir` (NULL: the process's own), loaded on
 * first use; with its current catalog and the access keys, each with a
 * reference the caller drops (catalog_unref, access_unref; *acl may be
 * NULL). Returns NULL (logged) when a new folder cannot be read. */
struct site *app_snapshot(struct app *app, const char *dir, struct catalog **cat,
			  struct access **acl);

#endif
