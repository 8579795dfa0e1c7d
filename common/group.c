/* group.c: parsing and validating model group files (see group.h). */
#include "group.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "refs.h"

#define GROUP_HEADERS_MAX 32
#define GROUP_KEYS_MAX 64

/* Where a parse error is reported: file, endpoint, field. */
struct group_ctx {
	const char *path;
	const char *group;
	int index;               /* 1-based endpoint number, 0 for group level */
	char ep_label[96];       /* " (name)" for messages, one line, or "" */
	group_getenv_fn get;
	char *err;
	size_t errlen;
	char *warn;
	size_t warnlen;
	bool skip_endpoint;      /* an unset ${VAR}: leave the endpoint out */
};

static enum im_rc group_fail(struct group_ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum im_rc group_fail(struct group_ctx *c, const char *field, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (c->index > 0 && field == NULL)
		n = snprintf(c->err, c->errlen, "%s: endpoint %d: %s", c->path, c->index, what);
	else if (c->index > 0)
		n = snprintf(c->err, c->errlen, "%s: endpoint %d%s: field \"%s\": %s",
			     c->path, c->index, c->ep_label, field, what);
	else if (field)
		n = snprintf(c->err, c->errlen, "%s: field \"%s\": %s", c->path, field, what);
	else
		n = snprintf(c->err, c->errlen, "%s: %s", c->path, what);
	(void)n;
	return IM_EINVAL;
}

/* The endpoint's name as messages show it: printable, one line, short. */
static void group_label(struct group_ctx *c, const char *name)
{
	size_t o = 0;
	c->ep_label[o++] = ' ';
	c->ep_label[o++] = '(';
	for (; *name && o < sizeof c->ep_label - 6; name++)
		c->ep_label[o++] = ((unsigned char)*name < 0x20) ? '?' : *name;
	c->ep_label[o++] = ')';
	c->ep_label[o] = '\0';
}

bool group_name_valid(const char *name)
{
	if (name == NULL || name[0] == '\0' || name[0] == '.' || strlen(name) > 128)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.' && *p != ':')
			return false;
	return true;
}

const char *endpoint_type_name(enum endpoint_type type)
{
	switch (type) {
	case ENDPOINT_CHUTES: return "chutes";
	case ENDPOINT_OPENROUTER: return "openrouter";
	case ENDPOINT_ANTHROPIC: return "anthropic";
	case ENDPOINT_GEMINI: return "gemini";
	default: return "openai";
	}
}

#define FNV_OFFSET 1469598103934665603ull

/* FNV-1a over a string and its terminating NUL, continuing from h. */
static uint64_t group_hash(uint64_t h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	} while (*s++);
	return h;
}

/* Expands ${VAR} from the environment. An unset variable marks the endpoint
 * to be skipped (the caller decides) and returns NULL. */
static char *group_expand(struct group_ctx *c, const char *field, const char *in)
{
	struct buf out;
	const char *p = in;

	buf_init(&out, GROUP_FILE_MAX);
	while (*p) {
		const char *end;
		if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}')) != NULL) {
			char *var = xstrndup(p + 2, (size_t)(end - p - 2));
			const char *val = c->get(var);
			if (val == NULL || val[0] == '\0') {
				if (c->warn && c->warnlen)
					snprintf(c->warn, c->warnlen,
						 "%s: endpoint %d%s left out: field \"%s\": ${%s} is not set",
						 c->path, c->index, c->ep_label, field, var);
				c->skip_endpoint = true;
				free(var);
				buf_free(&out);
				return NULL;
			}
			buf_append_str(&out, val);
			free(var);
			p = end + 1;
		} else {
			buf_append(&out, p, 1);
			p++;
		}
	}
	return buf_take(&out);
}

static enum im_rc group_get_string(struct group_ctx *c, struct json_object *v,
				   const char *field, char **out)
{
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
		return group_fail(c, field, "must be a non-empty string");
	if (strpbrk(json_object_get_string(v), "\r\n") != NULL)
		return group_fail(c, field, "must be one line");
	free(*out);
	*out = xstrdup(json_object_get_string(v));
	return IM_OK;
}

static enum im_rc group_get_number(struct group_ctx *c, struct json_object *v,
				   const char *field, double lo, double hi, double *out)
{
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return group_fail(c, field, "must be a number");
	double d = json_object_get_double(v);
	if (!isfinite(d) || d < lo || d > hi)
		return group_fail(c, field, "must be from %g to %g", lo, hi);
	*out = d;
	return IM_OK;
}

static enum im_rc group_get_bool(struct group_ctx *c, struct json_object *v,
				 const char *field, bool *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		return group_fail(c, field, "must be true or false");
	*out = json_object_get_boolean(v);
	return IM_OK;
}

/* The string of `v`, or "" for another type. */
static const char *group_str_or_empty(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* The index of `s` among the `n` `names`, or -1: how the fields that name
 * one of an enum's values are read. */
static int group_pick(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static enum im_rc group_field_type(struct group_ctx *c, struct json_object *v,
				   struct endpoint *ep)
{
	static const char *const names[] = { "openai", "chutes", "openrouter", "anthropic", "gemini" };
	const char *s = group_str_or_empty(v);
	int i = group_pick(s, names, sizeof names / sizeof names[0]);

	if (i < 0)
		return group_fail(c, "type", "unknown type \"%s\" (expected openai, chutes, openrouter, anthropic or gemini)", s);
	ep->type = (enum endpoint_type)i;
	return IM_OK;
}

static const char *const group_continuations[] = {
	[CONTINUATION_PREFILL] = "prefill", [CONTINUATION_VLLM] = "vllm",
	[CONTINUATION_DEEPSEEK] = "deepseek", [CONTINUATION_NONE] = "none",
};
#define GROUP_N_CONTINUATIONS (sizeof group_continuations / sizeof group_continuations[0])

const char *continuation_name(enum continuation c)
{
	return (unsigned)c < GROUP_N_CONTINUATIONS ? group_continuations[c] : "prefill";
}

static enum im_rc group_field_continuation(struct group_ctx *c, struct json_object *v,
					   struct endpoint *ep)
{
	const char *s = group_str_or_empty(v);
	int i = group_pick(s, group_continuations, GROUP_N_CONTINUATIONS);

	if (i < 0)
		return group_fail(c, "continuation", "unknown value \"%s\" (expected prefill, vllm, deepseek or none)", s);
	ep->continuation = (enum continuation)i;
	ep->continuation_set = true;
	return IM_OK;
}

/* A string field that may hold ${VAR}: *out is the expanded value, or
 * NULL when a variable is unset (the endpoint is then left out). */
static enum im_rc group_get_expanded(struct group_ctx *c, struct json_object *v,
				     const char *field, char **out)
{
	char *raw = NULL;
	enum im_rc rc = group_get_string(c, v, field, &raw);
	if (rc != IM_OK)
		return rc;
	*out = group_expand(c, field, raw);
	free(raw);
	if (*out && strpbrk(*out, "\r\n") != NULL)
		return group_fail(c, field, "must be one line");
	return IM_OK;
}

static enum im_rc group_field_url(struct group_ctx *c, struct json_object *v,
				  struct endpoint *ep)
{
	enum im_rc rc = group_get_expanded(c, v, "baseurl", &ep->baseurl);
	if (rc != IM_OK || ep->baseurl == NULL)
		return rc;
	if (strncmp(ep->baseurl, "http://", 7) != 0 && strncmp(ep->baseurl, "https://", 8) != 0)
		return group_fail(c, "baseurl", "must start with http:// or https://");
	size_t n = strlen(ep->baseurl);
	while (n > 0 && ep->baseurl[n - 1] == '/')
		ep->baseurl[--n] = '\0';
	ep->url = xasprintf("%s/chat/completions", ep->baseurl);
	return IM_OK;
}

static enum im_rc group_field_stream(struct group_ctx *c, struct json_object *v,
				     struct endpoint *ep)
{
	bool on = false;
	enum im_rc rc = group_get_bool(c, v, "stream", &on);
	ep->stream = on ? ENDPOINT_STREAM_ON : ENDPOINT_STREAM_OFF;
	return rc;
}

static enum im_rc group_field_max_tokens(struct group_ctx *c, struct json_object *v,
					 struct endpoint *ep)
{
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1)
		return group_fail(c, "max_tokens", "must be a positive whole number");
	ep->max_tokens = (long)json_object_get_int64(v);
	return IM_OK;
}

static enum im_rc group_field_retries(struct group_ctx *c, struct json_object *v,
				      struct endpoint *ep)
{
	int64_t n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < 0 || n > 5)
		return group_fail(c, "retries", "must be a whole number from 0 to 5");
	ep->retries = (int)n;
	return IM_OK;
}

static bool group_header_name_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	return true;
}

/* `headers`: an object of strings, each a request header added or
 * overridden; values may hold ${VAR}. */
static enum im_rc group_field_headers(struct group_ctx *c, struct json_object *v,
				      struct endpoint *ep)
{
	if (!json_object_is_type(v, json_type_object))
		return group_fail(c, "headers", "must be an object of strings");
	if (json_object_object_length(v) > GROUP_HEADERS_MAX)
		return group_fail(c, "headers", "at most %d headers", GROUP_HEADERS_MAX);
	ep->headers = xcalloc((size_t)json_object_object_length(v) + 1, sizeof *ep->headers);
	json_object_object_foreach(v, name, val) {
		struct endpoint_header *h = &ep->headers[ep->n_headers];
		if (!group_header_name_valid(name))
			return group_fail(c, "headers", "\"%.64s\" is not a header name", name);
		if (!json_object_is_type(val, json_type_string))
			return group_fail(c, "headers", "the value of \"%.64s\" must be a string", name);
		h->name = xstrdup(name);
		ep->n_headers++;
		enum im_rc rc = group_get_expanded(c, val, "headers", &h->value);
		if (rc != IM_OK || h->value == NULL)
			return rc;   /* an error, or an unset ${VAR} leaves the endpoint out */
	}
	return IM_OK;
}

/* `apikey` as a list: a key pool. Keys whose ${VAR} is unset are left
 * out; with none left the endpoint is left out, as with one key. */
static enum im_rc group_field_keys(struct group_ctx *c, struct json_object *v,
				   struct endpoint *ep)
{
	size_t n = json_object_array_length(v);
	bool skip = c->skip_endpoint;
	char warn[512] = "";

	if (c->warn && c->warnlen)
		snprintf(warn, sizeof warn, "%s", c->warn);

	if (n == 0 || n > GROUP_KEYS_MAX)
		return group_fail(c, "apikey", "a list of keys must hold 1 to %d strings", GROUP_KEYS_MAX);
	ep->keys = xcalloc(n, sizeof *ep->keys);
	for (size_t i = 0; i < n; i++) {
		char *k = NULL;
		c->skip_endpoint = false;
		enum im_rc rc = group_get_expanded(c, json_object_array_get_idx(v, i), "apikey", &k);
		if (rc != IM_OK) {
			free(k);
			return rc;
		}
		if (k != NULL)
			ep->keys[ep->n_keys++] = k;
	}
	c->skip_endpoint = skip || ep->n_keys == 0;
	if (ep->n_keys > 0) {
		ep->apikey = xstrdup(ep->keys[0]);
		if (c->warn && c->warnlen)   /* a key left out is not an endpoint left out */
			snprintf(c->warn, c->warnlen, "%s", warn);
	}
	return IM_OK;
}

static enum im_rc group_field_apikey(struct group_ctx *c, struct json_object *v,
				     struct endpoint *ep)
{
	if (ep->apikey != NULL || ep->keys != NULL)
		return group_fail(c, "apikey", "is given twice");
	if (json_object_is_type(v, json_type_array))
		return group_field_keys(c, v, ep);
	return group_get_expanded(c, v, "apikey", &ep->apikey);
}

static enum im_rc group_field_priority(struct group_ctx *c, struct json_object *v,
				       struct endpoint *ep)
{
	int64_t n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < -1000000 || n > 1000000)
		return group_fail(c, "priority", "must be a whole number from -1000000 to 1000000");
	ep->priority = (int)n;
	return IM_OK;
}

static enum im_rc group_field_endpoint(struct group_ctx *c, const char *key,
				       struct json_object *v, struct endpoint *ep)
{
	if (strcmp(key, "name") == 0)
		return group_get_string(c, v, key, &ep->name);
	if (strcmp(key, "baseurl") == 0)
		return group_field_url(c, v, ep);
	if (strcmp(key, "apikey") == 0)
		return group_field_apikey(c, v, ep);
	if (strcmp(key, "priority") == 0)
		return group_field_priority(c, v, ep);
	if (strcmp(key, "weight") == 0)
		return group_get_number(c, v, key, 0.001, 1000000, &ep->weight);
	if (strcmp(key, "model") == 0)
		return group_get_string(c, v, key, &ep->model);
	if (strcmp(key, "type") == 0)
		return group_field_type(c, v, ep);
	if (strcmp(key, "timeout") == 0)
		return group_get_number(c, v, key, 0.001, 86400, &ep->timeout_s);
	if (strcmp(key, "connect_timeout") == 0)
		return group_get_number(c, v, key, 0.001, 600, &ep->connect_timeout_s);
	if (strcmp(key, "temperature") == 0) {
		ep->has_temperature = true;
		return group_get_number(c, v, key, 0, 2, &ep->temperature);
	}
	if (strcmp(key, "max_tokens") == 0)
		return group_field_max_tokens(c, v, ep);
	if (strcmp(key, "stream") == 0)
		return group_field_stream(c, v, ep);
	if (strcmp(key, "retries") == 0)
		return group_field_retries(c, v, ep);
	if (strcmp(key, "retry_after_max") == 0)
		return group_get_number(c, v, key, 0, 600, &ep->retry_after_max_s);
	if (strcmp(key, "continuation") == 0)
		return group_field_continuation(c, v, ep);
	if (strcmp(key, "referer") == 0)
		return group_get_string(c, v, key, &ep->referer);
	if (strcmp(key, "title") == 0)
		return group_get_string(c, v, key, &ep->title);
	if (strcmp(key, "headers") == 0)
		return group_field_headers(c, v, ep);
	return group_fail(c, key, "unknown field (see the README for the group file format)");
}

static void endpoint_clear(struct endpoint *ep)
{
	free(ep->name);
	free(ep->baseurl);
	free(ep->apikey);
	for (size_t i = 0; i < ep->n_keys; i++)
		free(ep->keys[i]);
	free(ep->keys);
	free(ep->model);
	free(ep->url);
	free(ep->referer);
	free(ep->title);
	for (size_t i = 0; i < ep->n_headers; i++) {
		free(ep->headers[i].name);
		free(ep->headers[i].value);
	}
	free(ep->headers);
	memset(ep, 0, sizeof *ep);
}

static enum im_rc group_parse_endpoint(struct group_ctx *c, struct json_object *obj,
				       struct endpoint *ep)
{
	struct json_object *name;
	enum im_rc rc = IM_OK;

	memset(ep, 0, sizeof *ep);
	ep->timeout_s = 30;
	ep->retries = 1;
	ep->retry_after_max_s = 3;
	ep->weight = 1;
	c->ep_label[0] = '\0';
	c->skip_endpoint = false;
	if (!json_object_is_type(obj, json_type_object))
		return group_fail(c, NULL, "must be an object");
	if (json_object_object_get_ex(obj, "name", &name) && json_object_is_type(name, json_type_string))
		group_label(c, json_object_get_string(name));
	json_object_object_foreach(obj, key, val) {
		if ((rc = group_field_endpoint(c, key, val, ep)) != IM_OK)
			return rc;
	}
	if (c->skip_endpoint)
		return IM_OK;
	if (ep->baseurl == NULL)
		return group_fail(c, "baseurl", "is required");
	if (ep->model == NULL)
		return group_fail(c, "model", "is required");
	if (ep->name == NULL)
		ep->name = xasprintf("%s#%d", c->group, c->index);
	if (!ep->continuation_set)
		ep->continuation = ep->type == ENDPOINT_CHUTES ? CONTINUATION_VLLM
				 : ep->type == ENDPOINT_GEMINI ? CONTINUATION_NONE   /* README: type gemini */
				 : CONTINUATION_PREFILL;
	if (ep->connect_timeout_s <= 0)
		ep->connect_timeout_s = ep->timeout_s < 10 ? ep->timeout_s : 10;
	ep->key = group_hash(group_hash(group_hash(FNV_OFFSET, ep->baseurl), ep->model),
			     ep->apikey ? ep->apikey : "");
	/* a pool is what all its keys are; one key keeps its old identity */
	for (size_t i = 1; i < ep->n_keys; i++)
		ep->key = group_hash(ep->key, ep->keys[i]);
	ep->sig = group_hash(ep->key, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	return IM_OK;
}

static enum im_rc group_parse_cooldown(struct group_ctx *c, struct json_object *obj,
					struct cooldown *cd)
{
	static const struct { const char *key; size_t off; } fields[] = {
		{ "auth", offsetof(struct cooldown, auth_s) },
		{ "permission", offsetof(struct cooldown, permission_s) },
		{ "rate_limit", offsetof(struct cooldown, rate_limit_s) },
		{ "base", offsetof(struct cooldown, base_s) },
		{ "max", offsetof(struct cooldown, max_s) },
	};

	double default_max = cd->max_s;

	if (!json_object_is_type(obj, json_type_object))
		return group_fail(c, "cooldown", "must be an object of seconds (auth, permission, rate_limit, base, max)");
	cd->max_s = -1;  /* not given */
	json_object_object_foreach(obj, key, val) {
		size_t i = 0;
		while (i < sizeof fields / sizeof fields[0] && strcmp(key, fields[i].key) != 0)
			i++;
		if (i == sizeof fields / sizeof fields[0])
			return group_fail(c, "cooldown", "unknown member \"%s\" (expected auth, permission, rate_limit, base, max)", key);
		char field[64];
		snprintf(field, sizeof field, "cooldown.%s", key);
		enum im_rc rc = group_get_number(c, val, field, 0, 86400,
						 (double *)((char *)cd + fields[i].off));
		if (rc != IM_OK)
			return rc;
	}
	/* a base above the default max, with no max given, raises the max */
	if (cd->max_s < 0)
		cd->max_s = cd->base_s > default_max ? cd->base_s : default_max;
	else if (cd->max_s < cd->base_s)
		return group_fail(c, "cooldown", "max must not be below base");
	return IM_OK;
}

static const char *const group_strategies[] = {
	[STRATEGY_ORDERED] = "ordered", [STRATEGY_WEIGHTED] = "weighted",
	[STRATEGY_LATENCY] = "latency", [STRATEGY_STICKY] = "sticky",
};
#define GROUP_N_STRATEGIES (sizeof group_strategies / sizeof group_strategies[0])

const char *group_strategy_name(enum group_strategy s)
{
	return (unsigned)s < GROUP_N_STRATEGIES ? group_strategies[s] : "ordered";
}

static enum im_rc group_field_strategy(struct group_ctx *c, struct json_object *v,
				       struct group *g)
{
	const char *s = group_str_or_empty(v);
	int i = group_pick(s, group_strategies, GROUP_N_STRATEGIES);

	if (i < 0)
		return group_fail(c, "strategy", "unknown value \"%.64s\" (expected ordered, weighted, latency or sticky)", s);
	g->strategy = (enum group_strategy)i;
	return IM_OK;
}

uint64_t endpoint_key_id(const struct endpoint *ep, size_t k)
{
	/* the key itself, not its position: editing the list keeps each
	 * remaining key's health */
	return group_hash(ep->key ^ 0x6b6579706f6f6cull, k < ep->n_keys ? ep->keys[k] : "");
}

void endpoint_key_label(const struct endpoint *ep, size_t k, char *out, size_t outlen)
{
	size_t len = k < ep->n_keys ? strlen(ep->keys[k]) : 0;
	snprintf(out, outlen, "%zu/…%s", k + 1, len >= 12 ? ep->keys[k] + len - 4 : "");
}

static enum im_rc group_parse_options(struct group_ctx *c, struct json_object *root,
				      struct group *g, struct json_object **endpoints)
{
	json_object_object_foreach(root, key, val) {
		enum im_rc rc = IM_OK;
		if (strcmp(key, "endpoints") == 0)
			*endpoints = val;
		else if (strcmp(key, "failover_on_content_filter") == 0)
			rc = group_get_bool(c, val, key, &g->failover_on_content_filter);
		else if (strcmp(key, "cooldown") == 0)
			rc = group_parse_cooldown(c, val, &g->cooldown);
		else if (strcmp(key, "resume") == 0)
			rc = group_get_bool(c, val, key, &g->resume);
		else if (strcmp(key, "strategy") == 0)
			rc = group_field_strategy(c, val, g);
		else if (strcmp(key, "budget") == 0)
			rc = group_get_number(c, val, key, 1, 86400, &g->budget_s);
		else
			rc = group_fail(c, key, "unknown group option (see the README)");
		if (rc != IM_OK)
			return rc;
	}
	if (*endpoints == NULL || !json_object_is_type(*endpoints, json_type_array))
		return group_fail(c, "endpoints", "must be an array of endpoint objects");
	return IM_OK;
}

/* Accepts the three shapes: [endpoints], {endpoint}, {"endpoints": [...], options}. */
static enum im_rc group_parse_root(struct group_ctx *c, struct json_object *root,
				   struct group *g)
{
	struct json_object *list = NULL;
	enum im_rc rc;

	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "endpoints", NULL)) {
		if ((rc = group_parse_options(c, root, g, &list)) != IM_OK)
			return rc;
	} else if (json_object_is_type(root, json_type_array)) {
		list = root;
	} else if (!json_object_is_type(root, json_type_object)) {
		return group_fail(c, NULL, "must hold an endpoint object, an array of them, or {\"endpoints\": [...]}");
	}

	size_t n = list ? json_object_array_length(list) : 1;
	if (n == 0)
		return group_fail(c, "endpoints", "must list at least one endpoint");
	g->endpoints = xcalloc(n, sizeof *g->endpoints);
	for (size_t i = 0; i < n; i++) {
		struct endpoint *ep = &g->endpoints[g->n_endpoints];
		c->index = (int)i + 1;
		rc = group_parse_endpoint(c, list ? json_object_array_get_idx(list, i) : root, ep);
		if (rc != IM_OK || c->skip_endpoint) {
			endpoint_clear(ep);
			if (rc != IM_OK)
				return rc;
			continue;
		}
		g->n_endpoints++;
	}
	c->index = 0;
	if (g->n_endpoints == 0)
		return group_fail(c, NULL, "no endpoint is usable (every one needs an unset ${VAR})");
	return IM_OK;
}

enum im_rc group_parse(const char *name, const char *path, const char *text,
		       group_getenv_fn get, struct group **out,
		       char *err, size_t errlen, char *warn, size_t warnlen)
{
	struct group_ctx c = { .path = path, .group = name, .get = get,
			       .err = err, .errlen = errlen, .warn = warn, .warnlen = warnlen };
	struct json_tokener *tok;
	struct json_object *root;
	struct group *g;
	enum im_rc rc;
	size_t len = strlen(text);

	if (warn && warnlen)
		warn[0] = '\0';
	*out = NULL;
	if (!group_name_valid(name))
		return group_fail(&c, NULL, "file name is not a usable group name (letters, digits, - _ . :)");
	tok = xcheck(json_tokener_new());
	root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (root != NULL && jerr == json_tokener_success)
		end += strspn(text + end, " \t\r\n");
	if (root == NULL || jerr != json_tokener_success || end < len) {
		rc = group_fail(&c, NULL, "invalid JSON near byte %zu: %s", end,
				jerr == json_tokener_continue ? "unexpected end of file"
				: jerr == json_tokener_success ? "text after the JSON value"
							       : json_tokener_error_desc(jerr));
		json_object_put(root);
		json_tokener_free(tok);
		return rc;
	}
	json_tokener_free(tok);
	g = xcalloc(1, sizeof *g);
	g->refs = 1;
	g->resume = true;
	g->budget_s = 300;
	g->cooldown = (struct cooldown){ .auth_s = 300, .permission_s = 300,
					 .rate_limit_s = 30, .base_s = 2, .max_s = 30 };
	g->name = xstrdup(name);
	g->path = xstrdup(path);
	rc = group_parse_root(&c, root, g);
	json_object_put(root);
	if (rc != IM_OK) {
		group_free(g);
		return rc;
	}
	*out = g;
	return IM_OK;
}

static char *group_name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	return xstrndup(base, n);
}

static enum im_rc group_read_file(const char *path, struct buf *text)
{
	FILE *f = fopen(path, "re");
	char chunk[8192];
	size_t n;
	enum im_rc rc = IM_OK;

	if (f == NULL)
		return IM_EIO;
	while (rc == IM_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rc = buf_append(text, chunk, n);
	if (rc == IM_OK && ferror(f))
		rc = IM_EIO;
	fclose(f);
	return rc;
}

enum im_rc group_load(const char *path, group_getenv_fn get, struct group **out,
		      char *err, size_t errlen, char *warn, size_t warnlen)
{
	struct buf text;
	char *name = group_name_from_path(path);
	enum im_rc rc;

	*out = NULL;
	if (warn && warnlen)
		warn[0] = '\0';
	buf_init(&text, GROUP_FILE_MAX);
	rc = group_read_file(path, &text);
	if (rc == IM_ETOOBIG)
		snprintf(err, errlen, "%s: larger than %u bytes", path, GROUP_FILE_MAX);
	else if (rc != IM_OK)
		snprintf(err, errlen, "%s: cannot be read", path);
	else
		rc = group_parse(name, path, buf_str(&text), get, out, err, errlen, warn, warnlen);
	buf_free(&text);
	free(name);
	return rc == IM_OK ? IM_OK : IM_EINVAL;
}

struct group *group_ref(struct group *g)
{
	refs_take(&g->refs);
	return g;
}

void group_free(struct group *g)
{
	if (g == NULL || !refs_drop(&g->refs))
		return;
	for (size_t i = 0; i < g->n_endpoints; i++)
		endpoint_clear(&g->endpoints[i]);
	free(g->endpoints);
	free(g->name);
	free(g->path);
	free(g);
}
