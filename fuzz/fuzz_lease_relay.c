/*
 * fuzz_lease_relay.c — libFuzzer target for the relay ids in a Kea lease's user context
 * (lease_relay_id): the first byte picks the family and the id, the rest is the user
 * context as a lease file holds it. The id written is NUL-terminated within its buffer,
 * as long as returned, and printable ASCII (other bytes become hex).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sense/lease_follow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What an id must be: NUL-terminated where its length says, inside its buffer, and of
 * printable non-blank ASCII only (ids of other bytes are written as hex). */
static void
check(const char *out, size_t n, size_t size)
{
	if (n >= size || strlen(out) != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i] <= 0x20 || out[i] >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[LEASE_SUBSCRIBER_MAX], small[7];

	if (size < 1)
		return 0;
	int family = data[0] & 1 ? AF_INET6 : AF_INET;
	enum lease_id_kind which = data[0] & 2 ? LEASE_ID_REMOTE_ID : LEASE_ID_CIRCUIT_ID;
	const char *uc = (const char *)data + 1;
	size_t len = size - 1;
	char *copy = malloc(len ? len : 1);        /* exactly its length: an overread is caught */

	if (copy == NULL)
		return 0;
	memcpy(copy, uc, len);
	check(out, lease_relay_id(copy, len, family, which, out, sizeof(out)), sizeof(out));
	check(small, lease_relay_id(copy, len, family, which, small, sizeof(small)), sizeof(small));
	free(copy);
	return 0;
}
