/* retryafter.c: clamped parsing of Retry-After and retry-after-ms (see retryafter.h). */
#include "retryafter.h"

#include <string.h>

#include <curl/curl.h>

static bool retryafter_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Digits only, accumulated with a bound so a huge number cannot overflow:
 * returns the value, or -1 when not all digits or above `limit`. */
static long long retryafter_digits(const char *s, size_t len, long long limit)
{
	long long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > limit)
			return -1;
	}
	return v;
}

/* retry-after-ms: an integer, or a decimal whose fraction is dropped. */
static long retryafter_millis(const char *s, size_t len)
{
	const char *dot = memchr(s, '.', len);
	size_t ilen = dot ? (size_t)(dot - s) : len;

	if (dot && retryafter_digits(dot + 1, len - ilen - 1, 999999999LL) < 0)
		return -1;
	long long ms = retryafter_digits(s, ilen, RETRYAFTER_MAX_S * 1000LL);
	if (ms < 0)
		return -1;
	return (long)((ms + 999) / 1000);
}

static long retryafter_date(const char *s, size_t len, time_t now)
{
	char text[RETRYAFTER_VALUE_MAX + 1];

	memcpy(text, s, len);
	text[len] = '\0';
	time_t when = curl_getdate(text, NULL);
	if (when < 0 || now < 0)
		return -1;
	if (when <= now)
		return 0;
	/* both are non-negative here, so the difference cannot overflow */
	if (when - now > RETRYAFTER_MAX_S)
		return -1;
	return (long)(when - now);
}

long retryafter_parse(const char *value, size_t len, bool millis, time_t now)
{
	if (value == NULL)
		return -1;
	while (len > 0 && retryafter_space(value[0])) {
		value++;
		len--;
	}
	while (len > 0 && retryafter_space(value[len - 1]))
		len--;
	if (len == 0 || len > RETRYAFTER_VALUE_MAX)
		return -1;
	if (millis)
		return retryafter_millis(value, len);
	if (value[0] >= '0' && value[0] <= '9')
		return (long)retryafter_digits(value, len, RETRYAFTER_MAX_S);
	if (value[0] == '-' || value[0] == '+')
		return -1;
	return retryafter_date(value, len, now);
}
