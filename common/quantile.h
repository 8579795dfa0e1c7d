/* quantile.h: a quantile estimated from histogram buckets.
 *
 * The status page shows p50 and p95 times from the same histograms
 * /metrics exports, so they agree with what Prometheus' histogram_quantile()
 * would compute from a scrape: linear interpolation inside the bucket that
 * holds the rank, the first bucket starting at 0, and a rank that falls in
 * the last (+Inf) bucket answered with the highest finite bound. */
#ifndef IMMORTAL_QUANTILE_H
#define IMMORTAL_QUANTILE_H

#include <stddef.h>
#include <stdint.h>

/* The q-quantile (0 <= q <= 1, clamped) of `n` buckets of counts (not
 * cumulative) with upper bounds `bounds` (ascending; the last one stands
 * for +Inf). NaN when the histogram is empty or n < 2. */
double quantile_histogram(const uint64_t *buckets, const double *bounds, size_t n, double q);

#endif
