/* access.h: optional client keys, and which groups each key may use.
 *
 * The keys file (IMMORTAL_ACCESS_KEYS_FILE) is either one key per line (each
 * key may use every group) or a JSON object mapping each key to the list of
 * groups it may use ("*" for all). Keys are compared in constant time, and
 * every key is compared, so timing tells nothing about which key is close. */
#ifndef IMMORTAL_ACCESS_H
#define IMMORTAL_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

enum access_verdict {
	ACCESS_OK,
	ACCESS_MISSING,          /* no bearer token: 401 */
	ACCESS_UNKNOWN,          /* not a known key: 401 */
	ACCESS_FORBIDDEN,        /* a known key, but not for this group: 403 */
};

struct access;

/* Loads the keys file. On error returns IM_EINVAL with a message in err
 * (which never quotes a key). Free with access_unref. */
enum im_rc access_load(const char *path, struct access **out, char *err, size_t errlen);
/* The same from the file's text (NUL-terminated, borrowed); err names no
 * file. */
enum im_rc access_parse(const char *text, struct access **out, char *err, size_t errlen);
struct access *access_ref(struct access *acl);
void access_unref(struct access *acl);

/* Checks an Authorization header value ("Bearer KEY", may be NULL) for the
 * group `group` (NULL: any group, e.g. for the model list). On ACCESS_OK,
 * *who (may be NULL) identifies the key for access_allows. */
enum access_verdict access_check(const struct access *acl, const char *authorization,
				 const char *group, int *who);
/* Whether key `who` may use `group`. */
bool access_allows(const struct access *acl, int who, const char *group);

/* A fingerprint of the file (size, time, inode), 0 when it cannot be read. */
uint64_t access_stamp(const char *path);

#endif
