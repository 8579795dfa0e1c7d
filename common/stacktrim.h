/* stacktrim.h: giving a thread's unused stack pages back to the system.
 *
 * A thread keeps every stack page it ever touched until it ends: one deep
 * call (libcurl formats its request headers with a printf whose frame
 * alone is 5 KiB) costs the thread those pages for the rest of its life.
 * With a thread per open stream that is paid per stream. A thread that
 * registered its stack can, before a long wait, release the pages below
 * the caller's frame; they come back as zero pages if used again. */
#ifndef IMMORTAL_STACKTRIM_H
#define IMMORTAL_STACKTRIM_H

/* Records the calling thread's stack bounds; once, at the thread's start.
 * Threads that never call it (the main thread, CGI) release nothing. */
void stacktrim_thread_init(void);

/* Releases the calling thread's stack pages below its caller's frame, less
 * a margin for this function's own calls. Costs one madvise. */
void stacktrim_release(void);

#endif
