/*
 * test_trw.c — Threshold Random Walk (sense/trw.c): with the paper's parameters a host
 * whose first contacts all fail is a scanner at the contact the arithmetic says (the
 * smallest n with 4^n >= 99: the 4th), one whose contacts succeed is benign at the 4th
 * and never a scanner, mixed sequences walk both ways, repeats and unknown outcomes do
 * not move the walk, the memory of destinations stays bounded past its exact part and
 * is freed when the host goes idle; and the TCP classifier's rules, case by case.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/hash.h"
#include "sense/trw.h"

/* the walk of an idle host: far under the 256 bytes a quiet subscriber may cost */
static_assert(sizeof(struct trw_host) <= 32, "struct trw_host grew past 32 bytes");

static const uint8_t key[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };

static uint64_t
dst(uint64_t i)
{
	return hash_siphash(1, 3, key, &i, sizeof(i));
}

static struct trw_model
model(void)
{
	struct trw_params p = TRW_PARAMS_DEFAULT;
	struct trw_model m;

	assert_int_equal(trw_model_init(&m, &p), 0);
	return m;
}

/* The contacts needed to cross log(eta) with steps of log(step), by the formula. */
static int
expected_contacts(double eta, double step)
{
	return (int)ceil(log(eta) / log(step));
}

static void
test_params(void **state)
{
	struct trw_params p = TRW_PARAMS_DEFAULT;
	struct trw_model m;

	(void)state;
	p.theta1 = 0.9;                  /* a scanner more successful than a benign host */
	assert_int_equal(trw_model_init(&m, &p), -EINVAL);
	p = (struct trw_params)TRW_PARAMS_DEFAULT;
	p.alpha = 0;
	assert_int_equal(trw_model_init(&m, &p), -EINVAL);
	p = (struct trw_params)TRW_PARAMS_DEFAULT;
	p.beta = 1;
	assert_int_equal(trw_model_init(&m, &p), -EINVAL);
	p = (struct trw_params)TRW_PARAMS_DEFAULT;
	p.memory_p = 20;
	assert_int_equal(trw_model_init(&m, &p), -EINVAL);
	p = (struct trw_params)TRW_PARAMS_DEFAULT;
	assert_int_equal(trw_model_init(&m, &p), 0);
	/* the paper's factors: x4 on a failure, x0.25 on a success, eta1 = 99 */
	assert_true(fabs(exp(m.step_failure) - 4) < 1e-5);
	assert_true(fabs(exp(m.step_success) - 0.25) < 1e-6);
	assert_true(fabs(exp(m.log_eta1) - 99) < 1e-3);
	assert_true(fabs(exp(m.log_eta0) - 0.01 / 0.99) < 1e-6);
}

static void
test_scanner_all_failures(void **state)
{
	struct trw_model m = model();
	struct trw_host h;
	int n = expected_contacts(0.99 / 0.01, 0.8 / 0.2);

	(void)state;
	assert_int_equal(n, 4);
	trw_host_init(&h, &m);
	for (int i = 1; i < n; i++)
		assert_int_equal(trw_observe(&m, &h, dst(i), TRW_OUTCOME_FAILURE), TRW_PENDING);
	assert_int_equal(trw_observe(&m, &h, dst(n), TRW_OUTCOME_FAILURE), TRW_SCANNER);
	assert_true(h.scanner);
	assert_int_equal(h.failures, n);
	/* decided: it stays so, whatever comes next */
	assert_int_equal(trw_observe(&m, &h, dst(100), TRW_OUTCOME_SUCCESS), TRW_SCANNER);
	trw_host_idle(&h);
}

static void
test_benign_successes(void **state)
{
	struct trw_model m = model();
	struct trw_host h;
	int n = expected_contacts(0.01 / 0.99, 0.2 / 0.8);

	(void)state;
	assert_int_equal(n, 4);
	trw_host_init(&h, &m);
	/* a browsing host: 1 000 distinct destinations that all answer */
	for (int round = 0; round < 250; round++) {
		for (int i = 1; i < n; i++)
			assert_int_equal(trw_observe(&m, &h, dst(round * n + i), TRW_OUTCOME_SUCCESS), TRW_PENDING);
		assert_int_equal(trw_observe(&m, &h, dst(round * n + n), TRW_OUTCOME_SUCCESS), TRW_BENIGN);
		if (hll_is_sketch(&h.contacts))
			break;      /* past the exact memory the walk is sampled: below */
	}
	assert_false(h.scanner);
	trw_host_idle(&h);
}

/* Sequences of S(uccess) and F(ailure) first contacts and the decision after each. */
static void
test_mixed(void **state)
{
	static const struct { const char *seq; const char *want; } cases[] = {
		/* F x4 = 256 >= 99 */
		{ "FFFF", "PPPX" },
		/* S then F x4: 0.25 x 4^4 = 64 < 99, the 5th failure flags (256) */
		{ "SFFFFF", "PPPPPX" },
		/* a success per two failures: 0.25 x 16 = x4 per triplet; 4^3 = 64, then x4 x4 */
		{ "FFSFFSFF", "PPPPPPPX" },
		/* alternating: L goes 4, 1, 4, 1 ... never decides */
		{ "FSFSFSFSFS", "PPPPPPPPPP" },
		/* SSSS benign (restart at 1), then FFFF flags: the benign verdict is not a credit */
		{ "SSSSFFFF", "PPPBPPPX" },
		/* FFF (64) then SSSSSS: 64 x 0.25^6 = 0.0156 > 0.0101, the 7th S is benign */
		{ "FFFSSSSSSS", "PPPPPPPPPB" },
	};

	(void)state;
	struct trw_model m = model();
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct trw_host h;
		trw_host_init(&h, &m);
		for (size_t i = 0; cases[c].seq[i] != '\0'; i++) {
			int r = trw_observe(&m, &h, dst(c * 1000 + i),
			                    cases[c].seq[i] == 'S' ? TRW_OUTCOME_SUCCESS : TRW_OUTCOME_FAILURE);
			char got = r == TRW_SCANNER ? 'X' : r == TRW_BENIGN ? 'B' : 'P';
			if (got != cases[c].want[i])
				fail_msg("%s at %zu: %c, expected %c", cases[c].seq, i, got, cases[c].want[i]);
		}
		trw_host_idle(&h);
	}
}

/* Only first contacts move the walk: a host retrying one dead server is no scanner, and
 * flows whose outcome the records cannot tell do not count at all. */
static void
test_first_contacts_only(void **state)
{
	struct trw_model m = model();
	struct trw_host h;

	(void)state;
	trw_host_init(&h, &m);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(trw_observe(&m, &h, dst(7), TRW_OUTCOME_FAILURE), TRW_PENDING);
	assert_int_equal(h.failures, 1);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(trw_observe(&m, &h, dst(100 + i), TRW_OUTCOME_UNKNOWN), TRW_PENDING);
	assert_int_equal(h.contacts.count, 1);
	/* an unknown outcome did not spend the first contact: it still counts when known */
	assert_int_equal(trw_observe(&m, &h, dst(100), TRW_OUTCOME_FAILURE), TRW_PENDING);
	assert_int_equal(trw_observe(&m, &h, dst(101), TRW_OUTCOME_FAILURE), TRW_PENDING);
	assert_int_equal(trw_observe(&m, &h, dst(102), TRW_OUTCOME_FAILURE), TRW_SCANNER);
	trw_host_idle(&h);
}

/* 100 000 distinct destinations: the memory stops at the sketch (1 KiB at p = 10), a
 * scanner is still found past the exact part, and idle frees it all. */
static void
test_bounded_memory(void **state)
{
	struct trw_model m = model();
	struct trw_host h;
	int r = TRW_PENDING;

	(void)state;
	trw_host_init(&h, &m);
	assert_int_equal(hll_bytes(&h.contacts), sizeof(struct hll));
	/* a benign host fills the exact memory and beyond */
	for (int i = 0; i < 100000; i++)
		assert_true(trw_observe(&m, &h, dst(i), TRW_OUTCOME_SUCCESS) >= 0);
	assert_true(hll_is_sketch(&h.contacts));
	assert_int_equal(hll_bytes(&h.contacts), sizeof(struct hll) + 1024);
	assert_false(h.scanner);
	/* far fewer than 100 000 counted past the exact part: the sample, but not none */
	print_message("trw: %u of 100000 successes counted as first contacts\n", h.successes);
	assert_true(h.successes > 32 && h.successes < 20000);
	/* then it turns to scanning new addresses: still flagged, after more contacts */
	int n;
	for (n = 1; n <= 100000 && r != TRW_SCANNER; n++)
		r = trw_observe(&m, &h, dst(1000000 + n), TRW_OUTCOME_FAILURE);
	assert_int_equal(r, TRW_SCANNER);
	print_message("trw: scanner flagged after %d new destinations past the exact memory\n", n - 1);
	assert_int_equal(hll_bytes(&h.contacts), sizeof(struct hll) + 1024);
	trw_host_idle(&h);
	assert_int_equal(hll_bytes(&h.contacts), sizeof(struct hll));
	assert_true(h.scanner);      /* the decision outlives the memory */
}

static void
test_classify(void **state)
{
	enum { S = TRW_TCP_SYN, A = TRW_TCP_ACK, R = TRW_TCP_RST, F = TRW_TCP_FIN };
	static const struct { struct trw_flow f; enum trw_outcome want; const char *what; } cases[] = {
		{ { IPPROTO_UDP, 0, 10, false, false, 0 }, TRW_OUTCOME_UNKNOWN, "not TCP" },
		{ { IPPROTO_TCP, S, 1, false, false, 0 }, TRW_OUTCOME_FAILURE, "SYN, no answer" },
		{ { IPPROTO_TCP, S, 3, false, false, 0 }, TRW_OUTCOME_FAILURE, "SYN retried, no answer" },
		{ { IPPROTO_TCP, S, 1, true, false, 0 }, TRW_OUTCOME_UNKNOWN, "sampled SYN" },
		{ { IPPROTO_TCP, S, 1, false, true, R | A }, TRW_OUTCOME_FAILURE, "SYN, RST back" },
		{ { IPPROTO_TCP, S, 1, true, true, R | A }, TRW_OUTCOME_FAILURE, "sampled SYN, RST back" },
		{ { IPPROTO_TCP, S | A, 2, false, true, S | A }, TRW_OUTCOME_SUCCESS, "SYN+ACK back" },
		{ { IPPROTO_TCP, S | R, 2, false, true, S | A | R }, TRW_OUTCOME_SUCCESS, "SYN+ACK back, then reset" },
		{ { IPPROTO_TCP, S | A | F, 6, false, false, 0 }, TRW_OUTCOME_SUCCESS, "a whole connection, one way" },
		{ { IPPROTO_TCP, A, 40, false, false, 0 }, TRW_OUTCOME_SUCCESS, "a long connection's later record" },
		{ { IPPROTO_TCP, A, 1, false, false, 0 }, TRW_OUTCOME_UNKNOWN, "a lone ACK (ACK scan)" },
		{ { IPPROTO_TCP, S | A, 2, false, false, 0 }, TRW_OUTCOME_UNKNOWN, "SYN, ACK, nothing more" },
		{ { IPPROTO_TCP, S | R, 2, false, false, 0 }, TRW_OUTCOME_UNKNOWN, "SYN then RST, no reply seen" },
		{ { IPPROTO_TCP, S, 1, false, true, A }, TRW_OUTCOME_UNKNOWN, "an odd reply" },
		{ { IPPROTO_TCP, 0, 1, false, false, 0 }, TRW_OUTCOME_UNKNOWN, "no flags (exporter without them)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (trw_classify_tcp(&cases[i].f) != cases[i].want)
			fail_msg("%s: %d, expected %d", cases[i].what, trw_classify_tcp(&cases[i].f), cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_scanner_all_failures),
		cmocka_unit_test(test_benign_successes),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_first_contacts_only),
		cmocka_unit_test(test_bounded_memory),
		cmocka_unit_test(test_classify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
