/* lastgood.h: the last good version of each group file, kept on disk for
 * plain CGI.
 *
 * A FastCGI process that sees a broken edit of a group file keeps serving
 * the version it loaded before (catalog_load's `prev`). A CGI process lives
 * for one request and has no "before": it keeps the text of every group
 * file that loaded in a folder of its own beside the shared state file
 * (same state folder, one folder per config folder), and loads a broken
 * group from there. The folder is private: created 0700 and used only when
 * it is a real folder owned by our uid that nobody else may enter; copies
 * are written 0600 and read without following links. */
#ifndef IMMORTAL_LASTGOOD_H
#define IMMORTAL_LASTGOOD_H

#include <stddef.h>

#include "catalog.h"
#include "group.h"
#include "result.h"

/* Loads the catalog of `dir` like catalog_load, except that a group whose
 * file is broken is served in its last good version, and the text of each
 * file that loads is kept for next time. `state_path` is the shared state
 * file (hoststate_path; "" when there is none): the folder is named after
 * it. When no folder can be used, err says why (for the log) and broken
 * groups are left out, as catalog_load does; err is "" otherwise. Returns
 * what catalog_load returns. */
enum im_rc lastgood_catalog(const char *dir, const char *state_path, group_getenv_fn get,
			    struct catalog **out, char *err, size_t errlen);

#endif
