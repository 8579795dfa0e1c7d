/* reload.c: loading and hot-reloading groups and access keys (see reload.h). */
#include "reload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "lastgood.h"
#include "log.h"

#define RELOAD_POLL_US 500000

static struct {
	pthread_t thread;
	bool running;
	volatile bool stop;
	uint64_t access_stamp;
} reload;

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

/* Loads `dir`. A CGI process has no catalog from before to keep a broken
 * group's last good version: it keeps them on disk (lastgood.h). */
static enum im_rc reload_load(struct app *app, const char *dir, struct hoststate *hs,
			      struct catalog **cat)
{
	char err[512];
	enum im_rc rc;

	if (!app->cgi)
		return catalog_load(dir, reload_getenv, NULL, cat);
	rc = lastgood_catalog(dir, hoststate_path(hs), reload_getenv, cat, err, sizeof err);
	if (err[0] != '\0')
		log_error("config folder %s: %s", dir, err);
	return rc;
}

/* Creates the site for `dir`; NULL (logged) when the folder cannot be read,
 * unless `may_be_missing` (then it serves no group until it appears). */
static struct site *reload_new_site(struct app *app, const char *dir, bool may_be_missing)
{
	struct catalog *cat = NULL;
	struct hoststate *hs = NULL;

	if (hoststate_open(dir, app->settings.state_dir, &hs) != IM_OK)
		log_error("no shared state file could be created in %s: "
			  "endpoint health and metrics are kept per process",
			  app->settings.state_dir ? app->settings.state_dir : "/dev/shm, $TMPDIR or /tmp");
	if (reload_load(app, dir, hs, &cat) != IM_OK) {
		log_error("config folder %s cannot be read: %s (set IMMORTAL_CONFIG_DIR)",
			  dir, strerror(errno));
		if (!may_be_missing) {
			hoststate_close(hs);
			return NULL;
		}
		cat = catalog_empty();
	} else {
		reload_report(cat, dir);
	}
	struct site *site = xcalloc(1, sizeof *site);
	site->config_dir = xstrdup(dir);
	site->catalog = cat;
	site->hs = hs;
	return site;
}

static void reload_free_site(struct site *site)
{
	catalog_unref(site->catalog);
	hoststate_close(site->hs);
	free(site->config_dir);
	free(site);
}

/* With app->lock held. */
static struct site *reload_find_site(struct app *app, const char *dir)
{
	for (size_t i = 0; i < app->n_sites; i++)
		if (strcmp(app->sites[i]->config_dir, dir) == 0)
			return app->sites[i];
	return NULL;
}

struct site *app_snapshot(struct app *app, const char *dir, struct catalog **cat,
			  struct access **acl)
{
	struct site *site;

	pthread_mutex_lock(&app->lock);
	site = dir && dir[0] ? reload_find_site(app, dir) : app->sites[0];
	if (site == NULL && app->n_sites < APP_MAX_SITES) {
		/* Loading under the lock keeps two requests from loading one
		 * folder twice; it happens once per folder and process. */
		site = reload_new_site(app, dir, false);
		if (site != NULL)
			app->sites[app->n_sites++] = site;
	} else if (site == NULL) {
		log_error("config folder %s ignored: this process already serves %d folders",
			  dir, APP_MAX_SITES);
	}
	if (site != NULL) {
		*cat = catalog_ref(site->catalog);
		*acl = app->acl ? access_ref(app->acl) : NULL;
	}
	pthread_mutex_unlock(&app->lock);
	return site;
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
	/* Without IMMORTAL_CONFIG_DIR in the environment (mod_fcgid on shared
	 * hosting) the folder may come with each request instead. */
	struct site *site = reload_new_site(app, app->settings.config_dir,
					    !app->settings.config_dir_given);

	if (site == NULL)
		return -1;
	app->sites[0] = site;
	app->n_sites = 1;
	if (app->settings.access_keys_file && reload_access(app, &app->acl) != 0)
		return -1;
	return 0;
}

static void reload_site(struct app *app, struct site *site)
{
	struct catalog *fresh = NULL, *old;

	if (catalog_load(site->config_dir, reload_getenv, site->catalog, &fresh) != IM_OK) {
		log_error("config folder %s cannot be read now: %s; keeping the groups loaded",
			  site->config_dir, strerror(errno));
		return;
	}
	reload_report(fresh, site->config_dir);
	pthread_mutex_lock(&app->lock);
	old = site->catalog;
	site->catalog = fresh;
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
		pthread_mutex_lock(&app->lock);
		size_t n = app->n_sites;
		pthread_mutex_unlock(&app->lock);
		/* only this thread replaces catalogs: reading them unlocked is safe */
		for (size_t i = 0; i < n; i++) {
			struct site *site = app->sites[i];
			if (catalog_stamp(site->config_dir) != site->catalog->stamp)
				reload_site(app, site);
		}
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
	for (size_t i = 0; i < app->n_sites; i++)
		reload_free_site(app->sites[i]);
	app->n_sites = 0;
	access_unref(app->acl);
	app->acl = NULL;
}
