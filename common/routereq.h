/* routereq.h: a client's request to any route, parsed and checked.
 *
 * Chat goes to clientreq.h; embeddings and legacy completions are checked
 * here for the fields immortal relies on (model, input or prompt, stream,
 * encoding_format, dimensions); the rest is the upstream's to judge. No I/O
 * and no logging (tests/fuzz/fuzz_routereq.c drives it directly). */
#ifndef IMMORTAL_ROUTEREQ_H
#define IMMORTAL_ROUTEREQ_H

#include "clientreq.h"
#include "route.h"

/* As clientreq_parse, for the route `kind`. */
enum im_rc routereq_parse(enum route_kind kind, const char *text, size_t len,
			  struct clientreq *out, char *err, size_t errlen, const char **param);

#endif
