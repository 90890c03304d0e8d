/*
 * subject_text.c — subject names for logs, the API and lazaretctl; see subject_text.h.
 */
#include "common/subject_text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/strview.h"

/* Characters that show as nothing, as a space, or that reorder the text around them. */
static bool
subject_text_invisible(uint32_t cp)
{
	return cp < 0xa0 ||                        /* C1 controls */
	    cp == 0xa0 || cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x115f || cp == 0x1160 ||
	    cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 ||
	    cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || cp == 0xffa0 ||
	    (cp >= 0xfff0 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe0fff);
}

size_t
subject_text_encode(char *dst, size_t size, const char *src, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, need = 0, i = 0;
	bool full = false;

	while (i < len) {
		unsigned char c = s[i];
		size_t n = 1;
		uint32_t cp;
		bool keep;

		if (c >= 0x80) {
			n = utf8_decode(s + i, len - i, &cp);
			keep = n > 0 && !subject_text_invisible(cp);
			if (n == 0)
				n = 1;
		} else
			keep = c > 0x20 && c < 0x7f && c != '%' && c != '"' && c != '\\';
		size_t w = keep ? n : 3 * n;
		need += w;
		if (!full && o + w < size) {
			for (size_t k = 0; k < n; k++) {
				if (keep)
					dst[o++] = (char)s[i + k];
				else {
					dst[o++] = '%';
					dst[o++] = hex[s[i + k] >> 4];
					dst[o++] = hex[s[i + k] & 15];
				}
			}
		} else
			full = true;
		i += n;
	}
	if (size > 0)
		dst[o] = '\0';
	return need;
}

int
subject_text_decode(char *dst, size_t size, size_t *len, const char *src, size_t srclen)
{
	size_t o = 0;

	for (size_t i = 0; i < srclen; i++) {
		int c = (unsigned char)src[i], hi, lo;

		if (c == '%' && i + 2 < srclen && (hi = hex_digit(src[i + 1])) >= 0 &&
		    (lo = hex_digit(src[i + 2])) >= 0) {
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == 0)
			return -EINVAL;
		if (o + 1 >= size)
			return -ENOSPC;
		dst[o++] = (char)c;
	}
	if (size == 0)
		return -ENOSPC;
	dst[o] = '\0';
	if (len != NULL)
		*len = o;
	return 0;
}
