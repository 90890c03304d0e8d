/*
 * report.c — the shape every report reader emits (report.h): kind names and the copy of
 * untrusted text into an event's fields.
 */
#include <ctype.h>
#include <string.h>

#include "common/strview.h"
#include "sense/report.h"

const char *
report_kind_name(enum report_kind kind)
{
	switch (kind) {
	case REPORT_SPAM:
		return "report_spam";
	case REPORT_INFECTION:
		return "report_infection";
	case REPORT_SCAN:
		return "report_scan";
	case REPORT_OTHER:
		break;
	}
	return "report_other";
}

static size_t
text_copy(char *dst, size_t size, const char *src, size_t len, bool lower)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, n = 0, step;
	uint32_t cp;

	if (size == 0)
		return 0;
	while (len > 0 && (s[0] == ' ' || s[0] == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	while (i < len) {
		if (s[i] >= 0x80 && (step = utf8_decode(s + i, len - i, &cp)) > 0 &&
		    !(cp >= 0x80 && cp < 0xa0)) {            /* C1 controls are controls too */
			if (n + step > size - 1)
				break;
			memcpy(dst + n, s + i, step);
			n += step;
			i += step;
			continue;
		}
		if (n + 1 > size - 1)
			break;
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] >= 0x80) {
			dst[n++] = '?';
			/* a C1 control is two bytes of valid UTF-8: one '?' for both */
			i += s[i] >= 0x80 && (step = utf8_decode(s + i, len - i, &cp)) > 0 ? step : 1;
			continue;
		}
		dst[n++] = lower ? (char)tolower(s[i]) : (char)s[i];
		i++;
	}
	dst[n] = '\0';
	return n;
}

size_t
report_text_copy(char *dst, size_t size, const char *src, size_t len)
{
	return text_copy(dst, size, src, len, false);
}

size_t
report_text_lower(char *dst, size_t size, const char *src, size_t len)
{
	return text_copy(dst, size, src, len, true);
}

bool
report_summary_family(const char *summary, char *out, size_t size)
{
	const char *start, *end;

	if (summary == NULL || size == 0 || (start = strstr(summary, REPORT_FAMILY_OPEN)) == NULL)
		return false;
	start += strlen(REPORT_FAMILY_OPEN);
	if ((end = strstr(start, REPORT_FAMILY_CLOSE)) == NULL || end == start)
		return false;
	report_text_lower(out, size, start, (size_t)(end - start));
	return true;
}
