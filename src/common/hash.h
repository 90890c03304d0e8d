/*
 * hash.h — the one hash for every table whose keys outsiders choose (client addresses,
 * SASL names, queue IDs, recipient domains, policy peers, quarantined networks).
 *
 * An unkeyed hash (FNV-1a, as before) lets whoever picks the keys pick colliding ones
 * and turn each lookup into a walk of one long chain. SipHash-1-3 with a 128-bit key
 * drawn from getrandom(2) at start, as Redis's dict.c and Python do, makes that
 * guesswork: the key never leaves the process, so colliding keys cannot be computed
 * off-line. Hashes are therefore different in every run: nothing may store one or
 * order output by one.
 */
#ifndef LAZARET_COMMON_HASH_H
#define LAZARET_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/*
 * hash_bytes — SipHash-1-3 of data[0..len) under the process's key, which is drawn
 * from getrandom(2) on first use.
 */
uint64_t hash_bytes(const void *data, size_t len);

/* hash_siphash — SipHash-c-d of data[0..len) under key (hash_bytes is 1-3; the tests
 * check 2-4 against the reference vectors). */
uint64_t hash_siphash(int c_rounds, int d_rounds, const uint8_t key[16], const void *data, size_t len);

/* hash_cidr — hash_bytes of a network: its family, prefix length and address bytes (4 or
 * 16; the caller masks them if it means the network rather than the address). */
uint64_t hash_cidr(const struct cidr *net);

#endif
