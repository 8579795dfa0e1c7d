/* hoststate.h: the state every immortal process of a host shares.
 *
 * Endpoint health (cooldowns, half-open trials) and the metrics live in one
 * small file mapped into memory by every process that serves the same config
 * folder, so one process's discovery spares the others and any scrape of
 * /metrics sees the whole host. Records are found by a 64-bit key: endpoints
 * by what they are (base URL, model, key), never by their display name, so
 * their state survives renames and reloads; groups by a hash of their name,
 * so no name has to fit a slot.
 *
 * The module offers operations, not slots: each call takes the file's
 * process-shared robust mutex, with a bounded wait, and runs the caller's
 * function on one record. A lock that cannot be had, or a table with no room
 * left, makes the call return an error and the caller goes on without the
 * shared state. The file is trusted only when this user made it; anything
 * else (another owner, a symbolic link, writable by others) is left alone
 * and the process keeps its state to itself. health.c and metrics.c are the
 * only users. */
#ifndef IMMORTAL_HOSTSTATE_H
#define IMMORTAL_HOSTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errkind.h"
#include "result.h"

#define HOSTSTATE_BUCKETS 12

enum hoststate_outcome {
	OUTCOME_OK = 0,
	OUTCOME_FAILED,          /* 502, or an SSE error */
	OUTCOME_REQUEST_ERROR,   /* the upstream's 4xx passed back */
	OUTCOME_CONTENT_FILTER,
	OUTCOME_BROKEN,          /* stream broke after content */
	OUTCOME_CLIENT_GONE,
	OUTCOME_COUNT
};

struct hoststate_histogram {
	uint64_t buckets[HOSTSTATE_BUCKETS];  /* cumulative counts are derived */
	uint64_t count;
	double sum_s;
};

/* An endpoint's health, shared by every group that lists it. */
struct hoststate_health {
	int64_t cooldown_until_ms;     /* CLOCK_MONOTONIC, shared by the host */
	uint32_t failures;             /* consecutive failures */
	uint8_t last_kind;             /* enum errkind of the last failure */
	int32_t trial_pid;             /* the process running the half-open trial */
	int64_t trial_deadline_ms;     /* a trial not finished by then is void */
	uint64_t no_prefill_sig;       /* rejected prefill under this definition */
	uint32_t next_key;             /* a key pool's round-robin turn */
	double ttft_avg_ms;            /* decaying average time to first token */
	int64_t ttft_at_ms;            /* CLOCK_MONOTONIC of its last sample, 0: none */
};

/* The counters of one endpoint within one group. */
struct hoststate_counters {
	uint64_t attempts[ERRKIND_COUNT];  /* [ERRKIND_NONE] counts successes */
	uint8_t last_kind;                 /* enum errkind of the last failure */
	int64_t last_failure_ms;           /* CLOCK_REALTIME of it, 0: none */
	struct hoststate_histogram ttft;
	struct hoststate_histogram duration;
};

/* The counters of one group. */
struct hoststate_group {
	uint64_t outcomes[OUTCOME_COUNT];
};

/* The tables of records; each record's type is named beside it. */
enum hoststate_table {
	HOSTSTATE_HEALTH,        /* struct hoststate_health */
	HOSTSTATE_COUNTERS,      /* struct hoststate_counters */
	HOSTSTATE_GROUPS,        /* struct hoststate_group */
	HOSTSTATE_TABLES
};

/* Slots per table: the tables never fill with a real configuration, and
 * records no loaded configuration has mentioned for HOSTSTATE_STALE_MS are
 * reclaimed when room is needed. */
#define HOSTSTATE_HEALTH_SLOTS 2048
#define HOSTSTATE_COUNTERS_SLOTS 4096
#define HOSTSTATE_GROUPS_SLOTS 2048
#define HOSTSTATE_PROCS 256
/* Every process refreshes what its configuration mentions this often... */
#define HOSTSTATE_KEEP_MS 5000
/* ...so a record untouched this long is mentioned by no live process. */
#define HOSTSTATE_STALE_MS 30000
/* The longest wait for the lock. */
#define HOSTSTATE_LOCK_MS 1000

struct hoststate;

/* Maps the shared file for `config_dir` (created on first use) in
 * `state_dir`, or when that is NULL in /dev/shm, else $TMPDIR or /tmp.
 * Returns IM_OK, or with *out still usable but private to this process:
 * IM_EIO when no file could be created, IM_EINVAL when an existing file is
 * not trusted; then `why` (may be NULL) says why, for the caller to log. */
enum im_rc hoststate_open(const char *config_dir, const char *state_dir, struct hoststate **out,
			  char *why, size_t whylen);
void hoststate_close(struct hoststate *hs);
/* Path of the shared file, or "" for the private fallback. */
const char *hoststate_path(const struct hoststate *hs);

/* Runs on one record with the lock held; `rec` (the table's record type)
 * is NULL when the record is absent and was not to be created. */
typedef void (*hoststate_fn)(void *rec, void *arg);

/* Finds the record `key` of `table` (creating it when `create`), marks it
 * as in use and calls fn(rec, arg) under the lock. Returns IM_OK when fn
 * ran; IM_EBUSY when the lock could not be had within HOSTSTATE_LOCK_MS;
 * IM_ETOOBIG when a record was to be created and the table is full (the
 * file counts it). fn is not called on an error. */
enum im_rc hoststate_apply(struct hoststate *hs, enum hoststate_table table, uint64_t key,
			   bool create, hoststate_fn fn, void *arg);

/* As hoststate_apply for each of `keys` in order, under one lock (a
 * reader of many records waits for a held lock once, not once each).
 * IM_ETOOBIG when some record could not be created; fn still ran for
 * every key (with NULL for that one). */
enum im_rc hoststate_apply_each(struct hoststate *hs, enum hoststate_table table,
				const uint64_t *keys, size_t n_keys, bool create,
				hoststate_fn fn, void *arg);

/* Marks the records `keys` of `table` as still in use (creating those that
 * are absent), under one lock. Same returns as hoststate_apply. */
enum im_rc hoststate_keep(struct hoststate *hs, enum hoststate_table table,
			  const uint64_t *keys, size_t n_keys);

/* What is in flight, counted per process. */
enum hoststate_flight {
	HOSTSTATE_REQUESTS,      /* chat requests */
	HOSTSTATE_STREAMS,       /* streamed answers */
	HOSTSTATE_FLIGHTS
};

/* This process starts (+1) or ends (-1) a request or stream. Counts live
 * per process, so a process that dies takes its count with it. */
enum im_rc hoststate_flight_add(struct hoststate *hs, enum hoststate_flight which, int delta);
/* What every live process has in flight, and how often a record could not
 * be had for want of room. */
enum im_rc hoststate_totals(struct hoststate *hs, int64_t flights[HOSTSTATE_FLIGHTS],
			    uint64_t *table_full);

/* The first time this process meets `rc` (IM_EBUSY, IM_ETOOBIG), a
 * sentence for the caller to log; NULL afterwards and for other codes. */
const char *hoststate_trouble(struct hoststate *hs, enum im_rc rc);

/* The one hash of record keys: FNV-1a of `s` continuing from `h` (0 for a
 * fresh start). */
uint64_t hoststate_hash(uint64_t h, const char *s);

/* Histogram bucket upper bounds, in seconds (the last is +Inf). */
extern const double hoststate_bounds[HOSTSTATE_BUCKETS];
void hoststate_observe(struct hoststate_histogram *h, double seconds);

#endif
