/* facereq.h: the requests of the Responses and Messages routes, turned
 * into the canonical chat request (clientreq.h) that the failover engine
 * serves. No I/O and no logging; on a bad body the route gets a message
 * and the offending field, as from clientreq_parse (and the fuzzers,
 * tests/fuzz, drive these directly). */
#ifndef IMMORTAL_FACEREQ_H
#define IMMORTAL_FACEREQ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "clientreq.h"

/* OpenAI's Responses API request. Stateful features (previous_response_id,
 * store: true) and built-in tools are refused: immortal keeps no state. */
enum im_rc facereq_responses(const char *text, size_t len, struct clientreq *out,
			     char *err, size_t errlen, const char **param);
/* Anthropic's Messages API request. */
enum im_rc facereq_messages(const char *text, size_t len, struct clientreq *out,
			    char *err, size_t errlen, const char **param);

/* ---- shared by the two (facereq.c) ---- */

/* A translation in progress: the failure's message and field. */
struct facereq {
	char *err;
	size_t errlen;
	const char **param;
	bool failed;
};

/* Records the first failure; returns NULL for `return facereq_fail(...)`. */
void *facereq_fail(struct facereq *f, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies member `key` of `from` into `to` as `as`, when present. */
void facereq_copy(struct json_object *to, const char *as, struct json_object *from, const char *key);
/* A chat message {role, content}; `content` consumed (NULL: null). */
struct json_object *facereq_message(const char *role, struct json_object *content);
/* Sets stream (and usage for streams) on the chat request from `from`. */
void facereq_stream(struct facereq *f, struct json_object *chat, struct json_object *from);

/* Fills the chat request from the route's parsed body `req`: `chat`
 * already holds model and `msgs` (its empty messages array). All three
 * borrowed for the call; failures go to `f`. */
typedef void facereq_fill_fn(struct facereq *f, struct json_object *req,
			     struct json_object *chat, struct json_object *msgs);
/* A route translator's frame: parses `text`, lets `fill` build the chat
 * request and adopts it into `out` (clientreq_adopt). */
enum im_rc facereq_translate(const char *text, size_t len, struct clientreq *out,
			     char *err, size_t errlen, const char **param, facereq_fill_fn *fill);

/* One of the route's tools as a chat tool (caller owns it), or NULL after
 * failing `f` for a tool immortal does not offer. */
typedef struct json_object *facereq_tool_fn(struct facereq *f, struct json_object *tool);
/* Sets chat.tools from req.tools, each through `tool`. True when tools
 * were given and all taken, i.e. when tool_choice means something. */
bool facereq_tools(struct facereq *f, struct json_object *req, struct json_object *chat,
		   facereq_tool_fn *tool);
/* A chat function tool (caller owns it): name and description from `t`,
 * parameters from its member `schema`. */
struct json_object *facereq_function_tool(struct json_object *t, const char *schema);
/* Sets chat.tool_choice to the function named by choice.name. */
void facereq_choose(struct json_object *chat, struct json_object *choice);
/* A chat tool call (caller owns it): id from `from`'s member `id`, name
 * from its "name"; `arguments` consumed (NULL: left out). */
struct json_object *facereq_tool_call(struct json_object *from, const char *id,
				      struct json_object *arguments);

#endif
