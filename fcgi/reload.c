/* reload.c: loading and hot-reloading groups and access keys (see reload.h). */
#include "reload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define RELOAD_POLL_US 500000

static struct {
	pthread_t thread;
	bool running;
	volatile bool stop;
	uint64_t access_stamp;
} reload;

void app_snapshot(struct app *app, struct catalog **cat, struct access **acl)
{
	pthread_mutex_lock(&app->lock);
	*cat = catalog_ref(app->catalog);
	*acl = app->acl ? access_ref(app->acl) : NULL;
	pthread_mutex_unlock(&app->lock);
}

static const char *reload_getenv(const char *name)
{
	return getenv(name);
}

static void reload_report(const struct catalog *cat, const char *dir)
{
	for (size_t i = 0; i < cat->n_problems; i++)
		log_error("config: %s", cat->problems[i]);
	log_info("config folder %s: %zu group(s) loaded", dir, cat->n_groups);
}

/* Loads the access keys; on error keeps *acl as it is and returns -1. */
static int reload_access(struct app *app, struct access **acl)
{
	const char *path = app->settings.access_keys_file;
	char err[512];
	struct access *fresh = NULL;

	reload.access_stamp = access_stamp(path);
	if (access_load(path, &fresh, err, sizeof err) != IM_OK) {
		log_error("access keys: %s", err);
		return -1;
	}
	*acl = fresh;
	return 0;
}

int reload_init(struct app *app)
{
	const char *dir = app->settings.config_dir;
	struct catalog *cat = NULL;

	if (catalog_load(dir, reload_getenv, NULL, &cat) != IM_OK) {
		log_error("config folder %s cannot be read: %s (set IMMORTAL_CONFIG_DIR)",
			  dir, strerror(errno));
		return -1;
	}
	reload_report(cat, dir);
	app->catalog = cat;
	if (app->settings.access_keys_file && reload_access(app, &app->acl) != 0)
		return -1;
	return 0;
}

static void reload_groups(struct app *app)
{
	const char *dir = app->settings.config_dir;
	struct catalog *fresh = NULL, *old;

	if (catalog_load(dir, reload_getenv, app->catalog, &fresh) != IM_OK) {
		log_error("config folder %s cannot be read now: %s; keeping the groups loaded",
			  dir, strerror(errno));
		return;
	}
	reload_report(fresh, dir);
	pthread_mutex_lock(&app->lock);
	old = app->catalog;
	app->catalog = fresh;
	pthread_mutex_unlock(&app->lock);
	catalog_unref(old);
}

static void reload_keys(struct app *app)
{
	struct access *fresh = NULL, *old;

	if (reload_access(app, &fresh) != 0) {
		log_error("access keys: keeping the keys loaded before");
		return;
	}
	log_info("access keys reloaded");
	pthread_mutex_lock(&app->lock);
	old = app->acl;
	app->acl = fresh;
	pthread_mutex_unlock(&app->lock);
	access_unref(old);
}

static void *reload_main(void *arg)
{
	struct app *app = arg;

	while (!reload.stop) {
		usleep(RELOAD_POLL_US);
		/* only this thread replaces the catalog: reading it unlocked is safe */
		if (catalog_stamp(app->settings.config_dir) != app->catalog->stamp)
			reload_groups(app);
		if (app->settings.access_keys_file &&
		    access_stamp(app->settings.access_keys_file) != reload.access_stamp)
			reload_keys(app);
	}
	return NULL;
}

void reload_start(struct app *app)
{
	reload.stop = false;
	reload.running = pthread_create(&reload.thread, NULL, reload_main, app) == 0;
	if (!reload.running)
		log_error("cannot start the config watcher: changes need a restart");
}

void reload_stop(struct app *app)
{
	if (reload.running) {
		reload.stop = true;
		pthread_join(reload.thread, NULL);
		reload.running = false;
	}
	catalog_unref(app->catalog);
	access_unref(app->acl);
	app->catalog = NULL;
	app->acl = NULL;
}
