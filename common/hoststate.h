/* hoststate.h: the state every immortal process of a host shares.
 *
 * Endpoint health (cooldowns, half-open trials) and the metrics live in one
 * small file mapped into memory by every process that serves the same config
 * folder, so one process's discovery spares the others and any scrape of
 * /metrics sees the whole host. Endpoints are found by a key derived from
 * what they are (base URL, model, key), never by their display name, so
 * their state survives renames and reloads. One process-shared robust mutex
 * guards the file; health.c and metrics.c are its only users. */
#ifndef IMMORTAL_HOSTSTATE_H
#define IMMORTAL_HOSTSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "errkind.h"
#include "result.h"

#define HOSTSTATE_ENDPOINTS 1024
#define HOSTSTATE_GROUPS 512
#define HOSTSTATE_BUCKETS 12
#define HOSTSTATE_NAME 128

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

struct hoststate_endpoint {
	uint64_t key;                  /* 0: free slot */
	/* health */
	int64_t cooldown_until_ms;     /* CLOCK_MONOTONIC, shared by the host */
	uint32_t failures;             /* consecutive failures */
	uint8_t last_kind;             /* enum errkind of the last failure */
	int32_t trial_pid;             /* the process running the half-open trial */
	int64_t trial_deadline_ms;     /* a trial not finished by then is void */
	uint64_t no_prefill_sig;       /* rejected prefill under this definition */
	/* metrics (per group; last_kind above also says the last failure's) */
	uint64_t attempts[ERRKIND_COUNT];  /* [ERRKIND_NONE] counts successes */
	int64_t last_failure_ms;       /* CLOCK_REALTIME of the last failed attempt, 0: none */
	struct hoststate_histogram ttft;
	struct hoststate_histogram duration;
};

struct hoststate_group {
	char name[HOSTSTATE_NAME];     /* "": free slot */
	uint64_t outcomes[OUTCOME_COUNT];
};

struct hoststate;

/* Maps the shared file for `config_dir` (created on first use) in
 * `state_dir`, or when that is NULL in /dev/shm, else $TMPDIR or /tmp. When
 * no file can be had, falls back to memory of this process only and returns
 * IM_EIO with *out still usable. */
enum im_rc hoststate_open(const char *config_dir, const char *state_dir, struct hoststate **out);
void hoststate_close(struct hoststate *hs);
/* Path of the shared file, or "" for the private fallback. */
const char *hoststate_path(const struct hoststate *hs);

/* The lock around every read or write of the slots. */
void hoststate_lock(struct hoststate *hs);
void hoststate_unlock(struct hoststate *hs);

/* With the lock held: the slot for `key`, created when `create`; NULL when
 * absent (or the table is full). */
struct hoststate_endpoint *hoststate_endpoint(struct hoststate *hs, uint64_t key, bool create);
struct hoststate_group *hoststate_group(struct hoststate *hs, const char *name, bool create);
/* With the lock held: the host-wide count of streams in flight. */
int64_t *hoststate_streams(struct hoststate *hs);
/* With the lock held: the host-wide count of chat requests in flight. */
int64_t *hoststate_requests(struct hoststate *hs);

/* Histogram bucket upper bounds, in seconds (the last is +Inf). */
extern const double hoststate_bounds[HOSTSTATE_BUCKETS];
void hoststate_observe(struct hoststate_histogram *h, double seconds);

#endif
