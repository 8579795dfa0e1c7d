/* quantile.c: histogram_quantile() over immortal's buckets (see quantile.h). */
#include "quantile.h"

#include <math.h>

double quantile_histogram(const uint64_t *buckets, const double *bounds, size_t n, double q)
{
	uint64_t total = 0, below = 0;
	size_t b;

	for (size_t i = 0; i < n; i++)
		total += buckets[i];
	if (n < 2 || total == 0)
		return NAN;
	q = q < 0 ? 0 : q > 1 ? 1 : q;
	double rank = q * (double)total;
	/* the first bucket whose cumulative count reaches the rank (for rank
	 * 0: the first one holding anything) */
	for (b = 0; b < n - 1; b++) {
		if (buckets[b] > 0 && (double)(below + buckets[b]) >= rank)
			break;
		below += buckets[b];
	}
	if (b == n - 1)
		return bounds[n - 2];
	double start = b == 0 ? 0 : bounds[b - 1];
	if (b == 0 && bounds[0] <= 0)
		return bounds[0];
	return start + (bounds[b] - start) * ((rank - (double)below) / (double)buckets[b]);
}
