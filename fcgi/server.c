/* server.c: the FastCGI worker pool and the CGI path (see server.h). */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "apierror.h"
#include "clock.h"
#include "log.h"
#include "respond.h"
#include "router.h"
#include "stacktrim.h"

#if defined(__SANITIZE_ADDRESS__)
#define SERVER_STACK (4u << 20)
#else
#define SERVER_STACK (256u << 10)
#endif
#define SERVER_KICK_MS 100
/* How long requests cut off at the drain deadline get to write their last
 * words and finish before the process exits without them. */
#define SERVER_CUT_GRACE_MS 5000

struct worker {
	pthread_t tid;
	bool idle;
	int fd;                  /* the connection being served, or -1 */
	struct worker *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct app *app;
	int listen_fd;
	int ep;                      /* epoll set: the listening socket, parked connections */
	unsigned total;
	unsigned idle;
	bool stopping;
	struct worker *workers;
	struct fconn *parked;        /* kept connections between requests */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER,
	   .listen_fd = -1, .ep = -1 };

/* Request ids: a random base per process and a counter, so that making one
 * costs no system call (arc4random is one each time in glibc 2.36). */
static void server_request_id(char *out, size_t len)
{
	static uint64_t base, counter;

	if (base == 0)
		base = ((uint64_t)arc4random() << 16) | 1;
	uint64_t n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	snprintf(out, len, "%012llx", (unsigned long long)((base + n * 0x9E3779B97F4A7C15ull) & 0xffffffffffffull));
}

/* The last words to a client whose request the shutdown cut off: an error
 * answer, or an error event when its stream had begun, in OpenAI's shape
 * so that clients raise it as an API error rather than a torn stream. */
static void server_cut_reply(struct conn *c)
{
	static const char message[] = "immortal is shutting down: the request was cut off";

	if (!c->begun) {
		respond_error(c, 503, message, "server_error", "server_shutting_down", NULL);
		return;
	}
	if (!c->event_stream)
		return;
	char *json = apierror_text(message, "server_error", "server_shutting_down", NULL);
	if (c->sink.write(c, "data: ", 6) == IM_OK && c->sink.write(c, json, strlen(json)) == IM_OK &&
	    c->sink.write(c, "\n\n", 2) == IM_OK)
		(void)c->sink.flush(c);
	free(json);
}

static void server_serve(struct app *app, struct conn *c, struct transport *t)
{
	struct request req = { .app = app, .conn = c, .transport = t, .started_ms = clock_ms(),
			       .key = -1 };

	server_request_id(req.id, sizeof req.id);
	/* Only a request variable can name another folder (FastCGI under
	 * mod_fcgid); as CGI the variable is the process's environment. */
	const char *dir = c->fcgi ? conn_param(c, "IMMORTAL_CONFIG_DIR") : NULL;
	const char *keys = c->fcgi ? conn_param(c, "IMMORTAL_ACCESS_KEYS_FILE") : NULL;
	req.site = app_snapshot(app, dir, keys, &req.catalog, &req.acl);
	if (req.site == NULL) {
		respond_error(c, 500, "the config folder named by IMMORTAL_CONFIG_DIR, or its access keys, "
			      "cannot be read (the log says why)",
			      "server_error", "config_unreadable", NULL);
		return;
	}
	router_dispatch(&req);
	if (c->cut || (conn_stopping && !c->begun))
		server_cut_reply(c);
	catalog_unref(req.catalog);
	access_unref(req.acl);
}

static void *server_worker(void *arg);

/* Called with the lock held; false when no thread could be started. */
static bool server_spawn_locked(void)
{
	pthread_attr_t attr;
	struct worker *w = xcalloc(1, sizeof *w);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SERVER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	w->idle = true;
	w->fd = -1;
	int rc = pthread_create(&w->tid, &attr, server_worker, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_error(LOG_MSG("cannot start a worker thread"), LOG_S("why", strerror(rc)),
			  LOG_I("running", pool.total));
		free(w);
		return false;
	}
	w->next = pool.workers;
	pool.workers = w;
	pool.total++;
	pool.idle++;
	return true;
}

static void server_unlink_locked(struct worker *w)
{
	for (struct worker **p = &pool.workers; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pool.total--;
	if (w->idle)
		pool.idle--;
	free(w);
	pthread_cond_broadcast(&pool.changed);
}

/* The worker's last act: after it, nothing of it touches shared state. */
static void server_leave(struct worker *w)
{
	pthread_mutex_lock(&pool.lock);
	server_unlink_locked(w);
	pthread_mutex_unlock(&pool.lock);
}

/* After accepting: keep enough spare workers waiting for the next request. */
/* After accepting: when the spare workers run low, start enough to have
 * IMMORTAL_THREADS waiting again, so a burst of streams never waits for
 * threads to be created one by one. */
static void server_took_request(struct worker *w, int fd)
{
	const struct settings *s = &pool.app->settings;
	unsigned low = s->threads / 2 ? s->threads / 2 : 1;

	pthread_mutex_lock(&pool.lock);
	w->idle = false;
	w->fd = fd;
	pool.idle--;
	if (!pool.stopping && pool.idle < low) {
		while (pool.idle < s->threads && pool.total < s->max_threads)
			if (!server_spawn_locked())
				break;
	}
	pthread_mutex_unlock(&pool.lock);
}

/* Before the connection closes: server_cut_locked must not touch its
 * descriptor any more (the number may be reused at once). */
static void server_closing(struct worker *w)
{
	pthread_mutex_lock(&pool.lock);
	w->fd = -1;
	pthread_mutex_unlock(&pool.lock);
}

/* After serving: go back to waiting, or leave (server_leave) when plenty of
 * others wait. The gap between the two marks keeps steady traffic from
 * creating and ending a thread per request. */
static bool server_finished_request(struct worker *w)
{
	bool stay;

	pthread_mutex_lock(&pool.lock);
	stay = !pool.stopping && pool.idle < 4 * pool.app->settings.threads;
	if (stay) {
		w->idle = true;
		pool.idle++;
	}
	pthread_mutex_unlock(&pool.lock);
	return stay;
}

/* ---- connections ---------------------------------------------------------
 *
 * A front server may keep its FastCGI connection open for more requests
 * (FCGI_KEEP_CONN: nginx with fastcgi_keep_conn, Apache with enablereuse).
 * Between requests such a connection is parked in the pool's epoll set, so
 * it pins no worker; the worker that wakes for it serves its next request.
 * Every worker waits in that one epoll set, for the listening socket (one
 * shot, re-armed after each accept) or a parked connection (one shot). */

/* One FastCGI connection and libfcgi's request state on it. Owned by the
 * worker serving it, or by the pool while parked. */
struct fconn {
	FCGX_Request req;
	struct fconn *prev, *next;   /* in pool.parked while parked */
};

/* Stands for the listening socket in epoll events. */
static char server_listen_tag;

/* A request's body left unread (an early answer) is read and dropped so
 * the connection can serve the next request; past this it is closed. */
#define SERVER_DRAIN_MAX (1u << 20)

static void server_arm(int fd, void *tag, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = tag };
	(void)epoll_ctl(pool.ep, op, fd, &ev);
}

static void server_park_locked(struct fconn *fc)
{
	fc->prev = NULL;
	fc->next = pool.parked;
	if (pool.parked)
		pool.parked->prev = fc;
	pool.parked = fc;
}

static void server_unpark_locked(struct fconn *fc)
{
	if (fc->prev)
		fc->prev->next = fc->next;
	else
		pool.parked = fc->next;
	if (fc->next)
		fc->next->prev = fc->prev;
	fc->prev = fc->next = NULL;
}

static void server_close_conn(struct fconn *fc)
{
	/* FCGX_Free closes the descriptor; epoll forgets it with it */
	FCGX_Free(&fc->req, 1);
	free(fc);
}

/* libfcgi's accept is never used: the descriptor is handed over, and a
 * listening socket of -1 makes a failed read end FCGX_Accept_r instead of
 * blocking in accept(). */
static struct fconn *server_new_conn(int fd)
{
	struct fconn *fc = xcalloc(1, sizeof *fc);
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  /* fails on unix sockets: fine */
	FCGX_InitRequest(&fc->req, -1, 0);
	fc->req.ipcFd = fd;
	fc->req.keepConnection = 1;   /* FCGX_Accept_r must not close it first */
	return fc;
}

/* Waits for the next connection with a request to read: a new one or a
 * parked one. NULL when interrupted (server_stop) or nothing came. */
static struct fconn *server_wait_conn(void)
{
	struct epoll_event ev;

	if (epoll_wait(pool.ep, &ev, 1, -1) != 1)
		return NULL;
	if (ev.data.ptr == &server_listen_tag) {
		int fd = accept4(pool.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		pthread_mutex_lock(&pool.lock);
		if (!pool.stopping)
			server_arm(pool.listen_fd, &server_listen_tag, EPOLL_CTL_MOD);
		pthread_mutex_unlock(&pool.lock);
		return fd >= 0 ? server_new_conn(fd) : NULL;
	}
	struct fconn *fc = ev.data.ptr;
	pthread_mutex_lock(&pool.lock);
	server_unpark_locked(fc);
	pthread_mutex_unlock(&pool.lock);
	return fc;
}

/* Reads what the request left of its body, so that the connection is at
 * the start of the next request; false when it cannot be kept. */
static bool server_drain_input(FCGX_Request *req)
{
	char scrap[4096];
	size_t dropped = 0;
	int n;

	while ((n = FCGX_GetStr(scrap, sizeof scrap, req->in)) > 0) {
		dropped += (size_t)n;
		if (dropped > SERVER_DRAIN_MAX)
			return false;
	}
	return FCGX_HasSeenEOF(req->in) == EOF && FCGX_GetError(req->in) == 0;
}

/* Ends the request; parks the connection when the front server keeps it. */
static void server_end_request(struct fconn *fc, const struct conn *c)
{
	if (fc->req.keepConnection && (c->failed || !server_drain_input(&fc->req)))
		fc->req.keepConnection = 0;
	FCGX_Finish_r(&fc->req);
	if (fc->req.ipcFd < 0) {
		free(fc);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	if (pool.stopping) {
		pthread_mutex_unlock(&pool.lock);
		server_close_conn(fc);
		return;
	}
	server_park_locked(fc);
	pthread_mutex_unlock(&pool.lock);
	/* Armed after the unlock: a system call under the pool's lock made
	 * every other worker queue on it (futex waits, context switches). Safe:
	 * fc is parked already, so server_stop shuts it down whenever it comes,
	 * no other worker can take fc before it is armed, and server_free_parked
	 * waits for this worker to leave. ADD the first time, MOD after. */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = fc };
	if (epoll_ctl(pool.ep, EPOLL_CTL_MOD, fc->req.ipcFd, &ev) != 0)
		(void)epoll_ctl(pool.ep, EPOLL_CTL_ADD, fc->req.ipcFd, &ev);
}

static void *server_worker(void *arg)
{
	struct worker *w = arg;
	struct transport *t = NULL;  /* made on first use: a new thread reaches epoll sooner */
	sigset_t usr1;

	/* SIGUSR1 is how server_stop interrupts a blocked wait. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	stacktrim_thread_init();
	for (;;) {
		struct fconn *fc = server_wait_conn();
		if (fc != NULL && FCGX_Accept_r(&fc->req) < 0) {
			server_close_conn(fc);   /* closed by the front server, or not FastCGI */
			fc = NULL;
		}
		if (fc == NULL) {
			pthread_mutex_lock(&pool.lock);
			bool stop = pool.stopping;
			if (stop) {
				w->idle = false;
				pool.idle--;
			}
			pthread_mutex_unlock(&pool.lock);
			if (stop)
				break;
			continue;
		}
		server_took_request(w, fc->req.ipcFd);
		if (t == NULL)
			t = transport_new();
		struct conn c;
		conn_init_fcgi(&c, &fc->req);
		server_serve(pool.app, &c, t);
		server_closing(w);
		server_end_request(fc, &c);
		if (!server_finished_request(w))
			break;
	}
	transport_free(t);
	server_leave(w);
	return NULL;
}

static void server_on_usr1(int sig)
{
	(void)sig;
}

static void server_kick_idle_locked(void)
{
	for (struct worker *w = pool.workers; w; w = w->next)
		if (w->idle)
			pthread_kill(w->tid, SIGUSR1);
}

/* A parked connection is shut down, not freed: a worker may be waking
 * for it; whoever takes it next sees it closed. */
static void server_shut_parked_locked(void)
{
	for (struct fconn *fc = pool.parked; fc; fc = fc->next)
		(void)shutdown(fc->req.ipcFd, SHUT_RDWR);
}

static void server_free_parked(void)
{
	pthread_mutex_lock(&pool.lock);
	while (pool.parked) {
		struct fconn *fc = pool.parked;
		server_unpark_locked(fc);
		server_close_conn(fc);
	}
	pthread_mutex_unlock(&pool.lock);
}

/* At the drain deadline: every running request is told its client is gone
 * (conn_stopping), and shutting down the reading side of its connection
 * wakes it from waiting on the upstream at once; writing still works, so
 * it can send its last words (server_cut_reply) and finish properly. */
static void server_cut_locked(void)
{
	conn_stopping = 1;
	for (struct worker *w = pool.workers; w; w = w->next)
		if (w->fd >= 0)
			(void)shutdown(w->fd, SHUT_RD);
}

static void server_wait_locked(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&pool.changed, &pool.lock, &ts);
}

void server_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	(void)epoll_ctl(pool.ep, EPOLL_CTL_DEL, pool.listen_fd, NULL);
	server_shut_parked_locked();
	server_kick_idle_locked();
	pthread_cond_broadcast(&pool.changed);
	pthread_mutex_unlock(&pool.lock);
}

int server_run_fcgi(struct app *app, int listen_fd)
{
	struct sigaction sa = { .sa_handler = server_on_usr1 };  /* no SA_RESTART */

	sigaction(SIGUSR1, &sa, NULL);
	pool.app = app;
	pool.listen_fd = listen_fd;
	pool.ep = epoll_create1(EPOLL_CLOEXEC);
	if (pool.ep < 0) {
		log_error(LOG_MSG("cannot create the epoll set"), LOG_S("why", strerror(errno)));
		return 1;
	}
	/* Another process (spawn-fcgi -F) may take a connection we were woken
	 * for: accept must then fail instead of blocking. */
	(void)fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	server_arm(listen_fd, &server_listen_tag, EPOLL_CTL_ADD);
	pthread_mutex_lock(&pool.lock);
	for (unsigned i = 0; i < app->settings.threads; i++)
		server_spawn_locked();
	if (pool.total == 0) {
		pthread_mutex_unlock(&pool.lock);
		return 1;
	}
	while (!pool.stopping)
		pthread_cond_wait(&pool.changed, &pool.lock);
	log_info(LOG_MSG("stopping: no new requests; waiting for those in flight"),
		 LOG_I("in_flight", pool.total - pool.idle), LOG_I("drain_s", app->settings.drain_s));
	int64_t deadline = clock_ms() + (int64_t)app->settings.drain_s * 1000;
	bool closed = false, cut = false;
	/* Idle workers may be between checks and accept(): kick until gone. */
	while (pool.total > 0) {
		if (!closed && pool.idle == 0) {
			/* No thread waits for connections any more: dropping our hold on
			 * the socket makes new connections fail at once (a front
			 * server then tries its next backend), unless a sibling
			 * process (spawn-fcgi -F) still serves it. */
			close(pool.listen_fd);
			closed = true;
		}
		if (clock_ms() >= deadline) {
			if (cut)
				break;
			log_error(LOG_MSG("stopping: requests still in flight at the drain deadline; cutting them off"),
				  LOG_I("in_flight", pool.total - pool.idle), LOG_I("drain_s", app->settings.drain_s));
			server_cut_locked();
			cut = true;
			deadline = clock_ms() + SERVER_CUT_GRACE_MS;
		}
		server_kick_idle_locked();
		server_wait_locked(SERVER_KICK_MS);
	}
	if (pool.total > 0)
		log_error(LOG_MSG("stopping: requests cut off did not finish; exiting without them"),
			  LOG_I("running", pool.total));
	bool all_done = pool.total == 0;
	pthread_mutex_unlock(&pool.lock);
	if (all_done)
		server_free_parked();
	return 0;
}

bool server_quiet(void)
{
	pthread_mutex_lock(&pool.lock);
	bool quiet = pool.total == 0;
	pthread_mutex_unlock(&pool.lock);
	return quiet;
}

/* Run as CGI, a SIGTERM means the web server gave up on the request: the
 * upstream transfer is aborted at once (conn_gone sees the flag). */
static void server_cgi_on_term(int sig)
{
	(void)sig;
	conn_cgi_terminated = 1;
}

int server_run_cgi(struct app *app)
{
	struct transport *t = transport_new();
	struct sigaction sa = { .sa_handler = server_cgi_on_term };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct conn c;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	conn_init_cgi(&c);
	server_serve(app, &c, t);
	fflush(stdout);
	transport_free(t);
	return 0;
}
