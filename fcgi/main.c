/* main.c: immortal's entry point: settings, logging, signals, then serving
 * FastCGI (spawned by spawn-fcgi or on --listen) or one plain CGI request. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "check.h"
#include "configtest.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "reload.h"
#include "server.h"

static struct app app = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *main_getenv(const char *name)
{
	return getenv(name);
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
				log_error(LOG_MSG("cannot reopen the log file"), LOG_S("why", strerror(errno)));
			continue;
		}
		log_info(LOG_MSG("stopping on a signal"), LOG_I("signal", sig));
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

/* Called with the signals of main_signals() blocked, before any thread
 * starts: they are then blocked everywhere, and only the signal thread
 * takes them (libfcgi installs a SIGTERM handler of its own that would
 * otherwise swallow them). */
static int main_serve_fcgi(int listen_fd, sigset_t *set)
{
	pthread_t sig_thread;

	pthread_create(&sig_thread, NULL, main_signal_thread, set);
	pthread_detach(sig_thread);
	log_info(LOG_MSG("serving FastCGI"), LOG_S("version", PACKAGE_VERSION),
		 LOG_I("spare_workers", app.settings.threads), LOG_I("max_workers", app.settings.max_threads));
	int rc = server_run_fcgi(&app, listen_fd);
	log_info(LOG_MSG("stopped"));
	return rc;
}

/* Memory per open stream: glibc keeps, per thread, up to 7 freed chunks of
 * every size up to 1 KiB (its tcache); with one thread per request in flight
 * that held ~15 KiB of RSS per open stream (bench/README, "memory").
 * Caching chunks up to 128 bytes only keeps the fast path for the many small
 * allocations. glibc reads the setting at process start only (mallopt has
 * none), so a FastCGI server re-executes itself once with it, before it opens
 * anything. Skipped when the operator set a tcache tunable, under a preloaded
 * library (valgrind, a profiler: keep the process as started) and when the
 * exec fails (the default cache then stays: e.g. the binary was replaced and
 * its old path is gone). */
static void main_tune_malloc(char **argv)
{
#if defined(__GLIBC__)
	static const char want[] = "glibc.malloc.tcache_max=128";
	const char *old = getenv("GLIBC_TUNABLES"), *pre = getenv("LD_PRELOAD");
	char *val;

	if ((old && strstr(old, "glibc.malloc.tcache")) || (pre && pre[0]))
		return;
	if (asprintf(&val, "%s%s%s", old ? old : "", old && old[0] ? ":" : "", want) < 0)
		return;
	/* The binary's own path, not /proc/self/exe, whose name would become
	 * the process's name (ps, pkill, systemd show "exe"). */
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *saved = old ? strdup(old) : NULL;
	if (n > 0) {
		self[n] = '\0';
		if (setenv("GLIBC_TUNABLES", val, 1) == 0)
			execv(self, argv);
	}
	if (saved)
		setenv("GLIBC_TUNABLES", saved, 1);
	else
		unsetenv("GLIBC_TUNABLES");
	free(saved);
	free(val);
#else
	(void)argv;
#endif
}

/* glibc serves allocations of 128 KiB and more with mmap, until one such
 * chunk is freed: then it raises that threshold to the chunk's size (up to
 * 32 MiB) and serves the next ones from the thread's arena, which keeps
 * what is freed there. A request with a large body (long conversations)
 * makes several such transient buffers while it is parsed and forwarded,
 * and with a thread per request in flight, each open stream then held
 * about four times its request's size. A fixed threshold returns them to
 * the system when freed (bench/README, "Memory per open stream"). Skipped
 * when the operator chose a threshold. */
#define MAIN_MMAP_THRESHOLD (128 << 10)

static void main_fix_mmap_threshold(void)
{
#if defined(__GLIBC__)
	const char *tun = getenv("GLIBC_TUNABLES");

	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL && (tun == NULL || strstr(tun, "mmap_threshold") == NULL))
		(void)mallopt(M_MMAP_THRESHOLD, MAIN_MMAP_THRESHOLD);
#endif
}

/* Each open stream holds two descriptors (client and upstream). */
static void main_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The operator's tools: they report on stdout and never serve. */
static int main_tool(const struct options *opt)
{
	int rc;

	if (opt->mode == OPTIONS_TEST) {
		rc = configtest_run(&app.settings, opt->test_dir, stdout);
	} else if (transport_global_init() != IM_OK) {
		fprintf(stderr, "immortal: cannot initialise libcurl\n");
		rc = 1;
	} else {
		rc = check_run(&app.settings, opt->groups, opt->n_groups, stdout);
		transport_global_cleanup();
	}
	settings_free(&app.settings);
	return rc;
}

int main(int argc, char **argv)
{
	struct options opt;
	char err[512];
	int rc;

	if (options_parse(argc, argv, &opt) != 0)
		return 2;
	if (opt.mode == OPTIONS_HELP || opt.mode == OPTIONS_VERSION) {
		if (opt.mode == OPTIONS_HELP)
			options_usage(stdout);
		else
			printf("immortal %s\n", PACKAGE_VERSION);
		return 0;
	}
	const char *listen_spec = opt.listen_spec;
	if (opt.mode == OPTIONS_SERVE && (listen_spec != NULL || (FCGX_Init() == 0 && !FCGX_IsCGI()))) {
		main_tune_malloc(argv);
		main_fix_mmap_threshold();
	}
	if (settings_load(&app.settings, main_getenv, err, sizeof err) != IM_OK) {
		fprintf(stderr, "immortal: %s\n", err);
		/* for -t, a setting the server would refuse is one more problem */
		return opt.mode == OPTIONS_TEST ? 1 : 2;
	}
	if (opt.mode == OPTIONS_TEST || opt.mode == OPTIONS_CHECK)
		return main_tool(&opt);
	if (log_open(app.settings.verbose, app.settings.log_json ? LOG_JSON : LOG_TEXT,
		     app.settings.log_dir) != IM_OK) {
		fprintf(stderr, "immortal: cannot open %s/immortal.log: %s\n",
			app.settings.log_dir, strerror(errno));
		return 2;
	}
	app.started_unix = (int64_t)time(NULL);
	main_raise_fd_limit();
	if (transport_global_init() != IM_OK || FCGX_Init() != 0) {
		log_error(LOG_MSG("cannot initialise libcurl or libfcgi"));
		return 1;
	}
	int listen_fd = 0;  /* spawn-fcgi and web servers hand it over as fd 0 */
	if (listen_spec) {
		listen_fd = listen_open(listen_spec, err, sizeof err);
		if (listen_fd < 0) {
			log_error(LOG_MSG("--listen cannot be used"), LOG_S("why", err));
			return 2;
		}
	}
	app.cgi = listen_spec == NULL && FCGX_IsCGI();
	if (reload_init(&app) != 0)
		return 1;
	if (app.cgi) {
		rc = server_run_cgi(&app);
	} else {
		sigset_t set;
		main_signals(&set);
		reload_start(&app);
		rc = main_serve_fcgi(listen_fd, &set);
	}
	if (!server_quiet()) {
		/* Requests cut off at the drain deadline did not finish: leave
		 * what they use in place, and exit under them. */
		log_close();
		_exit(rc);
	}
	reload_stop(&app);
	transport_global_cleanup();
	settings_free(&app.settings);
	log_close();
	return rc;
}
