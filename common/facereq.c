/* facereq.c: what the route translators share (see facereq.h). */
#include "facereq.h"

#include <stdio.h>

#include "alloc.h"

void *facereq_fail(struct facereq *f, const char *param, const char *fmt, ...)
{
	va_list ap;

	if (f->failed)
		return NULL;
	f->failed = true;
	*f->param = param;
	va_start(ap, fmt);
	vsnprintf(f->err, f->errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

struct json_object *facereq_get(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

void facereq_copy(struct json_object *to, const char *as, struct json_object *from, const char *key)
{
	struct json_object *v = facereq_get(from, key);
	if (v != NULL)
		json_object_object_add(to, as, json_object_get(v));
}

struct json_object *facereq_message(const char *role, struct json_object *content)
{
	struct json_object *m = xcheck(json_object_new_object());
	json_object_object_add(m, "role", xcheck(json_object_new_string(role)));
	json_object_object_add(m, "content", content);
	return m;
}

void facereq_stream(struct facereq *f, struct json_object *chat, struct json_object *from)
{
	struct json_object *v = facereq_get(from, "stream");

	if (v == NULL)
		return;
	if (!json_object_is_type(v, json_type_boolean)) {
		facereq_fail(f, "stream", "stream must be true or false");
		return;
	}
	json_object_object_add(chat, "stream", json_object_get(v));
	if (!json_object_get_boolean(v))
		return;
	/* The face reports usage at the end of every stream. */
	struct json_object *opts = xcheck(json_object_new_object());
	json_object_object_add(opts, "include_usage", json_object_new_boolean(1));
	json_object_object_add(chat, "stream_options", opts);
}
