/*
 * test_hash.c — the keyed hash (common/hash.c) and what it is for: SipHash against the
 * reference vectors (2-4, from the SipHash paper and its reference code, which the 1-3
 * used by hash_bytes shares all but the round counts with), hash_seed repeatable, the
 * random key different per process; and the subject table under keys an attacker chose
 * to collide under the FNV-1a it used before: with FNV every one of them would sit in a
 * single chain, with the keyed hash the longest chain stays a handful.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hash.h"
#include "judge/subjects.h"

static const uint8_t ref_key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static void
test_reference_vectors(void **state)
{
	uint8_t msg[64];

	(void)state;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* SipHash-2-4, key 00..0f: the empty message, and the paper's 15-byte example */
	assert_true(hash_siphash(2, 4, ref_key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(hash_siphash(2, 4, ref_key, msg, 15) == 0xa129ca6149be45e5ULL);
	/* 1-3 is another function: not the same values, and every length differs */
	assert_true(hash_siphash(1, 3, ref_key, msg, 15) != hash_siphash(2, 4, ref_key, msg, 15));
	for (size_t n = 0; n < 63; n++)
		assert_true(hash_siphash(1, 3, ref_key, msg, n) != hash_siphash(1, 3, ref_key, msg, n + 1));
}

/* hash_bytes of "192.0.2.7" in a child, with its own random key. */
static uint64_t
child_hash(void)
{
	int fd[2];
	uint64_t h = 0;

	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		h = hash_bytes("192.0.2.7", 9);
		_exit(write(fd[1], &h, sizeof(h)) == sizeof(h) ? 0 : 1);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd[0]);
	waitpid(pid, NULL, 0);
	return h;
}

static void
test_key_per_process(void **state)
{
	(void)state;
	/* 2^-64 of a chance each to be equal by luck */
	uint64_t a = child_hash(), b = child_hash();
	assert_true(a != b);
}

static uint32_t
fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/*
 * SASL names whose FNV-1a hashes agree in their low 12 bits: the bucket index of the
 * table while it holds up to 4 096 subjects (it doubles at a load of 1). An attacker who
 * knows the hash finds such names off-line and logs in with them.
 */
static void
test_adversarial_keys(void **state)
{
	enum { KEYS = 2000 };
	static const char hex[] = "0123456789abcdef";
	struct subjects *t = subjects_new();
	char key[32];
	size_t found = 0;
	uint32_t target = 0;

	(void)state;
	assert_non_null(t);
	memcpy(key, "account:bot", 11);
	for (uint32_t i = 0; found < KEYS; i++) {
		for (int d = 0; d < 8; d++)
			key[11 + d] = hex[(i >> (28 - 4 * d)) & 15];
		uint32_t h = fnv1a(key, 19);
		if (found == 0)
			target = h & 0xfff;
		if ((h & 0xfff) != target)
			continue;
		assert_non_null(subjects_add(t, SUBJECT_ACCOUNT, key, 19));
		found++;
	}
	/* under FNV-1a all 2 000 would share one bucket of the table's 2 048: a chain of 2 000 */
	size_t longest = subjects_longest_chain(t);
	print_message("longest chain with %d keys colliding under FNV-1a: %zu\n", KEYS, longest);
	assert_true(longest <= 12);
	subjects_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_key_per_process),
		cmocka_unit_test(test_adversarial_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
