/* refs.h: the one reference count of objects that threads share read-only
 * once built (catalogs, groups, access lists): whoever drops the last
 * reference frees the object. */
#ifndef IMMORTAL_REFS_H
#define IMMORTAL_REFS_H

#include <stdbool.h>

/* Takes one more reference. */
static inline void refs_take(int *refs)
{
	__atomic_add_fetch(refs, 1, __ATOMIC_RELAXED);
}

/* Drops one; true when it was the last (the caller frees the object,
 * whose writes by other threads it then sees). */
static inline bool refs_drop(int *refs)
{
	return __atomic_sub_fetch(refs, 1, __ATOMIC_ACQ_REL) == 0;
}

#endif
