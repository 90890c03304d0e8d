/*
 * strview.h — a pointer and a length into someone else's bytes, not NUL-terminated.
 */
#ifndef LAZARET_COMMON_STRVIEW_H
#define LAZARET_COMMON_STRVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct strview {
	const char *ptr;
	size_t len;
};

/* The value of one hexadecimal digit (either case), or -1. */
static inline int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline bool strview_eq(struct strview v, const char *s)
{
	size_t n = strlen(s);
	return v.len == n && (n == 0 || memcmp(v.ptr, s, n) == 0);
}

/* Copies at most size-1 bytes and NUL-terminates; returns false when truncated. */
static inline bool strview_copy(struct strview v, char *dst, size_t size)
{
	size_t n = v.len < size - 1 ? v.len : size - 1;
	if (n)
		memcpy(dst, v.ptr, n);
	dst[n] = '\0';
	return n == v.len;
}

#endif
