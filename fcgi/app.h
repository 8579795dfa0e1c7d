/* app.h: what every request handler shares: settings, the live catalog and
 * access keys, and the host-wide state. */
#ifndef IMMORTAL_APP_H
#define IMMORTAL_APP_H

#include <pthread.h>
#include <stdint.h>

#include "access.h"
#include "catalog.h"
#include "conn.h"
#include "hoststate.h"
#include "settings.h"
#include "transport.h"

struct app {
	struct settings settings;
	struct hoststate *hs;
	pthread_mutex_t lock;            /* guards the two pointers below */
	struct catalog *catalog;
	struct access *acl;              /* NULL: the service is open */
	int64_t started_unix;
};

/* One request being served by a worker. */
struct request {
	struct app *app;
	struct conn *conn;
	struct transport *transport;     /* the worker's own */
	struct catalog *catalog;         /* this request's snapshot (a reference) */
	struct access *acl;              /* likewise, NULL when open */
	int key;                         /* the client's key (access_check), -1 */
	char id[16];
	int64_t started_ms;
};

/* The current catalog and access keys, each with a reference the caller
 * drops (catalog_unref, access_unref; *acl may be NULL). */
void app_snapshot(struct app *app, struct catalog **cat, struct access **acl);

#endif
