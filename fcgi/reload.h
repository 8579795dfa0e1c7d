/* reload.h: keeping the config current without restarts or signals.
 *
 * Loads the group files and the access keys at start, then a watcher thread
 * looks at their files every half second and, when something changed, loads
 * a new snapshot and swaps it in. Requests in flight keep the snapshot they
 * started with; a group file with errors keeps its last good version. */
#ifndef IMMORTAL_RELOAD_H
#define IMMORTAL_RELOAD_H

#include "app.h"

/* Loads the first snapshot; returns -1 (logged) when the config folder
 * cannot be read or the access keys file is broken. */
int reload_init(struct app *app);
/* Starts the watcher thread. */
void reload_start(struct app *app);
/* Stops the watcher and drops the app's snapshot. */
void reload_stop(struct app *app);

#endif
