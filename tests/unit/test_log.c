/*
 * test_log.c — the logger's defences: escaping of what the network sends (control
 * bytes, ESC, newlines, invalid UTF-8) and the budget for lines outsiders can trigger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

#define SEC(n) ((usec_t)(n) * USEC_PER_SEC)

static void
expect_escaped(const char *in, size_t len, const char *want)
{
	char out[256];
	log_escape(out, sizeof(out), in, len);
	if (strcmp(out, want) != 0)
		fail_msg("escape: want '%s', got '%s'", want, out);
}

static void
test_escape_table(void **state)
{
	(void)state;
	expect_escaped("plain host=192.0.2.7", 20, "plain host=192.0.2.7");
	expect_escaped("a\nb", 3, "a\\x0ab");
	expect_escaped("a\r\nforged line", 14, "a\\x0d\\x0aforged line");
	expect_escaped("\x1b[31mred", 8, "\\x1b[31mred");
	expect_escaped("tab\there", 8, "tab\\x09here");
	expect_escaped("del\x7f", 4, "del\\x7f");
	expect_escaped("back\\slash", 10, "back\\\\slash");
	expect_escaped("nul\0after", 9, "nul\\x00after");
	/* valid UTF-8 kept; raw bytes that are not UTF-8 escaped one by one */
	expect_escaped("J\xc3\xbcrgen", 7, "J\xc3\xbcrgen");
	expect_escaped("\xe2\x82\xac", 3, "\xe2\x82\xac");
	expect_escaped("x\xff\xfey", 4, "x\\xff\\xfey");
	expect_escaped("\xc3", 1, "\\xc3");                  /* cut sequence */
	expect_escaped("\xc0\xaf", 2, "\\xc0\\xaf");         /* overlong '/' */
	expect_escaped("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"); /* surrogate */
	expect_escaped("\xc2\x9b", 2, "\\xc2\\x9b");       /* C1 CSI: valid UTF-8, still a control to some terminals */
	expect_escaped("", 0, "");
}

/* Truncation never cuts an escape or a UTF-8 sequence in half, and always terminates. */
static void
test_escape_truncates_whole(void **state)
{
	char out[8];
	(void)state;

	log_escape(out, sizeof(out), "abc\x1b" "defgh", 9);
	assert_string_equal(out, "abc\\x1b");     /* 7 bytes and the NUL; "d" no longer fits */
	log_escape(out, sizeof(out), "abcd\xc3\xbc" "xyz", 9);
	assert_string_equal(out, "abcd\xc3\xbc" "x");
	log_escape(out, 1, "abc", 3);
	assert_string_equal(out, "");
	log_escape(out, sizeof(out), "ab\x01", 3);
	assert_string_equal(out, "ab\\x01");
}

/* Every byte value alone: the output is printable ASCII or the byte kept as valid UTF-8. */
static void
test_escape_every_byte(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char in = (char)c, out[16];
		log_escape(out, sizeof(out), &in, 1);
		for (const char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				fail_msg("byte 0x%02x escaped to a non-printable byte", c);
		if (c >= 0x20 && c < 0x7f && c != '\\')
			assert_int_equal(strlen(out), 1);
		else
			assert_true(strlen(out) == 4 || (c == '\\' && strlen(out) == 2));
	}
}

/* A quoted value cannot be ended early: a remote reply's '"' cannot forge fields after it. */
static void
test_quoted(void **state)
{
	char out[64];
	(void)state;

	assert_string_equal(log_quoted(out, sizeof(out), "550 \"spam\" level=normal by=operator"),
	    "550 'spam' level=normal by=operator");
	assert_string_equal(log_quoted(out, sizeof(out), "plain"), "plain");
	assert_string_equal(log_quoted(out, 4, "\"abcdef"), "'ab");
	assert_string_equal(log_quoted(out, 1, "abc"), "");
}

static void
test_limit_burst_then_count(void **state)
{
	struct log_limit l = LOG_LIMIT_INIT(3, SEC(10));
	uint64_t n = 99, before = log_suppressed_total();
	(void)state;

	usec_t t = SEC(1000);
	for (int i = 0; i < 3; i++) {
		assert_true(log_limit_pass(&l, t + i, &n));
		assert_int_equal(n, 0);
	}
	for (int i = 0; i < 1000; i++)
		assert_false(log_limit_pass(&l, t + SEC(9), NULL));
	assert_int_equal(log_suppressed_total() - before, 1000);
	/* the next window: the first line carries the count, the second starts again */
	assert_true(log_limit_pass(&l, t + SEC(10), &n));
	assert_int_equal(n, 1000);
	assert_true(log_limit_pass(&l, t + SEC(10), &n));
	assert_int_equal(n, 0);
}

/* A clock that goes back (a test's, or after a suspend) starts a new window, never stalls. */
static void
test_limit_clock_back(void **state)
{
	struct log_limit l = LOG_LIMIT_INIT(1, SEC(60));
	(void)state;

	assert_true(log_limit_pass(&l, SEC(500), NULL));
	assert_false(log_limit_pass(&l, SEC(501), NULL));
	assert_true(log_limit_pass(&l, SEC(100), NULL));
}

/* log_limited writes at most burst lines and appends suppressed=N to the next one. */
/* stderr into a new temporary file (its path in path, its descriptor returned); the old
 * stderr kept in *saved for stderr_restore. */
static int
stderr_capture(char *path, int *saved)
{
	int fd = mkstemp(path);

	*saved = dup(2);
	assert_true(fd >= 0 && *saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	log_init("test_log", 0, LOG_LEVEL_INFO);
	return fd;
}

static void
stderr_restore(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

static void
test_limited_lines(void **state)
{
	struct log_limit l = LOG_LIMIT_INIT(2, SEC(3600));
	char path[] = "/tmp/test_log.XXXXXX";
	int saved, fd = stderr_capture(path, &saved);
	(void)state;

	for (int i = 0; i < 50; i++)
		log_limited(&l, LOG_LEVEL_WARN, "peer=%d bad request\n\x1b[2J", i);
	log_limited(&l, LOG_LEVEL_DEBUG, "below the level: not written, not counted");
	l.window_start -= SEC(3600);
	log_limited(&l, LOG_LEVEL_WARN, "peer=last");
	stderr_restore(saved);

	char buf[4096];
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(len > 0);
	buf[len] = '\0';
	int lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
	assert_non_null(strstr(buf, "peer=0 bad request\\x0a\\x1b[2J\n"));
	assert_non_null(strstr(buf, "peer=1 bad request"));
	assert_null(strstr(buf, "peer=2 "));
	assert_null(strstr(buf, "below the level"));
	assert_non_null(strstr(buf, "peer=last suppressed=48\n"));
}

/* What fd holds now, NUL-terminated in buf (size bytes); its length. */
static size_t
file_text(int fd, char *buf, size_t size)
{
	ssize_t len = pread(fd, buf, size - 1, 0);
	assert_true(len >= 0);
	buf[len] = '\0';
	return (size_t)len;
}

/* Lines held by log_buffer: written together by log_flush, before a warning, when the
 * buffer is full (whole lines only), and at once again after log_buffer(false). */
static void
test_buffered_lines(void **state)
{
	static char buf[512 * 1024];
	char path[] = "/tmp/test_log.XXXXXX";
	int saved, fd = stderr_capture(path, &saved);
	(void)state;

	log_buffer(true);
	log_info("held 1 host=192.0.2.1");
	log_info("held 2 host=192.0.2.2 \x1b[2J");
	log_debug("below the level");
	assert_int_equal(file_text(fd, buf, sizeof(buf)), 0);     /* nothing written yet */
	log_flush();
	size_t len = file_text(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "held 1 host=192.0.2.1\n"));
	assert_non_null(strstr(buf, "held 2 host=192.0.2.2 \\x1b[2J\n"));   /* escaped as ever */
	assert_null(strstr(buf, "below the level"));
	/* a warning goes at once, after what was held before it */
	log_info("held 3");
	log_warnx("a warning");
	file_text(fd, buf, sizeof(buf));
	char *held = strstr(buf, "held 3\n"), *warn = strstr(buf, "a warning\n");
	assert_non_null(held);
	assert_non_null(warn);
	assert_true(held < warn);
	/* more than the buffer holds: what overflows is written, whole lines only */
	len = file_text(fd, buf, sizeof(buf));
	for (int i = 0; i < 2000; i++)
		log_info("line %04d %s", i, "................................................................");
	size_t part = file_text(fd, buf, sizeof(buf));
	assert_true(part > len);                                   /* some written already */
	assert_int_equal(buf[part - 1], '\n');
	log_flush();
	file_text(fd, buf, sizeof(buf));
	int lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2 + 2 + 2000);
	assert_non_null(strstr(buf, "line 0000 "));
	assert_non_null(strstr(buf, "line 1999 "));
	/* off: a line is written at once */
	log_buffer(false);
	log_info("unheld");
	file_text(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "unheld\n"));
	stderr_restore(saved);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_truncates_whole),
		cmocka_unit_test(test_escape_every_byte),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_limit_burst_then_count),
		cmocka_unit_test(test_limit_clock_back),
		cmocka_unit_test(test_limited_lines),
		cmocka_unit_test(test_buffered_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
