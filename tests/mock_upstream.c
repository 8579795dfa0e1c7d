/*
 * tests/mock_upstream.c: a misbehaving OpenAI-compatible upstream.
 *
 * Plays an LLM provider for the tests, the quick-start demo and the
 * benchmark.  It answers POST .../chat/completions (OpenAI), .../messages
 * (Anthropic) and .../models/M:generateContent (Gemini) and misbehaves on
 * purpose according to the first path segment (see tests/MOCK_UPSTREAM.md),
 * keeps per-OPTS and per-API-key counters and the last request for the tests
 * to inspect, and offers gates so a test can hold a stream at a known point.
 * One fault machine serves every wire format: a format ("dialect") only
 * supplies how each event and body is spelled.
 *
 * libmicrohttpd runs one thread per connection, so every delay is a plain
 * sleep in the connection's own thread; the sleep is a poll() on the
 * client's socket, so a client that hangs up is noticed at once and counted.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <json-c/json.h>
#include <microhttpd.h>

#define MOCK_BODY_MAX (16u * 1024u * 1024u)
#define MOCK_BUCKETS 1024u
#define MOCK_STEP_MS 250L           /* bounds how long a sleep can miss a stop */
#define MOCK_GATE_STEP_MS 50L       /* a parked waiter checks its client this often */
#define MOCK_NUM_MAX 1000000000L    /* keeps option arithmetic far from overflow */
#define MOCK_CHUNKS_MAX 1000000L
#define MOCK_CREATED 1700000000
#define MOCK_STACK_SIZE (256u * 1024u)
#define MOCK_CONN_LIMIT 20000u
#define MOCK_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define MOCK_COMMENT ": OPENROUTER PROCESSING\n\n"
#define MOCK_LOG_MAX 20000u        /* requests /control/log remembers */

/* ---- types ------------------------------------------------------------ */

struct mock_buf {
    char *data;
    size_t len;
    size_t cap;
};

struct mock_opts {
    char *text;              /* owned, cut up copy of OPTS; strings point in */
    long status;             /* 0: off */
    const char *code;
    const char *etype;
    const char *msg;
    const char *retry_after;
    const char *gate;
    const char *fail_until;  /* the failure options apply until this gate opens */
    long fail_first;         /* -1: off */
    long stall;              /* -1: off */
    long cut;                /* -1: off */
    long sse_error_after;    /* -1: off */
    long delay;
    long first_delay;
    long chunks;
    long comments;
    long reasoning;
    bool hang;
    bool nodone;
    bool badevent;
    bool garbage;
    bool or_error;
    bool empty;
    bool tools;
    bool echo;
    bool restart;            /* ignore a prefill: answer from the start */
    bool reject_prefill;     /* 400 for a request ending in an assistant message */
    long repeat;             /* -1: off; else repeat the prefill's last N words */
    const char *require;     /* "vllm" or "deepseek": the prefill flags needed */
    bool blocked;            /* the prompt is refused (content filter) */
    bool overloaded;         /* the provider's "overloaded" status */
    const char *keyfail;     /* "SUFFIX:STATUS[+SUFFIX:STATUS...]" */
    const char *finish;      /* the finish/stop reason, verbatim */
    long cached;             /* prompt tokens read from a cache */
    long cache_write;        /* prompt tokens written to a cache */
    /* upstream lies and SSE framing (see MOCK_UPSTREAM.md) */
    const char *retry_after_ms;
    long errbody;            /* 0: off; bytes of padding in an error body */
    const char *eol;         /* "\n" (default), "\r\n" or "\r" */
    bool crlf;
    bool cr;
    bool nospace;
    bool multiline;
    long split;              /* 0: off; write the stream in pieces this big */
    long bigevent;           /* 0: off; bytes of one tool-call argument */
};

struct mock_counts {
    long requests;
    long completed;
    long aborted;
    long active;
};

struct mock_last {
    char *body;              /* raw request body as received */
    char *authorization;
    char *referer;
    char *title;
    char *path;
    char *headers;           /* JSON object text: every request header */
};

/* Requests of one OPTS string carrying one API key. */
struct mock_apikey {
    struct mock_apikey *next;
    char *key;
    long requests;
};

struct mock_key {
    struct mock_key *next;
    char *name;
    struct mock_counts n;
    struct mock_last *last;
    struct mock_apikey *apikeys;
};

struct mock_gate {
    struct mock_gate *next;
    char *name;
};

/* One model request in arrival order, for /control/log. */
struct mock_logent {
    char *opts;
    char *apikey;            /* NULL: none */
    char *user;              /* the request's user, NULL: none */
    unsigned status;         /* 0 until answered */
};

enum mock_kind { MOCK_KIND_OTHER, MOCK_KIND_CHAT };

enum mock_phase {
    MOCK_PH_COMMENTS,
    MOCK_PH_OR_ERROR,
    MOCK_PH_ROLE,
    MOCK_PH_CONTENT,
    MOCK_PH_FINISH,
    MOCK_PH_USAGE,
    MOCK_PH_DONE,
    MOCK_PH_END
};

/* What producing the next stream event led to. */
enum mock_step {
    MOCK_STEP_DATA,          /* r->out holds an event */
    MOCK_STEP_AGAIN,         /* phase moved on without output */
    MOCK_STEP_END,           /* end the response normally */
    MOCK_STEP_FAIL           /* drop the connection */
};

struct mock_req;

/*
 * How one wire format spells what the fault machine produces.  OpenAI is
 * the built-in spelling (a NULL dialect); the others fill every member.
 * Stream members append one or more events to r->out.
 */
struct mock_dialect {
    const char *comment;     /* a keep-alive event (`comments=N`) */
    enum mock_step (*keepalive)(struct mock_req *r);   /* NULL: send comment */
    const char *badevent;    /* an event whose data is not JSON */
    const char *done;        /* the final event; NULL: none */
    /* Request checks a real provider makes, then the prefill; why or NULL. */
    const char *(*check)(struct mock_req *r);
    json_object *(*error)(const struct mock_req *r, unsigned status,
                          const char *message);
    json_object *(*answer)(const struct mock_req *r);   /* non-stream */
    enum mock_step (*start)(struct mock_req *r);
    enum mock_step (*content)(struct mock_req *r, long i);
    enum mock_step (*finish)(struct mock_req *r);
    enum mock_step (*sse_error)(struct mock_req *r);
    long tool_chunks;        /* stream events a tool call takes */
    long overloaded_status;  /* what `overloaded` answers */
};

struct mock_req {
    atomic_int refs;         /* the connection and the stream response */
    enum mock_kind kind;
    const struct mock_dialect *dialect;   /* NULL: OpenAI */
    struct MHD_Connection *conn;
    int fd;
    char method[8];
    char path[160];          /* for the log line only */
    struct mock_buf body;
    bool too_big;
    bool oom;
    struct mock_opts opts;
    struct mock_key *key;
    unsigned long gen;
    long ordinal;
    char id[48];
    bool accounted;
    const char *outcome;
    unsigned status;
    json_object *req_json;
    json_object *chunk;      /* stream chunk envelope, see mock_jchunk_shell */
    json_object *choice;     /* borrowed from chunk */
    const char *model;
    bool stream;
    bool include_usage;
    char *echo_text;
    enum mock_phase phase;
    long i;                  /* events of this phase sent so far */
    long n_content;          /* content chunks this stream will carry */
    long tok_start;          /* first token to send: what a prefill already holds */
    char *repeat_text;       /* sent as the first content chunk, or NULL */
    bool first_waited;
    bool gate_passed;
    bool bad_sent;
    struct mock_buf out;
    size_t out_off;
    unsigned long serial;
    char *apikey;            /* the request's API key, or NULL */
    char gmodel[128];        /* Gemini: the model named in the path */
    int blk_type;            /* Anthropic: open content block, MOCK_BLK_* */
    int blk_index;           /* Anthropic: index of the open block */
    bool started;            /* Anthropic: message_start sent */
    char why[320];           /* a refusal's text, when it is composed */
    size_t log_slot;         /* its /control/log entry + 1, 0: none */
};

struct mock_args {
    const char *bind;
    long port;
    bool quiet;
};

/* ---- shared state ------------------------------------------------------ */

/* One mutex guards counters, last requests, gates and the serial. */
static pthread_mutex_t mock_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mock_gate_cv;
static struct mock_key *mock_keys[MOCK_BUCKETS];
static struct mock_gate *mock_gates;
static unsigned long mock_generation;   /* bumped by reset, see mock_account */
static unsigned long mock_serial;
static struct mock_logent mock_log[MOCK_LOG_MAX];
static size_t mock_log_len;
static atomic_bool mock_stopping;
static bool mock_quiet;

/* ---- small utilities --------------------------------------------------- */

static long long mock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool mock_buf_add(struct mock_buf *b, const char *s, size_t n)
{
    if (n >= SIZE_MAX / 2 - b->len)
        return false;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return false;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static bool mock_buf_str(struct mock_buf *b, const char *s)
{
    return mock_buf_add(b, s, strlen(s));
}

static char *mock_strdup_or_null(const char *s, bool *ok)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *ok = false;
    return d;
}

static size_t mock_hash(const char *s)
{
    size_t h = 5381;

    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h % MOCK_BUCKETS;
}

static bool mock_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);

    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* ---- options ----------------------------------------------------------- */

enum mock_optkind { MOCK_OPT_FLAG, MOCK_OPT_NUM, MOCK_OPT_STR };

struct mock_optdef {
    const char *name;
    enum mock_optkind kind;
    size_t off;
};

#define MOCK_OPT(n, k, f) { n, k, offsetof(struct mock_opts, f) }

static const struct mock_optdef mock_optdefs[] = {
    MOCK_OPT("status", MOCK_OPT_NUM, status),
    MOCK_OPT("code", MOCK_OPT_STR, code),
    MOCK_OPT("etype", MOCK_OPT_STR, etype),
    MOCK_OPT("msg", MOCK_OPT_STR, msg),
    MOCK_OPT("retry_after", MOCK_OPT_STR, retry_after),
    MOCK_OPT("fail_first", MOCK_OPT_NUM, fail_first),
    MOCK_OPT("hang", MOCK_OPT_FLAG, hang),
    MOCK_OPT("stall", MOCK_OPT_NUM, stall),
    MOCK_OPT("delay", MOCK_OPT_NUM, delay),
    MOCK_OPT("first_delay", MOCK_OPT_NUM, first_delay),
    MOCK_OPT("chunks", MOCK_OPT_NUM, chunks),
    MOCK_OPT("cut", MOCK_OPT_NUM, cut),
    MOCK_OPT("nodone", MOCK_OPT_FLAG, nodone),
    MOCK_OPT("sse_error", MOCK_OPT_NUM, sse_error_after),
    MOCK_OPT("sse_error_after", MOCK_OPT_NUM, sse_error_after),
    MOCK_OPT("badevent", MOCK_OPT_FLAG, badevent),
    MOCK_OPT("garbage", MOCK_OPT_FLAG, garbage),
    MOCK_OPT("or_error", MOCK_OPT_FLAG, or_error),
    MOCK_OPT("comments", MOCK_OPT_NUM, comments),
    MOCK_OPT("empty", MOCK_OPT_FLAG, empty),
    MOCK_OPT("reasoning", MOCK_OPT_NUM, reasoning),
    MOCK_OPT("tools", MOCK_OPT_FLAG, tools),
    MOCK_OPT("gate", MOCK_OPT_STR, gate),
    MOCK_OPT("fail_until", MOCK_OPT_STR, fail_until),
    MOCK_OPT("echo", MOCK_OPT_FLAG, echo),
    MOCK_OPT("restart", MOCK_OPT_FLAG, restart),
    MOCK_OPT("reject_prefill", MOCK_OPT_FLAG, reject_prefill),
    MOCK_OPT("repeat", MOCK_OPT_NUM, repeat),
    MOCK_OPT("require", MOCK_OPT_STR, require),
    MOCK_OPT("blocked", MOCK_OPT_FLAG, blocked),
    MOCK_OPT("overloaded", MOCK_OPT_FLAG, overloaded),
    MOCK_OPT("keyfail", MOCK_OPT_STR, keyfail),
    MOCK_OPT("status_for_key", MOCK_OPT_STR, keyfail),
    MOCK_OPT("finish", MOCK_OPT_STR, finish),
    MOCK_OPT("cached", MOCK_OPT_NUM, cached),
    MOCK_OPT("cache_write", MOCK_OPT_NUM, cache_write),
    MOCK_OPT("retry_after_ms", MOCK_OPT_STR, retry_after_ms),
    MOCK_OPT("errbody", MOCK_OPT_NUM, errbody),
    MOCK_OPT("crlf", MOCK_OPT_FLAG, crlf),
    MOCK_OPT("cr", MOCK_OPT_FLAG, cr),
    MOCK_OPT("nospace", MOCK_OPT_FLAG, nospace),
    MOCK_OPT("multiline", MOCK_OPT_FLAG, multiline),
    MOCK_OPT("split", MOCK_OPT_NUM, split),
    MOCK_OPT("bigevent", MOCK_OPT_NUM, bigevent),
};

/* A bare numeric option (`stall`, `sse_error`) means 0; junk is ignored. */
static void mock_opt_num(long *dst, const char *v)
{
    char *end;

    if (v == NULL || *v == '\0') {
        *dst = 0;
        return;
    }
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0)
        return;
    *dst = n > MOCK_NUM_MAX ? MOCK_NUM_MAX : n;
}

static void mock_opt_apply(struct mock_opts *o, const char *name, const char *v)
{
    for (size_t k = 0; k < sizeof mock_optdefs / sizeof mock_optdefs[0]; k++) {
        const struct mock_optdef *d = &mock_optdefs[k];
        if (strcmp(d->name, name) != 0)
            continue;
        char *field = (char *)o + d->off;
        if (d->kind == MOCK_OPT_FLAG)
            *(bool *)(void *)field = v == NULL || strcmp(v, "0") != 0;
        else if (d->kind == MOCK_OPT_NUM)
            mock_opt_num((long *)(void *)field, v);
        else if (v != NULL && *v != '\0')
            *(const char **)(void *)field = v;
        return;
    }
}

static void mock_opts_defaults(struct mock_opts *o)
{
    memset(o, 0, sizeof *o);
    o->fail_first = -1;
    o->stall = -1;
    o->cut = -1;
    o->sse_error_after = -1;
    o->repeat = -1;
    o->chunks = 5;
}

static bool mock_opts_parse(struct mock_opts *o, const char *opts)
{
    char *save = NULL;

    mock_opts_defaults(o);
    o->text = strdup(opts);
    if (o->text == NULL)
        return false;
    for (char *it = strtok_r(o->text, ",", &save); it != NULL;
         it = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(it, '=');
        if (eq != NULL)
            *eq++ = '\0';
        mock_opt_apply(o, it, eq);
    }
    if (o->status < 100 || o->status > 999)
        o->status = 0;
    if (o->chunks > MOCK_CHUNKS_MAX)
        o->chunks = MOCK_CHUNKS_MAX;
    o->eol = o->crlf ? "\r\n" : o->cr ? "\r" : "\n";
    o->tools |= o->bigevent > 0;
    return true;
}

/*
 * Once fail_first is used up the request must look healthy.  first_delay
 * counts as a failure (a slow first byte is what a first-byte timeout test
 * wants to see only once); delay, comments, gate and the content shapers
 * (chunks, reasoning, tools, echo) stay, they describe a healthy answer.
 */
static void mock_opts_heal(struct mock_opts *o)
{
    o->status = 0;
    o->code = o->etype = o->msg = o->retry_after = o->retry_after_ms = NULL;
    o->errbody = 0;
    o->hang = o->nodone = o->badevent = false;
    o->garbage = o->or_error = o->empty = false;
    o->blocked = o->overloaded = false;
    o->keyfail = NULL;
    o->stall = o->cut = o->sse_error_after = -1;
    o->first_delay = 0;
}

/* ---- counters, last requests, gates ------------------------------------ */

static struct mock_key *mock_key_get_locked(const char *name)
{
    size_t h = mock_hash(name);

    for (struct mock_key *k = mock_keys[h]; k != NULL; k = k->next)
        if (strcmp(k->name, name) == 0)
            return k;
    struct mock_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->name = strdup(name);
    if (k->name == NULL) {
        free(k);
        return NULL;
    }
    k->next = mock_keys[h];
    mock_keys[h] = k;
    return k;
}

static void mock_last_free(struct mock_last *l)
{
    if (l == NULL)
        return;
    free(l->body);
    free(l->authorization);
    free(l->referer);
    free(l->title);
    free(l->path);
    free(l->headers);
    free(l);
}

static void mock_count_request(struct mock_req *r, const char *name)
{
    pthread_mutex_lock(&mock_mu);
    r->key = mock_key_get_locked(name);
    if (r->key != NULL) {
        r->key->n.requests++;
        r->key->n.active++;
        r->ordinal = r->key->n.requests;
    }
    r->gen = mock_generation;
    unsigned long serial = ++mock_serial;
    pthread_mutex_unlock(&mock_mu);
    r->serial = serial;
    snprintf(r->id, sizeof r->id, "chatcmpl-mock-%lu", serial);
}

/*
 * Settle a request's outcome once.  This runs as soon as the outcome is
 * known (final event produced, hang-up seen) rather than only in the
 * completion callback, so a test reading counters right after its client
 * finished does not race the mock.  A reset in between orphans the request.
 */
static void mock_account(struct mock_req *r, bool completed)
{
    if (r->accounted || r->kind != MOCK_KIND_CHAT)
        return;
    r->accounted = true;
    r->outcome = completed ? "completed" : "aborted";
    if (r->key == NULL)
        return;
    pthread_mutex_lock(&mock_mu);
    if (r->gen == mock_generation) {
        r->key->n.active--;
        if (completed)
            r->key->n.completed++;
        else
            r->key->n.aborted++;
    }
    pthread_mutex_unlock(&mock_mu);
}

static const char *mock_header(struct mock_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* OpenRouter's attribution headers; plain Referer is a fallback for curl -e. */
static const char *mock_referer(struct mock_req *r)
{
    const char *v = mock_header(r, "HTTP-Referer");

    return v != NULL ? v : mock_header(r, "Referer");
}

static enum MHD_Result mock_header_add(void *cls, enum MHD_ValueKind kind,
                                       const char *name, const char *value)
{
    json_object *o = cls;
    char lower[128];
    size_t n = 0;

    (void)kind;
    for (; name[n] != '\0' && n + 1 < sizeof lower; n++)
        lower[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
    lower[n] = '\0';
    json_object *v = json_object_new_string(value != NULL ? value : "");
    if (v == NULL || json_object_object_add(o, lower, v) != 0) {
        json_object_put(v);
        return MHD_NO;
    }
    return MHD_YES;
}

/* Every request header as a JSON object text (names in lower case); caller frees. */
static char *mock_headers_text(struct mock_req *r)
{
    json_object *o = json_object_new_object();
    char *text = NULL;

    if (o != NULL && MHD_get_connection_values(r->conn, MHD_HEADER_KIND,
                                               mock_header_add, o) >= 0) {
        const char *s = json_object_to_json_string_ext(o, MOCK_JSON_FLAGS);
        text = s != NULL ? strdup(s) : NULL;
    }
    json_object_put(o);
    return text;
}

/*
 * The API key as each provider carries it: OpenAI `Authorization: Bearer`,
 * Anthropic `x-api-key`, Gemini `x-goog-api-key` or `?key=`.
 */
static const char *mock_apikey_of(struct mock_req *r)
{
    const char *v = mock_header(r, "Authorization");

    if (v != NULL && strncasecmp(v, "Bearer ", 7) == 0)
        return v + 7;
    if ((v = mock_header(r, "x-api-key")) != NULL)
        return v;
    if ((v = mock_header(r, "x-goog-api-key")) != NULL)
        return v;
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "key");
}

static void mock_apikeys_free(struct mock_key *k)
{
    while (k->apikeys != NULL) {
        struct mock_apikey *a = k->apikeys;
        k->apikeys = a->next;
        free(a->key);
        free(a);
    }
}

/* Counts the request under its OPTS string and API key (none: ""). */
static void mock_count_apikey(struct mock_req *r)
{
    const char *key = mock_apikey_of(r);
    bool ok = true;

    r->apikey = mock_strdup_or_null(key, &ok);
    if (r->key == NULL)
        return;
    pthread_mutex_lock(&mock_mu);
    struct mock_apikey *a = r->key->apikeys;
    while (a != NULL && strcmp(a->key, key ? key : "") != 0)
        a = a->next;
    if (a == NULL && (a = calloc(1, sizeof *a)) != NULL) {
        a->key = strdup(key ? key : "");
        if (a->key == NULL) {
            free(a);
            a = NULL;
        } else {
            a->next = r->key->apikeys;
            r->key->apikeys = a;
        }
    }
    if (a != NULL)
        a->requests++;
    pthread_mutex_unlock(&mock_mu);
}

/* Takes the body buffer: the request needs only its parsed form later. */
static void mock_store_last(struct mock_req *r, const char *url)
{
    bool ok = true;
    struct mock_last *l = calloc(1, sizeof *l);

    if (l == NULL || r->key == NULL) {
        free(l);
        return;
    }
    l->authorization = mock_strdup_or_null(mock_header(r, "Authorization"), &ok);
    l->referer = mock_strdup_or_null(mock_referer(r), &ok);
    l->title = mock_strdup_or_null(mock_header(r, "X-Title"), &ok);
    l->path = mock_strdup_or_null(url, &ok);
    l->headers = mock_headers_text(r);
    ok = ok && l->headers != NULL;
    l->body = r->body.data ? r->body.data : mock_strdup_or_null("", &ok);
    r->body = (struct mock_buf){ 0 };
    if (!ok) {
        mock_last_free(l);
        return;
    }
    pthread_mutex_lock(&mock_mu);
    struct mock_last *old = r->key->last;
    r->key->last = l;
    pthread_mutex_unlock(&mock_mu);
    mock_last_free(old);
}

static bool mock_gate_is_open_locked(const char *name)
{
    for (struct mock_gate *g = mock_gates; g != NULL; g = g->next)
        if (strcmp(g->name, name) == 0)
            return true;
    return false;
}

static bool mock_gate_is_open(const char *name)
{
    pthread_mutex_lock(&mock_mu);
    bool open = mock_gate_is_open_locked(name);
    pthread_mutex_unlock(&mock_mu);
    return open;
}

static bool mock_gate_open(const char *name)
{
    bool ok = true;

    pthread_mutex_lock(&mock_mu);
    if (!mock_gate_is_open_locked(name)) {
        struct mock_gate *g = calloc(1, sizeof *g);
        if (g != NULL)
            g->name = strdup(name);
        if (g == NULL || g->name == NULL) {
            free(g);
            ok = false;
        } else {
            g->next = mock_gates;
            mock_gates = g;
        }
    }
    pthread_cond_broadcast(&mock_gate_cv);
    pthread_mutex_unlock(&mock_mu);
    return ok;
}

static void mock_gates_free_locked(void)
{
    while (mock_gates != NULL) {
        struct mock_gate *g = mock_gates;
        mock_gates = g->next;
        free(g->name);
        free(g);
    }
}

static void mock_log_free_locked(void)
{
    for (size_t k = 0; k < mock_log_len; k++) {
        free(mock_log[k].opts);
        free(mock_log[k].apikey);
        free(mock_log[k].user);
    }
    mock_log_len = 0;
}

/* Who asks, as a sticky strategy sees it: OpenAI's `user`, Anthropic's metadata.user_id. */
static const char *mock_request_user(json_object *req)
{
    json_object *v, *meta;

    if (json_object_object_get_ex(req, "user", &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_object_get_ex(req, "metadata", &meta) &&
        json_object_object_get_ex(meta, "user_id", &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* Appends the request to /control/log (silently full at MOCK_LOG_MAX). */
static void mock_log_request(struct mock_req *r)
{
    bool ok = true;
    struct mock_logent e = {
        .opts = mock_strdup_or_null(r->key ? r->key->name : "", &ok),
        .apikey = mock_strdup_or_null(r->apikey, &ok),
        .user = mock_strdup_or_null(mock_request_user(r->req_json), &ok),
    };

    pthread_mutex_lock(&mock_mu);
    if (ok && r->gen == mock_generation && mock_log_len < MOCK_LOG_MAX) {
        mock_log[mock_log_len++] = e;
        r->log_slot = mock_log_len;
        e = (struct mock_logent){ 0 };
    }
    pthread_mutex_unlock(&mock_mu);
    free(e.opts);
    free(e.apikey);
    free(e.user);
}

static void mock_log_status(struct mock_req *r, unsigned status)
{
    if (r->log_slot == 0)
        return;
    pthread_mutex_lock(&mock_mu);
    if (r->gen == mock_generation && r->log_slot <= mock_log_len)
        mock_log[r->log_slot - 1].status = status;
    pthread_mutex_unlock(&mock_mu);
}

static void mock_reset(void)
{
    pthread_mutex_lock(&mock_mu);
    mock_generation++;
    mock_log_free_locked();
    for (size_t h = 0; h < MOCK_BUCKETS; h++)
        for (struct mock_key *k = mock_keys[h]; k != NULL; k = k->next) {
            k->n = (struct mock_counts){ 0 };
            mock_last_free(k->last);
            k->last = NULL;
            mock_apikeys_free(k);
        }
    mock_gates_free_locked();
    pthread_mutex_unlock(&mock_mu);
}

/* Keys stay allocated until exit: live requests point at them. */
static void mock_state_free(void)
{
    pthread_mutex_lock(&mock_mu);
    for (size_t h = 0; h < MOCK_BUCKETS; h++)
        while (mock_keys[h] != NULL) {
            struct mock_key *k = mock_keys[h];
            mock_keys[h] = k->next;
            mock_last_free(k->last);
            mock_apikeys_free(k);
            free(k->name);
            free(k);
        }
    mock_gates_free_locked();
    mock_log_free_locked();
    pthread_mutex_unlock(&mock_mu);
}

/* ---- waiting ----------------------------------------------------------- */

/* POLLRDHUP fires on the peer's FIN even while its data sits unread. */
static bool mock_poll_gone(int fd, long ms)
{
    struct pollfd p = { .fd = fd, .events = POLLRDHUP, .revents = 0 };
    int n = poll(&p, 1, (int)ms);

    if (n < 0)
        return errno != EINTR;
    return n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Sleeps ms (forever if negative); false if the client or the mock left. */
static bool mock_wait(struct mock_req *r, long ms)
{
    long long end = ms < 0 ? -1 : mock_now_ms() + ms;

    if (ms == 0)
        return true;
    for (;;) {
        if (atomic_load(&mock_stopping))
            return false;
        long step = MOCK_STEP_MS;
        if (end >= 0) {
            long long left = end - mock_now_ms();
            if (left <= 0)
                return true;
            if (left < step)
                step = (long)left;
        }
        if (mock_poll_gone(r->fd, step))
            return false;
    }
}

static void mock_deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/* Timed waits so a client that leaves while parked is still noticed. */
static bool mock_gate_wait(struct mock_req *r, const char *name)
{
    bool ok = true;

    pthread_mutex_lock(&mock_mu);
    while (ok && !mock_gate_is_open_locked(name)) {
        struct timespec ts;
        mock_deadline(&ts, MOCK_GATE_STEP_MS);
        pthread_cond_timedwait(&mock_gate_cv, &mock_mu, &ts);
        pthread_mutex_unlock(&mock_mu);
        ok = !atomic_load(&mock_stopping) && !mock_poll_gone(r->fd, 0);
        pthread_mutex_lock(&mock_mu);
    }
    pthread_mutex_unlock(&mock_mu);
    return ok;
}

/* ---- JSON building ----------------------------------------------------- */

/* json-c signals allocation failure with NULL; never store a NULL value. */
static bool mock_jset(json_object *o, const char *k, json_object *v)
{
    if (o == NULL || v == NULL) {
        json_object_put(v);
        return false;
    }
    if (json_object_object_add(o, k, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

static bool mock_jpush(json_object *a, json_object *v)
{
    if (a == NULL || v == NULL || json_object_array_add(a, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/* A NULL string becomes JSON null, which json-c spells as a NULL object. */
static bool mock_jset_str_or_null(json_object *o, const char *k, const char *v)
{
    if (v == NULL)
        return o != NULL && json_object_object_add(o, k, NULL) == 0;
    return mock_jset(o, k, json_object_new_string(v));
}

static json_object *mock_jcheck(json_object *o, bool ok)
{
    if (ok)
        return o;
    json_object_put(o);
    return NULL;
}

/* The value if it is a JSON string, else "": request members may be anything. */
static const char *mock_jstr(json_object *o)
{
    return json_object_is_type(o, json_type_string) ? json_object_get_string(o) : "";
}

static json_object *mock_jerror(const char *message, const char *type,
                                const char *code)
{
    json_object *o = json_object_new_object();
    json_object *e = json_object_new_object();
    bool ok = mock_jset(e, "message", json_object_new_string(message)) &&
              mock_jset(e, "type", json_object_new_string(type)) &&
              mock_jset(e, "code", json_object_new_string(code));

    if (!ok) {
        json_object_put(e);
        e = NULL;
    }
    return mock_jcheck(o, mock_jset(o, "error", e));
}

/* The provider-side errors carry a numeric code, in two key orders. */
static json_object *mock_jerror_num(const char *message, bool code_first)
{
    json_object *o = json_object_new_object();
    json_object *e = json_object_new_object();
    bool ok = code_first
        ? mock_jset(e, "code", json_object_new_int(502)) &&
          mock_jset(e, "message", json_object_new_string(message))
        : mock_jset(e, "message", json_object_new_string(message)) &&
          mock_jset(e, "code", json_object_new_int(502));

    if (!ok) {
        json_object_put(e);
        e = NULL;
    }
    return mock_jcheck(o, mock_jset(o, "error", e));
}

static json_object *mock_jor_error(void)
{
    return mock_jerror_num("provider returned error", true);
}

static json_object *mock_jhead(const struct mock_req *r, const char *object)
{
    json_object *o = json_object_new_object();
    bool ok = mock_jset(o, "id", json_object_new_string(r->id)) &&
              mock_jset(o, "object", json_object_new_string(object)) &&
              mock_jset(o, "created", json_object_new_int64(MOCK_CREATED)) &&
              mock_jset(o, "model", json_object_new_string(r->model));

    return mock_jcheck(o, ok);
}

/* Prompt tokens in every format: 3 fresh ones plus the cached ones. */
static long mock_prompt_tokens(const struct mock_req *r)
{
    return 3 + r->opts.cached + r->opts.cache_write;
}

static json_object *mock_jcached(long cached)
{
    json_object *d = json_object_new_object();

    return mock_jcheck(d, mock_jset(d, "cached_tokens", json_object_new_int64(cached)));
}

static json_object *mock_jusage(const struct mock_req *r, long n)
{
    json_object *u = json_object_new_object();
    long p = mock_prompt_tokens(r);
    bool ok = mock_jset(u, "prompt_tokens", json_object_new_int64(p)) &&
              mock_jset(u, "completion_tokens", json_object_new_int64(n)) &&
              mock_jset(u, "total_tokens", json_object_new_int64(n + p)) &&
              (r->opts.cached == 0 ||
               mock_jset(u, "prompt_tokens_details", mock_jcached(r->opts.cached)));

    return mock_jcheck(u, ok);
}

/*
 * The chunk envelope, built once per stream and refilled per event: with
 * thousands of streams, per-event allocations are what the mock pays most.
 */
static bool mock_jchunk_shell(struct mock_req *r)
{
    json_object *o = mock_jhead(r, "chat.completion.chunk");
    json_object *choices = json_object_new_array();
    json_object *c = json_object_new_object();
    bool ok = mock_jset(c, "index", json_object_new_int(0)) &&
              json_object_object_add(c, "delta", NULL) == 0 &&
              json_object_object_add(c, "finish_reason", NULL) == 0;

    if (!ok) {
        json_object_put(c);
        c = NULL;
    }
    if (!mock_jpush(choices, c)) {
        json_object_put(choices);
        choices = NULL;
    }
    if (!mock_jset(o, "choices", choices)) {
        json_object_put(o);
        return false;
    }
    r->chunk = o;
    r->choice = c;
    return true;
}

static const char *mock_finish_reason(const struct mock_req *r)
{
    if (r->opts.finish != NULL)
        return r->opts.finish;
    if (r->opts.blocked)
        return "content_filter";
    return r->opts.tools ? "tool_calls" : "stop";
}

/* Token i of the default answer: "w1", " w2", ... */
static void mock_token(long i, char *buf, size_t size)
{
    snprintf(buf, size, i == 0 ? "w%ld" : " w%ld", i + 1);
}

/* The full tool call, or one of its three streamed fragments (part 0-2). */
/* The bigevent argument tail: a string value of at least `big` bytes that
 * mixes multi-byte characters and characters JSON escapes. Caller frees. */
static char *mock_big_tail(long big)
{
    static const char unit[] = "x\xc3\xa9\xf0\x9f\x98\x80\"\\";
    size_t n = (size_t)(big + (long)sizeof unit - 2) / (sizeof unit - 1);
    char *t = malloc(n * (sizeof unit - 1) + 4);   /* quote, text, quote, brace, NUL */

    if (t == NULL)
        return NULL;
    t[0] = '"';
    for (size_t i = 0; i < n; i++)
        memcpy(t + 1 + i * (sizeof unit - 1), unit, sizeof unit - 1);
    strcpy(t + 1 + n * (sizeof unit - 1), "\"}");
    return t;
}

static json_object *mock_jtool_call(int part, long big)
{
    static const char *const args[] = { "", "{\"city\":", "\"Paris\"}" };
    char *tail = big > 0 ? mock_big_tail(big) : NULL;
    char *all = tail ? malloc(strlen(tail) + 16) : NULL;

    if (all != NULL)
        sprintf(all, "{\"city\":%s", tail);
    json_object *call = json_object_new_object();
    json_object *fn = json_object_new_object();
    bool whole = part < 0;
    bool ok = (whole || mock_jset(call, "index", json_object_new_int(0)));

    if (ok && part <= 0)
        ok = mock_jset(call, "id", json_object_new_string("call_mock_1")) &&
             mock_jset(call, "type", json_object_new_string("function")) &&
             mock_jset(fn, "name", json_object_new_string("get_weather"));
    if (ok && big > 0 && all == NULL)
        ok = false;
    else if (ok && big > 0)
        ok = mock_jset(fn, "arguments", json_object_new_string(
                 part < 0 ? all : part == 2 ? tail : args[part]));
    else if (ok)
        ok = mock_jset(fn, "arguments", json_object_new_string(
                 part < 0 ? "{\"city\":\"Paris\"}" : args[part]));
    free(tail);
    free(all);
    if (!ok) {
        json_object_put(fn);
        fn = NULL;
    }
    return mock_jcheck(call, mock_jset(call, "function", fn));
}

static json_object *mock_jtool_calls(int part, long big)
{
    json_object *a = json_object_new_array();

    return mock_jcheck(a, mock_jpush(a, mock_jtool_call(part, big)));
}

/* The stream delta for content chunk i. */
static json_object *mock_jdelta(const struct mock_req *r, long i)
{
    json_object *d = json_object_new_object();
    char tok[32];

    if (r->opts.tools)
        return mock_jcheck(d, mock_jset(d, "tool_calls",
                                        mock_jtool_calls((int)i, r->opts.bigevent)));
    if (r->opts.echo)
        return mock_jcheck(d, mock_jset(d, "content",
                                        json_object_new_string(r->echo_text)));
    if (r->repeat_text != NULL) {
        if (i == 0)
            return mock_jcheck(d, mock_jset(d, "content",
                                            json_object_new_string(r->repeat_text)));
        i--;
    }
    i += r->tok_start;
    mock_token(i, tok, sizeof tok);
    return mock_jcheck(d, mock_jset(d, i < r->opts.reasoning
                                        ? "reasoning_content" : "content",
                                    json_object_new_string(tok)));
}

/* The echo content: the request as the mock received it. */
static char *mock_echo_text(struct mock_req *r)
{
    json_object *o = json_object_new_object();
    bool ok = mock_jset(o, "body", json_object_get(r->req_json)) &&
              mock_jset_str_or_null(o, "authorization",
                                    mock_header(r, "Authorization")) &&
              mock_jset_str_or_null(o, "referer", mock_referer(r)) &&
              mock_jset_str_or_null(o, "title", mock_header(r, "X-Title"));
    char *text = NULL;

    if (ok && r->dialect != NULL)
        ok = mock_jset_str_or_null(o, "x-api-key", mock_header(r, "x-api-key")) &&
             mock_jset_str_or_null(o, "anthropic-version",
                                   mock_header(r, "anthropic-version")) &&
             mock_jset_str_or_null(o, "x-goog-api-key",
                                   mock_header(r, "x-goog-api-key"));

    if (ok) {
        const char *s = json_object_to_json_string_ext(o, MOCK_JSON_FLAGS);
        text = s != NULL ? strdup(s) : NULL;
    }
    json_object_put(o);
    return text;
}

/* Non-stream: the text of all tokens from..to (exclusive). */
static bool mock_tokens_text(long from, long to, struct mock_buf *b)
{
    char tok[32];

    if (!mock_buf_str(b, ""))
        return false;
    for (long i = from; i < to; i++) {
        mock_token(i, tok, sizeof tok);
        if (!mock_buf_str(b, tok))
            return false;
    }
    return true;
}

static bool mock_jmessage_text(const struct mock_req *r, json_object *m)
{
    struct mock_buf content = { 0 }, reasoning = { 0 };
    long n = r->opts.empty ? 0 : r->opts.chunks;
    long k = r->opts.reasoning < n ? r->opts.reasoning : n;
    bool ok;

    if (r->opts.echo && !r->opts.empty)
        return mock_jset(m, "content", json_object_new_string(r->echo_text));
    ok = mock_tokens_text(k, n, &content) && mock_tokens_text(0, k, &reasoning) &&
         mock_jset(m, "content", json_object_new_string(content.data));
    if (ok && k > 0)
        ok = mock_jset(m, "reasoning_content",
                       json_object_new_string(reasoning.data));
    free(content.data);
    free(reasoning.data);
    return ok;
}

static json_object *mock_jmessage(const struct mock_req *r)
{
    json_object *m = json_object_new_object();
    bool ok = mock_jset(m, "role", json_object_new_string("assistant"));

    if (ok && r->opts.tools && !r->opts.empty)
        ok = json_object_object_add(m, "content", NULL) == 0 &&
             mock_jset(m, "tool_calls", mock_jtool_calls(-1, r->opts.bigevent));
    else if (ok)
        ok = mock_jmessage_text(r, m);
    return mock_jcheck(m, ok);
}

static long mock_completion_tokens(const struct mock_req *r)
{
    if (r->opts.empty)
        return 0;
    if (r->opts.tools)
        return 3;
    return r->opts.echo ? 1 : r->opts.chunks;
}

static json_object *mock_jcompletion(const struct mock_req *r)
{
    json_object *o = mock_jhead(r, "chat.completion");
    json_object *choices = json_object_new_array();
    json_object *c = json_object_new_object();
    bool ok = mock_jset(c, "index", json_object_new_int(0)) &&
              mock_jset(c, "message", mock_jmessage(r)) &&
              mock_jset(c, "finish_reason",
                        json_object_new_string(r->opts.empty && !r->opts.blocked &&
                                               !r->opts.finish
                                               ? "stop" : mock_finish_reason(r)));

    if (!ok) {
        json_object_put(c);
        c = NULL;
    }
    if (!mock_jpush(choices, c)) {
        json_object_put(choices);
        choices = NULL;
    }
    ok = mock_jset(o, "choices", choices) &&
         mock_jset(o, "usage", mock_jusage(r, mock_completion_tokens(r)));
    return mock_jcheck(o, ok);
}

/* ---- plain responses --------------------------------------------------- */

static enum MHD_Result mock_queue(struct mock_req *r, unsigned status,
                                  struct MHD_Response *resp, const char *ctype)
{
    if (resp == NULL)
        return MHD_NO;
    bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      ctype) == MHD_YES;
    if (ok && r->opts.retry_after != NULL)
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
                                     r->opts.retry_after) == MHD_YES;
    if (ok && r->opts.retry_after_ms != NULL)
        ok = MHD_add_response_header(resp, "retry-after-ms",
                                     r->opts.retry_after_ms) == MHD_YES;
    enum MHD_Result ret = ok ? MHD_queue_response(r->conn, status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    r->status = status;
    mock_log_status(r, status);
    return ret;
}

/* The request is settled when its answer is handed over, see mock_account. */
static enum MHD_Result mock_reply_text(struct mock_req *r, unsigned status,
                                       const char *ctype, const char *text)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);

    mock_account(r, true);
    return mock_queue(r, status, resp, ctype);
}

/* Takes o; a NULL o (allocation failed) answers a bare 500. */
static enum MHD_Result mock_reply_json(struct mock_req *r, unsigned status,
                                       json_object *o)
{
    const char *s = o ? json_object_to_json_string_ext(o, MOCK_JSON_FLAGS) : NULL;
    enum MHD_Result ret;

    if (s == NULL)
        ret = mock_reply_text(r, 500, "text/plain", "mock: out of memory");
    else
        ret = mock_reply_text(r, status, "application/json", s);
    json_object_put(o);
    return ret;
}

static enum MHD_Result mock_reply_error(struct mock_req *r, unsigned status,
                                        const char *message, const char *code)
{
    if (r->dialect != NULL)
        return mock_reply_json(r, status, r->dialect->error(r, status, message));
    return mock_reply_json(r, status,
                           mock_jerror(message, "invalid_request_error", code));
}

static enum MHD_Result mock_reply_status(struct mock_req *r)
{
    char code[32];
    size_t pad = (size_t)r->opts.errbody;
    char *message = malloc(64 + pad);

    if (message == NULL)
        return mock_reply_json(r, 500, NULL);
    int n = snprintf(message, 64, "mock status %ld", r->opts.status);
    memset(message + n, 'x', pad);    /* errbody: a long error */
    message[(size_t)n + pad] = '\0';
    snprintf(code, sizeof code, "mock_%ld", r->opts.status);
    enum MHD_Result ret;
    if (r->dialect != NULL)
        ret = mock_reply_json(r, (unsigned)r->opts.status,
                              r->dialect->error(r, (unsigned)r->opts.status, message));
    else
        ret = mock_reply_json(r, (unsigned)r->opts.status,
            mock_jerror(r->opts.msg ? r->opts.msg : message, r->opts.etype ? r->opts.etype : "mock_error",
                    r->opts.code ? r->opts.code : code));
    free(message);
    return ret;
}

/* ---- streaming --------------------------------------------------------- */

/* Each event is one callback return, so MHD flushes it on its own. */
static enum mock_step mock_emit_json(struct mock_req *r, json_object *o)
{
    const char *s = o ? json_object_to_json_string_ext(o, MOCK_JSON_FLAGS) : NULL;
    bool ok = s != NULL && mock_buf_str(&r->out, "data: ") &&
              mock_buf_str(&r->out, s) && mock_buf_str(&r->out, "\n\n");

    if (ok)
        return MOCK_STEP_DATA;
    mock_account(r, false);
    return MOCK_STEP_FAIL;
}

/* Takes o. */
static enum mock_step mock_emit(struct mock_req *r, json_object *o)
{
    enum mock_step st = mock_emit_json(r, o);

    json_object_put(o);
    return st;
}

/* Takes delta; finish NULL is a JSON null. */
static enum mock_step mock_emit_chunk(struct mock_req *r, json_object *delta,
                                      const char *finish)
{
    if (r->chunk == NULL && !mock_jchunk_shell(r))
        json_object_put(delta);
    else if (mock_jset(r->choice, "delta", delta) &&
             mock_jset_str_or_null(r->choice, "finish_reason", finish))
        return mock_emit_json(r, r->chunk);
    mock_account(r, false);
    return MOCK_STEP_FAIL;
}

static enum mock_step mock_emit_raw(struct mock_req *r, const char *text)
{
    if (mock_buf_str(&r->out, text))
        return MOCK_STEP_DATA;
    mock_account(r, false);
    return MOCK_STEP_FAIL;
}

/* The event about to be emitted is the last one. */
static void mock_stream_last(struct mock_req *r)
{
    r->phase = MOCK_PH_END;
    mock_account(r, true);
}

static enum mock_step mock_gone(struct mock_req *r)
{
    mock_account(r, false);
    return MOCK_STEP_FAIL;
}

static enum mock_step mock_ph_comments(struct mock_req *r)
{
    if (r->i > 0 && !mock_wait(r, r->opts.delay))
        return mock_gone(r);
    if (r->i < r->opts.comments) {
        r->i++;
        if (r->dialect != NULL && r->dialect->keepalive != NULL)
            return r->dialect->keepalive(r);
        return mock_emit_raw(r, r->dialect ? r->dialect->comment : MOCK_COMMENT);
    }
    r->phase = r->opts.or_error ? MOCK_PH_OR_ERROR : MOCK_PH_ROLE;
    r->i = 0;
    return MOCK_STEP_AGAIN;
}

static enum mock_step mock_ph_or_error(struct mock_req *r)
{
    if (r->i++ == 0)
        return mock_emit_raw(r, MOCK_COMMENT);
    mock_stream_last(r);
    return mock_emit(r, mock_jor_error());
}

static enum mock_step mock_ph_role(struct mock_req *r)
{
    json_object *d;
    bool ok;

    r->phase = MOCK_PH_CONTENT;
    r->i = 0;
    if (r->dialect != NULL)
        return r->dialect->start(r);
    d = json_object_new_object();
    ok = mock_jset(d, "role", json_object_new_string("assistant")) &&
         mock_jset(d, "content", json_object_new_string(""));
    return mock_emit_chunk(r, mock_jcheck(d, ok), NULL);
}

static long mock_min(long a, long b)
{
    return a < b ? a : b;
}

/* Misbehaviour that takes over before content chunk r->i, if any. */
static bool mock_content_break(struct mock_req *r, enum mock_step *st)
{
    const struct mock_opts *o = &r->opts;
    long n = r->n_content;

    if (o->cut >= 0 && r->i >= mock_min(o->cut, n)) {
        mock_account(r, true);  /* deliberate: the mock did what was asked */
        *st = MOCK_STEP_FAIL;
    } else if (o->stall >= 0 && r->i >= mock_min(o->stall, n)) {
        mock_wait(r, -1);
        *st = mock_gone(r);
    } else if (o->sse_error_after >= 0 && r->i >= mock_min(o->sse_error_after, n)) {
        mock_stream_last(r);
        *st = r->dialect ? r->dialect->sse_error(r)
                         : mock_emit(r, mock_jerror_num("mock sse error", false));
    } else if (r->i == 1 && o->gate != NULL && !r->gate_passed) {
        r->gate_passed = true;
        if (mock_gate_wait(r, o->gate))
            return false;
        *st = mock_gone(r);
    } else if (r->i == 1 && o->badevent && !r->bad_sent) {
        r->bad_sent = true;
        *st = mock_emit_raw(r, r->dialect ? r->dialect->badevent
                                          : "data: this is not json\n\n");
    } else {
        return false;
    }
    return true;
}

static enum mock_step mock_ph_content(struct mock_req *r)
{
    enum mock_step st;

    if (!r->first_waited) {
        r->first_waited = true;
        if (!mock_wait(r, r->opts.first_delay))
            return mock_gone(r);
    }
    if (mock_content_break(r, &st))
        return st;
    if (r->i >= r->n_content) {
        r->phase = MOCK_PH_FINISH;
        return MOCK_STEP_AGAIN;
    }
    if (r->i > 0 && !mock_wait(r, r->opts.delay))
        return mock_gone(r);
    if (r->dialect != NULL)
        return r->dialect->content(r, r->i++);
    json_object *d = mock_jdelta(r, r->i++);
    return mock_emit_chunk(r, d, NULL);
}

static enum mock_step mock_ph_finish(struct mock_req *r)
{
    if (r->dialect != NULL)
        return r->dialect->finish(r);
    json_object *d = json_object_new_object();

    r->phase = r->include_usage ? MOCK_PH_USAGE : MOCK_PH_DONE;
    if (r->phase == MOCK_PH_DONE && r->opts.nodone)
        mock_stream_last(r);
    return mock_emit_chunk(r, d, mock_finish_reason(r));
}

static enum mock_step mock_ph_usage(struct mock_req *r)
{
    json_object *o = mock_jhead(r, "chat.completion.chunk");
    bool ok = mock_jset(o, "choices", json_object_new_array()) &&
              mock_jset(o, "usage", mock_jusage(r, r->n_content));

    r->phase = MOCK_PH_DONE;
    if (r->opts.nodone)
        mock_stream_last(r);
    return mock_emit(r, mock_jcheck(o, ok));
}

/* Length of the first piece of `data` when multiline splits it: up to and
 * including a ',' outside strings, or all of it. */
static size_t mock_frame_piece(const char *data, size_t len)
{
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        if (in_string && data[i] == '\\')
            i++;
        else if (data[i] == '"')
            in_string = !in_string;
        else if (!in_string && data[i] == ',')
            return i + 1;
    }
    return len;
}

/* One data line of the event in the requested framing. */
static bool mock_frame_data(struct mock_req *r, struct mock_buf *b,
                            const char *data, size_t len)
{
    const char *prefix = r->opts.nospace ? "data:" : "data: ";
    bool first = true;

    do {
        size_t n = r->opts.multiline ? mock_frame_piece(data, len) : len;
        if (!first && (!mock_buf_str(b, ": inside an event") ||
                       !mock_buf_str(b, r->opts.eol)))
            return false;
        if (!mock_buf_str(b, prefix) || !mock_buf_add(b, data, n) ||
            !mock_buf_str(b, r->opts.eol))
            return false;
        data += n;
        len -= n;
        first = false;
    } while (len > 0);
    return true;
}

/* Rewrites the event in r->out (LF lines, "data: " fields) in the framing
 * the options ask for: line ends, no space after "data:", data split over
 * several lines with a comment between them. */
static bool mock_frame(struct mock_req *r)
{
    struct mock_buf b = { 0 };
    const char *p = r->out.data, *end = r->out.data + r->out.len;
    bool ok = true;

    while (ok && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n >= 6 && memcmp(p, "data: ", 6) == 0)
            ok = mock_frame_data(r, &b, p + 6, n - 6);
        else
            ok = mock_buf_add(&b, p, n) && mock_buf_str(&b, r->opts.eol);
        p += n + 1;
    }
    free(r->out.data);
    r->out = b;
    return ok;
}

static bool mock_framed(const struct mock_opts *o)
{
    return o->crlf || o->cr || o->nospace || o->multiline;
}

static enum mock_step mock_stream_next(struct mock_req *r)
{
    enum mock_step st = MOCK_STEP_AGAIN;

    r->out.len = 0;
    r->out_off = 0;
    while (st == MOCK_STEP_AGAIN) {
        switch (r->phase) {
        case MOCK_PH_COMMENTS: st = mock_ph_comments(r); break;
        case MOCK_PH_OR_ERROR: st = mock_ph_or_error(r); break;
        case MOCK_PH_ROLE:     st = mock_ph_role(r); break;
        case MOCK_PH_CONTENT:  st = mock_ph_content(r); break;
        case MOCK_PH_FINISH:   st = mock_ph_finish(r); break;
        case MOCK_PH_USAGE:    st = mock_ph_usage(r); break;
        case MOCK_PH_DONE:
            mock_stream_last(r);
            st = r->dialect && !r->dialect->done ? MOCK_STEP_AGAIN
               : mock_emit_raw(r, r->dialect ? r->dialect->done : "data: [DONE]\n\n");
            break;
        case MOCK_PH_END:
        default:
            mock_account(r, true);
            st = MOCK_STEP_END;
            break;
        }
    }
    if (st == MOCK_STEP_DATA && mock_framed(&r->opts) && !mock_frame(r)) {
        mock_account(r, false);
        return MOCK_STEP_FAIL;
    }
    return st;
}

/* An event larger than MHD's buffer (a big echo) goes out over several calls. */
static ssize_t mock_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct mock_req *r = cls;

    (void)pos;
    if (r->out_off >= r->out.len) {
        enum mock_step st = mock_stream_next(r);
        if (st == MOCK_STEP_END)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (st == MOCK_STEP_FAIL)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = r->out.len - r->out_off;
    if (n > max)
        n = max;
    if (r->opts.split > 0 && n > (size_t)r->opts.split)
        n = (size_t)r->opts.split;
    memcpy(buf, r->out.data + r->out_off, n);
    r->out_off += n;
    return (ssize_t)n;
}

static void mock_req_release(struct mock_req *r);

static void mock_stream_free(void *cls)
{
    mock_req_release(cls);
}

static enum MHD_Result mock_reply_stream(struct mock_req *r)
{
    const struct mock_opts *o = &r->opts;
    struct MHD_Response *resp;

    if (o->empty || o->blocked)
        r->n_content = 0;
    else if (o->tools && r->dialect != NULL)
        r->n_content = r->dialect->tool_chunks;
    else
        r->n_content = o->tools ? 3 : o->echo ? 1 : o->chunks - r->tok_start;
    if (r->repeat_text != NULL)
        r->n_content++;
    r->phase = MOCK_PH_COMMENTS;
    atomic_fetch_add(&r->refs, 1);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                             mock_stream_read, r,
                                             mock_stream_free);
    if (resp == NULL) {
        atomic_fetch_sub(&r->refs, 1);
        return mock_reply_text(r, 500, "text/plain", "mock: out of memory");
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-cache") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return mock_queue(r, 200, resp, "text/event-stream");
}

/* ---- chat completions -------------------------------------------------- */

/* Returning MHD_NO without a response drops the connection: no status line. */
static enum MHD_Result mock_hang(struct mock_req *r)
{
    mock_wait(r, -1);
    mock_account(r, false);
    return MHD_NO;
}

static bool mock_parse_body(struct mock_req *r)
{
    json_tokener *tok = json_tokener_new();
    const char *s = r->body.data ? r->body.data : "";
    size_t len = r->body.len;

    if (tok == NULL)
        return false;
    r->req_json = json_tokener_parse_ex(tok, s, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    bool ok = json_tokener_get_error(tok) == json_tokener_success &&
              json_object_is_type(r->req_json, json_type_object);
    while (ok && end < len && strchr(" \t\r\n", s[end]) != NULL)
        end++;
    json_tokener_free(tok);
    return ok && end == len;
}

static void mock_read_request(struct mock_req *r)
{
    json_object *v, *so;

    r->model = "mock";
    if (json_object_object_get_ex(r->req_json, "model", &v) &&
        json_object_is_type(v, json_type_string))
        r->model = json_object_get_string(v);
    r->stream = json_object_object_get_ex(r->req_json, "stream", &v) &&
                json_object_get_boolean(v);
    r->include_usage =
        json_object_object_get_ex(r->req_json, "stream_options", &so) &&
        json_object_object_get_ex(so, "include_usage", &v) &&
        json_object_get_boolean(v);
}

static enum MHD_Result mock_chat_answer(struct mock_req *r)
{
    const struct mock_opts *o = &r->opts;
    bool sse = r->stream && !o->status && !o->garbage;

    if (o->hang)
        return mock_hang(r);
    if (!sse && !mock_wait(r, o->first_delay)) {
        mock_account(r, false);
        return MHD_NO;
    }
    if (o->status)
        return mock_reply_status(r);
    if (o->garbage)
        return mock_reply_text(r, 200, "text/html", "<html>oops</html>");
    if (o->echo && (r->echo_text = mock_echo_text(r)) == NULL)
        return mock_reply_json(r, 500, NULL);
    if (r->stream)
        return mock_reply_stream(r);
    if (r->dialect != NULL)
        return mock_reply_json(r, 200, r->dialect->answer(r));
    if (o->or_error)
        return mock_reply_json(r, 200, mock_jor_error());
    return mock_reply_json(r, 200, mock_jcompletion(r));
}

/* The text of a trailing assistant message (a prefill), or NULL. */
static json_object *mock_prefill_message(struct mock_req *r)
{
    json_object *msgs, *last, *role;

    if (!json_object_object_get_ex(r->req_json, "messages", &msgs) ||
        !json_object_is_type(msgs, json_type_array) ||
        json_object_array_length(msgs) == 0)
        return NULL;
    last = json_object_array_get_idx(msgs, json_object_array_length(msgs) - 1);
    if (!json_object_object_get_ex(last, "role", &role) ||
        strcmp(mock_jstr(role), "assistant") != 0)
        return NULL;
    return last;
}

static bool mock_member_is(json_object *o, const char *key, bool value)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) &&
           json_object_is_type(v, json_type_boolean) &&
           json_object_get_boolean(v) == value;
}

/* Continues a prefill exactly where it ends (the tokens it already holds
 * are skipped), optionally repeating its last words first. */
static void mock_continue(struct mock_req *r, const char *prefill)
{
    struct mock_buf text = { 0 };
    char tok[32];

    for (long k = 0; k < r->opts.chunks && mock_buf_str(&text, ""); k++) {
        if (strcmp(text.data, prefill) == 0) {
            r->tok_start = k;
            break;
        }
        mock_token(k, tok, sizeof tok);
        if (!mock_buf_str(&text, tok))
            break;
        if (k + 1 == r->opts.chunks && strcmp(text.data, prefill) == 0)
            r->tok_start = k + 1;
    }
    free(text.data);
    if (r->opts.repeat > 0 && r->tok_start > 0) {
        const char *p = prefill + strlen(prefill);
        long words = 0;
        while (p > prefill && words < r->opts.repeat) {
            p--;
            if (*p == ' ' && ++words == r->opts.repeat) {
                p++;
                break;
            }
        }
        r->repeat_text = strdup(p);
    }
}

/* Applies a prefill, or returns why it is refused. */
static const char *mock_prefill(struct mock_req *r)
{
    json_object *msg = mock_prefill_message(r), *content;

    if (msg == NULL)
        return NULL;
    if (r->opts.reject_prefill)
        return "mock: this endpoint does not accept a trailing assistant message";
    if (r->opts.require && strcmp(r->opts.require, "vllm") == 0 &&
        !(mock_member_is(r->req_json, "continue_final_message", true) &&
          mock_member_is(r->req_json, "add_generation_prompt", false)))
        return "mock: vllm continuation needs continue_final_message and add_generation_prompt";
    if (r->opts.require && strcmp(r->opts.require, "deepseek") == 0 &&
        !mock_member_is(msg, "prefix", true))
        return "mock: deepseek continuation needs prefix: true";
    if (!r->opts.restart && json_object_object_get_ex(msg, "content", &content) &&
        json_object_is_type(content, json_type_string))
        mock_continue(r, json_object_get_string(content));
    return NULL;
}

/*
 * `keyfail=SUFFIX:STATUS[+SUFFIX:STATUS...]`: a request whose API key ends
 * in SUFFIX fails with STATUS, so one key of a pool can be made to fail.
 */
static long mock_keyfail_status(const char *spec, const char *key)
{
    size_t lk = key ? strlen(key) : 0;

    while (spec != NULL && *spec != '\0' && key != NULL) {
        const char *end = spec + strcspn(spec, "+");
        const char *colon = memchr(spec, ':', (size_t)(end - spec));
        if (colon != NULL) {
            size_t ls = (size_t)(colon - spec);
            long status = strtol(colon + 1, NULL, 10);
            if (ls <= lk && memcmp(key + lk - ls, spec, ls) == 0 &&
                status >= 100 && status <= 999)
                return status;
        }
        spec = *end ? end + 1 : end;
    }
    return 0;
}

/* Failures that are a status under another name. */
static void mock_fault_status(struct mock_req *r)
{
    struct mock_opts *o = &r->opts;
    long st = mock_keyfail_status(o->keyfail, r->apikey);

    if (st != 0)
        o->status = st;
    if (o->overloaded && o->status == 0)
        o->status = r->dialect != NULL ? r->dialect->overloaded_status : 503;
    if (o->blocked && r->dialect == NULL)
        o->empty = true;
}

static enum MHD_Result mock_chat(struct mock_req *r, const char *url)
{
    if (r->too_big)
        return mock_reply_error(r, 413, "mock: request body over 16 MiB",
                                "body_too_large");
    if (r->oom)
        return mock_reply_json(r, 500, NULL);
    bool json_ok = mock_parse_body(r);
    mock_log_request(r);
    mock_store_last(r, url);
    if (!json_ok)
        return mock_reply_error(r, 400, "mock: request body is not a JSON object",
                                "invalid_json");
    if (r->opts.fail_first >= 0 && r->ordinal > r->opts.fail_first)
        mock_opts_heal(&r->opts);
    if (r->opts.fail_until != NULL && mock_gate_is_open(r->opts.fail_until))
        mock_opts_heal(&r->opts);
    mock_read_request(r);
    mock_fault_status(r);
    const char *why = r->dialect ? r->dialect->check(r) : mock_prefill(r);
    if (why != NULL)
        return mock_reply_error(r, 400, why, "prefill_unsupported");
    return mock_chat_answer(r);
}

/* ---- shared by the Anthropic and Gemini dialects ----------------------- */

/* Appends one SSE event (an `event:` line when name is set); takes o. */
static bool mock_sse_event(struct mock_req *r, const char *name, json_object *o,
                           const char *eol)
{
    const char *s = o ? json_object_to_json_string_ext(o, MOCK_JSON_FLAGS) : NULL;
    bool ok = s != NULL &&
              (name == NULL || (mock_buf_str(&r->out, "event: ") &&
                                mock_buf_str(&r->out, name) &&
                                mock_buf_str(&r->out, eol))) &&
              mock_buf_str(&r->out, "data: ") && mock_buf_str(&r->out, s) &&
              mock_buf_str(&r->out, eol) && mock_buf_str(&r->out, eol);

    json_object_put(o);
    return ok;
}

static enum mock_step mock_step_of(struct mock_req *r, bool ok)
{
    if (ok)
        return MOCK_STEP_DATA;
    mock_account(r, false);
    return MOCK_STEP_FAIL;
}

/* Takes v; false (and v freed) when it is not a fresh array element. */
static json_object *mock_jarray1(json_object *v)
{
    json_object *a = json_object_new_array();

    return mock_jcheck(a, mock_jpush(a, v));
}

/* The tool call's arguments as an object: {"city": "Paris"}. */
static json_object *mock_jtool_args(void)
{
    json_object *o = json_object_new_object();

    return mock_jcheck(o, mock_jset(o, "city", json_object_new_string("Paris")));
}

/* What content chunk i of a stream carries, in every format. */
struct mock_piece {
    const char *text;        /* the text, or NULL for a tool call fragment */
    bool thought;            /* reasoning rather than answer text */
    char tok[32];
};

static void mock_piece_of(const struct mock_req *r, long i, struct mock_piece *p)
{
    p->thought = false;
    p->text = NULL;
    if (r->opts.tools)
        return;
    if (r->opts.echo) {
        p->text = r->echo_text;
        return;
    }
    if (r->repeat_text != NULL) {
        if (i == 0) {
            p->text = r->repeat_text;
            return;
        }
        i--;
    }
    i += r->tok_start;
    mock_token(i, p->tok, sizeof p->tok);
    p->text = p->tok;
    p->thought = i < r->opts.reasoning;
}

/* Non-stream: the answer text and the reasoning text before it. */
static bool mock_texts(const struct mock_req *r, struct mock_buf *content,
                       struct mock_buf *reasoning)
{
    long n = r->opts.chunks;
    long k = r->opts.reasoning < n ? r->opts.reasoning : n;

    if (r->opts.echo)
        return mock_buf_str(content, r->echo_text) && mock_buf_str(reasoning, "");
    return mock_tokens_text(k, n, content) && mock_tokens_text(0, k, reasoning);
}

/* Rejects top-level members a strict provider does not know. */
static const char *mock_unknown_member(json_object *req, const char *const *known)
{
    if (!json_object_is_type(req, json_type_object))
        return NULL;
    json_object_object_foreach(req, name, v) {
        (void)v;
        size_t k = 0;
        while (known[k] != NULL && strcmp(known[k], name) != 0)
            k++;
        if (known[k] == NULL)
            return name;
    }
    return NULL;
}

/* The text of a message's content: a string, or text parts/blocks in an array. */
static bool mock_content_text(json_object *content, const char *key,
                              struct mock_buf *out)
{
    json_object *t;

    if (!mock_buf_str(out, ""))
        return false;
    if (json_object_is_type(content, json_type_string))
        return mock_buf_str(out, json_object_get_string(content));
    if (!json_object_is_type(content, json_type_array))
        return true;
    for (size_t k = 0; k < json_object_array_length(content); k++) {
        json_object *part = json_object_array_get_idx(content, k);
        if (json_object_object_get_ex(part, key, &t) &&
            json_object_is_type(t, json_type_string) &&
            !mock_member_is(part, "thought", true) &&
            !mock_buf_str(out, json_object_get_string(t)))
            return false;
    }
    return true;
}

/* A trailing assistant/model turn whose text is `text`: apply it as a prefill. */
static const char *mock_dialect_prefill(struct mock_req *r, const char *text)
{
    if (r->opts.reject_prefill)
        return "mock: this endpoint does not accept a trailing assistant message";
    if (!r->opts.restart)
        mock_continue(r, text);
    return NULL;
}

/* ---- Anthropic Messages (POST .../messages) ------------------------------ */

enum { MOCK_BLK_NONE, MOCK_BLK_THINKING, MOCK_BLK_TEXT, MOCK_BLK_TOOL };

#define MOCK_ANTH_SIGNATURE "bW9jay10aGlua2luZy1zaWduYXR1cmU="
#define MOCK_ANTH_EOL "\n"

static const char *mock_anth_error_type(unsigned status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    case 529: return "overloaded_error";
    default:  return "api_error";
    }
}

static json_object *mock_anth_jerror(const char *type, const char *message)
{
    json_object *o = json_object_new_object();
    json_object *e = json_object_new_object();
    bool ok = mock_jset(e, "type", json_object_new_string(type)) &&
              mock_jset(e, "message", json_object_new_string(message));

    ok = mock_jset(o, "type", json_object_new_string("error")) &&
         mock_jset(o, "error", mock_jcheck(e, ok));
    return mock_jcheck(o, ok);
}

/* `etype=` and `code=context_length_exceeded` shape only the asked-for fault. */
static json_object *mock_anth_error(const struct mock_req *r, unsigned status,
                                    const char *message)
{
    const char *type = mock_anth_error_type(status);
    char rid[48];

    if (status == (unsigned)r->opts.status) {
        if (r->opts.etype != NULL)
            type = r->opts.etype;
        if (r->opts.code != NULL && strcmp(r->opts.code, "context_length_exceeded") == 0)
            message = "prompt is too long: 250000 tokens > 200000 maximum";
    }
    json_object *o = mock_anth_jerror(type, message);
    snprintf(rid, sizeof rid, "req_mock_%lu", r->serial);
    return mock_jcheck(o, mock_jset(o, "request_id", json_object_new_string(rid)));
}

static const char *mock_anth_stop_reason(const struct mock_req *r)
{
    if (r->opts.finish != NULL)
        return r->opts.finish;
    if (r->opts.blocked)
        return "refusal";
    return r->opts.tools && !r->opts.empty ? "tool_use" : "end_turn";
}

/* input_tokens leaves out the cached tokens, as Anthropic counts them. */
static json_object *mock_anth_usage(const struct mock_req *r, long output_tokens)
{
    json_object *u = json_object_new_object();
    bool ok = mock_jset(u, "input_tokens", json_object_new_int64(3)) &&
              mock_jset(u, "cache_creation_input_tokens",
                        json_object_new_int64(r->opts.cache_write)) &&
              mock_jset(u, "cache_read_input_tokens",
                        json_object_new_int64(r->opts.cached)) &&
              mock_jset(u, "output_tokens", json_object_new_int64(output_tokens));

    return mock_jcheck(u, ok);
}

/* The message object; takes content; stop NULL is JSON null (message_start). */
static json_object *mock_anth_message(const struct mock_req *r, json_object *content,
                                      const char *stop, long output_tokens)
{
    json_object *o = json_object_new_object();
    char id[48];

    bool took = false;

    snprintf(id, sizeof id, "msg_mock_%lu", r->serial);
    bool ok = mock_jset(o, "id", json_object_new_string(id)) &&
              mock_jset(o, "type", json_object_new_string("message")) &&
              mock_jset(o, "role", json_object_new_string("assistant")) &&
              mock_jset(o, "model", json_object_new_string(r->model)) &&
              (took = true, mock_jset(o, "content", content)) &&
              mock_jset_str_or_null(o, "stop_reason", stop) &&
              mock_jset_str_or_null(o, "stop_sequence", NULL) &&
              mock_jset(o, "usage", mock_anth_usage(r, output_tokens));

    if (!took)
        json_object_put(content);
    return mock_jcheck(o, ok);
}

/* A content block as content_block_start shows it (empty) or whole. */
static json_object *mock_anth_block(int type, const char *text, bool whole)
{
    json_object *b = json_object_new_object();
    bool ok;

    switch (type) {
    case MOCK_BLK_THINKING:
        ok = mock_jset(b, "type", json_object_new_string("thinking")) &&
             mock_jset(b, "thinking", json_object_new_string(whole ? text : "")) &&
             (!whole || mock_jset(b, "signature",
                                  json_object_new_string(MOCK_ANTH_SIGNATURE)));
        break;
    case MOCK_BLK_TOOL:
        ok = mock_jset(b, "type", json_object_new_string("tool_use")) &&
             mock_jset(b, "id", json_object_new_string("toolu_mock_1")) &&
             mock_jset(b, "name", json_object_new_string("get_weather")) &&
             mock_jset(b, "input", whole ? mock_jtool_args() : json_object_new_object());
        break;
    default:
        ok = mock_jset(b, "type", json_object_new_string("text")) &&
             mock_jset(b, "text", json_object_new_string(whole ? text : ""));
        break;
    }
    return mock_jcheck(b, ok);
}

static json_object *mock_anth_content(const struct mock_req *r)
{
    json_object *a = json_object_new_array();
    struct mock_buf content = { 0 }, reasoning = { 0 };
    bool ok = a != NULL;

    if (r->opts.blocked || r->opts.empty)
        return a;
    if (r->opts.tools)
        return mock_jcheck(a, mock_jpush(a, mock_anth_block(MOCK_BLK_TOOL, NULL, true)));
    ok = ok && mock_texts(r, &content, &reasoning);
    if (ok && reasoning.len > 0)
        ok = mock_jpush(a, mock_anth_block(MOCK_BLK_THINKING, reasoning.data, true));
    if (ok && (content.len > 0 || reasoning.len == 0))
        ok = mock_jpush(a, mock_anth_block(MOCK_BLK_TEXT, content.data, true));
    free(content.data);
    free(reasoning.data);
    return mock_jcheck(a, ok);
}

static long mock_anth_tokens(const struct mock_req *r)
{
    return r->opts.blocked ? 0 : mock_completion_tokens(r);
}

static json_object *mock_anth_answer(const struct mock_req *r)
{
    return mock_anth_message(r, mock_anth_content(r), mock_anth_stop_reason(r),
                             mock_anth_tokens(r));
}

/* {"type": TYPE, "index": N, KEY: V}; takes v. */
static json_object *mock_anth_jindexed(const char *type, int index,
                                       const char *key, json_object *v)
{
    json_object *o = json_object_new_object();
    bool ok = mock_jset(o, "type", json_object_new_string(type)) &&
              mock_jset(o, "index", json_object_new_int(index));

    if (key != NULL)
        ok = ok && mock_jset(o, key, v);
    else
        json_object_put(v);
    return mock_jcheck(o, ok);
}

/* {"type": TYPE, KEY: TEXT}: a delta. */
static json_object *mock_anth_jdelta(const char *type, const char *key,
                                     const char *text)
{
    json_object *d = json_object_new_object();
    bool ok = mock_jset(d, "type", json_object_new_string(type)) &&
              mock_jset(d, key, json_object_new_string(text));

    return mock_jcheck(d, ok);
}

static bool mock_anth_event(struct mock_req *r, const char *type, json_object *o)
{
    return mock_sse_event(r, type, o, MOCK_ANTH_EOL);
}

/* A thinking block ends with its signature, as the API sends it. */
static bool mock_anth_close(struct mock_req *r)
{
    bool ok = true;

    if (r->blk_type == MOCK_BLK_NONE)
        return true;
    if (r->blk_type == MOCK_BLK_THINKING)
        ok = mock_anth_event(r, "content_block_delta", mock_anth_jindexed(
                 "content_block_delta", r->blk_index, "delta",
                 mock_anth_jdelta("signature_delta", "signature", MOCK_ANTH_SIGNATURE)));
    ok = ok && mock_anth_event(r, "content_block_stop", mock_anth_jindexed(
                 "content_block_stop", r->blk_index, NULL, NULL));
    r->blk_type = MOCK_BLK_NONE;
    return ok;
}

/* Makes a block of this type the open one; the first block is followed by a ping. */
static bool mock_anth_open(struct mock_req *r, int type)
{
    if (r->blk_type == type)
        return true;
    if (!mock_anth_close(r))
        return false;
    r->blk_index++;
    r->blk_type = type;
    return mock_anth_event(r, "content_block_start", mock_anth_jindexed(
               "content_block_start", r->blk_index, "content_block",
               mock_anth_block(type, NULL, false))) &&
           (r->blk_index > 0 || mock_buf_str(&r->out, r->dialect->comment));
}

static json_object *mock_anth_jout(long output_tokens)
{
    json_object *u = json_object_new_object();

    return mock_jcheck(u, mock_jset(u, "output_tokens",
                                    json_object_new_int64(output_tokens)));
}

static json_object *mock_anth_jtype(const char *type)
{
    json_object *o = json_object_new_object();

    return mock_jcheck(o, mock_jset(o, "type", json_object_new_string(type)));
}

static bool mock_anth_message_start(struct mock_req *r)
{
    json_object *o = mock_anth_jtype("message_start");
    bool ok = mock_jset(o, "message", mock_anth_message(r, json_object_new_array(),
                                                       NULL, 1));

    r->started = true;
    r->blk_type = MOCK_BLK_NONE;
    r->blk_index = -1;
    return mock_anth_event(r, "message_start", mock_jcheck(o, ok));
}

static enum mock_step mock_anth_start(struct mock_req *r)
{
    if (r->started)
        return MOCK_STEP_AGAIN;
    return mock_step_of(r, mock_anth_message_start(r));
}

/* Anthropic's keep-alive is a ping event, and every stream opens with message_start. */
static enum mock_step mock_anth_keepalive(struct mock_req *r)
{
    bool ok = r->started || mock_anth_message_start(r);

    return mock_step_of(r, ok && mock_buf_str(&r->out, r->dialect->comment));
}

static enum mock_step mock_anth_stream_content(struct mock_req *r, long i)
{
    static const char *const args[] = { "", "{\"city\":", "\"Paris\"}" };
    struct mock_piece p;
    json_object *d;
    int type;

    mock_piece_of(r, i, &p);
    if (p.text == NULL) {
        type = MOCK_BLK_TOOL;
        d = mock_anth_jdelta("input_json_delta", "partial_json", args[i < 3 ? i : 2]);
    } else if (p.thought) {
        type = MOCK_BLK_THINKING;
        d = mock_anth_jdelta("thinking_delta", "thinking", p.text);
    } else {
        type = MOCK_BLK_TEXT;
        d = mock_anth_jdelta("text_delta", "text", p.text);
    }
    if (!mock_anth_open(r, type)) {
        json_object_put(d);
        return mock_step_of(r, false);
    }
    return mock_step_of(r, mock_anth_event(r, "content_block_delta",
        mock_anth_jindexed("content_block_delta", r->blk_index, "delta", d)));
}

static enum mock_step mock_anth_finish(struct mock_req *r)
{
    json_object *o = mock_anth_jtype("message_delta");
    json_object *d = json_object_new_object();
    bool ok = mock_jset(d, "stop_reason",
                        json_object_new_string(mock_anth_stop_reason(r))) &&
              mock_jset_str_or_null(d, "stop_sequence", NULL);

    ok = mock_jset(o, "delta", mock_jcheck(d, ok)) &&
         mock_jset(o, "usage", mock_anth_jout(r->n_content));
    r->phase = MOCK_PH_DONE;
    if (r->opts.nodone)
        mock_stream_last(r);
    ok = mock_anth_close(r) && mock_anth_event(r, "message_delta", mock_jcheck(o, ok));
    return mock_step_of(r, ok);
}

static enum mock_step mock_anth_sse_error(struct mock_req *r)
{
    return mock_step_of(r, mock_anth_event(r, "error", mock_anth_jerror(
                        r->opts.etype ? r->opts.etype : "overloaded_error", "Overloaded")));
}

static const char *const mock_anth_members[] = {
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences",
    "stream", "temperature", "top_k", "top_p", "tools", "tool_choice",
    "thinking", "service_tier", "container", "mcp_servers", NULL
};

/* Whether message m's content holds a block of this type whose KEY is id. */
static bool mock_anth_has_block(json_object *m, const char *type, const char *key,
                                const char *id)
{
    json_object *content, *v;

    if (!json_object_object_get_ex(m, "content", &content) ||
        !json_object_is_type(content, json_type_array))
        return false;
    for (size_t k = 0; k < json_object_array_length(content); k++) {
        json_object *b = json_object_array_get_idx(content, k);
        if (json_object_object_get_ex(b, "type", &v) && strcmp(mock_jstr(v), type) == 0 &&
            json_object_object_get_ex(b, key, &v) && strcmp(mock_jstr(v), id) == 0)
            return true;
    }
    return false;
}

/*
 * Tool turns pair up as the API demands: each tool_use of a turn is answered
 * by a tool_result in the next message, each tool_result answers a tool_use
 * of the message before it.
 */
static const char *mock_anth_check_tool_pairs(struct mock_req *r, json_object *msgs)
{
    size_t n = json_object_array_length(msgs);
    json_object *content, *v;

    for (size_t k = 0; k < n; k++) {
        if (!json_object_object_get_ex(json_object_array_get_idx(msgs, k), "content",
                                       &content) ||
            !json_object_is_type(content, json_type_array))
            continue;
        for (size_t b = 0; b < json_object_array_length(content); b++) {
            json_object *blk = json_object_array_get_idx(content, b);
            const char *type = json_object_object_get_ex(blk, "type", &v) ? mock_jstr(v) : "";
            if (strcmp(type, "tool_use") == 0 && k + 1 < n &&
                !mock_anth_has_block(json_object_array_get_idx(msgs, k + 1), "tool_result",
                    "tool_use_id", json_object_object_get_ex(blk, "id", &v) ? mock_jstr(v) : "")) {
                snprintf(r->why, sizeof r->why, "messages.%zu: `tool_use` ids were found "
                         "without `tool_result` blocks immediately after: %.40s. Each "
                         "`tool_use` block must have a corresponding `tool_result` block "
                         "in the next message.", k + 1, mock_jstr(v));
                return r->why;
            }
            if (strcmp(type, "tool_result") == 0 &&
                (k == 0 || !mock_anth_has_block(json_object_array_get_idx(msgs, k - 1),
                    "tool_use", "id", json_object_object_get_ex(blk, "tool_use_id", &v)
                                      ? mock_jstr(v) : ""))) {
                snprintf(r->why, sizeof r->why, "messages.%zu.content.%zu: unexpected "
                         "`tool_use_id` found in `tool_result` blocks: %.40s. Each "
                         "`tool_result` block must have a corresponding `tool_use` block "
                         "in the previous message.", k, b,
                         json_object_object_get_ex(blk, "tool_use_id", &v) ? mock_jstr(v) : "");
                return r->why;
            }
        }
    }
    return NULL;
}

static const char *mock_anth_check_messages(struct mock_req *r, json_object *msgs)
{
    size_t n = json_object_array_length(msgs);
    json_object *role = NULL, *content = NULL;

    if (n == 0)
        return "messages: at least one message is required";
    for (size_t k = 0; k < n; k++) {
        json_object *m = json_object_array_get_idx(msgs, k);
        const char *s = json_object_object_get_ex(m, "role", &role)
                        ? mock_jstr(role) : "";
        if (strcmp(s, "user") != 0 && strcmp(s, "assistant") != 0) {
            snprintf(r->why, sizeof r->why,
                     "messages.%zu.role: Input should be 'user' or 'assistant'", k);
            return r->why;
        }
    }
    const char *pairs = mock_anth_check_tool_pairs(r, msgs);
    if (pairs != NULL || strcmp(mock_jstr(role), "assistant") != 0)
        return pairs;
    struct mock_buf text = { 0 };
    json_object *last = json_object_array_get_idx(msgs, n - 1);
    json_object_object_get_ex(last, "content", &content);
    const char *res = NULL;
    if (!mock_content_text(content, "text", &text))
        res = "mock: out of memory";
    else if (text.len > 0 && strchr(" \t\r\n", text.data[text.len - 1]) != NULL)
        res = "messages: final assistant content cannot end with trailing whitespace";
    else
        res = mock_dialect_prefill(r, text.data);
    free(text.data);
    return res;
}

/* Extended thinking: a budget of at least 1024 tokens, below max_tokens. */
static const char *mock_anth_check_thinking(json_object *req, long max_tokens)
{
    json_object *th, *type, *budget;

    if (!json_object_object_get_ex(req, "thinking", &th) ||
        !json_object_object_get_ex(th, "type", &type) ||
        strcmp(mock_jstr(type), "enabled") != 0)
        return NULL;
    if (!json_object_object_get_ex(th, "budget_tokens", &budget) ||
        !json_object_is_type(budget, json_type_int))
        return "thinking.enabled.budget_tokens: Field required";
    if (json_object_get_int64(budget) < 1024)
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
    if (json_object_get_int64(budget) >= max_tokens)
        return "`max_tokens` must be greater than `thinking.budget_tokens`";
    return NULL;
}

/* A custom tool needs a name and an input_schema (typed server tools differ). */
static const char *mock_anth_check_tools(struct mock_req *r, json_object *req)
{
    json_object *tools, *v;

    if (!json_object_object_get_ex(req, "tools", &tools))
        return NULL;
    if (!json_object_is_type(tools, json_type_array))
        return "tools: Input should be a valid list";
    for (size_t k = 0; k < json_object_array_length(tools); k++) {
        json_object *t = json_object_array_get_idx(tools, k);
        const char *missing = !json_object_object_get_ex(t, "name", &v) ? "name"
            : json_object_object_get_ex(t, "type", &v) ? NULL
            : !json_object_object_get_ex(t, "input_schema", &v) ? "input_schema" : NULL;
        if (missing != NULL) {
            snprintf(r->why, sizeof r->why, "tools.%zu.%s: Field required", k, missing);
            return r->why;
        }
    }
    return NULL;
}

/* The checks the real API makes before it answers, in its words. */
static const char *mock_anth_check(struct mock_req *r)
{
    json_object *v;
    const char *name;

    r->opts.or_error = false;
    r->opts.require = NULL;
    if (mock_header(r, "anthropic-version") == NULL)
        return "anthropic-version: header is required";
    if ((name = mock_unknown_member(r->req_json, mock_anth_members)) != NULL) {
        snprintf(r->why, sizeof r->why, "%.80s: Extra inputs are not permitted", name);
        return r->why;
    }
    if (!json_object_object_get_ex(r->req_json, "model", &v))
        return "model: Field required";
    if (!json_object_object_get_ex(r->req_json, "max_tokens", &v))
        return "max_tokens: Field required";
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1)
        return "max_tokens: Input should be a valid integer greater than or equal to 1";
    long max_tokens = (long)json_object_get_int64(v);
    const char *why_not = mock_anth_check_thinking(r->req_json, max_tokens);
    if (why_not == NULL)
        why_not = mock_anth_check_tools(r, r->req_json);
    if (why_not != NULL)
        return why_not;
    if (!json_object_object_get_ex(r->req_json, "messages", &v) ||
        !json_object_is_type(v, json_type_array))
        return "messages: Field required";
    return mock_anth_check_messages(r, v);
}

static const struct mock_dialect mock_anthropic = {
    .comment = "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    .keepalive = mock_anth_keepalive,
    .badevent = "event: content_block_delta\ndata: this is not json\n\n",
    .done = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    .check = mock_anth_check,
    .error = mock_anth_error,
    .answer = mock_anth_answer,
    .start = mock_anth_start,
    .content = mock_anth_stream_content,
    .finish = mock_anth_finish,
    .sse_error = mock_anth_sse_error,
    .tool_chunks = 3,
    .overloaded_status = 529,
};

/* ---- Gemini generateContent (POST .../models/M:generateContent) ---------- */

/* Google's SSE separates lines with CRLF. */
#define MOCK_GEM_EOL "\r\n"
#define MOCK_GEM_SIGNATURE "bW9jay10aG91Z2h0LXNpZ25hdHVyZQ=="

static const char *mock_gem_status_name(unsigned status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 500: return "INTERNAL";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default:  return "UNKNOWN";
    }
}

/* google.rpc.RetryInfo: how Gemini says when to come back. */
static json_object *mock_gem_retry_details(const char *seconds)
{
    json_object *d = json_object_new_object();
    char delay[48];

    snprintf(delay, sizeof delay, "%.40ss", seconds);
    bool ok = mock_jset(d, "@type", json_object_new_string(
                            "type.googleapis.com/google.rpc.RetryInfo")) &&
              mock_jset(d, "retryDelay", json_object_new_string(delay));
    return mock_jarray1(mock_jcheck(d, ok));
}

static json_object *mock_gem_jerror(unsigned status, const char *name,
                                    const char *message, const char *retry)
{
    json_object *o = json_object_new_object();
    json_object *e = json_object_new_object();
    bool ok = mock_jset(e, "code", json_object_new_int((int)status)) &&
              mock_jset(e, "message", json_object_new_string(message)) &&
              mock_jset(e, "status", json_object_new_string(name));

    if (ok && retry != NULL)
        ok = mock_jset(e, "details", mock_gem_retry_details(retry));
    return mock_jcheck(o, mock_jset(o, "error", mock_jcheck(e, ok)));
}

static json_object *mock_gem_error(const struct mock_req *r, unsigned status,
                                   const char *message)
{
    const char *name = mock_gem_status_name(status);
    const char *retry = NULL;

    if (status == (unsigned)r->opts.status) {
        if (r->opts.etype != NULL)
            name = r->opts.etype;
        if (r->opts.code != NULL && strcmp(r->opts.code, "context_length_exceeded") == 0)
            message = "The input token count (250000) exceeds the maximum number "
                      "of tokens allowed (131072).";
        retry = r->opts.retry_after;
    }
    return mock_gem_jerror(status, name, message, retry);
}

static json_object *mock_gem_text_part(const char *text, bool thought)
{
    json_object *p = json_object_new_object();
    bool ok = mock_jset(p, "text", json_object_new_string(text)) &&
              (!thought || mock_jset(p, "thought", json_object_new_boolean(1)));

    return mock_jcheck(p, ok);
}

/* Gemini sends a call whole, with the signature its next turn must echo. */
static json_object *mock_gem_call_part(void)
{
    json_object *p = json_object_new_object();
    json_object *fc = json_object_new_object();
    bool ok = mock_jset(fc, "name", json_object_new_string("get_weather")) &&
              mock_jset(fc, "args", mock_jtool_args());

    ok = mock_jset(p, "functionCall", mock_jcheck(fc, ok)) &&
         mock_jset(p, "thoughtSignature", json_object_new_string(MOCK_GEM_SIGNATURE));
    return mock_jcheck(p, ok);
}

/* Thought tokens are counted apart from the answer's, as Gemini does. */
/*
 * Thought tokens are counted apart from the answer's, cached ones inside the
 * prompt's.  n < 0: a stream's middle event, which (as Gemini's do) carries
 * only the prompt's count.
 */
static json_object *mock_gem_usage(const struct mock_req *r, long n)
{
    long k = r->opts.tools || r->opts.echo || n < 0 ? 0 : mock_min(r->opts.reasoning, n);
    long p = mock_prompt_tokens(r);
    json_object *u = json_object_new_object();
    bool ok = mock_jset(u, "promptTokenCount", json_object_new_int64(p)) &&
              (r->opts.blocked || n < 0 ||
               mock_jset(u, "candidatesTokenCount", json_object_new_int64(n - k))) &&
              mock_jset(u, "totalTokenCount", json_object_new_int64(p + (n < 0 ? 0 : n))) &&
              (k == 0 || mock_jset(u, "thoughtsTokenCount", json_object_new_int64(k))) &&
              (r->opts.cached == 0 || mock_jset(u, "cachedContentTokenCount",
                                                json_object_new_int64(r->opts.cached)));

    return mock_jcheck(u, ok);
}

static const char *mock_gem_finish_reason(const struct mock_req *r)
{
    return r->opts.finish != NULL ? r->opts.finish : "STOP";
}

/* One response object; takes parts; finish NULL: none (a stream's middle). */
static json_object *mock_gem_response(const struct mock_req *r, json_object *parts,
                                      const char *finish, json_object *usage)
{
    json_object *o = json_object_new_object();
    json_object *cand = json_object_new_object();
    json_object *content = json_object_new_object();
    char rid[48];
    bool took = false;

    snprintf(rid, sizeof rid, "mock-%lu", r->serial);
    bool ok = mock_jset(content, "parts", parts) &&
              mock_jset(content, "role", json_object_new_string("model"));
    ok = mock_jset(cand, "content", mock_jcheck(content, ok)) &&
         (finish == NULL ||
          mock_jset(cand, "finishReason", json_object_new_string(finish))) &&
         mock_jset(cand, "index", json_object_new_int(0));
    ok = mock_jset(o, "candidates", mock_jarray1(mock_jcheck(cand, ok))) &&
         (took = true, usage == NULL || mock_jset(o, "usageMetadata", usage));
    if (!took)
        json_object_put(usage);
    ok = ok && mock_jset(o, "modelVersion", json_object_new_string(r->model)) &&
         mock_jset(o, "responseId", json_object_new_string(rid));
    return mock_jcheck(o, ok);
}

/* A refused prompt: no candidates, only the feedback. */
static json_object *mock_gem_blocked(const struct mock_req *r)
{
    json_object *o = json_object_new_object();
    json_object *fb = json_object_new_object();
    json_object *rating = json_object_new_object();
    bool ok = mock_jset(rating, "category",
                        json_object_new_string("HARM_CATEGORY_DANGEROUS_CONTENT")) &&
              mock_jset(rating, "probability", json_object_new_string("HIGH")) &&
              mock_jset(rating, "blocked", json_object_new_boolean(1));

    ok = mock_jset(fb, "blockReason", json_object_new_string("SAFETY")) &&
         mock_jset(fb, "safetyRatings", mock_jarray1(mock_jcheck(rating, ok)));
    ok = mock_jset(o, "promptFeedback", mock_jcheck(fb, ok)) &&
         mock_jset(o, "usageMetadata", mock_gem_usage(r, 0)) &&
         mock_jset(o, "modelVersion", json_object_new_string(r->model));
    return mock_jcheck(o, ok);
}

static json_object *mock_gem_parts(const struct mock_req *r)
{
    json_object *a = json_object_new_array();
    struct mock_buf content = { 0 }, reasoning = { 0 };
    bool ok = a != NULL;

    if (r->opts.empty)
        return mock_jcheck(a, mock_jpush(a, mock_gem_text_part("", false)));
    if (r->opts.tools)
        return mock_jcheck(a, mock_jpush(a, mock_gem_call_part()));
    ok = ok && mock_texts(r, &content, &reasoning);
    if (ok && reasoning.len > 0)
        ok = mock_jpush(a, mock_gem_text_part(reasoning.data, true));
    if (ok && (content.len > 0 || reasoning.len == 0))
        ok = mock_jpush(a, mock_gem_text_part(content.data, false));
    free(content.data);
    free(reasoning.data);
    return mock_jcheck(a, ok);
}

/* streamGenerateContent without alt=sse answers a JSON array of responses. */
static json_object *mock_gem_answer(const struct mock_req *r)
{
    json_object *o = r->opts.blocked ? mock_gem_blocked(r)
        : mock_gem_response(r, mock_gem_parts(r), mock_gem_finish_reason(r),
                            mock_gem_usage(r, mock_completion_tokens(r)));

    if (strstr(r->path, ":streamGenerateContent") != NULL)
        return mock_jarray1(o);
    return o;
}

static enum mock_step mock_gem_emit(struct mock_req *r, json_object *o)
{
    return mock_step_of(r, mock_sse_event(r, NULL, o, MOCK_GEM_EOL));
}

/* Gemini has no role event: the first event already carries content. */
static enum mock_step mock_gem_start(struct mock_req *r)
{
    (void)r;
    return MOCK_STEP_AGAIN;
}

static enum mock_step mock_gem_stream_content(struct mock_req *r, long i)
{
    struct mock_piece p;

    mock_piece_of(r, i, &p);
    json_object *part = p.text == NULL ? mock_gem_call_part()
                                       : mock_gem_text_part(p.text, p.thought);
    return mock_gem_emit(r, mock_gem_response(r, mock_jarray1(part), NULL,
                                              mock_gem_usage(r, -1)));
}

/* The last event: an empty text part with finishReason and usage; no [DONE]. */
static enum mock_step mock_gem_finish(struct mock_req *r)
{
    mock_stream_last(r);
    if (r->opts.blocked)
        return mock_gem_emit(r, mock_gem_blocked(r));
    if (r->opts.nodone)
        return MOCK_STEP_AGAIN;
    return mock_gem_emit(r, mock_gem_response(r,
        mock_jarray1(mock_gem_text_part("", false)), mock_gem_finish_reason(r),
        mock_gem_usage(r, r->opts.tools && r->n_content > 0 ? 3 : r->n_content)));
}

static enum mock_step mock_gem_sse_error(struct mock_req *r)
{
    return mock_gem_emit(r, mock_gem_jerror(503, r->opts.etype ? r->opts.etype : "UNAVAILABLE",
        "The model is overloaded. Please try again later.", NULL));
}

static const char *const mock_gem_members[] = {
    "contents", "systemInstruction", "system_instruction", "generationConfig",
    "generation_config", "tools", "toolConfig", "tool_config", "safetySettings",
    "safety_settings", "cachedContent", "cached_content", "labels", NULL
};

static const char *const mock_gem_config_members[] = {
    "temperature", "topP", "topK", "candidateCount", "maxOutputTokens",
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
    "presencePenalty", "frequencyPenalty", "seed", "responseLogprobs", "logprobs",
    "thinkingConfig", "responseModalities", "speechConfig", "mediaResolution",
    "top_p", "top_k", "candidate_count", "max_output_tokens", "stop_sequences",
    "response_mime_type", "response_schema", "thinking_config", NULL
};

/*
 * `require=signature`: every functionCall the request hands back carries the
 * thoughtSignature the mock gave it, as Gemini's thinking models demand.
 */
static const char *mock_gem_check_signatures(struct mock_req *r, json_object *contents)
{
    json_object *parts, *v;

    for (size_t k = 0; k < json_object_array_length(contents); k++) {
        if (!json_object_object_get_ex(json_object_array_get_idx(contents, k), "parts",
                                       &parts) ||
            !json_object_is_type(parts, json_type_array))
            continue;
        for (size_t p = 0; p < json_object_array_length(parts); p++) {
            json_object *part = json_object_array_get_idx(parts, p);
            if (!json_object_object_get_ex(part, "functionCall", &v))
                continue;
            if (json_object_object_get_ex(part, "thoughtSignature", &v) &&
                strcmp(mock_jstr(v), MOCK_GEM_SIGNATURE) == 0)
                continue;
            snprintf(r->why, sizeof r->why, "Function call is missing a "
                     "thought_signature in functionCall parts (contents[%zu].parts[%zu]).",
                     k, p);
            return r->why;
        }
    }
    return NULL;
}

static const char *mock_gem_check_contents(struct mock_req *r, json_object *contents)
{
    size_t n = json_object_array_length(contents);
    json_object *role = NULL, *parts = NULL;
    const char *last_role = "user";

    if (n == 0)
        return "* GenerateContentRequest.contents: contents is not specified";
    for (size_t k = 0; k < n; k++) {
        json_object *c = json_object_array_get_idx(contents, k);
        last_role = json_object_object_get_ex(c, "role", &role)
                    ? mock_jstr(role) : "user";
        if (strcmp(last_role, "user") != 0 && strcmp(last_role, "model") != 0)
            return "Please use a valid role: user, model.";
    }
    if (strcmp(last_role, "model") != 0)
        return NULL;
    struct mock_buf text = { 0 };
    json_object_object_get_ex(json_object_array_get_idx(contents, n - 1), "parts", &parts);
    const char *res = mock_content_text(parts, "text", &text)
                      ? mock_dialect_prefill(r, text.data) : "mock: out of memory";
    free(text.data);
    return res;
}

/* The model comes from the path: .../models/MODEL:generateContent. */
static void mock_gem_model(struct mock_req *r)
{
    const char *m = strstr(r->path, "/models/");
    size_t len = m != NULL ? strcspn(m + 8, ":") : 0;

    snprintf(r->gmodel, sizeof r->gmodel, "%.*s", (int)len, m != NULL ? m + 8 : "");
    r->model = r->gmodel;
}

static const char *mock_gem_check(struct mock_req *r)
{
    const char *name;
    const char *alt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "alt");
    json_object *v;

    bool signatures = r->opts.require && strcmp(r->opts.require, "signature") == 0;

    r->opts.or_error = false;
    r->opts.require = NULL;
    mock_gem_model(r);
    r->stream = strstr(r->path, ":streamGenerateContent") != NULL &&
                alt != NULL && strcmp(alt, "sse") == 0;
    if ((name = mock_unknown_member(r->req_json, mock_gem_members)) != NULL) {
        snprintf(r->why, sizeof r->why,
                 "Invalid JSON payload received. Unknown name \"%.80s\": Cannot find field.",
                 name);
        return r->why;
    }
    if ((json_object_object_get_ex(r->req_json, "generationConfig", &v) ||
         json_object_object_get_ex(r->req_json, "generation_config", &v)) &&
        (name = mock_unknown_member(v, mock_gem_config_members)) != NULL) {
        snprintf(r->why, sizeof r->why, "Invalid JSON payload received. Unknown name "
                 "\"%.80s\" at 'generation_config': Cannot find field.", name);
        return r->why;
    }
    if (!json_object_object_get_ex(r->req_json, "contents", &v) ||
        !json_object_is_type(v, json_type_array))
        return "* GenerateContentRequest.contents: contents is not specified";
    if (signatures && (name = mock_gem_check_signatures(r, v)) != NULL)
        return name;
    return mock_gem_check_contents(r, v);
}

static const struct mock_dialect mock_gemini = {
    .comment = ": mock keep-alive\r\n\r\n",
    .badevent = "data: this is not json\r\n\r\n",
    .done = NULL,
    .check = mock_gem_check,
    .error = mock_gem_error,
    .answer = mock_gem_answer,
    .start = mock_gem_start,
    .content = mock_gem_stream_content,
    .finish = mock_gem_finish,
    .sse_error = mock_gem_sse_error,
    .tool_chunks = 1,
    .overloaded_status = 503,
};

/* ---- embeddings and legacy completions (issue 11) ------------------------ */
/*
 * POST .../embeddings (OpenAI), .../models/M:batchEmbedContents (Gemini) and
 * .../completions (OpenAI's legacy text completions), with the usual fault
 * options. An embedding is deterministic: `dimensions` (default 4) numbers
 * in [0, 1) derived from a hash of the input item's JSON text, so a test can
 * recompute it. Prompt tokens: one per four bytes of input, at least one.
 */

#define MOCK_EMBED_DIMS 4
#define MOCK_EMBED_MAX_DIMS 4096

static uint64_t mock_embed_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static double mock_embed_value(const char *item, long k)
{
    uint64_t h = mock_embed_hash(item) + (uint64_t)k * 7919u;
    h ^= h >> 29;
    return (double)(h % 1000) / 1000.0;
}

static void mock_base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* The vector of `item` (a string's own text, else its JSON), as numbers or
 * as base64 of little-endian float32s. */
static json_object *mock_embed_vector(json_object *item, long dims, bool b64)
{
    const char *s = json_object_is_type(item, json_type_string)
                    ? json_object_get_string(item)
                    : json_object_to_json_string_ext(item, MOCK_JSON_FLAGS);
    json_object *arr = b64 ? NULL : json_object_new_array();
    unsigned char *bytes = b64 ? calloc((size_t)dims, 4) : NULL;
    char *text = b64 ? calloc(((size_t)dims * 4 + 2) / 3 * 4 + 1, 1) : NULL;
    json_object *out = arr;

    for (long k = 0; k < dims && (arr || (bytes && text)); k++) {
        double v = mock_embed_value(s, k);
        if (arr != NULL && !mock_jpush(arr, json_object_new_double(v)))
            return mock_jcheck(arr, false);
        if (arr == NULL) {
            float f = (float)v;
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            for (int b = 0; b < 4; b++)
                bytes[k * 4 + b] = (unsigned char)(u >> (8 * b));
        }
    }
    if (b64 && bytes && text) {
        mock_base64(bytes, (size_t)dims * 4, text);
        out = json_object_new_string(text);
    }
    free(bytes);
    free(text);
    return out;
}

static long mock_embed_tokens(json_object *item)
{
    long len = json_object_is_type(item, json_type_string)
               ? (long)json_object_get_string_len(item)
               : (long)strlen(json_object_to_json_string_ext(item, MOCK_JSON_FLAGS));
    return len > 4 ? (len + 3) / 4 : 1;
}

/* The input items: a string or token list is one item, an array of strings
 * or of token lists several. */
static json_object *mock_embed_items(const struct mock_req *r)
{
    json_object *in, *items = json_object_new_array();

    if (items == NULL || !json_object_object_get_ex(r->req_json, "input", &in))
        return items;
    if (json_object_is_type(in, json_type_array) && json_object_array_length(in) > 0 &&
        !json_object_is_type(json_object_array_get_idx(in, 0), json_type_int)) {
        for (size_t i = 0; i < json_object_array_length(in); i++)
            json_object_array_add(items, json_object_get(json_object_array_get_idx(in, i)));
    } else {
        json_object_array_add(items, json_object_get(in));
    }
    return items;
}

static long mock_embed_dims(const struct mock_req *r)
{
    json_object *v;
    long d = json_object_object_get_ex(r->req_json, "dimensions", &v)
             ? (long)json_object_get_int64(v) : MOCK_EMBED_DIMS;
    return d > 0 && d <= MOCK_EMBED_MAX_DIMS ? d : MOCK_EMBED_DIMS;
}

static const char *mock_embed_check(struct mock_req *r)
{
    json_object *v;

    if (r->stream)
        return "mock: embeddings are not streamed";
    if (!json_object_object_get_ex(r->req_json, "input", &v) ||
        !(json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_array)))
        return "mock: input must be a string or an array";
    if (json_object_object_get_ex(r->req_json, "encoding_format", &v) &&
        strcmp(mock_jstr(v), "float") != 0 && strcmp(mock_jstr(v), "base64") != 0)
        return "mock: encoding_format must be float or base64";
    return NULL;
}

static json_object *mock_oai_error(const struct mock_req *r, unsigned status, const char *message)
{
    char code[32];

    snprintf(code, sizeof code, "mock_%u", status);
    return mock_jerror(r->opts.msg ? r->opts.msg : message,
                       r->opts.etype ? r->opts.etype : "mock_error",
                       r->opts.code ? r->opts.code : code);
}

static json_object *mock_embed_answer(const struct mock_req *r)
{
    json_object *v, *items = mock_embed_items(r);
    json_object *o = json_object_new_object(), *data = json_object_new_array();
    json_object *usage = json_object_new_object();
    bool b64 = json_object_object_get_ex(r->req_json, "encoding_format", &v) &&
               strcmp(mock_jstr(v), "base64") == 0;
    long tokens = 0, dims = mock_embed_dims(r);
    bool ok = items != NULL && data != NULL;

    for (size_t i = 0; ok && i < json_object_array_length(items); i++) {
        json_object *item = json_object_array_get_idx(items, i), *e = json_object_new_object();
        tokens += mock_embed_tokens(item);
        ok = mock_jset(e, "object", json_object_new_string("embedding")) &&
             mock_jset(e, "index", json_object_new_int64((int64_t)i)) &&
             mock_jset(e, "embedding", mock_embed_vector(item, dims, b64));
        ok = mock_jpush(data, mock_jcheck(e, ok)) && ok;
    }
    json_object_put(items);
    ok = ok && mock_jset(usage, "prompt_tokens", json_object_new_int64(tokens)) &&
         mock_jset(usage, "total_tokens", json_object_new_int64(tokens));
    ok = mock_jset(o, "object", json_object_new_string("list")) &&
         mock_jset(o, "data", data) && mock_jset(o, "model", json_object_new_string(r->model)) &&
         mock_jset(o, "usage", mock_jcheck(usage, ok)) && ok;
    return mock_jcheck(o, ok);
}

static enum mock_step mock_never_streams(struct mock_req *r)
{
    return mock_gone(r);
}

static enum mock_step mock_never_streams_at(struct mock_req *r, long i)
{
    (void)i;
    return mock_gone(r);
}

static const struct mock_dialect mock_oai_embed = {
    .comment = MOCK_COMMENT,
    .badevent = "data: this is not json\n\n",
    .done = "data: [DONE]\n\n",
    .check = mock_embed_check,
    .error = mock_oai_error,
    .answer = mock_embed_answer,
    .start = mock_never_streams,
    .content = mock_never_streams_at,
    .finish = mock_never_streams,
    .sse_error = mock_never_streams,
    .overloaded_status = 503,
};

/* Gemini: {"requests": [{"model": "models/M", "content": {"parts":
 * [{"text": T}]}, "outputDimensionality": N}]} -> {"embeddings":
 * [{"values": [...]}]}, no usage (as Gemini). */
static const char *mock_gem_embed_check(struct mock_req *r)
{
    json_object *reqs, *q, *v, *parts, *text;

    if (!json_object_object_get_ex(r->req_json, "requests", &reqs) ||
        !json_object_is_type(reqs, json_type_array) || json_object_array_length(reqs) == 0)
        return "* BatchEmbedContentsRequest.requests: requests is not specified";
    for (size_t i = 0; i < json_object_array_length(reqs); i++) {
        q = json_object_array_get_idx(reqs, i);
        if (!json_object_object_get_ex(q, "model", &v) || strncmp(mock_jstr(v), "models/", 7) != 0)
            return "* BatchEmbedContentsRequest.requests[].model: must be models/NAME";
        if (!json_object_object_get_ex(q, "content", &v) ||
            !json_object_object_get_ex(v, "parts", &parts) ||
            !json_object_is_type(parts, json_type_array) || json_object_array_length(parts) == 0 ||
            !json_object_object_get_ex(json_object_array_get_idx(parts, 0), "text", &text) ||
            !json_object_is_type(text, json_type_string))
            return "* BatchEmbedContentsRequest.requests[].content: parts[0].text is required";
    }
    return NULL;
}

static json_object *mock_gem_embed_answer(const struct mock_req *r)
{
    json_object *reqs, *o = json_object_new_object(), *list = json_object_new_array();
    bool ok = o != NULL && list != NULL;

    json_object_object_get_ex(r->req_json, "requests", &reqs);
    for (size_t i = 0; ok && i < json_object_array_length(reqs); i++) {
        json_object *q = json_object_array_get_idx(reqs, i), *c, *parts, *text, *d;
        json_object_object_get_ex(q, "content", &c);
        json_object_object_get_ex(c, "parts", &parts);
        json_object_object_get_ex(json_object_array_get_idx(parts, 0), "text", &text);
        long dims = json_object_object_get_ex(q, "outputDimensionality", &d)
                    ? (long)json_object_get_int64(d) : MOCK_EMBED_DIMS;
        if (dims <= 0 || dims > MOCK_EMBED_MAX_DIMS)
            dims = MOCK_EMBED_DIMS;
        json_object *e = json_object_new_object();
        ok = mock_jset(e, "values", mock_embed_vector(text, dims, false));
        ok = mock_jpush(list, mock_jcheck(e, ok)) && ok;
    }
    ok = mock_jset(o, "embeddings", list) && ok;
    return mock_jcheck(o, ok);
}

static const struct mock_dialect mock_gem_embed = {
    .comment = ": mock keep-alive\r\n\r\n",
    .badevent = "data: this is not json\r\n\r\n",
    .check = mock_gem_embed_check,
    .error = mock_gem_error,
    .answer = mock_gem_embed_answer,
    .start = mock_never_streams,
    .content = mock_never_streams_at,
    .finish = mock_never_streams,
    .sse_error = mock_never_streams,
    .overloaded_status = 503,
};

/* A prompt ending in the answer's first k tokens (a continuation: the
 * original prompt followed by the text delivered) is continued as a
 * prefill of those tokens would be; `restart`, `repeat` and
 * `reject_prefill` apply. */
static const char *mock_text_continue(struct mock_req *r, const char *prompt)
{
    struct mock_buf text = { 0 };
    size_t plen = strlen(prompt), longest = 0;
    char tok[32];
    bool ok = mock_buf_str(&text, "");

    for (long k = 0; ok && k < r->opts.chunks; k++) {
        mock_token(k, tok, sizeof tok);
        ok = mock_buf_str(&text, tok);
        if (ok && text.len <= plen && memcmp(prompt + plen - text.len, text.data, text.len) == 0)
            longest = text.len;
    }
    free(text.data);
    if (!ok)
        return "mock: out of memory";
    return longest > 0 ? mock_dialect_prefill(r, prompt + plen - longest) : NULL;
}

/* Legacy completions: choices[].text; streamed, one token per event, then a
 * finish event, a usage event when asked for, and [DONE]. */
static const char *mock_text_check(struct mock_req *r)
{
    json_object *v;

    if (!json_object_object_get_ex(r->req_json, "prompt", &v))
        return "mock: prompt is required";
    if (json_object_object_get_ex(r->req_json, "messages", NULL))
        return "mock: messages is not a parameter of completions";
    if (json_object_is_type(v, json_type_string))
        return mock_text_continue(r, json_object_get_string(v));
    return NULL;
}

/* A text_completion object with one choice; text NULL: no choices (usage). */
static json_object *mock_text_object(const struct mock_req *r, const char *text,
                                     const char *finish)
{
    json_object *o = mock_jhead(r, "text_completion"), *choices = json_object_new_array();
    json_object *c = text ? json_object_new_object() : NULL;
    bool ok = choices != NULL;

    if (c != NULL) {
        ok = mock_jset(c, "text", json_object_new_string(text)) &&
             mock_jset(c, "index", json_object_new_int(0)) &&
             json_object_object_add(c, "logprobs", NULL) == 0 &&
             mock_jset_str_or_null(c, "finish_reason", finish) && ok;
        ok = mock_jpush(choices, mock_jcheck(c, ok)) && ok;
    }
    return mock_jcheck(o, mock_jset(o, "choices", choices) && ok);
}

static json_object *mock_text_answer(const struct mock_req *r)
{
    struct mock_buf text = { 0 };
    char tok[32];
    bool ok = mock_buf_str(&text, "");

    for (long k = 0; ok && k < r->opts.chunks; k++) {
        mock_token(k, tok, sizeof tok);
        ok = mock_buf_str(&text, tok);
    }
    json_object *o = ok ? mock_text_object(r, text.data, mock_finish_reason(r)) : NULL;
    free(text.data);
    ok = o != NULL && mock_jset(o, "usage", mock_jusage(r, r->opts.chunks));
    return mock_jcheck(o, ok);
}

static enum mock_step mock_text_start(struct mock_req *r)
{
    (void)r;
    return MOCK_STEP_AGAIN;
}

static enum mock_step mock_text_content(struct mock_req *r, long i)
{
    char tok[32];

    if (r->repeat_text != NULL) {
        if (i == 0)
            return mock_emit(r, mock_text_object(r, r->repeat_text, NULL));
        i--;
    }
    mock_token(i + r->tok_start, tok, sizeof tok);
    return mock_emit(r, mock_text_object(r, tok, NULL));
}

static enum mock_step mock_text_finish(struct mock_req *r)
{
    json_object *o = mock_text_object(r, "", mock_finish_reason(r));

    if (r->include_usage && o != NULL &&
        !mock_jset(o, "usage", mock_jusage(r, r->n_content)))
        o = mock_jcheck(o, false);
    r->phase = MOCK_PH_DONE;
    if (r->opts.nodone)
        mock_stream_last(r);
    return mock_emit(r, o);
}

static enum mock_step mock_text_sse_error(struct mock_req *r)
{
    return mock_emit(r, mock_jerror_num("mock sse error", false));
}

static const struct mock_dialect mock_text = {
    .comment = MOCK_COMMENT,
    .badevent = "data: this is not json\n\n",
    .done = "data: [DONE]\n\n",
    .check = mock_text_check,
    .error = mock_oai_error,
    .answer = mock_text_answer,
    .start = mock_text_start,
    .content = mock_text_content,
    .finish = mock_text_finish,
    .sse_error = mock_text_sse_error,
    .tool_chunks = 1,
    .overloaded_status = 503,
};

/* The dialect of the routes above for a POST path, or NULL. */
static const struct mock_dialect *mock_route_dialect(const char *url)
{
    if (mock_ends_with(url, "/embeddings"))
        return &mock_oai_embed;
    if (mock_ends_with(url, ":batchEmbedContents"))
        return &mock_gem_embed;
    if (mock_ends_with(url, "/completions") && !mock_ends_with(url, "/chat/completions"))
        return &mock_text;
    return NULL;
}

/* The dialect a POST path asks for; NULL: not a model call of theirs. */
static const struct mock_dialect *mock_dialect_of(const char *url)
{
    const struct mock_dialect *route = mock_route_dialect(url);
    if (route != NULL)
        return route;
    if (mock_ends_with(url, "/messages"))
        return &mock_anthropic;
    const char *m = strstr(url, "/models/");
    if (m != NULL && (mock_ends_with(m, ":generateContent") ||
                      mock_ends_with(m, ":streamGenerateContent")))
        return &mock_gemini;
    return NULL;
}

/* ---- control endpoints ------------------------------------------------- */

static const char *mock_arg(struct mock_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static json_object *mock_jcounts(const struct mock_counts *n)
{
    json_object *o = json_object_new_object();
    bool ok = mock_jset(o, "requests", json_object_new_int64(n->requests)) &&
              mock_jset(o, "completed", json_object_new_int64(n->completed)) &&
              mock_jset(o, "aborted", json_object_new_int64(n->aborted)) &&
              mock_jset(o, "active", json_object_new_int64(n->active));

    return mock_jcheck(o, ok);
}

/* key NULL: the sum over all keys. */
static struct mock_counts mock_counts_of(const char *key)
{
    struct mock_counts sum = { 0 };

    pthread_mutex_lock(&mock_mu);
    for (size_t h = 0; h < MOCK_BUCKETS; h++)
        for (struct mock_key *k = mock_keys[h]; k != NULL; k = k->next) {
            if (key != NULL && strcmp(k->name, key) != 0)
                continue;
            sum.requests += k->n.requests;
            sum.completed += k->n.completed;
            sum.aborted += k->n.aborted;
            sum.active += k->n.active;
        }
    pthread_mutex_unlock(&mock_mu);
    return sum;
}

static enum MHD_Result mock_ctl_count(struct mock_req *r, bool all)
{
    const char *key = mock_arg(r, "key");
    struct mock_counts n = mock_counts_of(all ? NULL : key ? key : "");

    return mock_reply_json(r, 200, mock_jcounts(&n));
}

/* The body was accepted even if it was not JSON; then it shows as a string. */
static json_object *mock_jlast_body(const char *body)
{
    json_object *o = json_tokener_parse(body);

    return o != NULL ? o : json_object_new_string(body);
}

static json_object *mock_jlast(const struct mock_last *l)
{
    json_object *o = json_object_new_object();
    bool ok = mock_jset(o, "body", mock_jlast_body(l->body)) &&
              mock_jset_str_or_null(o, "authorization", l->authorization) &&
              mock_jset_str_or_null(o, "referer", l->referer) &&
              mock_jset_str_or_null(o, "title", l->title) &&
              mock_jset_str_or_null(o, "path", l->path) &&
              mock_jset(o, "headers", mock_jlast_body(l->headers));

    return mock_jcheck(o, ok);
}

static enum MHD_Result mock_ctl_last(struct mock_req *r)
{
    const char *key = mock_arg(r, "key");
    bool raw = mock_arg(r, "raw") != NULL;   /* the body's bytes, as received */
    json_object *o = NULL;
    char *text = NULL;
    bool found = false;

    pthread_mutex_lock(&mock_mu);
    for (struct mock_key *k = mock_keys[mock_hash(key ? key : "")]; k; k = k->next)
        if (strcmp(k->name, key ? key : "") == 0 && k->last != NULL) {
            found = true;
            json_object_put(o);
            free(text);
            o = raw ? NULL : mock_jlast(k->last);
            text = raw ? strdup(k->last->body ? k->last->body : "") : NULL;
        }
    pthread_mutex_unlock(&mock_mu);
    if (!found)
        return mock_reply_error(r, 404, "mock: no request seen for this key",
                                "not_found");
    if (!raw)
        return mock_reply_json(r, 200, o);
    enum MHD_Result ret = text ? mock_reply_text(r, 200, "application/json", text)
                               : mock_reply_json(r, 500, NULL);
    free(text);
    return ret;
}

/* {"KEY": requests, ...} for one OPTS string (no key seen: {}). */
static enum MHD_Result mock_ctl_keys(struct mock_req *r)
{
    const char *key = mock_arg(r, "key");
    json_object *o = json_object_new_object();
    bool ok = o != NULL;

    if (key == NULL)
        key = "";
    pthread_mutex_lock(&mock_mu);
    for (struct mock_key *k = mock_keys[mock_hash(key)]; ok && k; k = k->next)
        if (strcmp(k->name, key) == 0)
            for (struct mock_apikey *a = k->apikeys; ok && a; a = a->next)
                ok = mock_jset(o, a->key, json_object_new_int64(a->requests));
    pthread_mutex_unlock(&mock_mu);
    return mock_reply_json(r, 200, mock_jcheck(o, ok));
}

static json_object *mock_jlogent(const struct mock_logent *e)
{
    json_object *o = json_object_new_object();
    bool ok = mock_jset(o, "opts", json_object_new_string(e->opts)) &&
              mock_jset_str_or_null(o, "key", e->apikey) &&
              mock_jset_str_or_null(o, "user", e->user) &&
              mock_jset(o, "status", json_object_new_int((int)e->status));

    return mock_jcheck(o, ok);
}

/* Every model request since the last reset, in arrival order. */
static enum MHD_Result mock_ctl_log(struct mock_req *r)
{
    json_object *a = json_object_new_array();
    bool ok = a != NULL;

    pthread_mutex_lock(&mock_mu);
    for (size_t k = 0; ok && k < mock_log_len; k++)
        ok = mock_jpush(a, mock_jlogent(&mock_log[k]));
    pthread_mutex_unlock(&mock_mu);
    return mock_reply_json(r, 200, mock_jcheck(a, ok));
}

static enum MHD_Result mock_ctl_release(struct mock_req *r)
{
    const char *gate = mock_arg(r, "gate");

    if (gate == NULL || *gate == '\0')
        return mock_reply_error(r, 400, "mock: gate= is required", "no_gate");
    if (!mock_gate_open(gate))
        return mock_reply_json(r, 500, NULL);
    return mock_reply_text(r, 200, "application/json", "{\"released\":true}");
}

static enum MHD_Result mock_control(struct mock_req *r, const char *url)
{
    if (strcmp(url, "/health") == 0)
        return mock_reply_text(r, 200, "text/plain", "ok");
    if (strcmp(url, "/control/count") == 0)
        return mock_ctl_count(r, false);
    if (strcmp(url, "/control/stats") == 0)
        return mock_ctl_count(r, true);
    if (strcmp(url, "/control/last") == 0)
        return mock_ctl_last(r);
    if (strcmp(url, "/control/keys") == 0)
        return mock_ctl_keys(r);
    if (strcmp(url, "/control/log") == 0)
        return mock_ctl_log(r);
    if (strcmp(url, "/control/release") == 0)
        return mock_ctl_release(r);
    if (strcmp(url, "/control/reset") == 0) {
        mock_reset();
        return mock_reply_text(r, 200, "application/json", "{\"reset\":true}");
    }
    return mock_reply_error(r, 404, "mock: no such path", "not_found");
}

/* ---- MHD glue ---------------------------------------------------------- */

static void mock_req_release(struct mock_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    free(r->opts.text);
    free(r->body.data);
    free(r->out.data);
    free(r->echo_text);
    free(r->repeat_text);
    free(r->apikey);
    json_object_put(r->chunk);
    json_object_put(r->req_json);
    free(r);
}

/* OPTS is the first path segment: "/OPTS/v1/chat/completions". */
static bool mock_begin_chat(struct mock_req *r, const char *url)
{
    const char *s = url[0] == '/' ? url + 1 : url;
    char *seg = strndup(s, strcspn(s, "/"));
    bool ok = seg != NULL && mock_opts_parse(&r->opts, seg);

    if (ok) {
        r->kind = MOCK_KIND_CHAT;
        mock_count_request(r, seg);
        mock_count_apikey(r);
    }
    free(seg);
    return ok;
}

static enum MHD_Result mock_begin(struct MHD_Connection *c, const char *url,
                                  const char *method, void **con_cls)
{
    struct mock_req *r = calloc(1, sizeof *r);

    if (r == NULL)
        return MHD_NO;
    atomic_init(&r->refs, 1);
    r->conn = c;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->fd = ci != NULL ? ci->connect_fd : -1;
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", url);
    mock_opts_defaults(&r->opts);
    *con_cls = r;
    if (strcmp(method, "POST") == 0 && mock_ends_with(url, "/chat/completions"))
        return mock_begin_chat(r, url) ? MHD_YES : MHD_NO;
    if (strcmp(method, "POST") == 0 && (r->dialect = mock_dialect_of(url)) != NULL)
        return mock_begin_chat(r, url) ? MHD_YES : MHD_NO;
    return MHD_YES;
}

static void mock_body_add(struct mock_req *r, const char *data, size_t len)
{
    if (r->too_big || r->oom)
        return;
    if (len > MOCK_BODY_MAX - r->body.len) {
        r->too_big = true;
        free(r->body.data);
        r->body = (struct mock_buf){ 0 };
    } else if (!mock_buf_add(&r->body, data, len)) {
        r->oom = true;
    }
}

static enum MHD_Result mock_access(void *cls, struct MHD_Connection *c,
                                   const char *url, const char *method,
                                   const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct mock_req *r = *con_cls;

    (void)cls;
    (void)version;
    if (r == NULL)
        return mock_begin(c, url, method, con_cls);
    if (*upload_data_size > 0) {
        mock_body_add(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->kind == MOCK_KIND_CHAT)
        return mock_chat(r, url);
    if (mock_ends_with(url, "/chat/completions") || mock_dialect_of(url) != NULL)
        return mock_reply_error(r, 405, "mock: use POST", "method_not_allowed");
    if (strcmp(method, "GET") != 0)
        return mock_reply_error(r, 405, "mock: use GET", "method_not_allowed");
    return mock_control(r, url);
}

/* Whatever was not settled on the way is settled by how MHD finished. */
static void mock_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct mock_req *r = *con_cls;

    (void)cls;
    (void)c;
    if (r == NULL)
        return;
    *con_cls = NULL;
    mock_account(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    if (!mock_quiet) {
        char status[16] = "no answer";
        if (r->status != 0)
            snprintf(status, sizeof status, "%u", r->status);
        fprintf(stderr, "mock_upstream: %s %s -> %s%s%s\n", r->method, r->path,
                status, r->outcome ? " " : "", r->outcome ? r->outcome : "");
    }
    mock_req_release(r);
}

/* ---- startup ----------------------------------------------------------- */

static void mock_usage(void)
{
    fprintf(stderr,
            "usage: mock_upstream --port N [--bind ADDR] [--quiet]\n"
            "  a misbehaving OpenAI, Anthropic and Gemini upstream, see tests/MOCK_UPSTREAM.md\n");
}

static bool mock_parse_args(int argc, char **argv, struct mock_args *a)
{
    a->bind = "127.0.0.1";
    a->port = -1;
    a->quiet = false;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--quiet") == 0) {
            a->quiet = true;
        } else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
            a->bind = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            a->port = strtol(argv[++i], &end, 10);
            if (*end != '\0' || a->port < 0 || a->port > 65535)
                return false;
        } else {
            return false;
        }
    }
    return a->port >= 0;
}

/* Thousands of concurrent streams need as many descriptors as allowed. */
static void mock_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("mock_upstream: setrlimit");
    }
}

static struct MHD_Daemon *mock_start(const struct mock_args *a)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
    /* poll, not select: connection descriptors go far past FD_SETSIZE. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
                     MHD_USE_ERROR_LOG;

    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, a->bind, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)a->port);
    } else if (inet_pton(AF_INET6, a->bind, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)a->port);
        flags |= MHD_USE_IPv6;
    } else {
        fprintf(stderr, "mock_upstream: bad --bind address %s\n", a->bind);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)a->port, NULL, NULL,
        mock_access, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, MOCK_CONN_LIMIT,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)MOCK_STACK_SIZE,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
        MHD_OPTION_NOTIFY_COMPLETED, mock_completed, NULL,
        MHD_OPTION_END);
    if (d == NULL)
        fprintf(stderr, "mock_upstream: cannot listen on %s:%ld\n", a->bind, a->port);
    return d;
}

static bool mock_init_cv(void)
{
    pthread_condattr_t ca;
    bool ok = pthread_condattr_init(&ca) == 0 &&
              pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&mock_gate_cv, &ca) == 0;

    pthread_condattr_destroy(&ca);
    return ok;
}

/* Wake gate waiters so MHD_stop_daemon's joins do not wait on them. */
static void mock_stop(struct MHD_Daemon *d)
{
    atomic_store(&mock_stopping, true);
    pthread_mutex_lock(&mock_mu);
    pthread_cond_broadcast(&mock_gate_cv);
    pthread_mutex_unlock(&mock_mu);
    MHD_stop_daemon(d);
    mock_state_free();
    pthread_cond_destroy(&mock_gate_cv);
}

int main(int argc, char **argv)
{
    struct mock_args a;
    sigset_t set;
    int sig = 0;

    if (!mock_parse_args(argc, argv, &a)) {
        mock_usage();
        return 2;
    }
    mock_quiet = a.quiet;
    mock_raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    /* Blocked before MHD starts so its threads inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (!mock_init_cv()) {
        fprintf(stderr, "mock_upstream: cannot set up a condition variable\n");
        return 1;
    }
    struct MHD_Daemon *d = mock_start(&a);
    if (d == NULL)
        return 1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "mock_upstream: listening on %s:%u\n", a.bind,
            di != NULL ? (unsigned)di->port : (unsigned)a.port);
    while (sigwait(&set, &sig) != 0)
        ;
    mock_stop(d);
    return 0;
}
