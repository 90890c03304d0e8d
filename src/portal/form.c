/*
 * form.c — the urlencoded form decoder in form.h.
 */
#include "portal/form.h"

#include <string.h>

#include "common/strview.h"

bool
form_field(const char *body, size_t len, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name), i = 0;

	if (size == 0)
		return false;
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end - i > nlen && memcmp(body + i, name, nlen) == 0 && body[i + nlen] == '=') {
			size_t o = 0;
			for (size_t k = i + nlen + 1; k < end; k++) {
				char c = body[k];
				if (c == '+')
					c = ' ';
				else if (c == '%') {
					int hi, lo;
					if (k + 2 >= end || (hi = hex_digit((unsigned char)body[k + 1])) < 0 || (lo = hex_digit((unsigned char)body[k + 2])) < 0)
						return false;
					c = (char)(hi * 16 + lo);
					k += 2;
				}
				if (o + 1 >= size)
					return false;
				out[o++] = c;
			}
			out[o] = '\0';
			return true;
		}
		i = end + 1;
	}
	return false;
}
