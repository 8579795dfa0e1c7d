/* server.h: serving requests: a growing pool of FastCGI workers, or one CGI
 * request.
 *
 * Workers wait in one epoll set for a new connection on the listening socket
 * or the next request on a connection the front server keeps open
 * (FCGI_KEEP_CONN), and serve one request at a time with their own
 * transport, so a long stream only ever occupies its own thread and an idle
 * kept connection occupies none. The pool keeps a few spare workers waiting
 * and starts more on demand up to a ceiling; workers beyond the spares exit
 * when they become idle. */
#ifndef IMMORTAL_SERVER_H
#define IMMORTAL_SERVER_H

#include "app.h"

/* Serves FastCGI on `listen_fd` until server_stop(); returns when every
 * worker has finished its request, or when IMMORTAL_DRAIN_SECONDS passed,
 * the requests still running were cut off and a short grace passed. */
int server_run_fcgi(struct app *app, int listen_fd);
/* True when no worker runs any more. Only then may main free what workers
 * use (sites, catalogs, libcurl): a straggler of a cut-off request may
 * still touch them until the process exits. */
bool server_quiet(void);
/* Asks the pool to stop accepting (async-signal context not required). */
void server_stop(void);
/* Serves this process's single CGI request. */
int server_run_cgi(struct app *app);

#endif
