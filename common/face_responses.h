/* face_responses.h: OpenAI's Responses API as the client's face (the
 * response.* events with sequence numbers, the whole response object,
 * response.failed for a stream that broke). */
#ifndef IMMORTAL_FACE_RESPONSES_H
#define IMMORTAL_FACE_RESPONSES_H

#include "face.h"

extern const struct face face_responses;

#endif
