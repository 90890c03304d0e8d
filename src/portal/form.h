/*
 * form.h — reading application/x-www-form-urlencoded bodies (the release form).
 */
#ifndef LAZARET_PORTAL_FORM_H
#define LAZARET_PORTAL_FORM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * form_field — the value of field `name` in body[0..len), percent- and plus-decoded
 * into out (NUL-terminated). False when the field is absent, badly encoded or does not
 * fit in size bytes. Pure; body need not be NUL-terminated.
 */
bool form_field(const char *body, size_t len, const char *name, char *out, size_t size);

#endif
