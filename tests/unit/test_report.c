/*
 * test_report.c — the shape every report reader emits: text copied from a report's
 * author is cut on a character boundary, controls become '?', blanks around it go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sense/report.h"

static void
test_text_copy_cuts_on_characters(void **state)
{
	char buf[6];

	(void)state;
	/* "aé€" is 1 + 2 + 3 bytes: 5 bytes of room hold "aé" and not half the euro sign */
	assert_int_equal(report_text_copy(buf, sizeof(buf), "a\xc3\xa9\xe2\x82\xac", 6), 3);
	assert_string_equal(buf, "a\xc3\xa9");
	assert_int_equal(report_text_copy(buf, sizeof(buf), "abcdefgh", 8), 5);
	assert_string_equal(buf, "abcde");
	assert_int_equal(report_text_copy(buf, 1, "abc", 3), 0);
	assert_string_equal(buf, "");
}

static void
test_text_copy_replaces_controls(void **state)
{
	char buf[64];

	(void)state;
	/* a newline would forge a log line; an ESC drives a terminal; 0xc2 0x85 is NEL (C1) */
	report_text_copy(buf, sizeof(buf), "x\ny\x1b[31mz\x7f\xc2\x85w", 13);
	assert_string_equal(buf, "x?y?[31mz??w");
	/* invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate */
	report_text_copy(buf, sizeof(buf), "a\x80" "b\xc0\xaf" "c\xed\xa0\x80", 9);
	assert_string_equal(buf, "a?b??c???");
	/* a NUL inside is a control like any other, not the end */
	report_text_copy(buf, sizeof(buf), "a\0b", 3);
	assert_string_equal(buf, "a?b");
}

static void
test_text_trims_and_lowers(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(report_text_copy(buf, sizeof(buf), " \t Andromeda \r\n", 15), 9);
	assert_string_equal(buf, "Andromeda");
	report_text_lower(buf, sizeof(buf), "  Mirai-\xc3\x89X ", 11);
	assert_string_equal(buf, "mirai-\xc3\x89x");
}

static void
test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(report_kind_name(REPORT_SPAM), "report_spam");
	assert_string_equal(report_kind_name(REPORT_INFECTION), "report_infection");
	assert_string_equal(report_kind_name(REPORT_SCAN), "report_scan");
	assert_string_equal(report_kind_name(REPORT_OTHER), "report_other");
	assert_string_equal(report_kind_name((enum report_kind)42), "report_other");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_copy_cuts_on_characters),
		cmocka_unit_test(test_text_copy_replaces_controls),
		cmocka_unit_test(test_text_trims_and_lowers),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
