/* face_messages.h: Anthropic's Messages API as the client's face (the
 * stream events, the whole message, errors in Anthropic's shape). */
#ifndef IMMORTAL_FACE_MESSAGES_H
#define IMMORTAL_FACE_MESSAGES_H

#include "face.h"

extern const struct face face_messages;

/* Anthropic's stop_reason for a chat finish_reason (static text). */
const char *face_messages_stop_reason(const char *finish_reason);
/* Anthropic's error type for immortal's `*status`, which becomes
 * Anthropic's status code for it. */
const char *face_messages_error_type(int *status);
/* An OpenAI-shaped error as Anthropic's {"type":"error",...} answer. */
enum im_rc face_messages_error_answer(int *status, const char *error_json, struct buf *out);
/* Appends the content blocks of a whole-answer chunk
 * (face_completion_as_chunk) to the array `content`. */
void face_messages_blocks(struct json_object *chunk, struct json_object *content);

#endif
