/*
 * jsondump.h — JSON text from a jansson tree that is either whole or absent.
 *
 * json_dumps() builds its text in a buffer it grows with jansson's allocator, and
 * jansson 2.14 ignores a failure to grow it while writing an object's key: the text
 * comes back with the key cut short ("kinds: {") as if nothing happened. The API and
 * lazaretctl must never hand out such a text, so they dump through this instead.
 */
#ifndef LAZARET_COMMON_JSONDUMP_H
#define LAZARET_COMMON_JSONDUMP_H

#include <jansson.h>
#include <stddef.h>

/*
 * jsondump_text — v as JSON text written with flags (json_dumps' flags), malloc'd and
 * NUL-terminated, its length in *len (may be NULL); the caller frees it. NULL when v is
 * NULL or any part of the text could not be written: never a text with a part missing.
 */
char *jsondump_text(const json_t *v, size_t flags, size_t *len);

#endif
