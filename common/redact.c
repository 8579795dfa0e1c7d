/* redact.c: scrubbing secrets from text repeated from upstreams (see redact.h). */
#include "redact.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

#define REDACT_MARK "[redacted]"
/* Keys are shown partially by some providers ("sk-abc...wxyz"): any run of
 * this many characters of the key is treated as the key. */
#define REDACT_FRAGMENT 8

static bool redact_is_token_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* Length of a secret-looking token starting at p, or 0. */
static size_t redact_token_at(const char *p, const char *secret, size_t slen)
{
	if (slen >= 4 && strncmp(p, secret, slen) == 0)
		return slen;
	if (slen >= 2 * REDACT_FRAGMENT) {
		if (strncmp(p, secret, REDACT_FRAGMENT) == 0 ||
		    strncmp(p, secret + slen - REDACT_FRAGMENT, REDACT_FRAGMENT) == 0)
			return REDACT_FRAGMENT;
	}
	if (strncmp(p, "sk-", 3) == 0 || strncasecmp(p, "bearer ", 7) == 0) {
		size_t n = (p[0] == 's') ? 3 : 7;
		size_t start = n;
		while (redact_is_token_char(p[n]))
			n++;
		if (n - start >= 6)
			return n;
	}
	return 0;
}

char *redact_secrets(const char *text, const char *secret)
{
	struct buf out;
	size_t slen = secret ? strlen(secret) : 0;
	const char *p = text ? text : "";

	buf_init(&out, (size_t)-1);
	while (*p) {
		size_t n = redact_token_at(p, secret ? secret : "", slen);
		if (n > 0) {
			buf_append_str(&out, REDACT_MARK);
			p += n;
			/* swallow the rest of a partially matched key */
			while (redact_is_token_char(*p))
				p++;
		} else {
			buf_append(&out, p, 1);
			p++;
		}
	}
	return buf_take(&out);
}

void redact_detail(const char *text, char *out, size_t outlen)
{
	size_t o = 0;
	bool space = false;

	if (outlen == 0)
		return;
	for (const char *p = text ? text : ""; *p && o + 1 < outlen; p++) {
		unsigned char c = (unsigned char)*p;
		if (isspace(c) || c == '"' || c == '\\' || c < 0x20) {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < outlen) {
			out[o++] = ' ';
			space = false;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (o + 1 >= outlen && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
}
