/* stream_client.c: the benchmark's load client for chat completions.
 *
 * Holds thousands of concurrent requests on one thread with libcurl's multi
 * interface (curl_multi_socket_action over epoll), and checks every answer:
 * HTTP 200, the exact text "w1 w2 ... wN" (the mock upstream's answer), and
 * for a stream exactly one "data: [DONE]" and no error event. Measures, per
 * request, the time to the first byte of content (a stream: the first event
 * whose delta carries content; otherwise: the first body byte) and the total
 * time. Prints one JSON object on stdout.
 *
 * Two modes:
 *   fixed      --n N [--concurrency C] [--ramp MS]: N requests, at most C in
 *              flight (default N), the first C started evenly over MS ms.
 *   sustained  --duration S --concurrency C [--ramp MS]: C in flight for S
 *              seconds, each finished request replaced at once.
 * Requests rotate over --models (a comma-separated list, sent as "model"),
 * and a share --stream-ratio R of them ask "stream": true. With --abandon A,
 * a share A of the streams leave (close the connection) after a pseudo-random
 * number of content events short of the last: a client gone mid-stream.
 * Those count as "abandoned", neither ok nor failed, unless the answer had
 * already failed before that point.
 *
 * Build: cc -O2 -std=c11 stream_client.c $(pkg-config --cflags --libs libcurl json-c)
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <json.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#define SC_MAX_BODY (1u << 20)   /* a larger answer is a failure, not a crash */
#define SC_MAX_LINE (64u << 10)
#define SC_MAX_TEXT 4096u
#define SC_MAX_MODELS 64
#define SC_MAX_REASONS 32
#define SC_EXAMPLES 5

struct sc_opts {
	const char *url;
	const char *models[SC_MAX_MODELS];
	int nmodels;
	long n;
	long concurrency;
	double ramp_ms;
	double duration_s;
	double stream_ratio;
	double abandon;
	int words;
	long timeout_s;
	const char *label;
};

struct sc_req {
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;             /* the POST body; owned */
	bool stream;
	double t_start, t_first;
	char *buf;              /* SSE: the partial line; otherwise: the whole body */
	size_t len, cap;
	char text[SC_MAX_TEXT]; /* content collected from a stream */
	size_t text_len;
	int dones;
	int events, leave_after;  /* content events so far; leave after this many (0: never) */
	bool error_event, bad_event, overflow, text_overflow, counted_open, left;
	char errbuf[CURL_ERROR_SIZE];
};

struct sc_reason {
	char what[96];
	long count;
};

static struct {
	struct sc_opts o;
	CURLM *multi;
	int ep;
	double timer_at;        /* absolute ms, or <0: no timer */
	char expected[SC_MAX_TEXT];
	long started, finished, ok, failed, abandoned, streams, nonstreams;
	long in_flight, peak_in_flight, open_streams, peak_open_streams;
	double *ttfb, *total;   /* per successful request, ms */
	double *conn, *hdrs;    /* curl's connect and first-byte times, ms */
	long nsamples, samples_cap;
	struct sc_reason reasons[SC_MAX_REASONS];
	int nreasons;
	char examples[SC_EXAMPLES][256];
	int nexamples;
} sc = { .timer_at = -1 };

static double sc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *sc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL) {
		fprintf(stderr, "stream_client: out of memory\n");
		exit(2);
	}
	return q;
}

/* ---- failures ---------------------------------------------------------------- */

static void sc_fail(struct sc_req *r, const char *what, const char *detail)
{
	int i;

	sc.failed++;
	for (i = 0; i < sc.nreasons; i++)
		if (strcmp(sc.reasons[i].what, what) == 0)
			break;
	if (i == sc.nreasons && sc.nreasons < SC_MAX_REASONS) {
		snprintf(sc.reasons[i].what, sizeof sc.reasons[i].what, "%s", what);
		sc.nreasons++;
	}
	if (i < sc.nreasons)
		sc.reasons[i].count++;
	if (sc.nexamples < SC_EXAMPLES)
		snprintf(sc.examples[sc.nexamples++], sizeof sc.examples[0], "%s %s: %s",
			 r->stream ? "stream" : "nonstream", what, detail ? detail : "");
}

/* ---- answers ----------------------------------------------------------------- */

static void sc_text_add(struct sc_req *r, const char *s, size_t n)
{
	if (r->text_len + n >= SC_MAX_TEXT) {
		r->text_overflow = true;
		return;
	}
	memcpy(r->text + r->text_len, s, n);
	r->text_len += n;
	r->text[r->text_len] = '\0';
}

/* One SSE line (without its end of line). */
static void sc_sse_line(struct sc_req *r, char *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n < 5 || strncmp(line, "data:", 5) != 0)
		return;  /* comments, blank lines, other fields */
	char *p = line + 5;
	if (*p == ' ')
		p++;
	if (strcmp(p, "[DONE]") == 0) {
		r->dones++;
		return;
	}
	struct json_object *ev = json_tokener_parse(p), *x, *choices, *delta, *content;
	if (ev == NULL) {
		r->bad_event = true;
		return;
	}
	if (json_object_object_get_ex(ev, "error", &x))
		r->error_event = true;
	if (json_object_object_get_ex(ev, "choices", &choices) &&
	    json_object_is_type(choices, json_type_array) &&
	    json_object_array_length(choices) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(choices, 0), "delta", &delta) &&
	    json_object_object_get_ex(delta, "content", &content) &&
	    json_object_is_type(content, json_type_string)) {
		size_t clen = (size_t)json_object_get_string_len(content);
		if (clen > 0 && r->t_first == 0)
			r->t_first = sc_now();
		if (clen > 0)
			r->events++;
		sc_text_add(r, json_object_get_string(content), clen);
	}
	json_object_put(ev);
}

static size_t sc_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sc_req *r = ud;
	size_t n = size * nmemb;

	if (!r->stream) {
		if (r->t_first == 0 && n > 0)
			r->t_first = sc_now();
		if (r->len + n > SC_MAX_BODY) {
			r->overflow = true;
			return n;
		}
		if (r->len + n + 1 > r->cap) {
			r->cap = (r->len + n + 1) * 2;
			r->buf = sc_xrealloc(r->buf, r->cap);
		}
		memcpy(r->buf + r->len, data, n);
		r->len += n;
		r->buf[r->len] = '\0';
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			if (r->buf == NULL)
				r->buf = sc_xrealloc(NULL, r->cap = 256);
			r->buf[r->len] = '\0';
			sc_sse_line(r, r->buf, r->len);
			r->len = 0;
			if (r->leave_after > 0 && r->events >= r->leave_after && !r->error_event &&
			    !r->bad_event) {
				r->left = true;
				return 0;  /* libcurl aborts the transfer and closes the connection */
			}
			continue;
		}
		if (r->len + 2 > r->cap) {
			if (r->cap >= SC_MAX_LINE) {
				r->overflow = true;
				continue;
			}
			r->cap = r->cap ? r->cap * 2 : 256;
			r->buf = sc_xrealloc(r->buf, r->cap);
		}
		r->buf[r->len++] = data[i];
	}
	return n;
}

/* The non-streamed answer: choices[0].message.content must be the text. */
static bool sc_check_completion(struct sc_req *r, char *detail, size_t dlen)
{
	struct json_object *root = json_tokener_parse(r->buf ? r->buf : ""), *choices, *msg, *content;
	bool good = false;

	if (root == NULL) {
		snprintf(detail, dlen, "not JSON: %.120s", r->buf ? r->buf : "");
		return false;
	}
	if (json_object_object_get_ex(root, "choices", &choices) &&
	    json_object_is_type(choices, json_type_array) &&
	    json_object_array_length(choices) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(choices, 0), "message", &msg) &&
	    json_object_object_get_ex(msg, "content", &content) &&
	    json_object_is_type(content, json_type_string))
		good = strcmp(json_object_get_string(content), sc.expected) == 0;
	if (!good)
		snprintf(detail, dlen, "%.160s", r->buf);
	json_object_put(root);
	return good;
}

static void sc_sample(struct sc_req *r, double ttfb, double total)
{
	curl_off_t conn_us = 0, first_us = 0;

	if (sc.nsamples == sc.samples_cap) {
		sc.samples_cap = sc.samples_cap ? sc.samples_cap * 2 : 4096;
		size_t size = (size_t)sc.samples_cap * sizeof(double);
		sc.ttfb = sc_xrealloc(sc.ttfb, size);
		sc.total = sc_xrealloc(sc.total, size);
		sc.conn = sc_xrealloc(sc.conn, size);
		sc.hdrs = sc_xrealloc(sc.hdrs, size);
	}
	curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &conn_us);
	curl_easy_getinfo(r->easy, CURLINFO_STARTTRANSFER_TIME_T, &first_us);
	sc.ttfb[sc.nsamples] = ttfb;
	sc.total[sc.nsamples] = total;
	sc.conn[sc.nsamples] = (double)conn_us / 1e3;
	sc.hdrs[sc.nsamples] = (double)first_us / 1e3;
	sc.nsamples++;
}

static void sc_judge(struct sc_req *r, CURLcode cc)
{
	double now = sc_now();
	long status = 0;
	char detail[256];

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->left) {
		sc.abandoned++;
		return;
	}
	if (cc != CURLE_OK) {
		char what[96];
		snprintf(what, sizeof what, "curl: %s", curl_easy_strerror(cc));
		sc_fail(r, what, r->errbuf);
		return;
	}
	if (status != 200) {
		char what[32];
		snprintf(what, sizeof what, "http %ld", status);
		snprintf(detail, sizeof detail, "%.200s", r->stream ? "" : (r->buf ? r->buf : ""));
		sc_fail(r, what, detail);
		return;
	}
	if (r->overflow) {
		sc_fail(r, "answer too large", NULL);
		return;
	}
	if (r->stream) {
		if (r->len > 0) {  /* a last line without its end of line */
			r->buf[r->len] = '\0';
			sc_sse_line(r, r->buf, r->len);
			r->len = 0;
		}
		if (r->error_event) {
			sc_fail(r, "error event", r->text);
			return;
		}
		if (r->bad_event) {
			sc_fail(r, "event not JSON", NULL);
			return;
		}
		if (r->dones != 1) {
			snprintf(detail, sizeof detail, "%d [DONE]", r->dones);
			sc_fail(r, r->dones == 0 ? "no [DONE]" : "several [DONE]", detail);
			return;
		}
		if (r->text_overflow || strcmp(r->text, sc.expected) != 0) {
			snprintf(detail, sizeof detail, "got [%.200s]", r->text);
			sc_fail(r, "wrong text", detail);
			return;
		}
	} else if (!sc_check_completion(r, detail, sizeof detail)) {
		sc_fail(r, "wrong completion", detail);
		return;
	}
	sc.ok++;
	sc_sample(r, r->t_first > 0 ? r->t_first - r->t_start : now - r->t_start, now - r->t_start);
}

/* ---- requests ---------------------------------------------------------------- */

static size_t sc_header(char *line, size_t size, size_t n, void *ud)
{
	struct sc_req *r = ud;
	/* the status line of the final answer: the stream counts as open */
	if (!r->counted_open && size * n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		r->counted_open = true;
		if (++sc.open_streams > sc.peak_open_streams)
			sc.peak_open_streams = sc.open_streams;
	}
	return size * n;
}

static void sc_start(void)
{
	struct sc_req *r = calloc(1, sizeof *r);
	long i = sc.started++;
	const char *model = sc.o.models[i % sc.o.nmodels];

	if (r == NULL) {
		fprintf(stderr, "stream_client: out of memory\n");
		exit(2);
	}
	/* a fixed pseudo-random choice, independent of the model rotation */
	uint64_t h = (uint64_t)i + 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	r->stream = (double)(h >> 11) / 9007199254740992.0 < sc.o.stream_ratio;
	/* the low bits, independent of the high ones above: leave or stay, and when */
	if (r->stream && sc.o.words > 1 && (double)(h & 0xffff) / 65536.0 < sc.o.abandon)
		r->leave_after = 1 + (int)((h >> 16) % (uint64_t)(sc.o.words - 1));
	if (r->stream)
		sc.streams++;
	else
		sc.nonstreams++;
	if (asprintf(&r->body, "{\"model\":\"%s\",\"stream\":%s,\"messages\":"
		     "[{\"role\":\"user\",\"content\":\"hi\"}]}", model,
		     r->stream ? "true" : "false") < 0)
		exit(2);
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		fprintf(stderr, "stream_client: curl_easy_init failed\n");
		exit(2);
	}
	r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_URL, sc.o.url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, sc_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, sc_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, sc.o.timeout_s);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT, 10L);
	r->t_start = sc_now();
	CURLMcode mc = curl_multi_add_handle(sc.multi, r->easy);
	if (mc != CURLM_OK) {
		fprintf(stderr, "stream_client: curl_multi_add_handle: %s\n", curl_multi_strerror(mc));
		exit(2);
	}
	if (++sc.in_flight > sc.peak_in_flight)
		sc.peak_in_flight = sc.in_flight;
}

static void sc_finish(struct sc_req *r, CURLcode cc)
{
	sc_judge(r, cc);
	sc.finished++;
	sc.in_flight--;
	if (r->counted_open)
		sc.open_streams--;
	curl_multi_remove_handle(sc.multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r->buf);
	free(r);
}

static void sc_reap(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(sc.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct sc_req *r;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		sc_finish(r, m->data.result);
	}
}

/* ---- the event loop ------------------------------------------------------------ */

static int sc_socket_cb(CURL *e, curl_socket_t s, int what, void *u, void *sockp)
{
	(void)e, (void)u, (void)sockp;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(sc.ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(sc.ep, EPOLL_CTL_MOD, s, &ev) != 0 &&
	    (errno != ENOENT || epoll_ctl(sc.ep, EPOLL_CTL_ADD, s, &ev) != 0))
		fprintf(stderr, "stream_client: epoll_ctl(%d): %s\n", (int)s, strerror(errno));
	return 0;
}

static int sc_timer_cb(CURLM *m, long timeout_ms, void *u)
{
	(void)m, (void)u;
	sc.timer_at = timeout_ms < 0 ? -1 : sc_now() + (double)timeout_ms;
	return 0;
}

/* When the next request is due (ms, absolute), or <0 if none may start now. */
static double sc_next_start(double t0)
{
	bool sustained = sc.o.duration_s > 0;
	long wave = sc.o.concurrency;

	if (sustained ? sc_now() - t0 >= sc.o.duration_s * 1e3 : sc.started >= sc.o.n)
		return -1;
	if (sc.in_flight >= sc.o.concurrency)
		return -1;
	if (sc.started < wave && sc.o.ramp_ms > 0)
		return t0 + sc.o.ramp_ms * (double)sc.started / (double)wave;
	return 0;  /* now */
}

static int sc_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double sc_pct(const double *v, long n, double q)
{
	if (n == 0)
		return 0;
	long k = (long)ceil(q * (double)n) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void sc_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void sc_report(double elapsed_ms)
{
	qsort(sc.ttfb, (size_t)sc.nsamples, sizeof *sc.ttfb, sc_cmp);
	qsort(sc.total, (size_t)sc.nsamples, sizeof *sc.total, sc_cmp);
	qsort(sc.conn, (size_t)sc.nsamples, sizeof *sc.conn, sc_cmp);
	qsort(sc.hdrs, (size_t)sc.nsamples, sizeof *sc.hdrs, sc_cmp);
	printf("{\"label\":");
	sc_json_string(sc.o.label);
	printf(",\"requests\":%ld,\"ok\":%ld,\"failed\":%ld,\"streams\":%ld,\"nonstreams\":%ld,"
	       "\"abandoned\":%ld,\"peak_in_flight\":%ld,\"peak_open\":%ld,\"elapsed_s\":%.3f",
	       sc.finished, sc.ok, sc.failed, sc.streams, sc.nonstreams, sc.abandoned,
	       sc.peak_in_flight, sc.peak_open_streams, elapsed_ms / 1e3);
	const struct { const char *name; double *v; } sets[] = {
		{ "ttfb_ms", sc.ttfb }, { "total_ms", sc.total },
		{ "connect_ms", sc.conn }, { "first_byte_ms", sc.hdrs } };
	for (int i = 0; i < 4; i++)
		printf(",\"%s\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", sets[i].name,
		       sc_pct(sets[i].v, sc.nsamples, 0.50), sc_pct(sets[i].v, sc.nsamples, 0.90),
		       sc_pct(sets[i].v, sc.nsamples, 0.99), sc_pct(sets[i].v, sc.nsamples, 1.0));
	printf(",\"failures\":{");
	for (int i = 0; i < sc.nreasons; i++) {
		printf("%s", i ? "," : "");
		sc_json_string(sc.reasons[i].what);
		printf(":%ld", sc.reasons[i].count);
	}
	printf("},\"examples\":[");
	for (int i = 0; i < sc.nexamples; i++) {
		printf("%s", i ? "," : "");
		sc_json_string(sc.examples[i]);
	}
	printf("]}\n");
}

static void sc_usage(void)
{
	fputs("usage: stream_client --url URL [--models a,b] [--n N] [--concurrency C]\n"
	      "       [--ramp MS] [--duration S] [--stream-ratio R] [--abandon A]\n"
	      "       [--words N] [--timeout S] [--label TEXT]\n", stderr);
	exit(2);
}

static void sc_parse(int argc, char **argv)
{
	static char models[4096] = "ok";
	struct sc_opts *o = &sc.o;

	*o = (struct sc_opts){ .n = 1, .concurrency = 0, .stream_ratio = 1, .words = 5,
			       .timeout_s = 120, .label = "" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			sc_usage();
		i++;
		if (strcmp(a, "--url") == 0) o->url = v;
		else if (strcmp(a, "--models") == 0) snprintf(models, sizeof models, "%s", v);
		else if (strcmp(a, "--n") == 0) o->n = atol(v);
		else if (strcmp(a, "--concurrency") == 0) o->concurrency = atol(v);
		else if (strcmp(a, "--ramp") == 0) o->ramp_ms = atof(v);
		else if (strcmp(a, "--duration") == 0) o->duration_s = atof(v);
		else if (strcmp(a, "--stream-ratio") == 0) o->stream_ratio = atof(v);
		else if (strcmp(a, "--abandon") == 0) o->abandon = atof(v);
		else if (strcmp(a, "--words") == 0) o->words = atoi(v);
		else if (strcmp(a, "--timeout") == 0) o->timeout_s = atol(v);
		else if (strcmp(a, "--label") == 0) o->label = v;
		else sc_usage();
	}
	if (o->url == NULL || o->n < 1 || o->words < 0 || o->stream_ratio < 0 || o->stream_ratio > 1 ||
	    o->abandon < 0 || o->abandon > 1)
		sc_usage();
	if (o->concurrency <= 0)
		o->concurrency = o->duration_s > 0 ? 1 : o->n;
	for (char *save = NULL, *m = strtok_r(models, ",", &save); m && o->nmodels < SC_MAX_MODELS;
	     m = strtok_r(NULL, ",", &save))
		o->models[o->nmodels++] = m;
	if (o->nmodels == 0)
		sc_usage();
	size_t len = 0;
	for (int w = 1; w <= o->words; w++)
		len += (size_t)snprintf(sc.expected + len, sizeof sc.expected - len, "%sw%d",
					w > 1 ? " " : "", w);
}

/* Thousands of streams need thousands of descriptors. */
static void sc_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[512];
	int running = 0;

	sc_parse(argc, argv);
	sc_raise_nofile();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	sc.ep = epoll_create1(EPOLL_CLOEXEC);
	sc.multi = curl_multi_init();
	if (sc.ep < 0 || sc.multi == NULL)
		return 2;
	curl_multi_setopt(sc.multi, CURLMOPT_SOCKETFUNCTION, sc_socket_cb);
	curl_multi_setopt(sc.multi, CURLMOPT_TIMERFUNCTION, sc_timer_cb);
	curl_multi_setopt(sc.multi, CURLMOPT_MAXCONNECTS, sc.o.concurrency + 16);

	double t0 = sc_now();
	for (;;) {
		double due;
		while ((due = sc_next_start(t0)) >= 0 && due <= sc_now())
			sc_start();
		if (sc.in_flight == 0 && due < 0)
			break;
		/* sleep until curl's timer, the next start, or a second at most */
		double now = sc_now(), wake = now + 1000;
		if (sc.timer_at >= 0 && sc.timer_at < wake)
			wake = sc.timer_at;
		if (due > 0 && due < wake)
			wake = due;
		int wait = wake > now ? (int)ceil(wake - now) : 0;
		int n = epoll_wait(sc.ep, evs, (int)(sizeof evs / sizeof evs[0]), wait);
		if (n < 0 && errno != EINTR) {
			perror("stream_client: epoll_wait");
			return 2;
		}
		for (int i = 0; i < n; i++) {
			int flags = 0;
			if (evs[i].events & (EPOLLIN | EPOLLHUP))
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & EPOLLERR)
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(sc.multi, evs[i].data.fd, flags, &running);
		}
		if (sc.timer_at >= 0 && sc_now() >= sc.timer_at) {
			sc.timer_at = -1;
			curl_multi_socket_action(sc.multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		sc_reap();
	}
	sc_report(sc_now() - t0);
	curl_multi_cleanup(sc.multi);
	curl_global_cleanup();
	return 0;
}
