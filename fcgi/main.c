/* main.c: immortal's entry point: settings, logging, signals, then serving
 * FastCGI (spawned by spawn-fcgi or on --listen) or one plain CGI request. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "listen.h"
#include "log.h"
#include "server.h"

static struct app app = { .catalog_lock = PTHREAD_MUTEX_INITIALIZER };

struct catalog *app_catalog(struct app *a)
{
	pthread_mutex_lock(&a->catalog_lock);
	struct catalog *cat = catalog_ref(a->catalog);
	pthread_mutex_unlock(&a->catalog_lock);
	return cat;
}

static const char *main_getenv(const char *name)
{
	return getenv(name);
}

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: immortal [--listen HOST:PORT|PATH]\n"
		"\n"
		"A FastCGI responder that fails OpenAI-style chat requests over across\n"
		"the endpoints of a model group. Started by spawn-fcgi (or a web server)\n"
		"it serves the socket it was given; with --listen it opens its own; run\n"
		"as plain CGI it answers the one request. Configuration comes from the\n"
		"environment (IMMORTAL_CONFIG_DIR, LOG_LEVEL, IMMORTAL_LOG_DIR, ...):\n"
		"see the README.\n");
}

static int main_load_catalog(void)
{
	struct catalog *cat = NULL;

	if (catalog_load(app.settings.config_dir, main_getenv, &cat) != IM_OK) {
		log_error("config folder %s cannot be read: %s (set IMMORTAL_CONFIG_DIR)",
			  app.settings.config_dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < cat->n_problems; i++)
		log_error("config: %s", cat->problems[i]);
	log_info("config folder %s: %zu group(s) loaded", app.settings.config_dir, cat->n_groups);
	app.catalog = cat;
	return 0;
}

static void *main_signal_thread(void *arg)
{
	sigset_t *set = arg;

	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (log_reopen() != IM_OK)
				log_error("cannot reopen the log file: %s", strerror(errno));
			continue;
		}
		log_info("signal %d: stopping", sig);
		server_stop();
		return NULL;
	}
}

/* Signals go to one thread; workers never see them (SIGUSR1 aside). */
static void main_signals(sigset_t *set)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };

	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigset_t blocked = *set;
	sigaddset(&blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
}

static int main_parse_args(int argc, char **argv, const char **listen_spec)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			*listen_spec = argv[++i];
		} else if (strncmp(argv[i], "--listen=", 9) == 0) {
			*listen_spec = argv[i] + 9;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			main_usage(stdout);
			exit(0);
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("immortal %s\n", PACKAGE_VERSION);
			exit(0);
		} else {
			fprintf(stderr, "immortal: unknown argument %s\n", argv[i]);
			main_usage(stderr);
			return -1;
		}
	}
	return 0;
}

static int main_serve_fcgi(int listen_fd)
{
	sigset_t set;
	pthread_t sig_thread;

	main_signals(&set);
	pthread_create(&sig_thread, NULL, main_signal_thread, &set);
	pthread_detach(sig_thread);
	log_info("immortal %s serving FastCGI (%u spare workers, at most %u)", PACKAGE_VERSION,
		 app.settings.threads, app.settings.max_threads);
	int rc = server_run_fcgi(&app, listen_fd);
	log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	const char *listen_spec = NULL;
	char err[512];
	int rc;

	if (main_parse_args(argc, argv, &listen_spec) != 0)
		return 2;
	if (settings_load(&app.settings, main_getenv, err, sizeof err) != IM_OK) {
		fprintf(stderr, "immortal: %s\n", err);
		return 2;
	}
	if (log_open(app.settings.verbose, app.settings.log_dir) != IM_OK) {
		fprintf(stderr, "immortal: cannot open %s/immortal.log: %s\n",
			app.settings.log_dir, strerror(errno));
		return 2;
	}
	app.started_unix = (int64_t)time(NULL);
	if (transport_global_init() != IM_OK || FCGX_Init() != 0) {
		log_error("cannot initialise libcurl or libfcgi");
		return 1;
	}
	int listen_fd = 0;  /* spawn-fcgi and web servers hand it over as fd 0 */
	if (listen_spec) {
		listen_fd = listen_open(listen_spec, err, sizeof err);
		if (listen_fd < 0) {
			log_error("--listen %s", err);
			return 2;
		}
	}
	if (main_load_catalog() != 0)
		return 1;
	if (listen_spec == NULL && FCGX_IsCGI())
		rc = server_run_cgi(&app);
	else
		rc = main_serve_fcgi(listen_fd);
	catalog_unref(app.catalog);
	transport_global_cleanup();
	settings_free(&app.settings);
	log_close();
	return rc;
}
