/* apierror.h: errors in OpenAI's JSON shape.
 *
 * Every error immortal itself returns, over HTTP or as an SSE error event,
 * is {"error": {"message", "type", "param", "code"}} so that OpenAI clients
 * raise it as they would any API error. */
#ifndef IMMORTAL_APIERROR_H
#define IMMORTAL_APIERROR_H

struct json_object;

/* Returns a new {"error": {...}} object; `code` and `param` may be NULL. */
struct json_object *apierror_new(const char *message, const char *type,
				 const char *code, const char *param);

/* The same, serialised (caller frees). */
char *apierror_text(const char *message, const char *type, const char *code,
		    const char *param);

/* Serialises any JSON object compactly (caller frees). */
char *apierror_serialize(struct json_object *obj);

#endif
