/*
 * secret.h — opening the files that hold lazaretd's secrets (the portal's token key,
 * the API's bearer token) with the same checks: a regular file, closed to others.
 */
#ifndef LAZARET_COMMON_SECRET_H
#define LAZARET_COMMON_SECRET_H

#include <stddef.h>
#include <sys/types.h>

/*
 * secret_file_open — opens path for reading if it is a regular file none of whose
 * `forbidden` permission bits are set (S_IROTH: not readable by everyone; S_IRWXG |
 * S_IRWXO: for the owner only). Returns the descriptor, or -1 with "what path: why"
 * in err.
 */
int secret_file_open(const char *path, const char *what, mode_t forbidden, char *err, size_t errlen);

#endif
