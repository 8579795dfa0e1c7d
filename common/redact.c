/* redact.c: scrubbing secrets from text repeated from upstreams (see redact.h). */
#include "redact.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Where the whole secret occurs in a text: a bitmap of start positions,
 * found by Knuth-Morris-Pratt in time linear in text plus secret (comparing
 * the secret at every position would be quadratic). `work` counts the steps,
 * so a test can check the bound. */
struct redact_matches {
	unsigned char *starts;
	size_t n;
};

static void redact_find(struct redact_matches *m, const char *text, size_t n,
			const char *secret, size_t slen, size_t *work)
{
	size_t *fail = xcalloc(slen, sizeof *fail);

	m->starts = xcalloc(n / 8 + 1, 1);
	m->n = n;
	for (size_t i = 1, k = 0; i < slen; i++) {
		while (k > 0 && secret[i] != secret[k]) {
			k = fail[k - 1];
			(*work)++;
		}
		if (secret[i] == secret[k])
			k++;
		fail[i] = k;
		(*work)++;
	}
	for (size_t i = 0, k = 0; i < n; i++) {
		while (k > 0 && text[i] != secret[k]) {
			k = fail[k - 1];
			(*work)++;
		}
		if (text[i] == secret[k])
			k++;
		if (k == slen) {
			size_t at = i + 1 - slen;
			m->starts[at / 8] |= (unsigned char)(1u << (at % 8));
			k = fail[k - 1];
		}
		(*work)++;
	}
	free(fail);
}

static bool redact_starts_at(const struct redact_matches *m, size_t at)
{
	return m->starts != NULL && at < m->n && (m->starts[at / 8] & (1u << (at % 8))) != 0;
}

/* Length of a secret-looking token starting at offset `at` of the text, or
 * 0. `word_start` says it begins a word, where a key-shaped token may start.
 * Every check but the whole-secret one (precomputed) is bounded. */
static size_t redact_token_at(const char *text, size_t at, bool word_start,
			      const struct redact_matches *m, const char *secret, size_t slen,
			      size_t *work)
{
	const char *p = text + at;

	if (redact_starts_at(m, at))
		return slen;
	if (slen >= 2 * REDACT_FRAGMENT) {
		*work += 2 * REDACT_FRAGMENT;
		if (strncmp(p, secret, REDACT_FRAGMENT) == 0 ||
		    strncmp(p, secret + slen - REDACT_FRAGMENT, REDACT_FRAGMENT) == 0)
			return REDACT_FRAGMENT;
	}
	if (word_start && (strncmp(p, "sk-", 3) == 0 || strncasecmp(p, "bearer ", 7) == 0)) {
		size_t n = (p[0] == 's') ? 3 : 7;
		size_t start = n;
		/* the scan covers one word (after "sk-" or "bearer "), so
		 * each character is scanned at most twice */
		while (redact_is_token_char(p[n]))
			n++;
		*work += n;
		if (n - start >= 6)
			return n;
	}
	return 0;
}

/* redact_secrets, counting its steps in *work (linear in text + secret). */
static char *redact_run(const char *text, const char *secret, size_t *work)
{
	struct buf out;
	struct redact_matches m = { NULL, 0 };
	size_t slen = secret ? strlen(secret) : 0;
	const char *start = text ? text : "";
	size_t n = strlen(start), i = 0;

	if (slen >= 4)
		redact_find(&m, start, n, secret, slen, work);
	buf_init(&out, (size_t)-1);
	while (i < n) {
		bool word_start = i == 0 || !redact_is_token_char(start[i - 1]);
		size_t len = redact_token_at(start, i, word_start, &m, secret ? secret : "", slen, work);
		(*work)++;
		if (len > 0) {
			buf_append_str(&out, REDACT_MARK);
			i += len;
			/* swallow the rest of a partially matched key */
			while (redact_is_token_char(start[i]))
				i++;
		} else {
			buf_append(&out, start + i, 1);
			i++;
		}
	}
	free(m.starts);
	return buf_take(&out);
}

char *redact_secrets(const char *text, const char *secret)
{
	size_t work = 0;

	return redact_run(text, secret, &work);
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
