/* errkind.c: classification of upstream failures (see errkind.h). */
#include "errkind.h"

#include <string.h>

#include <json-c/json.h>

#include "jsonobj.h"

/* Each kind's name (logs, metrics, the error's "kind") and the hint an
 * operator gets with it. */
static const struct {
	const char *name, *hint;
} errkind_table[ERRKIND_COUNT] = {
	[ERRKIND_NONE] = { "ok", "" },
	[ERRKIND_NETWORK] = { "network", "check the baseurl and that the provider is reachable from this host" },
	[ERRKIND_AUTH] = { "auth", "check the apikey of this endpoint and that its ${VAR} is set" },
	[ERRKIND_PERMISSION] = { "permission", "the key lacks access to this model or the account is out of credit" },
	[ERRKIND_TIMEOUT] = { "timeout", "the provider was silent too long; raise the endpoint's timeout if the model is slow" },
	[ERRKIND_RATE_LIMIT] = { "rate_limit", "the provider is rate-limiting this key; add another endpoint or raise the plan's limits" },
	[ERRKIND_SERVER] = { "server", "the provider failed; nothing to do unless it persists" },
	[ERRKIND_REQUEST] = { "request", "the provider rejected the request; check the model name and the request fields" },
	[ERRKIND_CONTENT_FILTER] = { "content_filter", "the provider refused the content; set failover_on_content_filter to try others" },
	[ERRKIND_INVALID_RESPONSE] = { "invalid_response", "the provider answered without a usable completion; check baseurl and model" },
};

const char *errkind_name(enum errkind kind)
{
	return (unsigned)kind < ERRKIND_COUNT ? errkind_table[kind].name : "unknown";
}

const char *errkind_hint(enum errkind kind)
{
	return (unsigned)kind < ERRKIND_COUNT ? errkind_table[kind].hint : "";
}

static bool errkind_word_is_refusal(const char *s)
{
	static const char *const words[] = {
		"content_policy", "content_filter", "content-filter", "contentfilter", "moderation", "flagged", "safety", "responsibleaipolicyviolation", "responsible_ai_policy",
	};
	if (s == NULL)
		return false;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(s, words[i]) != NULL)
			return true;
	return false;
}

bool errkind_is_content_refusal(struct json_object *error)
{
	struct json_object *inner = NULL;

	if (error == NULL || !json_object_is_type(error, json_type_object))
		return false;
	if (errkind_word_is_refusal(jsonobj_str(error, "code")) ||
	    errkind_word_is_refusal(jsonobj_str(error, "type")))
		return true;
	/* Azure nests the reason one level down. */
	json_object_object_get_ex(error, "innererror", &inner);
	return errkind_word_is_refusal(jsonobj_str(inner, "code"));
}

static enum errkind errkind_from_status(long status)
{
	if (status == 401)
		return ERRKIND_AUTH;
	if (status == 402 || status == 403)
		return ERRKIND_PERMISSION;
	if (status == 408)
		return ERRKIND_TIMEOUT;
	if (status == 429)
		return ERRKIND_RATE_LIMIT;
	if (status >= 500)
		return ERRKIND_SERVER;
	if (status >= 400)
		return ERRKIND_REQUEST;
	return ERRKIND_INVALID_RESPONSE;
}

enum errkind errkind_from_http_error(long status, struct json_object *error)
{
	if (status >= 400 && status < 500 && errkind_is_content_refusal(error))
		return ERRKIND_CONTENT_FILTER;
	return errkind_from_status(status);
}

enum errkind errkind_from_error_object(struct json_object *error)
{
	/* Only a refusal changes what the client gets; any other error in a
	 * 200 answer or an event means the answer is unusable. */
	return errkind_is_content_refusal(error) ? ERRKIND_CONTENT_FILTER
						 : ERRKIND_INVALID_RESPONSE;
}

bool errkind_is_transient(enum errkind kind)
{
	return kind == ERRKIND_SERVER || kind == ERRKIND_NETWORK ||
	       kind == ERRKIND_RATE_LIMIT;
}
