/* stacktrim.c: releasing stack pages below the live frames (see stacktrim.h). */
#include "stacktrim.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Kept above the released range, below the caller's frame: this
 * function's own frame and madvise's. A signal that arrives meanwhile
 * builds its frame after madvise returns, on fresh zero pages. */
#define STACKTRIM_MARGIN 1024u

/* This thread's usable stack (above its guard), or 0s when the thread did
 * not register. */
static _Thread_local uintptr_t stacktrim_low, stacktrim_high;

void stacktrim_thread_init(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		stacktrim_low = (uintptr_t)addr;
		stacktrim_high = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

__attribute__((noinline)) void stacktrim_release(void)
{
	/* the frame itself, not a local: a sanitizer may keep locals elsewhere */
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t low = (stacktrim_low + page - 1) & ~(page - 1);
	uintptr_t top = (here - STACKTRIM_MARGIN) & ~(page - 1);

	if (stacktrim_low == 0 || here >= stacktrim_high || here <= stacktrim_low || top <= low)
		return;
	(void)madvise((void *)low, top - low, MADV_DONTNEED);
}
