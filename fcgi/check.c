/* check.c: immortal --check (see check.h). */
#include "check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "attempt.h"
#include "catalog.h"
#include "clock.h"
#include "redact.h"

#define CHECK_THREADS 4

/* One endpoint (one key of a pool) to check, and what came of it. */
struct check_job {
	const struct group *group;     /* borrowed from the catalog */
	struct endpoint ep;            /* a copy speaking with the key checked;
					  its members borrowed from the catalog */
	char key[16];                  /* a pool key as the logs name it, else "-" */
	enum errkind kind;
	long status;
	int64_t ms;                    /* to the first content, else to the end */
	char detail[256];              /* secrets removed */
};

struct check_pool {
	struct check_job *jobs;
	size_t n_jobs;
	size_t next;                   /* atomic: the next job to take */
	unsigned keepalive_s;
};

static const char *check_getenv(const char *name)
{
	return getenv(name);
}

/* The answer goes nowhere: only its outcome matters. */
static enum im_rc check_sink_begin(void *ctx, int status, const char *type,
				   const struct sink_header *h, size_t n)
{
	(void)ctx, (void)status, (void)type, (void)h, (void)n;
	return IM_OK;
}

static enum im_rc check_sink_write(void *ctx, const char *data, size_t len)
{
	(void)ctx, (void)data, (void)len;
	return IM_OK;
}

static enum im_rc check_sink_flush(void *ctx)
{
	(void)ctx;
	return IM_OK;
}

static bool check_sink_gone(void *ctx)
{
	(void)ctx;
	return false;
}

static struct json_object *check_body(const char *group)
{
	struct json_object *body = xcheck(json_object_new_object());
	struct json_object *msgs = xcheck(json_object_new_array());
	struct json_object *msg = xcheck(json_object_new_object());

	json_object_object_add(msg, "role", xcheck(json_object_new_string("user")));
	json_object_object_add(msg, "content", xcheck(json_object_new_string("Hi")));
	json_object_array_add(msgs, msg);
	json_object_object_add(body, "model", xcheck(json_object_new_string(group)));
	json_object_object_add(body, "messages", msgs);
	json_object_object_add(body, "max_tokens", xcheck(json_object_new_int(1)));
	return body;
}

static void check_one(struct check_job *job, struct transport *t, unsigned keepalive_s)
{
	struct sink sink = {
		.begin = check_sink_begin, .write = check_sink_write,
		.flush = check_sink_flush, .gone = check_sink_gone, .watch_fd = -1,
	};
	struct json_object *body = check_body(job->group->name);
	struct cstream_options opt = { .keepalive_s = keepalive_s, .started_ms = clock_ms() };
	struct cstream *stream = cstream_new(&sink, &opt);
	struct attempt_result res;
	struct attempt_input in = {
		.request_id = "check", .ep = &job->ep, .client_body = body,
		.transport = t, .stream = stream, .number = 1,
	};
	attempt_run(&in, &res);
	job->kind = res.kind;
	job->status = res.status;
	job->ms = res.first_content_ms >= 0 ? res.first_content_ms : res.elapsed_ms;
	/* the detail is redacted already; this key is the one to be sure of */
	char *clean = redact_secrets(res.detail, job->ep.apikey ? job->ep.apikey : "");
	snprintf(job->detail, sizeof job->detail, "%s", clean);
	free(clean);
	attempt_result_clear(&res);
	cstream_free(stream);
	json_object_put(body);
}

static void *check_worker(void *arg)
{
	struct check_pool *pool = arg;
	struct transport *t = transport_new();

	for (;;) {
		size_t i = __atomic_fetch_add(&pool->next, 1, __ATOMIC_RELAXED);
		if (i >= pool->n_jobs)
			break;
		check_one(&pool->jobs[i], t, pool->keepalive_s);
	}
	transport_free(t);
	return NULL;
}

/* A job per endpoint, or per key of a pool: a key that fails is as much
 * a problem as an endpoint that does. */
static void check_add_group(struct check_pool *pool, const struct group *g)
{
	for (size_t i = 0; i < g->n_endpoints; i++) {
		const struct endpoint *ep = &g->endpoints[i];
		size_t n = ep->n_keys > 1 ? ep->n_keys : 1;
		pool->jobs = xrealloc(pool->jobs, (pool->n_jobs + n) * sizeof *pool->jobs);
		for (size_t k = 0; k < n; k++) {
			struct check_job *job = &pool->jobs[pool->n_jobs++];
			memset(job, 0, sizeof *job);
			job->group = g;
			job->ep = *ep;
			snprintf(job->key, sizeof job->key, "-");
			if (ep->n_keys > 1) {
				job->ep.apikey = ep->keys[k];
				endpoint_key_label(ep, k, job->key, sizeof job->key);
			}
		}
	}
}

/* Returns false (said on `out`) when a group asked for is not loaded. */
static bool check_collect(struct check_pool *pool, const struct catalog *cat,
			  char **groups, int n_groups, FILE *out)
{
	bool ok = true;

	if (n_groups == 0) {
		for (size_t i = 0; i < cat->n_groups; i++)
			check_add_group(pool, cat->groups[i]);
		return true;
	}
	for (int i = 0; i < n_groups; i++) {
		const struct group *g = catalog_find(cat, groups[i]);
		if (g == NULL) {
			fprintf(out, "immortal: no group %s is loaded (no file %s.json, or it has errors)\n",
				groups[i], groups[i]);
			ok = false;
		} else {
			check_add_group(pool, g);
		}
	}
	return ok;
}

static void check_run_pool(struct check_pool *pool)
{
	pthread_t th[CHECK_THREADS];
	size_t n = pool->n_jobs < CHECK_THREADS ? pool->n_jobs : CHECK_THREADS;

	for (size_t i = 0; i < n; i++)
		pthread_create(&th[i], NULL, check_worker, pool);
	for (size_t i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* Columns on a terminal: UTF-8 characters, not bytes (a key's "…"). */
static size_t check_cols(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int check_width(const struct check_pool *pool, const char *head,
		       const char *(*col)(const struct check_job *))
{
	size_t w = strlen(head);
	for (size_t i = 0; i < pool->n_jobs; i++) {
		size_t n = check_cols(col(&pool->jobs[i]));
		if (n > w)
			w = n;
	}
	return (int)(w > 64 ? 64 : w);
}

static const char *check_col_group(const struct check_job *j) { return j->group->name; }
static const char *check_col_endpoint(const struct check_job *j) { return j->ep.name; }
static const char *check_col_key(const struct check_job *j) { return j->key; }
static const char *check_col_type(const struct check_job *j) { return endpoint_type_name(j->ep.type); }

static const char *check_col_outcome(const struct check_job *j)
{
	return j->kind == ERRKIND_NONE ? "ok" : errkind_name(j->kind);
}

/* Returns the number of endpoints (pool keys) that did not answer. */
static size_t check_print(const struct check_pool *pool, FILE *out)
{
	int gw = check_width(pool, "GROUP", check_col_group);
	int ew = check_width(pool, "ENDPOINT", check_col_endpoint);
	int kw = check_width(pool, "KEY", check_col_key);
	int tw = check_width(pool, "TYPE", check_col_type);
	int ow = check_width(pool, "OUTCOME", check_col_outcome);
	size_t failed = 0;

	fprintf(out, "%-*s  %-*s  %-*s  %-*s  %-*s  %6s  %8s  %s\n", gw, "GROUP", ew, "ENDPOINT",
		kw, "KEY", tw, "TYPE", ow, "OUTCOME", "STATUS", "TTFB", "HINT");
	for (size_t i = 0; i < pool->n_jobs; i++) {
		const struct check_job *j = &pool->jobs[i];
		char status[16], ms[24];
		snprintf(status, sizeof status, j->status ? "%ld" : "-", j->status);
		snprintf(ms, sizeof ms, "%lld ms", (long long)j->ms);
		fprintf(out, "%-*.*s  %-*.*s  %s%*s  %-*s  %-*s  %6s  %8s  %s\n", gw, gw, j->group->name,
			ew, ew, j->ep.name, j->key, kw - (int)check_cols(j->key), "",
			tw, check_col_type(j), ow, check_col_outcome(j), status, ms,
			j->kind == ERRKIND_NONE ? "-" : errkind_hint(j->kind));
		failed += j->kind != ERRKIND_NONE;
	}
	for (size_t i = 0; i < pool->n_jobs; i++) {
		const struct check_job *j = &pool->jobs[i];
		if (j->kind != ERRKIND_NONE && j->detail[0])
			fprintf(out, "%s/%s%s%s: %s\n", j->group->name, j->ep.name,
				j->ep.n_keys > 1 ? " key " : "", j->ep.n_keys > 1 ? j->key : "", j->detail);
	}
	return failed;
}

int check_run(const struct settings *s, char **groups, int n_groups, FILE *out)
{
	struct catalog *cat;
	struct check_pool pool = { .keepalive_s = s->keepalive_s };

	if (catalog_load(s->config_dir, check_getenv, NULL, &cat) != IM_OK) {
		fprintf(out, "immortal: %s: cannot read the config folder\n", s->config_dir);
		return 1;
	}
	for (size_t i = 0; i < cat->n_problems; i++)
		fprintf(out, "immortal: %s\n", cat->problems[i]);
	/* a file left out, or an endpoint left out for an unset ${VAR}, is a
	 * key that will not be used: as bad as one that fails */
	bool ok = check_collect(&pool, cat, groups, n_groups, out) && cat->n_problems == 0;
	check_run_pool(&pool);
	size_t failed = check_print(&pool, out);
	fprintf(out, "immortal: %zu endpoint%s answered, %zu did not\n", pool.n_jobs - failed,
		pool.n_jobs - failed == 1 ? "" : "s", failed);
	free(pool.jobs);
	catalog_unref(cat);
	return ok && failed == 0 && pool.n_jobs > 0 ? 0 : 1;
}
