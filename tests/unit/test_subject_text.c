/*
 * test_subject_text.c — the subject text both ways: what is kept, what is escaped, that
 * every byte string comes back whole, that the encoding is always valid UTF-8 and
 * cannot forge a key=value log line, and what decoding takes from an operator.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/strview.h"
#include "common/subject_text.h"

static void
expect_encoded(const char *in, size_t len, const char *want)
{
	char out[1024];
	size_t n = subject_text_encode(out, sizeof(out), in, len);

	if (strcmp(out, want) != 0)
		fail_msg("encode: want '%s', got '%s'", want, out);
	assert_int_equal(n, strlen(want));
}

#define ENC(lit, want) expect_encoded(lit, sizeof(lit) - 1, want)

static void
test_plain_names_unchanged(void **state)
{
	(void)state;
	ENC("192.0.2.7", "192.0.2.7");
	ENC("2001:db8:1:2::/64", "2001:db8:1:2::/64");
	ENC("account:alice@example.net", "account:alice@example.net");
	ENC("account:a+b=c'(x)[y]{z}<>;,!#$&*?^`|~", "account:a+b=c'(x)[y]{z}<>;,!#$&*?^`|~");
	/* UTF-8 names stay readable: jürgen, 山田, an emoji */
	ENC("account:j\xc3\xbcrgen@\xe5\xb1\xb1\xe7\x94\xb0.jp \xf0\x9f\x98\x80",
	    "account:j\xc3\xbcrgen@\xe5\xb1\xb1\xe7\x94\xb0.jp%20\xf0\x9f\x98\x80");
	ENC("", "");
}

static void
test_escaped_bytes(void **state)
{
	(void)state;
	/* what forges a key=value line: space, quote; and the escapes' own characters */
	ENC("account:foo level=normal", "account:foo%20level=normal");
	ENC("a\"b", "a%22b");
	ENC("100%", "100%25");
	ENC("DOMAIN\\user", "DOMAIN%5Cuser");
	/* control bytes: newline, ESC, tab, DEL, a C1 control (U+0085) */
	ENC("a\nb\x1b[31m\tc\x7f", "a%0Ab%1B[31m%09c%7F");
	ENC("x\xc2\x85y", "x%C2%85y");
	/* not UTF-8: a stray byte, an overlong '/', a surrogate, a cut sequence */
	ENC("\xff\xfe", "%FF%FE");
	ENC("\xc0\xaf", "%C0%AF");
	ENC("\xed\xa0\x80", "%ED%A0%80");
	ENC("ab\xe2\x82", "ab%E2%82");
	/* invisible or reordering: no-break space, zero-width space, RLO, BOM, a tag */
	ENC("a\xc2\xa0" "b", "a%C2%A0b");
	ENC("a\xe2\x80\x8b" "b", "a%E2%80%8Bb");
	ENC("\xe2\x80\xae" "evil", "%E2%80%AEevil");
	ENC("\xef\xbb\xbf" "x", "%EF%BB%BFx");
	ENC("\xf3\xa0\x80\x81", "%F3%A0%80%81");
	/* a NUL inside a length-delimited name */
	expect_encoded("a\0b", 3, "a%00b");
}

/* decode(encode(x)) = x for every byte, every pair of bytes, and random strings; the
 * encoding is valid UTF-8 without a byte that could break a log line. */
static void
test_round_trip(void **state)
{
	char in[64], enc[SUBJECT_TEXT_SIZE(64)], dec[64];
	size_t len, n;

	(void)state;
	srand(15);
	for (unsigned round = 0; round < 65536 + 20000; round++) {
		if (round < 256) {
			in[0] = (char)round;
			len = 1;
		} else if (round < 65536) {
			in[0] = (char)(round >> 8);
			in[1] = (char)round;
			len = 2;
		} else {
			len = (size_t)(rand() % (int)sizeof(in));
			for (size_t i = 0; i < len; i++) {
				int r = rand() % 4;
				/* mostly bytes that make UTF-8 sequences, some ASCII */
				in[i] = (char)(r == 0 ? rand() % 128 : r == 1 ? 0xc0 + rand() % 0x35 : 0x80 + rand() % 64);
			}
		}
		if (memchr(in, '\0', len) != NULL)
			continue;        /* names never hold NUL; decoding refuses it (below) */
		n = subject_text_encode(enc, sizeof(enc), in, len);
		assert_int_equal(n, strlen(enc));
		for (size_t i = 0; i < n;) {
			unsigned char c = (unsigned char)enc[i];
			uint32_t cp;
			size_t k;
			if (c >= 0x80) {
				k = utf8_decode((const unsigned char *)enc + i, n - i, &cp);
				if (k == 0 || cp < 0xa0)
					fail_msg("round %u: the encoding is not clean UTF-8 at %zu", round, i);
				i += k;
				continue;
			}
			if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\')
				fail_msg("round %u: byte 0x%02x in the encoding", round, c);
			i++;
		}
		assert_int_equal(subject_text_decode(dec, sizeof(dec), &len, enc, n) == 0, 1);
		assert_memory_equal(dec, in, len);
	}
}

static void
test_decode(void **state)
{
	char out[32];
	size_t len;

	(void)state;
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "account:a%20b", 13), 0);
	assert_string_equal(out, "account:a b");
	assert_int_equal(len, 11);
	/* either case of hex; what an operator types as is works as well */
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "%c3%BC", 6), 0);
	assert_string_equal(out, "\xc3\xbc");
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "a b", 3), 0);
	assert_string_equal(out, "a b");
	/* a '%' that does not start an escape is itself */
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "100%", 4), 0);
	assert_string_equal(out, "100%");
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "%zz%4%", 6), 0);
	assert_string_equal(out, "%zz%4%");
	/* decoding is done once: %2541 is "%41", not "A" */
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "%2541", 5), 0);
	assert_string_equal(out, "%41");
	/* no NUL in a name, escaped or not */
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "a%00b", 5), -EINVAL);
	assert_int_equal(subject_text_decode(out, sizeof(out), &len, "a\0b", 3), -EINVAL);
	/* bounded */
	assert_int_equal(subject_text_decode(out, 4, &len, "abcd", 4), -ENOSPC);
	assert_int_equal(subject_text_decode(out, 5, &len, "abcd", 4), 0);
	assert_int_equal(subject_text_decode(out, 2, &len, "%41%42", 6), -ENOSPC);
}

/* A short buffer: cut at a whole escape, NUL-terminated, the full length returned. */
static void
test_encode_truncation(void **state)
{
	char out[6];

	(void)state;
	assert_int_equal(subject_text_encode(out, sizeof(out), "ab cd", 5), 7);
	assert_string_equal(out, "ab%20");
	assert_int_equal(subject_text_encode(out, 4, "ab cd", 5), 7);
	assert_string_equal(out, "ab");
	assert_int_equal(subject_text_encode(out, 4, "a\xc3\xbc" "b", 4), 4);
	assert_string_equal(out, "a\xc3\xbc");
	assert_int_equal(subject_text_encode(out, 3, "a\xc3\xbc" "b", 4), 4);
	assert_string_equal(out, "a");
	assert_int_equal(subject_text_encode(out, 1, "abc", 3), 3);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_names_unchanged),
		cmocka_unit_test(test_escaped_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_encode_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
