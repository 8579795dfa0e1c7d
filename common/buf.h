/* buf.h: a growable byte buffer with a hard size cap.
 *
 * Every buffer that grows with outside input (request bodies, SSE lines,
 * upstream answers) is a struct buf, so no peer can make immortal allocate
 * without bound: appending past `max` fails with IM_ETOOBIG and leaves the
 * buffer unchanged. The data is always NUL-terminated. */
#ifndef IMMORTAL_BUF_H
#define IMMORTAL_BUF_H

#include <stddef.h>

#include "result.h"

struct buf {
	char *data;   /* NULL until the first append; NUL-terminated after */
	size_t len;
	size_t cap;
	size_t max;   /* hard cap on len */
};

void buf_init(struct buf *b, size_t max);
enum im_rc buf_append(struct buf *b, const void *p, size_t n);
enum im_rc buf_append_str(struct buf *b, const char *s);
/* Room for `n` more bytes at data + len, for a reader to fill in place
 * (no copy, no chunk on the caller's stack); NULL past the cap. The bytes
 * count once buf_commit() says how many were written. */
char *buf_room(struct buf *b, size_t n);
/* Counts `n` bytes written at data + len (at most what buf_room gave). */
void buf_commit(struct buf *b, size_t n);
/* Appends formatted text, whole or not at all (IM_ETOOBIG past the cap). */
enum im_rc buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends everything `fd` (borrowed) holds up to its end: IM_ETOOBIG past
 * the cap, IM_EIO on a read error. */
enum im_rc buf_read_fd(struct buf *b, int fd);
/* Empties the buffer but keeps its memory for reuse. */
void buf_reset(struct buf *b);
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Returns the contents (never NULL) and hands their ownership to the caller;
 * the buffer is empty afterwards. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);
/* Borrowed view of the contents, "" when empty; invalid after the next append. */
const char *buf_str(const struct buf *b);

#endif
