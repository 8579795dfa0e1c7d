/* listen.h: immortal's own FastCGI socket, for `--listen HOST:PORT|PATH`.
 *
 * libfcgi's FCGX_OpenSocket is IPv4-only and exits the process on errors,
 * so the listening socket is opened here instead. */
#ifndef IMMORTAL_LISTEN_H
#define IMMORTAL_LISTEN_H

#include <stddef.h>

/* Returns a listening descriptor, or -1 with a message in err. A spec
 * holding a '/' is a unix socket path; otherwise HOST:PORT ([v6]:PORT). */
int listen_open(const char *spec, char *err, size_t errlen);

#endif
