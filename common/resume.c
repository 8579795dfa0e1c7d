/* resume.c: continuing broken streams (see resume.h). */
#include "resume.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "jsonobj.h"
#include "upreq.h"

#define RESUME_TEXT_MAX (64u << 20)

static bool resume_nonempty(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0;
}

void resume_init_route(struct resume *rs, enum route_kind route)
{
	memset(rs, 0, sizeof *rs);
	rs->route = route;
	buf_init(&rs->text, RESUME_TEXT_MAX);
	buf_init(&rs->held, RESUME_TEXT_MAX);
}

void resume_init(struct resume *rs)
{
	resume_init_route(rs, ROUTE_CHAT);
}

static bool resume_text_route(const struct resume *rs)
{
	return rs->route == ROUTE_COMPLETIONS;
}

/* The object of a choice that carries its text, and the text's key: chat's
 * delta and "content", a text completion's choice itself and "text". */
static struct json_object *resume_part(const struct resume *rs, struct json_object *choice,
				       const char **key)
{
	*key = resume_text_route(rs) ? "text" : "content";
	return resume_text_route(rs) ? choice : jsonobj_get(choice, "delta");
}

void resume_free(struct resume *rs)
{
	buf_free(&rs->text);
	buf_free(&rs->held);
	json_object_put(rs->id);
	json_object_put(rs->created);
	memset(rs, 0, sizeof *rs);
}

static struct json_object *resume_choice0(struct json_object *chunk, bool *other)
{
	struct json_object *choices = jsonobj_get(chunk, "choices");
	struct json_object *first = NULL;
	size_t n = json_object_is_type(choices, json_type_array) ? json_object_array_length(choices) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *ch = json_object_array_get_idx(choices, i);
		struct json_object *idx = jsonobj_get(ch, "index");
		if (idx != NULL && json_object_get_int64(idx) != 0)
			*other = true;
		else if (first == NULL)
			first = ch;
	}
	return first;
}

void resume_observe(struct resume *rs, struct json_object *chunk)
{
	const char *key;
	struct json_object *delta = resume_part(rs, resume_choice0(chunk, &rs->saw_other_choice), &key);
	struct json_object *content = jsonobj_get(delta, key);
	bool counted = false;

	if (rs->id == NULL && jsonobj_get(chunk, "id") != NULL) {
		rs->id = json_object_get(jsonobj_get(chunk, "id"));
		rs->created = json_object_get(jsonobj_get(chunk, "created"));
	}
	if (resume_nonempty(content)) {
		(void)buf_append(&rs->text, json_object_get_string(content),
				 (size_t)json_object_get_string_len(content));
		counted = true;
	}
	if (resume_nonempty(jsonobj_get(delta, "reasoning_content")) ||
	    resume_nonempty(jsonobj_get(delta, "reasoning"))) {
		rs->saw_reasoning = true;
		counted = true;
	}
	if (json_object_is_type(jsonobj_get(delta, "tool_calls"), json_type_array) &&
	    json_object_array_length(jsonobj_get(delta, "tool_calls")) > 0) {
		rs->saw_tools = true;
		counted = true;
	}
	rs->chunks += counted;
}

/* A text completion's prompt when it is one text (a string, or an array
 * holding one string), else NULL. */
static struct json_object *resume_prompt(struct json_object *client)
{
	struct json_object *prompt = jsonobj_get(client, "prompt");

	if (json_object_is_type(prompt, json_type_array) && json_object_array_length(prompt) == 1)
		prompt = json_object_array_get_idx(prompt, 0);
	return json_object_is_type(prompt, json_type_string) ? prompt : NULL;
}

const char *resume_refusal(const struct resume *rs, struct json_object *client)
{
	struct json_object *n = jsonobj_get(client, "n");
	struct json_object *logprobs = jsonobj_get(client, "logprobs");

	if (rs->saw_tools)
		return "the answer holds tool calls";
	if (rs->saw_other_choice || (n != NULL && json_object_get_int64(n) > 1))
		return "the request asks for several choices (n > 1)";
	if (json_object_get_boolean(logprobs) || jsonobj_get(client, "top_logprobs") != NULL)
		return "the request asks for logprobs";
	if (resume_text_route(rs) && json_object_get_boolean(jsonobj_get(client, "echo")))
		return "the request asks for echo";
	if (resume_text_route(rs) && resume_prompt(client) == NULL)
		return "the prompt is not one text (token ids, or several prompts)";
	return NULL;
}

void resume_begin(struct resume *rs)
{
	rs->continuing = true;
	rs->restart = rs->text.len == 0;   /* only reasoning so far */
	rs->base_len = rs->text.len;
	buf_reset(&rs->held);
	rs->decided = rs->restart;
}

/* Chat: the delivered text as a trailing assistant message, in the
 * endpoint's continuation style. */
static void resume_add_prefill(const struct resume *rs, struct json_object *body,
			       const struct endpoint *ep)
{
	struct json_object *messages = jsonobj_get(body, "messages");

	if (!json_object_is_type(messages, json_type_array))
		return;
	struct json_object *msg = xcheck(json_object_new_object());
	json_object_object_add(msg, "role", xcheck(json_object_new_string("assistant")));
	json_object_object_add(msg, "content",
			       xcheck(json_object_new_string_len(rs->text.data, (int)rs->base_len)));
	if (ep->continuation == CONTINUATION_DEEPSEEK)
		json_object_object_add(msg, "prefix", xcheck(json_object_new_boolean(1)));
	json_object_array_add(messages, msg);
	if (ep->continuation == CONTINUATION_VLLM) {
		json_object_object_add(body, "continue_final_message", xcheck(json_object_new_boolean(1)));
		json_object_object_add(body, "add_generation_prompt", xcheck(json_object_new_boolean(0)));
	}
}

/* A text completion: the prompt with the delivered text after it, and what
 * is left of the client's max_tokens (the endpoint's cap still applies):
 * the continuation is a new completion of a longer prompt. */
static void resume_extend_prompt(const struct resume *rs, struct json_object *body,
				 struct json_object *client)
{
	struct json_object *prompt = resume_prompt(client);
	struct json_object *asked = jsonobj_get(client, "max_tokens");
	struct json_object *capped = jsonobj_get(body, "max_tokens");
	struct buf text;

	if (prompt == NULL)
		return;   /* refused before (resume_refusal) */
	buf_init(&text, (size_t)json_object_get_string_len(prompt) + rs->base_len + 1);
	(void)buf_append(&text, json_object_get_string(prompt), (size_t)json_object_get_string_len(prompt));
	(void)buf_append(&text, rs->text.data ? rs->text.data : "", rs->base_len);
	json_object_object_add(body, "prompt", xcheck(json_object_new_string_len(buf_str(&text), (int)text.len)));
	buf_free(&text);
	if (json_object_is_type(asked, json_type_int) && json_object_is_type(capped, json_type_int)) {
		int64_t left = json_object_get_int64(asked) > rs->chunks
				       ? json_object_get_int64(asked) - rs->chunks : 1;
		if (left < json_object_get_int64(capped))
			json_object_object_add(body, "max_tokens", xcheck(json_object_new_int64(left)));
	}
}

char *resume_body(const struct resume *rs, struct json_object *client,
		  const struct endpoint *ep, bool upstream_stream)
{
	struct json_object *body = upreq_body_json(client, ep, upstream_stream, false);

	/* after reasoning alone the request is asked afresh, unchanged */
	if (!rs->restart && resume_text_route(rs))
		resume_extend_prompt(rs, body, client);
	else if (!rs->restart)
		resume_add_prefill(rs, body, ep);
	char *text = upreq_serialize(body);
	json_object_put(body);
	return text;
}

bool resume_prefill(const struct resume *rs, const char **text, size_t *len)
{
	if (rs->restart)
		return false;
	*text = rs->text.data ? rs->text.data : "";
	*len = rs->base_len;
	return true;
}

/* ---- overlap ------------------------------------------------------------ */

/* The length of the longest end of the delivered text (at least the
 * minimum) that `held` begins with; all of it when `held` begins with the
 * whole delivered text (the model started over). */
static size_t resume_overlap(const struct resume *rs)
{
	const char *d = rs->text.data ? rs->text.data : "";
	size_t dn = rs->base_len, hn = rs->held.len;

	if (hn >= dn && memcmp(rs->held.data, d, dn) == 0)
		return dn;
	for (size_t len = dn < hn ? dn : hn; len >= RESUME_MIN_OVERLAP; len--)
		if (memcmp(d + dn - len, rs->held.data, len) == 0)
			return len;
	return 0;
}

/* True while more continuation text could still turn out to be a repeat. */
static bool resume_undecided(const struct resume *rs)
{
	const char *d = rs->text.data ? rs->text.data : "";
	size_t dn = rs->base_len, hn = rs->held.len;

	if (hn < dn && memcmp(d, rs->held.data, hn) == 0)
		return true;   /* could be the whole answer again */
	for (size_t start = 0; start + hn < dn; start++)
		if (memcmp(d + start, rs->held.data, hn) == 0)
			return true;   /* could be a longer repeat of the end */
	return false;
}

/* Feeds content through the overlap filter; returns what may go out now
 * (caller frees), "" while held. `force` decides with what there is. */
static char *resume_filter(struct resume *rs, const char *content, size_t len, bool force)
{
	if (rs->decided)
		return xstrndup(content, len);
	(void)buf_append(&rs->held, content, len);
	if (!force && resume_undecided(rs))
		return xstrdup("");
	size_t drop = resume_overlap(rs);
	rs->decided = true;
	char *out = xstrndup(rs->held.data + drop, rs->held.len - drop);
	buf_reset(&rs->held);
	return out;
}

/* ---- chunks ----------------------------------------------------------------- */

/* After a break the upstream's usage knows only its own part; the client
 * received every content chunk counted here (one token each, as streams
 * send them), repeats dropped. */
static void resume_fix_usage(struct resume *rs, struct json_object *chunk)
{
	struct json_object *usage = jsonobj_get(chunk, "usage");
	struct json_object *prompt = jsonobj_get(usage, "prompt_tokens");

	if (!json_object_is_type(usage, json_type_object))
		return;
	json_object_object_add(usage, "completion_tokens", xcheck(json_object_new_int64(rs->chunks)));
	/* the upstream's numbers are not trusted to leave room for ours */
	if (json_object_is_type(prompt, json_type_int) && json_object_get_int64(prompt) >= 0 &&
	    json_object_get_int64(prompt) <= INT64_MAX - rs->chunks)
		json_object_object_add(usage, "total_tokens",
				       xcheck(json_object_new_int64(json_object_get_int64(prompt) + rs->chunks)));
}

/* Adapts the text-carrying part of choice 0 (resume_part) in place;
 * returns whether anything is left worth sending (with `finish` the chunk
 * goes out anyway). A text completion's choice always keeps its "text". */
static bool resume_fix_part(struct resume *rs, struct json_object *part, const char *key,
			    bool finish)
{
	struct json_object *content = jsonobj_get(part, key);
	bool sent = false;

	json_object_object_del(part, "role");
	if (rs->restart) {
		json_object_object_del(part, "reasoning_content");
		json_object_object_del(part, "reasoning");
	}
	if (json_object_is_type(content, json_type_string) || finish) {
		const char *s = content ? json_object_get_string(content) : "";
		char *out = resume_filter(rs, s, content ? (size_t)json_object_get_string_len(content) : 0, finish);
		sent = out[0] != '\0';
		if (sent || resume_text_route(rs))
			json_object_object_add(part, key, xcheck(json_object_new_string(out)));
		else
			json_object_object_del(part, key);
		free(out);
	}
	return resume_text_route(rs) ? sent : json_object_object_length(part) > 0;
}

char *resume_adapt(struct resume *rs, struct json_object *chunk)
{
	bool other = false;
	const char *key;
	struct json_object *choice = resume_choice0(chunk, &other);
	struct json_object *part = resume_part(rs, choice, &key);
	struct json_object *finish = jsonobj_get(choice, "finish_reason");
	bool finishing = finish != NULL || jsonobj_get(chunk, "usage") != NULL;
	bool keep = finishing;

	if (json_object_is_type(part, json_type_object))
		keep |= resume_fix_part(rs, part, key, finishing);
	if (!keep)
		return NULL;
	if (rs->id != NULL)
		json_object_object_add(chunk, "id", json_object_get(rs->id));
	if (rs->created != NULL)
		json_object_object_add(chunk, "created", json_object_get(rs->created));
	resume_fix_usage(rs, chunk);
	resume_observe(rs, chunk);
	return upreq_serialize(chunk);
}
