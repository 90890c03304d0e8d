/*
 * subject_text.h — the one way a subject's name is written for people and read back:
 * in lazaretd's log lines (host=, account=), in the operator API's JSON and by
 * lazaretctl, which accepts back whatever it prints.
 *
 * A SASL user name comes from the network and may hold spaces, quotes, control bytes
 * or bytes that are not UTF-8; JSON cannot carry the last, and the others forge or
 * garble key=value log lines. The subject text keeps printable ASCII and valid UTF-8
 * as they are and writes every other byte as %XX (uppercase hex): control bytes
 * (C0, DEL, C1), space, '"', '%', '\', bytes that are not UTF-8, and the invisible
 * or direction-changing characters (no-break and other spaces, zero-width
 * characters, bidi controls, U+FEFF, ...), byte by byte. Addresses and ordinary
 * names ("192.0.2.7", "account:alice@example.net") are their own subject text.
 * Decoding turns each %XX back into its byte and leaves any other '%' as it is, so
 * the encoding is lossless: decode(encode(x)) = x.
 */
#ifndef LAZARET_COMMON_SUBJECT_TEXT_H
#define LAZARET_COMMON_SUBJECT_TEXT_H

#include <stddef.h>

/* The longest subject text of a name of n bytes, with its NUL. */
#define SUBJECT_TEXT_SIZE(n) ((n) * 3 + 1)

/*
 * subject_text_encode — src[0..len) as subject text into dst (size > 0, always
 * NUL-terminated, cut at a whole escape). Returns the length of the whole encoding,
 * as snprintf does: a result >= size means dst was too small.
 */
size_t subject_text_encode(char *dst, size_t size, const char *src, size_t len);

/*
 * subject_text_decode — the bytes src[0..srclen) stands for, into dst (NUL-terminated;
 * *len receives their number). 0; -EINVAL when they would hold a NUL byte (%00);
 * -ENOSPC when dst is too small.
 */
int subject_text_decode(char *dst, size_t size, size_t *len, const char *src, size_t srclen);

#endif
