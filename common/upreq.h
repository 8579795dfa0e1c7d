/* upreq.h: the request immortal sends to one endpoint.
 *
 * Turns the client's chat request into the body and headers for one
 * endpoint: its model, its defaults and caps, how to stream, its provider's
 * quirks. Nothing else of the client's request is changed. */
#ifndef IMMORTAL_UPREQ_H
#define IMMORTAL_UPREQ_H

#include <stdbool.h>

#include "group.h"

struct json_object;
struct curl_slist;

/* How immortal talks to this endpoint for a client that asked `client_stream`. */
bool upreq_wants_stream(const struct endpoint *ep, bool client_stream);

/* Returns the JSON body for `ep` (caller frees). `client` is only read.
 * `upstream_stream` sets "stream"; `want_usage` asks a streamed upstream for
 * its usage chunk (needed to carry usage into an aggregated answer). */
char *upreq_body(struct json_object *client, const struct endpoint *ep,
		 bool upstream_stream, bool want_usage);
/* The same body as a new JSON object (caller puts it), for callers that
 * add to it (continuations, resume.h). */
struct json_object *upreq_body_json(struct json_object *client, const struct endpoint *ep,
				    bool upstream_stream, bool want_usage);
/* Serialises a body compactly (caller frees). */
char *upreq_serialize(struct json_object *body);

/* Returns the header list for `ep` (caller frees with curl_slist_free_all).
 * The list holds the API key: it never goes anywhere but libcurl. */
struct curl_slist *upreq_headers(const struct endpoint *ep, bool upstream_stream);

/* For dialects building their own list: the headers every type sends
 * (Content-Type, Accept, no Expect); one more header, left out when the
 * endpoint's `headers` field sets that name; and, last, that field's
 * headers themselves. */
struct curl_slist *upreq_headers_common(const struct endpoint *ep, bool upstream_stream);
struct curl_slist *upreq_header(struct curl_slist *h, const struct endpoint *ep,
				const char *name, const char *value);
struct curl_slist *upreq_headers_own(struct curl_slist *h, const struct endpoint *ep);

#endif
