/* access.c: client keys and the groups they may use (see access.h). */
#include "access.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "refs.h"

#define ACCESS_FILE_MAX (4u << 20)
#define ACCESS_KEY_MAX 512

struct access_key {
	char *key;
	size_t len;
	bool all_groups;
	char **groups;
	size_t n_groups;
};

struct access {
	struct access_key *keys;
	size_t n_keys;
	int refs;
};

static void access_free(struct access *acl)
{
	for (size_t i = 0; i < acl->n_keys; i++) {
		struct access_key *k = &acl->keys[i];
		memset(k->key, 0, k->len);
		free(k->key);
		for (size_t g = 0; g < k->n_groups; g++)
			free(k->groups[g]);
		free(k->groups);
	}
	free(acl->keys);
	free(acl);
}

struct access *access_ref(struct access *acl)
{
	refs_take(&acl->refs);
	return acl;
}

void access_unref(struct access *acl)
{
	if (acl != NULL && refs_drop(&acl->refs))
		access_free(acl);
}

static struct access_key *access_add(struct access *acl, const char *key, size_t len)
{
	acl->keys = xrealloc(acl->keys, (acl->n_keys + 1) * sizeof *acl->keys);
	struct access_key *k = &acl->keys[acl->n_keys++];
	memset(k, 0, sizeof *k);
	k->key = xstrndup(key, len);
	k->len = len;
	return k;
}

static void access_add_group(struct access_key *k, const char *group)
{
	if (strcmp(group, "*") == 0) {
		k->all_groups = true;
		return;
	}
	k->groups = xrealloc(k->groups, (k->n_groups + 1) * sizeof *k->groups);
	k->groups[k->n_groups++] = xstrdup(group);
}

static enum im_rc access_parse_json(struct access *acl, const char *text, char *err, size_t errlen)
{
	struct json_object *root = json_tokener_parse(text);
	int n = 0;

	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		snprintf(err, errlen, "not a JSON object of key: [groups]");
		return IM_EINVAL;
	}
	json_object_object_foreach(root, key, groups) {
		n++;
		if (!json_object_is_type(groups, json_type_array) || key[0] == '\0' ||
		    strlen(key) > ACCESS_KEY_MAX) {
			snprintf(err, errlen, "entry %d: the value must be a list of group names (\"*\" for all)", n);
			json_object_put(root);
			return IM_EINVAL;
		}
		struct access_key *k = access_add(acl, key, strlen(key));
		for (size_t i = 0; i < json_object_array_length(groups); i++) {
			struct json_object *g = json_object_array_get_idx(groups, i);
			if (json_object_is_type(g, json_type_string))
				access_add_group(k, json_object_get_string(g));
		}
	}
	json_object_put(root);
	return IM_OK;
}

static void access_parse_lines(struct access *acl, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		while (len > 0 && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			len--;
		if (len > 0 && s[0] != '#' && len <= ACCESS_KEY_MAX)
			access_add(acl, s, len)->all_groups = true;
		p = end ? end + 1 : p + strlen(p);
	}
}

enum im_rc access_parse(const char *text, struct access **out, char *err, size_t errlen)
{
	struct access *acl = xcalloc(1, sizeof *acl);
	enum im_rc rc = IM_OK;

	*out = NULL;
	acl->refs = 1;
	while (isspace((unsigned char)*text))
		text++;
	if (*text == '{')
		rc = access_parse_json(acl, text, err, errlen);
	else
		access_parse_lines(acl, text);
	if (rc == IM_OK && acl->n_keys == 0) {
		snprintf(err, errlen, "holds no key");
		rc = IM_EINVAL;
	}
	if (rc != IM_OK) {
		access_free(acl);
		return rc;
	}
	*out = acl;
	return IM_OK;
}

enum im_rc access_load(const char *path, struct access **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct buf text;
	char chunk[4096], why[256];
	size_t n;
	enum im_rc rc = IM_OK;

	*out = NULL;
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot be read", path);
		return IM_EINVAL;
	}
	buf_init(&text, ACCESS_FILE_MAX);
	while (rc == IM_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rc = buf_append(&text, chunk, n);
	fclose(f);
	if (rc != IM_OK) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, ACCESS_FILE_MAX);
		buf_free(&text);
		return IM_EINVAL;
	}
	rc = access_parse(buf_str(&text), out, why, sizeof why);
	if (rc != IM_OK)
		snprintf(err, errlen, "%s: %s", path, why);
	memset(text.data ? text.data : chunk, 0, text.len);
	buf_free(&text);
	return rc == IM_OK ? IM_OK : IM_EINVAL;
}

/* Constant-time equality: the time depends only on the candidate's length. */
static bool access_equal(const char *candidate, size_t clen, const struct access_key *k)
{
	unsigned char diff = (unsigned char)(clen != k->len);
	for (size_t i = 0; i < clen; i++)
		diff |= (unsigned char)candidate[i] ^ (unsigned char)k->key[i < k->len ? i : 0];
	return diff == 0;
}

bool access_allows(const struct access *acl, int who, const char *group)
{
	if (who < 0 || (size_t)who >= acl->n_keys)
		return false;
	const struct access_key *k = &acl->keys[who];
	if (k->all_groups || group == NULL)
		return true;
	for (size_t i = 0; i < k->n_groups; i++)
		if (strcmp(k->groups[i], group) == 0)
			return true;
	return false;
}

enum access_verdict access_check(const struct access *acl, const char *authorization,
				 const char *group, int *who)
{
	int found = -1;

	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return ACCESS_MISSING;
	const char *token = authorization + 7;
	while (*token == ' ')
		token++;
	size_t len = strlen(token);
	while (len > 0 && isspace((unsigned char)token[len - 1]))
		len--;
	if (len == 0)
		return ACCESS_MISSING;
	/* every key is compared, whatever matched before */
	for (size_t i = 0; i < acl->n_keys; i++)
		if (access_equal(token, len, &acl->keys[i]) && found < 0)
			found = (int)i;
	if (found < 0)
		return ACCESS_UNKNOWN;
	if (who)
		*who = found;
	return access_allows(acl, found, group) ? ACCESS_OK : ACCESS_FORBIDDEN;
}

uint64_t access_stamp(const char *path)
{
	struct stat st;
	if (path == NULL || stat(path, &st) != 0)
		return 0;
	return ((uint64_t)st.st_mtim.tv_sec * 1000000007ull) ^ (uint64_t)st.st_mtim.tv_nsec ^
	       ((uint64_t)st.st_size << 32) ^ (uint64_t)st.st_ino;
}
