/*
 * token.c — make and check the portal's release tokens; see token.h.
 */
#include "portal/token.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "common/secret.h"

#define TOKEN_KEY_FILE_MAX 4096
#define TOKEN_CONTEXT "lazaret-portal-release-v1"

int
token_key_random(struct token_key *k)
{
	size_t got = 0;

	while (got < 32) {
		ssize_t n = getrandom(k->key + got, 32 - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	k->len = 32;
	return 0;
}

int
token_key_from_file(struct token_key *k, const char *path, char *err, size_t errlen)
{
	uint8_t buf[TOKEN_KEY_FILE_MAX + 1];
	size_t len = 0;
	int fd = secret_file_open(path, "secret_file", S_IROTH, err, errlen);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "secret_file %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			snprintf(err, errlen, "secret_file %s: larger than %d bytes", path, TOKEN_KEY_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len < 16) {
		snprintf(err, errlen, "secret_file %s: needs at least 16 bytes of secret", path);
		memset(buf, 0, sizeof(buf));
		return -1;
	}
	if (len > TOKEN_KEY_MAX) {
		struct sha256_ctx h;
		sha256_init(&h);
		sha256_update(&h, len, buf);
		sha256_digest(&h, SHA256_DIGEST_SIZE, k->key);
		k->len = SHA256_DIGEST_SIZE;
	} else {
		memcpy(k->key, buf, len);
		k->len = len;
	}
	memset(buf, 0, sizeof(buf));
	return 0;
fail:
	close(fd);
	return -1;
}

static void
token_mac(const struct token_key *k, const char *address, uint64_t episode, uint64_t expiry,
    uint8_t mac[SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx h;
	char tail[64];
	int n = snprintf(tail, sizeof(tail), "%" PRIu64 "%c%" PRIu64, expiry, '\0', episode);

	hmac_sha256_set_key(&h, k->len, k->key);
	hmac_sha256_update(&h, sizeof(TOKEN_CONTEXT), (const uint8_t *)TOKEN_CONTEXT);   /* with its NUL */
	hmac_sha256_update(&h, strlen(address) + 1, (const uint8_t *)address);
	hmac_sha256_update(&h, (size_t)n, (const uint8_t *)tail);
	hmac_sha256_digest(&h, SHA256_DIGEST_SIZE, mac);
}

void
token_make(const struct token_key *k, const char *address, uint64_t episode, usec_t expires,
    char out[TOKEN_TEXT_MAX])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[SHA256_DIGEST_SIZE];
	uint64_t expiry = expires <= 0 ? 0 : (uint64_t)((expires + USEC_PER_SEC - 1) / USEC_PER_SEC);
	int n = snprintf(out, TOKEN_TEXT_MAX, "%" PRIu64 ".", expiry);

	token_mac(k, address, episode, expiry, mac);
	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[n + 2 * (int)i] = hex[mac[i] >> 4];
		out[n + 2 * (int)i + 1] = hex[mac[i] & 15];
	}
	out[n + 2 * SHA256_DIGEST_SIZE] = '\0';
}

static int
token_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

enum token_result
token_check(const struct token_key *k, const char *address, uint64_t episode, const char *text, size_t len,
    usec_t now)
{
	uint8_t mac[SHA256_DIGEST_SIZE], diff = 0;
	uint64_t expiry = 0;
	size_t i = 0;

	/* Digits, no leading zero, at most 19 of them (no overflow). */
	while (i < len && i < 19 && text[i] >= '0' && text[i] <= '9') {
		expiry = expiry * 10 + (uint64_t)(text[i] - '0');
		i++;
	}
	if (i == 0 || (text[0] == '0' && i > 1) || i >= len || text[i] != '.' ||
	    len - i - 1 != 2 * SHA256_DIGEST_SIZE)
		return TOKEN_INVALID;
	token_mac(k, address, episode, expiry, mac);
	for (size_t m = 0; m < SHA256_DIGEST_SIZE; m++) {
		int hi = token_hexval(text[i + 1 + 2 * m]), lo = token_hexval(text[i + 2 + 2 * m]);
		if (hi < 0 || lo < 0)
			return TOKEN_INVALID;
		diff |= (uint8_t)(mac[m] ^ (uint8_t)(hi << 4 | lo));
	}
	if (diff != 0)
		return TOKEN_INVALID;
	if (now >= (usec_t)(expiry > (uint64_t)(INT64_MAX / USEC_PER_SEC) ? INT64_MAX / USEC_PER_SEC : expiry) * USEC_PER_SEC)
		return TOKEN_EXPIRED;
	return TOKEN_OK;
}
