/* jsonraw.c: pinning the client's spelling of values onto a json-c tree (see jsonraw.h). */
#include "jsonraw.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"

/* json-c refuses deeper documents before this is ever reached. */
#define JSONRAW_DEPTH_MAX 256

/* A pin to set (text != NULL) or to drop, applied once the whole text was
 * scanned: a scan that stops half-way must not leave the pin of an earlier
 * duplicate key on the value of a later one. */
struct jsonraw_pin {
	struct json_object *node;
	const char *text;
	size_t len;
};

struct jsonraw_scan {
	const char *s;
	size_t len;
	size_t pos;
	int depth;
	struct jsonraw_pin *pins;
	size_t npins, cap;
};

static void jsonraw_ws(struct jsonraw_scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) != NULL && sc->s[sc->pos])
		sc->pos++;
}

static bool jsonraw_at(const struct jsonraw_scan *sc, char c)
{
	return sc->pos < sc->len && sc->s[sc->pos] == c;
}

/* Records that `node` prints as the `len` bytes at `text` (NULL: as json-c
 * prints it, dropping what an earlier duplicate key recorded). */
static void jsonraw_record(struct jsonraw_scan *sc, struct json_object *node,
			   const char *text, size_t len)
{
	if (sc->npins == sc->cap) {
		sc->cap = sc->cap ? 2 * sc->cap : 16;
		sc->pins = xrealloc(sc->pins, sc->cap * sizeof *sc->pins);
	}
	sc->pins[sc->npins++] = (struct jsonraw_pin){ node, text, len };
}

static void jsonraw_apply(const struct jsonraw_scan *sc)
{
	for (size_t i = 0; i < sc->npins; i++) {
		const struct jsonraw_pin *p = &sc->pins[i];
		if (p->text == NULL)
			json_object_set_serializer(p->node, NULL, NULL, NULL);
		else
			json_object_set_serializer(p->node, json_object_userdata_to_json_string,
						   xstrndup(p->text, p->len), json_object_free_userdata);
	}
}

/* Skips a string starting at its opening quote; false when unterminated. */
static bool jsonraw_string(struct jsonraw_scan *sc, bool *has_u)
{
	*has_u = false;
	for (sc->pos++; sc->pos < sc->len; sc->pos++) {
		char c = sc->s[sc->pos];
		if (c == '"') {
			sc->pos++;
			return true;
		}
		if (c == '\\') {
			sc->pos++;
			if (sc->pos < sc->len && sc->s[sc->pos] == 'u')
				*has_u = true;
		}
	}
	return false;
}

/* An integer json-c would print differently (-0, beyond 64 bits) is pinned. */
static void jsonraw_number(struct jsonraw_scan *sc, struct json_object *node,
			   const char *text, size_t len)
{
	char mine[32];

	if (!json_object_is_type(node, json_type_int))
		return;  /* doubles keep their text in json-c already */
	if (text[0] == '-')
		snprintf(mine, sizeof mine, "%" PRId64, json_object_get_int64(node));
	else
		snprintf(mine, sizeof mine, "%" PRIu64, json_object_get_uint64(node));
	if (strlen(mine) != len || memcmp(mine, text, len) != 0)
		jsonraw_record(sc, node, text, len);
	else
		jsonraw_record(sc, node, NULL, 0);
}

static bool jsonraw_value(struct jsonraw_scan *sc, struct json_object *node);

/* The member of `node` whose key is the quoted string `text` (`len` bytes),
 * or NULL. json-c stores keys decoded; a plain short key needs no copy on
 * the heap, an escaped one is decoded by json-c itself. */
static struct json_object *jsonraw_member(struct json_object *node, const char *text, size_t len)
{
	struct json_object *child = NULL;
	char small[128];

	if (!json_object_is_type(node, json_type_object))
		return NULL;
	if (memchr(text, '\\', len) == NULL && len - 2 < sizeof small) {
		memcpy(small, text + 1, len - 2);
		small[len - 2] = '\0';
		json_object_object_get_ex(node, small, &child);
		return child;
	}
	char *quoted = xstrndup(text, len);
	struct json_object *k = json_tokener_parse(quoted);
	if (json_object_is_type(k, json_type_string))
		json_object_object_get_ex(node, json_object_get_string(k), &child);
	json_object_put(k);
	free(quoted);
	return child;
}

static bool jsonraw_object(struct jsonraw_scan *sc, struct json_object *node)
{
	bool has_u;

	sc->pos++;
	jsonraw_ws(sc);
	if (jsonraw_at(sc, '}')) {
		sc->pos++;
		return true;
	}
	for (;;) {
		size_t kstart = sc->pos;
		if (!jsonraw_at(sc, '"') || !jsonraw_string(sc, &has_u))
			return false;
		/* With a duplicate key json-c keeps the last value; the last
		 * occurrence is walked last, so its pins are the ones that stay. */
		struct json_object *child = jsonraw_member(node, sc->s + kstart, sc->pos - kstart);
		jsonraw_ws(sc);
		if (!jsonraw_at(sc, ':'))
			return false;
		sc->pos++;
		if (!jsonraw_value(sc, child))
			return false;
		jsonraw_ws(sc);
		if (jsonraw_at(sc, '}')) {
			sc->pos++;
			return true;
		}
		if (!jsonraw_at(sc, ','))
			return false;
		sc->pos++;
		jsonraw_ws(sc);
	}
}

static bool jsonraw_array(struct jsonraw_scan *sc, struct json_object *node)
{
	bool is_array = json_object_is_type(node, json_type_array);
	size_t n = is_array ? json_object_array_length(node) : 0;

	sc->pos++;
	jsonraw_ws(sc);
	if (jsonraw_at(sc, ']')) {
		sc->pos++;
		return true;
	}
	for (size_t i = 0;; i++) {
		if (!jsonraw_value(sc, i < n ? json_object_array_get_idx(node, i) : NULL))
			return false;
		jsonraw_ws(sc);
		if (jsonraw_at(sc, ']')) {
			sc->pos++;
			return true;
		}
		if (!jsonraw_at(sc, ','))
			return false;
		sc->pos++;
	}
}

/* Numbers and the literals true, false, null (and json-c's NaN, Infinity). */
static bool jsonraw_scalar(struct jsonraw_scan *sc, struct json_object *node)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len && strchr("+-.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
					   sc->s[sc->pos]) != NULL && sc->s[sc->pos])
		sc->pos++;
	if (sc->pos == start)
		return false;  /* a comment, a single quote: not strict JSON */
	char c = sc->s[start];
	if (node != NULL && (c == '-' || (c >= '0' && c <= '9')))
		jsonraw_number(sc, node, sc->s + start, sc->pos - start);
	return true;
}

static bool jsonraw_value(struct jsonraw_scan *sc, struct json_object *node)
{
	bool ok, has_u;
	size_t start;

	jsonraw_ws(sc);
	if (sc->pos >= sc->len || ++sc->depth > JSONRAW_DEPTH_MAX)
		return false;
	switch (sc->s[sc->pos]) {
	case '{':
		ok = jsonraw_object(sc, node);
		break;
	case '[':
		ok = jsonraw_array(sc, node);
		break;
	case '"':
		start = sc->pos;
		ok = jsonraw_string(sc, &has_u);
		/* \u escapes are where json-c's text (and, for a lone
		 * surrogate, its value) differs from the client's */
		if (ok && json_object_is_type(node, json_type_string)) {
			if (has_u)
				jsonraw_record(sc, node, sc->s + start, sc->pos - start);
			else
				jsonraw_record(sc, node, NULL, 0);
		}
		break;
	default:
		ok = jsonraw_scalar(sc, node);
		break;
	}
	sc->depth--;
	return ok;
}

enum im_rc jsonraw_pin(struct json_object *root, const char *text, size_t len)
{
	struct jsonraw_scan sc = { .s = text, .len = len };
	bool ok = text != NULL && jsonraw_value(&sc, root);

	if (ok)
		jsonraw_apply(&sc);
	free(sc.pins);
	return ok ? IM_OK : IM_EINVAL;
}

struct json_object *jsonraw_new_double(double v)
{
	char text[32];

	/* the shortest of %.15g..%.17g that reads back as v; %.17g always does */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(text, sizeof text, "%.*g", prec, v);
		if (strtod(text, NULL) == v)
			break;
	}
	return xcheck(json_object_new_double_s(v, text));
}
