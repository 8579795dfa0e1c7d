/* dialect.c: which dialect each endpoint type speaks (see dialect.h). */
#include "dialect.h"

const struct dialect *dialect_for(enum endpoint_type type)
{
	switch (type) {
	case ENDPOINT_OPENAI:
	case ENDPOINT_CHUTES:
	case ENDPOINT_OPENROUTER:
		break;
	case ENDPOINT_ANTHROPIC:
		return &dialect_anthropic;
	case ENDPOINT_GEMINI:
		return &dialect_gemini;
	}
	return &dialect_openai;
}
