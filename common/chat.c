/* chat.c: OpenAI chat answer shapes and conversions (see chat.h). */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "jsonobj.h"

#define CHAT_MAX_CHOICES 16
#define CHAT_MAX_TOOL_CALLS 64
#define CHAT_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static bool chat_nonempty_string(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0;
}

static bool chat_nonempty_array(struct json_object *v)
{
	return json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0;
}

/* Content, reasoning or tool calls in a delta or a message. */
static bool chat_part_has_content(struct json_object *part)
{
	return chat_nonempty_string(jsonobj_get(part, "content")) ||
	       chat_nonempty_string(jsonobj_get(part, "refusal")) ||
	       chat_nonempty_string(jsonobj_get(part, "reasoning_content")) ||
	       chat_nonempty_string(jsonobj_get(part, "reasoning")) ||
	       chat_nonempty_array(jsonobj_get(part, "tool_calls"));
}

static struct json_object *chat_choices(struct json_object *obj)
{
	struct json_object *c = jsonobj_get(obj, "choices");
	return json_object_is_type(c, json_type_array) ? c : NULL;
}

bool chat_chunk_has_content(struct json_object *chunk)
{
	struct json_object *choices = chat_choices(chunk);
	size_t n = choices ? json_object_array_length(choices) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *choice = json_object_array_get_idx(choices, i);
		if (chat_part_has_content(jsonobj_get(choice, "delta")) ||
		    chat_nonempty_string(jsonobj_get(choice, "text")))
			return true;
	}
	return false;
}

bool chat_chunk_has_finish(struct json_object *chunk)
{
	struct json_object *choices = chat_choices(chunk);
	size_t n = choices ? json_object_array_length(choices) : 0;

	for (size_t i = 0; i < n; i++)
		if (chat_nonempty_string(jsonobj_get(json_object_array_get_idx(choices, i), "finish_reason")))
			return true;
	return false;
}

bool chat_completion_usable(struct json_object *completion)
{
	struct json_object *choices = chat_choices(completion);
	size_t n = choices ? json_object_array_length(choices) : 0;

	if (jsonobj_get(completion, "error") != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (chat_part_has_content(jsonobj_get(json_object_array_get_idx(choices, i), "message")))
			return true;
	return false;
}

/* ---- aggregation ------------------------------------------------------ */

struct chat_tool_acc {
	struct json_object *id;      /* owned references, or NULL */
	struct json_object *type;
	struct json_object *signature;   /* Gemini's thought_signature (dialect_gemini.h) */
	struct buf name;
	struct buf args;
};

struct chat_choice_acc {
	bool used;
	char *role;
	struct buf content;
	struct buf reasoning;
	struct buf refusal;
	const char *reasoning_key;   /* reasoning_content or reasoning, as sent */
	struct json_object *finish_reason;
	struct chat_tool_acc tools[CHAT_MAX_TOOL_CALLS];
	size_t n_tools;
};

struct chat_aggregate {
	struct json_object *first;   /* id, model, created, ... of the first chunk */
	struct json_object *usage;
	struct chat_choice_acc choices[CHAT_MAX_CHOICES];
	size_t n_choices;
	size_t left;                 /* bytes the cap still allows */
};

struct chat_aggregate *chat_aggregate_new(size_t max_bytes)
{
	struct chat_aggregate *agg = xcalloc(1, sizeof *agg);
	agg->left = max_bytes;
	return agg;
}

static enum im_rc chat_acc_append(struct chat_aggregate *agg, struct buf *b,
				  struct json_object *v)
{
	if (!json_object_is_type(v, json_type_string))
		return IM_OK;
	size_t n = (size_t)json_object_get_string_len(v);
	if (n > agg->left)
		return IM_ETOOBIG;
	agg->left -= n;
	if (b->max == 0)
		buf_init(b, (size_t)-1);
	return buf_append(b, json_object_get_string(v), n);
}

static void chat_keep(struct json_object **slot, struct json_object *v)
{
	if (v == NULL || json_object_is_type(v, json_type_null))
		return;
	json_object_put(*slot);
	*slot = json_object_get(v);
}

static enum im_rc chat_acc_tool(struct chat_aggregate *agg, struct chat_choice_acc *c,
				struct json_object *tc, size_t pos)
{
	struct json_object *idx = jsonobj_get(tc, "index");
	size_t i = json_object_is_type(idx, json_type_int) ? (size_t)json_object_get_int64(idx) : pos;
	struct json_object *fn = jsonobj_get(tc, "function");
	enum im_rc rc;

	if (i >= CHAT_MAX_TOOL_CALLS)
		return IM_ETOOBIG;
	if (i >= c->n_tools)
		c->n_tools = i + 1;
	chat_keep(&c->tools[i].id, jsonobj_get(tc, "id"));
	chat_keep(&c->tools[i].type, jsonobj_get(tc, "type"));
	chat_keep(&c->tools[i].signature, jsonobj_get(tc, "thought_signature"));
	if ((rc = chat_acc_append(agg, &c->tools[i].name, jsonobj_get(fn, "name"))) != IM_OK)
		return rc;
	return chat_acc_append(agg, &c->tools[i].args, jsonobj_get(fn, "arguments"));
}

static enum im_rc chat_acc_delta(struct chat_aggregate *agg, struct chat_choice_acc *c,
				 struct json_object *delta)
{
	struct json_object *role = jsonobj_get(delta, "role");
	struct json_object *tools = jsonobj_get(delta, "tool_calls");
	static const char *const rkeys[] = { "reasoning_content", "reasoning" };
	enum im_rc rc;

	if (chat_nonempty_string(role) && c->role == NULL)
		c->role = xstrdup(json_object_get_string(role));
	if ((rc = chat_acc_append(agg, &c->content, jsonobj_get(delta, "content"))) != IM_OK ||
	    (rc = chat_acc_append(agg, &c->refusal, jsonobj_get(delta, "refusal"))) != IM_OK)
		return rc;
	for (size_t k = 0; k < 2; k++) {
		struct json_object *r = jsonobj_get(delta, rkeys[k]);
		if (!chat_nonempty_string(r))
			continue;
		c->reasoning_key = rkeys[k];
		if ((rc = chat_acc_append(agg, &c->reasoning, r)) != IM_OK)
			return rc;
	}
	size_t nt = jsonobj_len(tools);
	for (size_t k = 0; k < nt; k++)
		if ((rc = chat_acc_tool(agg, c, json_object_array_get_idx(tools, k), k)) != IM_OK)
			return rc;
	return IM_OK;
}

enum im_rc chat_aggregate_feed(struct chat_aggregate *agg, struct json_object *chunk)
{
	struct json_object *choices = chat_choices(chunk);
	size_t n = choices ? json_object_array_length(choices) : 0;

	if (agg->first == NULL)
		agg->first = json_object_get(chunk);
	chat_keep(&agg->usage, jsonobj_get(chunk, "usage"));
	for (size_t i = 0; i < n; i++) {
		struct json_object *ch = json_object_array_get_idx(choices, i);
		struct json_object *idx = jsonobj_get(ch, "index");
		size_t k = json_object_is_type(idx, json_type_int) ? (size_t)json_object_get_int64(idx) : i;
		if (k >= CHAT_MAX_CHOICES)
			return IM_ETOOBIG;
		struct chat_choice_acc *c = &agg->choices[k];
		c->used = true;
		if (k >= agg->n_choices)
			agg->n_choices = k + 1;
		chat_keep(&c->finish_reason, jsonobj_get(ch, "finish_reason"));
		enum im_rc rc = chat_acc_delta(agg, c, jsonobj_get(ch, "delta"));
		if (rc != IM_OK)
			return rc;
	}
	return IM_OK;
}

static struct json_object *chat_str(const char *s)
{
	return xcheck(json_object_new_string(s));
}

static struct json_object *chat_tool_json(struct chat_tool_acc *t)
{
	struct json_object *o = xcheck(json_object_new_object());
	struct json_object *fn = xcheck(json_object_new_object());

	if (t->id)
		json_object_object_add(o, "id", json_object_get(t->id));
	json_object_object_add(o, "type", t->type ? json_object_get(t->type) : chat_str("function"));
	json_object_object_add(fn, "name", chat_str(buf_str(&t->name)));
	json_object_object_add(fn, "arguments", chat_str(buf_str(&t->args)));
	json_object_object_add(o, "function", fn);
	if (t->signature)
		json_object_object_add(o, "thought_signature", json_object_get(t->signature));
	return o;
}

static struct json_object *chat_choice_json(struct chat_choice_acc *c, size_t index)
{
	struct json_object *ch = xcheck(json_object_new_object());
	struct json_object *msg = xcheck(json_object_new_object());

	json_object_object_add(ch, "index", xcheck(json_object_new_int64((int64_t)index)));
	json_object_object_add(msg, "role", chat_str(c->role ? c->role : "assistant"));
	json_object_object_add(msg, "content",
			       c->content.len || c->n_tools == 0 ? chat_str(buf_str(&c->content)) : NULL);
	if (c->reasoning_key)
		json_object_object_add(msg, c->reasoning_key, chat_str(buf_str(&c->reasoning)));
	if (c->refusal.len)
		json_object_object_add(msg, "refusal", chat_str(buf_str(&c->refusal)));
	if (c->n_tools > 0) {
		struct json_object *arr = xcheck(json_object_new_array());
		for (size_t i = 0; i < c->n_tools; i++)
			json_object_array_add(arr, chat_tool_json(&c->tools[i]));
		json_object_object_add(msg, "tool_calls", arr);
	}
	json_object_object_add(ch, "message", msg);
	json_object_object_add(ch, "logprobs", NULL);
	json_object_object_add(ch, "finish_reason",
			       c->finish_reason ? json_object_get(c->finish_reason) : NULL);
	return ch;
}

static void chat_copy_member(struct json_object *to, struct json_object *from, const char *key)
{
	struct json_object *v = jsonobj_get(from, key);
	if (v != NULL)
		json_object_object_add(to, key, json_object_get(v));
}

char *chat_aggregate_finish(struct chat_aggregate *agg)
{
	struct json_object *out = xcheck(json_object_new_object());
	struct json_object *choices = xcheck(json_object_new_array());

	chat_copy_member(out, agg->first, "id");
	json_object_object_add(out, "object", chat_str("chat.completion"));
	chat_copy_member(out, agg->first, "created");
	chat_copy_member(out, agg->first, "model");
	chat_copy_member(out, agg->first, "system_fingerprint");
	chat_copy_member(out, agg->first, "provider");
	for (size_t i = 0; i < agg->n_choices; i++)
		if (agg->choices[i].used)
			json_object_array_add(choices, chat_choice_json(&agg->choices[i], i));
	json_object_object_add(out, "choices", choices);
	if (agg->usage)
		json_object_object_add(out, "usage", json_object_get(agg->usage));
	char *text = xstrdup(json_object_to_json_string_ext(out, CHAT_JSON_FLAGS));
	json_object_put(out);
	return text;
}

void chat_aggregate_free(struct chat_aggregate *agg)
{
	if (agg == NULL)
		return;
	json_object_put(agg->first);
	json_object_put(agg->usage);
	for (size_t i = 0; i < CHAT_MAX_CHOICES; i++) {
		struct chat_choice_acc *c = &agg->choices[i];
		free(c->role);
		buf_free(&c->content);
		buf_free(&c->reasoning);
		buf_free(&c->refusal);
		json_object_put(c->finish_reason);
		for (size_t k = 0; k < c->n_tools; k++) {
			json_object_put(c->tools[k].id);
			json_object_put(c->tools[k].type);
			json_object_put(c->tools[k].signature);
			buf_free(&c->tools[k].name);
			buf_free(&c->tools[k].args);
		}
	}
	free(agg);
}

/* ---- completion to chunks --------------------------------------------- */

static struct json_object *chat_chunk_base(struct json_object *completion)
{
	struct json_object *chunk = xcheck(json_object_new_object());

	chat_copy_member(chunk, completion, "id");
	json_object_object_add(chunk, "object", chat_str("chat.completion.chunk"));
	chat_copy_member(chunk, completion, "created");
	chat_copy_member(chunk, completion, "model");
	chat_copy_member(chunk, completion, "system_fingerprint");
	return chunk;
}

static enum im_rc chat_emit(struct json_object *chunk, chat_chunk_fn fn, void *ctx)
{
	enum im_rc rc = fn(ctx, json_object_to_json_string_ext(chunk, CHAT_JSON_FLAGS));
	json_object_put(chunk);
	return rc;
}

/* The message as a delta: same members, tool calls given their index. */
static struct json_object *chat_message_to_delta(struct json_object *msg)
{
	struct json_object *delta = xcheck(json_object_new_object());

	json_object_object_add(delta, "role", chat_str("assistant"));
	json_object_object_foreach(msg, key, val) {
		if (strcmp(key, "role") == 0)
			continue;
		if (strcmp(key, "tool_calls") == 0 && json_object_is_type(val, json_type_array)) {
			struct json_object *arr = xcheck(json_object_new_array());
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				struct json_object *tc = NULL;
				if (json_object_deep_copy(json_object_array_get_idx(val, i), &tc, NULL) != 0)
					xcheck(NULL);
				if (json_object_is_type(tc, json_type_object))
					json_object_object_add(tc, "index", xcheck(json_object_new_int64((int64_t)i)));
				json_object_array_add(arr, tc);
			}
			json_object_object_add(delta, key, arr);
			continue;
		}
		json_object_object_add(delta, key, json_object_get(val));
	}
	return delta;
}

static struct json_object *chat_one_choice(struct json_object *index, const char *key,
					   struct json_object *value, struct json_object *finish)
{
	struct json_object *arr = xcheck(json_object_new_array());
	struct json_object *ch = xcheck(json_object_new_object());

	json_object_object_add(ch, "index", index ? json_object_get(index) : xcheck(json_object_new_int(0)));
	json_object_object_add(ch, key, value);
	json_object_object_add(ch, "logprobs", NULL);
	json_object_object_add(ch, "finish_reason", finish ? json_object_get(finish) : NULL);
	json_object_array_add(arr, ch);
	return arr;
}

enum im_rc chat_completion_to_chunks(struct json_object *completion, bool include_usage,
				     chat_chunk_fn fn, void *ctx)
{
	struct json_object *choices = chat_choices(completion);
	size_t n = choices ? json_object_array_length(choices) : 0;
	enum im_rc rc;

	for (size_t i = 0; i < n; i++) {
		struct json_object *ch = json_object_array_get_idx(choices, i);
		struct json_object *index = jsonobj_get(ch, "index");
		struct json_object *msg = jsonobj_get(ch, "message");
		if (!json_object_is_type(msg, json_type_object))
			continue;  /* nothing to say for a choice without a message */
		struct json_object *chunk = chat_chunk_base(completion);
		json_object_object_add(chunk, "choices",
				       chat_one_choice(index, "delta", chat_message_to_delta(msg), NULL));
		if ((rc = chat_emit(chunk, fn, ctx)) != IM_OK)
			return rc;
		struct json_object *finish = jsonobj_get(ch, "finish_reason");
		chunk = chat_chunk_base(completion);
		json_object_object_add(chunk, "choices",
				       chat_one_choice(index, "delta", xcheck(json_object_new_object()),
						       finish ? finish : NULL));
		if (finish == NULL)
			json_object_object_add(json_object_array_get_idx(jsonobj_get(chunk, "choices"), 0),
					       "finish_reason", chat_str("stop"));
		if ((rc = chat_emit(chunk, fn, ctx)) != IM_OK)
			return rc;
	}
	struct json_object *usage = jsonobj_get(completion, "usage");
	if (include_usage && usage != NULL) {
		struct json_object *chunk = chat_chunk_base(completion);
		json_object_object_add(chunk, "choices", xcheck(json_object_new_array()));
		json_object_object_add(chunk, "usage", json_object_get(usage));
		return chat_emit(chunk, fn, ctx);
	}
	return IM_OK;
}
