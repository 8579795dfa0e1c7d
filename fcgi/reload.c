/* reload.c: loading and hot-reloading each site's groups and access keys (see reload.h). */
#include "reload.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "lastgood.h"
#include "log.h"
#include "metrics.h"

#define RELOAD_POLL_US 500000
/* A config folder's own keys file, when nothing names another. */
#define RELOAD_KEYS_NAME "access.keys"

static struct {
	pthread_t thread;
	bool running;
	volatile bool stop;
} reload;

static const char *reload_getenv(const char *name)
{
	return getenv(name);
}

static void reload_report(const struct catalog *cat, const char *dir)
{
	for (size_t i = 0; i < cat->n_problems; i++)
		log_error(LOG_MSG("config:"), LOG_S("problem", cat->problems[i]));
	log_info(LOG_MSG("config folder: group(s) loaded"), LOG_S("dir", dir), LOG_I("groups", cat->n_groups));
}

/* Loads the site's keys into *acl. A keys file that does not exist leaves
 * the site open (*acl NULL) unless `must_exist`; any other failure is an
 * error (-1, logged), never an open site. */
static int reload_load_keys(struct site *site, bool must_exist, struct access **acl)
{
	struct stat st;
	char err[512];

	*acl = NULL;
	site->keys_stamp = access_stamp(site->keys_file);
	if (!must_exist && stat(site->keys_file, &st) != 0 && errno == ENOENT)
		return 0;
	if (access_load(site->keys_file, acl, err, sizeof err) != IM_OK) {
		log_error(LOG_MSG("access keys:"), LOG_S("dir", site->config_dir), LOG_S("problem", err));
		return -1;
	}
	return 0;
}

static void reload_free_site(struct site *site)
{
	catalog_unref(site->catalog);
	access_unref(site->acl);
	hoststate_close(site->hs);
	free(site->config_dir);
	free(site->keys_asked);
	free(site->keys_file);
	free(site);
}

/* Which keys file a site has: the one its request named, else for the
 * process's own folder IMMORTAL_ACCESS_KEYS_FILE from the environment,
 * else DIR/access.keys (RELOAD_KEYS_NAME) when it exists. A folder named
 * by a request never falls back on the environment's keys: a process
 * serving several sites would make them share keys. Returns -1 (logged)
 * when the keys cannot be read, or when a request's folder has none of its
 * own while the process requires keys (it would be open otherwise). */
static int reload_site_keys(struct app *app, struct site *site, bool own)
{
	const char *env_keys = app->settings.access_keys_file;

	if (site->keys_asked)
		site->keys_file = xstrdup(site->keys_asked);
	else if (own && env_keys)
		site->keys_file = xstrdup(env_keys);
	else
		site->keys_file = xasprintf("%s/" RELOAD_KEYS_NAME, site->config_dir);
	if (reload_load_keys(site, site->keys_asked || (own && env_keys), &site->acl) != 0)
		return -1;
	if (!own && site->acl == NULL && env_keys) {
		log_error(LOG_MSG("config folder refused: this process requires access keys and the folder "
				  "has none of its own (" RELOAD_KEYS_NAME " in it, or IMMORTAL_ACCESS_KEYS_FILE "
				  "beside IMMORTAL_CONFIG_DIR)"), LOG_S("dir", site->config_dir));
		return -1;
	}
	return 0;
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
		log_error(LOG_MSG("config folder: last good versions:"), LOG_S("dir", dir), LOG_S("problem", err));
	return rc;
}

/* Opens the site's shared state file, logging why when it cannot be used. */
static void reload_open_state(struct app *app, struct site *site)
{
	char why[PATH_MAX + 256];
	enum im_rc rc = hoststate_open(site->config_dir, app->settings.state_dir, &site->hs, why, sizeof why);

	if (rc == IM_EINVAL)
		log_error(LOG_MSG("state file not used: endpoint health and metrics are kept per process "
				  "(remove it, or set IMMORTAL_STATE_DIR to a folder of your own)"),
			  LOG_S("why", why));
	else if (rc != IM_OK)
		log_error(LOG_MSG("no shared state file could be created: "
				  "endpoint health and metrics are kept per process"),
			  LOG_S("state_dir", app->settings.state_dir ? app->settings.state_dir
								      : "/dev/shm, $TMPDIR or /tmp"),
			  LOG_S("why", why));
}

/* Creates the site for `dir` and the keys file a request named (`keys`,
 * NULL: none); NULL (logged) when the folder or its keys cannot be read,
 * unless `own` (the process's folder may be missing: it serves no group
 * until the folder appears, unless IMMORTAL_CONFIG_DIR named it). */
static struct site *reload_new_site(struct app *app, const char *dir, const char *keys, bool own)
{
	struct site *site = xcalloc(1, sizeof *site);
	struct catalog *cat = NULL;

	site->config_dir = xstrdup(dir);
	site->keys_asked = keys ? xstrdup(keys) : NULL;
	if (reload_site_keys(app, site, own) != 0) {
		reload_free_site(site);
		return NULL;
	}
	reload_open_state(app, site);
	if (reload_load(app, dir, site->hs, &cat) != IM_OK) {
		log_error(LOG_MSG("config folder cannot be read (set IMMORTAL_CONFIG_DIR)"),
			  LOG_S("dir", dir), LOG_S("why", strerror(errno)));
		if (!own || app->settings.config_dir_given) {
			reload_free_site(site);
			return NULL;
		}
		cat = catalog_empty();
	} else {
		reload_report(cat, dir);
	}
	site->catalog = cat;
	metrics_keep(site->hs, cat);
	return site;
}

static bool reload_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* With app->lock held. */
static struct site *reload_find_site(struct app *app, const char *dir, const char *keys)
{
	for (size_t i = 0; i < app->n_sites; i++)
		if (strcmp(app->sites[i]->config_dir, dir) == 0 &&
		    reload_same(app->sites[i]->keys_asked, keys))
			return app->sites[i];
	return NULL;
}

/* With app->lock held: the site, or NULL when there is none yet. */
static struct site *reload_take(struct app *app, const char *dir, const char *keys,
				struct catalog **cat, struct access **acl)
{
	struct site *site = reload_find_site(app, dir, keys);

	if (site != NULL) {
		*cat = catalog_ref(site->catalog);
		*acl = site->acl ? access_ref(site->acl) : NULL;
	}
	return site;
}

/* Whether `dir` is the process's own folder under another name (the
 * wrapper on shared hosting names it, and the .htaccess again): then the
 * keys of the environment are its own, not another site's. */
static bool reload_is_own_folder(struct app *app, const char *dir, const char *keys)
{
	struct stat a, b;

	return keys == NULL && stat(dir, &a) == 0 && stat(app->sites[0]->config_dir, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

struct site *app_snapshot(struct app *app, const char *dir, const char *keys,
			  struct catalog **cat, struct access **acl)
{
	struct site *site, *fresh;

	if (dir == NULL || dir[0] == '\0')
		dir = app->sites[0]->config_dir;
	if (keys != NULL && keys[0] == '\0')
		keys = NULL;
	pthread_mutex_lock(&app->lock);
	site = reload_take(app, dir, keys, cat, acl);
	pthread_mutex_unlock(&app->lock);
	if (site != NULL)
		return site;
	/* A new folder loads outside the lock, so requests of the other sites
	 * go on meanwhile; two first requests of one folder may both load it,
	 * and the second copy is dropped. */
	fresh = reload_new_site(app, dir, keys, reload_is_own_folder(app, dir, keys));
	if (fresh == NULL)
		return NULL;
	pthread_mutex_lock(&app->lock);
	site = reload_take(app, dir, keys, cat, acl);
	if (site == NULL && app->n_sites < APP_MAX_SITES) {
		app->sites[app->n_sites++] = fresh;
		site = reload_take(app, dir, keys, cat, acl);
		fresh = NULL;
	}
	pthread_mutex_unlock(&app->lock);
	if (fresh != NULL) {
		if (site == NULL)
			log_error(LOG_MSG("config folder ignored: this process serves as many folders as it may"),
				  LOG_S("dir", dir), LOG_I("max", APP_MAX_SITES));
		reload_free_site(fresh);
	}
	return site;
}

int reload_init(struct app *app)
{
	/* Without IMMORTAL_CONFIG_DIR in the environment (mod_fcgid on shared
	 * hosting) the folder may come with each request instead. */
	struct site *site = reload_new_site(app, app->settings.config_dir, NULL, true);

	if (site == NULL)
		return -1;
	app->sites[0] = site;
	app->n_sites = 1;
	return 0;
}

static void reload_site(struct app *app, struct site *site)
{
	struct catalog *fresh = NULL, *old;

	if (catalog_load(site->config_dir, reload_getenv, site->catalog, &fresh) != IM_OK) {
		log_error(LOG_MSG("config folder cannot be read now; keeping the groups loaded"),
			  LOG_S("dir", site->config_dir), LOG_S("why", strerror(errno)));
		return;
	}
	reload_report(fresh, site->config_dir);
	metrics_keep(site->hs, fresh);
	pthread_mutex_lock(&app->lock);
	old = site->catalog;
	site->catalog = fresh;
	pthread_mutex_unlock(&app->lock);
	catalog_unref(old);
}

/* The site's keys file changed (appeared, was edited, or went away). */
static void reload_keys(struct app *app, struct site *site)
{
	struct access *fresh = NULL, *old;

	if (reload_load_keys(site, true, &fresh) != 0) {
		log_error(LOG_MSG("access keys: keeping the keys loaded before"), LOG_S("dir", site->config_dir));
		return;
	}
	log_info(LOG_MSG("access keys reloaded"), LOG_S("dir", site->config_dir));
	pthread_mutex_lock(&app->lock);
	old = site->acl;
	site->acl = fresh;
	pthread_mutex_unlock(&app->lock);
	access_unref(old);
}

static void *reload_main(void *arg)
{
	struct app *app = arg;
	int64_t kept = clock_ms();

	while (!reload.stop) {
		usleep(RELOAD_POLL_US);
		pthread_mutex_lock(&app->lock);
		size_t n = app->n_sites;
		pthread_mutex_unlock(&app->lock);
		/* only this thread replaces catalogs and keys: reading them
		 * unlocked is safe */
		for (size_t i = 0; i < n; i++) {
			struct site *site = app->sites[i];
			if (catalog_stamp(site->config_dir) != site->catalog->stamp)
				reload_site(app, site);
			if (access_stamp(site->keys_file) != site->keys_stamp)
				reload_keys(app, site);
		}
		/* what this process serves stays in the shared state */
		if (clock_ms() - kept >= HOSTSTATE_KEEP_MS) {
			kept = clock_ms();
			for (size_t i = 0; i < n; i++)
				metrics_keep(app->sites[i]->hs, app->sites[i]->catalog);
		}
	}
	return NULL;
}

void reload_start(struct app *app)
{
	reload.stop = false;
	reload.running = pthread_create(&reload.thread, NULL, reload_main, app) == 0;
	if (!reload.running)
		log_error(LOG_MSG("cannot start the config watcher: changes need a restart"));
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
}
