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

/* Length of a secret-looking token starting at p, or 0. `word_start` says
 * p begins a word, where a key-shaped token may start. */
static size_t redact_token_at(const char *p, bool word_start, const char *secret, size_t slen)
{
	if (slen >= 4 && strncmp(p, secret, slen) == 0)
		return slen;
	if (slen >= 2 * REDACT_FRAGMENT) {
		if (strncmp(p, secret, REDACT_FRAGMENT) == 0 ||
		    strncmp(p, secret + slen - REDACT_FRAGMENT, REDACT_FRAGMENT) == 0)
			return REDACT_FRAGMENT;
	}
	if (word_start && (strncmp(p, "sk-", 3) == 0 || strncasecmp(p, "bearer ", 7) == 0)) {
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
	const char *start = text ? text : "";
	const char *p = start;

	buf_init(&out, (size_t)-1);
	while (*p) {
		bool word_start = p == start || !redact_is_token_char(p[-1]);
		size_t n = redact_token_at(p, word_start, secret ? secret : "", slen);
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
	bool space = false, cut = false;

	if (outlen == 0)
		return;
	for (const char *p = text ? text : ""; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (isspace(c) || c == '\\' || c < 0x20) {
			space = o > 0;
			continue;
		}
		size_t need = (space ? 1 : 0) + 1;
		if (o + need >= outlen) {
			cut = true;
			break;
		}
		if (space)
			out[o++] = ' ';
		space = false;
		out[o++] = c == '"' ? '\'' : (char)c;
	}
	if (cut && outlen > 4) {
		o = o < outlen - 4 ? o : outlen - 4;
		/* never leave half of a UTF-8 character before the ellipsis */
		while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
			o--;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}
