/* canon.c: the canonical answer form (see canon.h). */
#include "canon.h"

#include <json-c/json.h>

const char *canon_text(const struct canon *c)
{
	if (c->text != NULL)
		return c->text;
	return json_object_to_json_string_ext(c->obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}
