/* transport.c: upstream POSTs driven by a per-worker curl multi loop (see transport.h). */
#include "transport.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "retryafter.h"
#include "stacktrim.h"

/* How often a long transfer gives its thread's unused stack back. */
#define TRANSPORT_TRIM_MS 1000
/* Upper bound on one sleep, so hooks see time pass even when nothing happens. */
#define TRANSPORT_MAX_SLEEP_MS 1000
#define TRANSPORT_BUFFER 4096L
/* A stream's answer comes as small events over a long time: libcurl's
 * smallest receive buffer, held for the whole stream, is plenty. */
#define TRANSPORT_STREAM_BUFFER 1024L
/* libcurl copies the request body through an upload buffer (HTTPS, or a
 * body of 64 KiB or more) and keeps it until the transfer ends, a whole
 * stream long: its smallest size instead of its default 64 KiB. */
#define TRANSPORT_UPLOAD_BUFFER 16384L

struct transport {
	CURL *easy;
	CURLM *multi;
	struct transport_hooks *hooks;
	struct transport_result *res;
	long retry_after_s;      /* from Retry-After, -1: absent or invalid */
	long retry_after_ms_s;   /* from retry-after-ms, the finer one */
	size_t body_len;         /* of the request being sent */
	bool stream;             /* its answer is an event stream */
};

static CURLSH *transport_share;
static pthread_mutex_t transport_locks[CURL_LOCK_DATA_LAST];

static void transport_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *u)
{
	pthread_mutex_lock(&transport_locks[data]);
}

static void transport_unlock(CURL *h, curl_lock_data data, void *u)
{
	pthread_mutex_unlock(&transport_locks[data]);
}

enum im_rc transport_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return IM_EIO;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&transport_locks[i], NULL);
	transport_share = xcheck(curl_share_init());
	curl_share_setopt(transport_share, CURLSHOPT_LOCKFUNC, transport_lock);
	curl_share_setopt(transport_share, CURLSHOPT_UNLOCKFUNC, transport_unlock);
	/* Connection caches are not shared: libcurl does not support that
	 * between concurrent threads. */
	curl_share_setopt(transport_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(transport_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return IM_OK;
}

void transport_global_cleanup(void)
{
	if (transport_share)
		curl_share_cleanup(transport_share);
	transport_share = NULL;
	curl_global_cleanup();
}

struct transport *transport_new(void)
{
	struct transport *t = xcalloc(1, sizeof *t);
	t->easy = xcheck(curl_easy_init());
	t->multi = xcheck(curl_multi_init());
	return t;
}

void transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	curl_multi_cleanup(t->multi);
	curl_easy_cleanup(t->easy);
	free(t);
}

/* The value of header `name` in `line`, or NULL; *vlen gets its length. */
static const char *transport_header_value(const char *line, size_t len, const char *name,
					  size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	*vlen = len - n - 1;
	return line + n + 1;
}

static size_t transport_header_cb(char *line, size_t size, size_t n, void *ud)
{
	struct transport *t = ud;
	size_t len = size * n, vlen;
	const char *v;

	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after 100-continue or a redirect) starts over */
		t->retry_after_s = t->retry_after_ms_s = -1;
		t->res->got_response = true;
	} else if ((v = transport_header_value(line, len, "retry-after", &vlen)) != NULL) {
		t->retry_after_s = retryafter_parse(v, vlen, false, time(NULL));
	} else if ((v = transport_header_value(line, len, "retry-after-ms", &vlen)) != NULL) {
		t->retry_after_ms_s = retryafter_parse(v, vlen, true, 0);
	}
	return len;
}

static size_t transport_write_cb(char *data, size_t size, size_t n, void *ud)
{
	struct transport *t = ud;
	long status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	t->res->status = status;
	if (t->hooks->on_body(t->hooks->ctx, status, data, size * n) != IM_OK) {
		t->res->aborted = true;
		return 0;
	}
	return size * n;
}

static void transport_setup(struct transport *t, const struct transport_request *req)
{
	CURL *e = t->easy;

	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	/* Chat answers arrive as small events; a small receive buffer keeps
	 * thousands of open streams cheap (libcurl's default is 16 KiB). */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, req->stream ? TRANSPORT_STREAM_BUFFER : TRANSPORT_BUFFER);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, TRANSPORT_UPLOAD_BUFFER);
	curl_easy_setopt(e, CURLOPT_SHARE, transport_share);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, transport_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, transport_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->res->error);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "immortal/" PACKAGE_VERSION);
}

/* True once the whole request is sent and the final answer has begun:
 * from then on libcurl reads the request body no more (it sends one again
 * only on a kept connection that died before any answer, or after a 417
 * to an Expect: 100-continue). */
static bool transport_answering(struct transport *t)
{
	long status = 0;
	curl_off_t sent = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
	return status >= 200 && status != 417 && sent >= 0 && (size_t)sent >= t->body_len;
}

/* Runs the transfer until it ends or a hook aborts it. */
static void transport_loop(struct transport *t)
{
	struct transport_hooks *h = t->hooks;
	bool fd_ready = false, answering = false;
	int64_t trim_ms = 0;
	int running = 1;

	for (;;) {
		curl_multi_perform(t->multi, &running);
		if (running == 0)
			break;
		if (!answering && transport_answering(t)) {
			answering = true;
			if (h->on_sent != NULL)
				h->on_sent(h->ctx);
		}
		/* What comes of a stream is mostly waiting: sending the request
		 * went deepest, beginning the client's answer nearly as deep;
		 * their stack pages go back, again every second. A whole answer
		 * ends soon: its worker keeps them for the next request rather
		 * than paying a system call and the faults to touch them again. */
		if (answering && t->stream && clock_ms() >= trim_ms) {
			stacktrim_release();
			trim_ms = clock_ms() + TRANSPORT_TRIM_MS;
		}
		long wait = h->on_tick(h->ctx, fd_ready, &h->watch_fd);
		if (wait < 0) {
			t->res->aborted = true;
			break;
		}
		if (wait > TRANSPORT_MAX_SLEEP_MS)
			wait = TRANSPORT_MAX_SLEEP_MS;
		struct curl_waitfd wfd = { .fd = h->watch_fd, .events = CURL_WAIT_POLLIN, .revents = 0 };
		curl_multi_poll(t->multi, &wfd, h->watch_fd >= 0 ? 1 : 0, (int)wait, NULL);
		fd_ready = h->watch_fd >= 0 && wfd.revents != 0;
	}
}

enum im_rc transport_post(struct transport *t, const struct transport_request *req,
			  struct transport_hooks *hooks, struct transport_result *res)
{
	CURLMsg *msg;
	int left;

	memset(res, 0, sizeof *res);
	res->retry_after_s = -1;
	t->retry_after_s = t->retry_after_ms_s = -1;
	res->code = CURLE_OK;
	t->hooks = hooks;
	t->res = res;
	t->body_len = req->body_len;
	t->stream = req->stream;
	transport_setup(t, req);
	if (curl_multi_add_handle(t->multi, t->easy) != CURLM_OK)
		return IM_EIO;
	transport_loop(t);
	while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == t->easy)
			res->code = msg->data.result;
	}
	/* retry-after-ms says the same as Retry-After, more precisely */
	res->retry_after_s = t->retry_after_ms_s >= 0 ? t->retry_after_ms_s : t->retry_after_s;
	if (res->status == 0)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &res->status);
	/* Removing an unfinished transfer closes its connection: the upstream
	 * sees the abort at once and stops generating (and billing). */
	curl_multi_remove_handle(t->multi, t->easy);
	t->hooks = NULL;
	t->res = NULL;
	return IM_OK;
}
