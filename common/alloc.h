/* alloc.h: the single out-of-memory policy of immortal.
 *
 * A proxy that cannot allocate a few bytes cannot serve anything useful, and
 * threading NULL checks through every JSON edit would hide real logic, so every
 * allocation in the program goes through these wrappers, which abort with a
 * message when memory is exhausted. */
#ifndef IMMORTAL_ALLOC_H
#define IMMORTAL_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Aborts when a json-c constructor returned NULL; returns p otherwise. */
void *xcheck(void *p);

#endif
