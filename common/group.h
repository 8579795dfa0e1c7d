/* group.h: a model group, loaded from one JSON file of the config folder.
 *
 * The file GROUP.json is what a client names as `model`: the endpoints to try,
 * in order, and group-wide options. A group is immutable once loaded; the
 * catalog (catalog.h) shares it between threads. */
#ifndef IMMORTAL_GROUP_H
#define IMMORTAL_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

enum endpoint_type {
	ENDPOINT_OPENAI = 0,
	ENDPOINT_CHUTES,
	ENDPOINT_OPENROUTER,
	ENDPOINT_ANTHROPIC,
	ENDPOINT_GEMINI,
};

enum endpoint_stream {
	ENDPOINT_STREAM_FOLLOW = 0,  /* talk to the upstream as the client asked */
	ENDPOINT_STREAM_ON,
	ENDPOINT_STREAM_OFF,
};

/* How an endpoint is asked to continue a broken answer (resume.h). */
enum continuation {
	CONTINUATION_PREFILL = 0,  /* a trailing assistant message */
	CONTINUATION_VLLM,         /* + continue_final_message, add_generation_prompt */
	CONTINUATION_DEEPSEEK,     /* the assistant message carries prefix: true */
	CONTINUATION_NONE,
};

/* One request header an endpoint's file adds or overrides. */
struct endpoint_header {
	char *name;
	char *value;             /* after ${VAR} expansion; may be a secret */
};

struct endpoint {
	uint64_t key;            /* what it is: hash of baseurl, model, apikey */
	uint64_t sig;            /* its whole definition, to notice edits */
	char *name;              /* display name; GROUP#N by default */
	char *baseurl;           /* after ${VAR} expansion */
	char *apikey;            /* after expansion; NULL sends no Authorization;
				    a pool's first key (keys[0]) */
	char **keys;             /* the key pool: `apikey` as a list, unset ones
				    left out; NULL for a single key or none */
	size_t n_keys;           /* 0 or 1: no pool */
	int priority;            /* tier: lower goes first; default 0 */
	double weight;           /* share within its tier; default 1 */
	char *model;             /* the upstream's model id */
	char *url;               /* baseurl + "/chat/completions" */
	enum endpoint_type type;
	enum endpoint_stream stream;
	double timeout_s;        /* first token / silence / whole non-stream answer */
	double connect_timeout_s;
	bool has_temperature;
	double temperature;
	long max_tokens;         /* 0: not set */
	int retries;             /* extra tries on transient failures */
	double retry_after_max_s;
	enum continuation continuation;
	bool continuation_set;   /* given in the file, not the type's default */
	char *referer;           /* OpenRouter attribution (HTTP-Referer) */
	char *title;             /* OpenRouter attribution (X-Title) */
	struct endpoint_header *headers;   /* the `headers` field */
	size_t n_headers;
};

/* Cooldowns after failures, in seconds (see health.h). */
struct cooldown {
	double auth_s;
	double permission_s;
	double rate_limit_s;     /* a 429 without Retry-After */
	double base_s;           /* first backoff step for the other kinds */
	double max_s;            /* backoff ceiling */
};

/* How the endpoints of one priority tier are ordered (plan.h). */
enum group_strategy {
	STRATEGY_ORDERED = 0,       /* file order */
	STRATEGY_WEIGHTED,          /* drawn by weight */
	STRATEGY_LATENCY,           /* fastest first token first */
	STRATEGY_STICKY,            /* rendezvous hashing of the client */
};

struct group {
	char *name;
	char *path;
	struct endpoint *endpoints;
	size_t n_endpoints;
	bool failover_on_content_filter;
	bool resume;             /* continue broken streams (resume.h) */
	enum group_strategy strategy;
	double budget_s;         /* no new attempt starts after this long */
	struct cooldown cooldown;
	int refs;                /* atomic: catalogs sharing this group */
};

/* A function with getenv's contract, used for ${VAR} expansion. */
typedef const char *(*group_getenv_fn)(const char *name);

/* Loads the group `name` from the JSON text `text` read from `path`.
 * On success *out is a new group (free with group_free). On error returns
 * IM_EINVAL and writes a message naming the file, the endpoint and the field
 * into err. Endpoints whose ${VAR} is unset are left out with a note in
 * `warn` (may be NULL); a group left with none is an error. */
enum im_rc group_parse(const char *name, const char *path, const char *text,
		       group_getenv_fn get, struct group **out,
		       char *err, size_t errlen, char *warn, size_t warnlen);

/* The largest group file read. */
#define GROUP_FILE_MAX (1u << 20)

/* Reads and parses the file at `path`; the group is named after the file. */
enum im_rc group_load(const char *path, group_getenv_fn get, struct group **out,
		      char *err, size_t errlen, char *warn, size_t warnlen);

/* Takes one more reference; returns g. */
struct group *group_ref(struct group *g);
/* Drops one reference; the last one frees the group. */
void group_free(struct group *g);

/* True when `name` is usable as a group name (and file name). */
bool group_name_valid(const char *name);

const char *endpoint_type_name(enum endpoint_type type);
const char *continuation_name(enum continuation c);
const char *group_strategy_name(enum group_strategy s);

/* The identity of key `k` of a pool endpoint, for its own health record. */
uint64_t endpoint_key_id(const struct endpoint *ep, size_t k);

/* How logs and pages name key `k` of a pool: its position and last four
 * characters ("2/…abcd"), only the position for a key under 12. */
void endpoint_key_label(const struct endpoint *ep, size_t k, char *out, size_t outlen);

#endif
