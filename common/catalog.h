/* catalog.h: every group of the config folder, as one shared snapshot.
 *
 * A catalog is immutable and reference-counted: a request takes a reference
 * for its whole life, so a newer catalog can replace it without disturbing
 * requests in flight. */
#ifndef IMMORTAL_CATALOG_H
#define IMMORTAL_CATALOG_H

#include <stddef.h>

#include "group.h"
#include "result.h"

struct catalog {
	struct group **groups;   /* sorted by name */
	size_t n_groups;
	char **problems;         /* config errors and warnings found while loading */
	size_t n_problems;
	size_t n_failed;         /* group files left out for errors */
	uint64_t stamp;          /* catalog_stamp() of the folder when loaded */
	int refs;                /* atomic */
};

/* Loads every DIR/NAME.json (hidden files and other names ignored). Files
 * with errors are described in `problems` and left out, except that a group
 * `prev` (may be NULL) had keeps its last good version. A folder that cannot
 * be read gives IM_EIO. The new catalog holds one reference. */
enum im_rc catalog_load(const char *dir, group_getenv_fn get, const struct catalog *prev,
			struct catalog **out);

/* Whether a folder entry named `name` is a group file (NAME.json, not hidden). */
bool catalog_is_group_file(const char *name);

/* A catalog without groups (for a folder that does not exist yet). */
struct catalog *catalog_empty(void);

/* A fingerprint of the folder's group files (names, sizes, times, inodes):
 * it changes whenever a file is added, edited, replaced or removed. */
uint64_t catalog_stamp(const char *dir);

/* Finds a group by name; borrowed for as long as the caller holds its
 * reference to the catalog. */
const struct group *catalog_find(const struct catalog *cat, const char *name);

/* Takes one more reference; returns cat. */
struct catalog *catalog_ref(struct catalog *cat);
/* Drops one reference; the last one frees the catalog. */
void catalog_unref(struct catalog *cat);

#endif
