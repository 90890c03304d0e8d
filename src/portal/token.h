/*
 * token.h — the portal's release token: proof that the POST /release comes from the
 * address that was shown the notice, recently, in the same quarantine.
 *
 * "EXPIRY.MAC": EXPIRY in Unix seconds, MAC the hex HMAC-SHA256, under a per-daemon
 * secret, of the address, the expiry and an episode number (the time of the subject's
 * newest history entry: a used token, or one from an earlier quarantine, is void).
 */
#ifndef LAZARET_PORTAL_TOKEN_H
#define LAZARET_PORTAL_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/timeutil.h"

#define TOKEN_KEY_MAX   64
#define TOKEN_TEXT_MAX  96     /* 20 digits, '.', 64 hex digits, NUL */

struct token_key {
	uint8_t key[TOKEN_KEY_MAX];
	size_t len;
};

enum token_result {
	TOKEN_OK = 0,
	TOKEN_INVALID = -1,    /* malformed, altered, or made for another address or quarantine */
	TOKEN_EXPIRED = -2,    /* genuine but past its expiry */
};

/* token_key_random — a fresh 32-byte key from getrandom(2). 0 or -1. */
int token_key_random(struct token_key *k);

/*
 * token_key_from_file — the key is the file's content (16 to 4096 bytes, a trailing
 * newline dropped; long keys are hashed down). 0, or -1 with the reason in err.
 */
int token_key_from_file(struct token_key *k, const char *path, char *err, size_t errlen);

/* token_make — write the token for (address, episode, expires) into out. */
void token_make(const struct token_key *k, const char *address, uint64_t episode, usec_t expires,
                char out[TOKEN_TEXT_MAX]);

/*
 * token_check — TOKEN_OK when text (len bytes, not NUL-terminated) is a token made
 * with k for address and episode that has not expired at now; the MAC is compared in
 * constant time and checked before the expiry, so an altered expiry is INVALID.
 */
enum token_result token_check(const struct token_key *k, const char *address, uint64_t episode,
                              const char *text, size_t len, usec_t now);

#endif
