/* app.h: what every request handler shares: settings and the live catalog. */
#ifndef IMMORTAL_APP_H
#define IMMORTAL_APP_H

#include <pthread.h>
#include <stdint.h>

#include "catalog.h"
#include "conn.h"
#include "settings.h"
#include "transport.h"

struct app {
	struct settings settings;
	pthread_mutex_t catalog_lock;    /* guards the catalog pointer swap */
	struct catalog *catalog;
	int64_t started_unix;
};

/* One request being served by a worker. */
struct request {
	struct app *app;
	struct conn *conn;
	struct transport *transport;     /* the worker's own */
	char id[16];
	int64_t started_ms;
};

/* Returns the current catalog with a reference the caller must drop with
 * catalog_unref. */
struct catalog *app_catalog(struct app *app);

#endif
