/*
 * test_roundcube.c — the Roundcube userlogins line parser against the lines Roundcube 1.6
 * writes (rcmail::log_login through rcube::write_log, log_date_format's default, with and
 * without log_session_id's prefix, remote_ip()'s forwarded headers, log_driver syslog),
 * hostile user names and headers, and garbage: table-driven.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sense/roundcube.h"

#define RC_TS "[05-Dec-2026 03:12:45 +0000]: "

struct rc_case {
	const char *name;
	const char *in;
	size_t len;                 /* 0: strlen */
	int rc;
	const char *user;           /* ROUNDCUBE_LOGIN: the fields */
	uint64_t user_id;
	const char *remote_addr;
	const char *forwarded;
	int year, month, day, hour, tz_minutes;
};

static const struct rc_case cases[] = {
	{ "file, session prefix", RC_TS "<k3vd8s2a> Successful login for alice@example.net (ID: 1) from 192.0.2.7 "
	  "in session k3vd8s2a0fj3m2kd", 0, ROUNDCUBE_LOGIN, "alice@example.net", 1, "192.0.2.7", NULL,
	  2026, 12, 5, 3, 0 },
	{ "file, no session prefix", RC_TS "Successful login for bob (ID: 42) from 2001:db8::7 in session "
	  "no-session", 0, ROUNDCUBE_LOGIN, "bob", 42, "2001:db8::7", NULL, 2026, 12, 5, 3, 0 },
	{ "file, a zone west of UTC", "[31-Jan-2027 23:59:59 -0530]: <a> Successful login for carol@example.net "
	  "(ID: 7) from 198.51.100.4 in session a0", 0, ROUNDCUBE_LOGIN, "carol@example.net", 7, "198.51.100.4",
	  NULL, 2027, 1, 31, 23, -330 },
	{ "behind a proxy: X-Forwarded-For", RC_TS "<k3vd8s2a> Successful login for alice@example.net (ID: 1) "
	  "from 10.0.0.5 (X-Forwarded-For: 198.51.100.4) in session k3vd8s2a0fj3m2kd", 0, ROUNDCUBE_LOGIN,
	  "alice@example.net", 1, "10.0.0.5", "X-Forwarded-For: 198.51.100.4", 2026, 12, 5, 3, 0 },
	{ "nginx: X-Real-IP and X-Forwarded-For", RC_TS "<k3vd8s2a> Successful login for alice@example.net (ID: 1) "
	  "from 10.0.0.5 (X-Real-IP: 198.51.100.4,X-Forwarded-For: 203.0.113.9, 198.51.100.4) in session k3", 0,
	  ROUNDCUBE_LOGIN, "alice@example.net", 1, "10.0.0.5",
	  "X-Real-IP: 198.51.100.4,X-Forwarded-For: 203.0.113.9, 198.51.100.4", 2026, 12, 5, 3, 0 },
	{ "a header holding \" in session \"", RC_TS "Successful login for alice@example.net (ID: 1) from 10.0.0.5 "
	  "(X-Forwarded-For: 1.2.3.4) in session fake, 198.51.100.4) in session realsess", 0, ROUNDCUBE_LOGIN,
	  "alice@example.net", 1, "10.0.0.5", "X-Forwarded-For: 1.2.3.4) in session fake, 198.51.100.4",
	  2026, 12, 5, 3, 0 },
	{ "a user name with blanks", RC_TS "Successful login for john doe (ID: 3) from 192.0.2.7 in session s", 0,
	  ROUNDCUBE_LOGIN, "john doe", 3, "192.0.2.7", NULL, 2026, 12, 5, 3, 0 },
	{ "syslog (log_driver syslog)", "Dec  5 03:12:45 web roundcube: <k3vd8s2a> Successful login for "
	  "alice@example.net (ID: 1) from 192.0.2.7 in session k3vd8s2a0fj3m2kd", 0, ROUNDCUBE_LOGIN,
	  "alice@example.net", 1, "192.0.2.7", NULL, 0, 12, 5, 3, 0 },
	{ "syslog, RFC 3339", "2026-12-05T03:12:45.000123+00:00 web roundcube[812]: Successful login for "
	  "alice@example.net (ID: 1) from 192.0.2.7 in session k3", 0, ROUNDCUBE_LOGIN, "alice@example.net", 1,
	  "192.0.2.7", NULL, 2026, 12, 5, 3, 0 },
	/* failed logins: counted, never attributed, whatever the name */
	{ "failed login", RC_TS "<k3vd8s2a> Failed login for mallory from 192.0.2.7 in session k3vd8s2a0fj3m2kd "
	  "(error: 0)", 0, ROUNDCUBE_LOGIN_FAILED, NULL, 0, NULL, NULL, 2026, 12, 5, 3, 0 },
	{ "failed login, a name posing as a success", RC_TS "Failed login for bob (ID: 1) from 6.6.6.6 in session "
	  "x from 192.0.2.7 in session k3 (error: 0)", 0, ROUNDCUBE_LOGIN_FAILED, NULL, 0, NULL, NULL,
	  2026, 12, 5, 3, 0 },
	/* hostile names and headers: refused, never another account's login */
	{ "a user name smuggling an ID and an address", RC_TS "Successful login for eve (ID: 1) from 6.6.6.6 "
	  "(ID: 7) from 10.0.0.1 in session x", 0, ROUNDCUBE_ERR_AMBIGUOUS, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "a user name smuggling an ID and headers", RC_TS "Successful login for eve (ID: 1) from 6.6.6.6 "
	  "(X-Real-IP: 1 (ID: 7) from 10.0.0.1 in session x", 0, ROUNDCUBE_ERR_AMBIGUOUS, NULL, 0, NULL, NULL,
	  0, 0, 0, 0, 0 },
	{ "a header smuggling an ID", RC_TS "Successful login for alice (ID: 3) from 10.0.0.5 (X-Forwarded-For: "
	  "1.2.3.4 (ID: 9) from 6.6.6.6) in session x", 0, ROUNDCUBE_ERR_AMBIGUOUS, NULL, 0, NULL, NULL,
	  0, 0, 0, 0, 0 },
	/* other lines */
	{ "another message", RC_TS "<k3vd8s2a> IMAP Error: Login failed for x against localhost from 192.0.2.7",
	  0, ROUNDCUBE_ERR_OTHER, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "another program in syslog", "Dec  5 03:12:45 web postfix/smtpd[1]: connect from x[192.0.2.7]", 0,
	  ROUNDCUBE_ERR_OTHER, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "an unclosed session prefix", RC_TS "<k3vd8s2a Successful login for a (ID: 1) from 192.0.2.7 in session s",
	  0, ROUNDCUBE_ERR_OTHER, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	/* garbage */
	{ "empty", "", 0, ROUNDCUBE_ERR_EMPTY, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "blanks", "  \t ", 0, ROUNDCUBE_ERR_EMPTY, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "NUL", RC_TS "Successful login for a\0b (ID: 1) from 192.0.2.7 in session s", 90, ROUNDCUBE_ERR_NUL,
	  NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "another date format", "[2026-12-05 03:12:45]: Successful login for a (ID: 1) from 192.0.2.7 in session s",
	  0, ROUNDCUBE_ERR_TIMESTAMP, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "month 13", "[05-Dex-2026 03:12:45 +0000]: Successful login for a (ID: 1) from 192.0.2.7 in session s",
	  0, ROUNDCUBE_ERR_TIMESTAMP, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "hour 24", "[05-Dec-2026 24:12:45 +0000]: Successful login for a (ID: 1) from 192.0.2.7 in session s",
	  0, ROUNDCUBE_ERR_TIMESTAMP, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "no header at all", "Successful login for a (ID: 1) from 192.0.2.7 in session s", 0,
	  ROUNDCUBE_ERR_TIMESTAMP, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "cut after the user", RC_TS "Successful login for alice", 0, ROUNDCUBE_ERR_FIELDS, NULL, 0, NULL, NULL,
	  0, 0, 0, 0, 0 },
	{ "cut before the session", RC_TS "Successful login for alice (ID: 1) from 192.0.2.7", 0,
	  ROUNDCUBE_ERR_FIELDS, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "an empty session", RC_TS "Successful login for alice (ID: 1) from 192.0.2.7 in session ", 0,
	  ROUNDCUBE_ERR_FIELDS, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "no ID digits", RC_TS "Successful login for alice (ID: x) from 192.0.2.7 in session s", 0,
	  ROUNDCUBE_ERR_FIELDS, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "an empty user", RC_TS "Successful login for  (ID: 1) from 192.0.2.7 in session s", 0,
	  ROUNDCUBE_ERR_FIELDS, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "an empty address", RC_TS "Successful login for alice (ID: 1) from  in session s", 0,
	  ROUNDCUBE_ERR_FIELDS, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "headers not in parentheses", RC_TS "Successful login for alice (ID: 1) from 192.0.2.7 junk in session s",
	  0, ROUNDCUBE_ERR_FIELDS, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0 },
};

static void
view_is(const char *what, const char *name, struct strview got, const char *want, int *bad)
{
	size_t n = want ? strlen(want) : 0;

	if (got.len == n && (n == 0 || memcmp(got.ptr, want, n) == 0))
		return;
	print_error("%s: %s: expected \"%s\", got \"%.*s\"\n", what, name, want ? want : "", (int)got.len,
	    got.ptr ? got.ptr : "");
	(*bad)++;
}

static void
test_lines(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rc_case *c = &cases[i];
		struct roundcube_login l;
		int rc = roundcube_parse_line((const uint8_t *)c->in, c->len ? c->len : strlen(c->in), &l);

		if (rc != c->rc) {
			print_error("%s: expected %s, got %s\n", c->name,
			    c->rc < 0 ? roundcube_error_name(c->rc) : roundcube_kind_name(c->rc),
			    rc < 0 ? roundcube_error_name(rc) : roundcube_kind_name(rc));
			bad++;
			continue;
		}
		if (rc < 0)
			continue;
		if (l.time.year != c->year || l.time.month != c->month || l.time.day != c->day ||
		    l.time.hour != c->hour || l.time.tz_minutes != c->tz_minutes) {
			print_error("%s: time %d-%d-%d %d tz %d\n", c->name, l.time.year, l.time.month, l.time.day,
			    l.time.hour, l.time.tz_minutes);
			bad++;
		}
		if (rc != ROUNDCUBE_LOGIN)
			continue;
		view_is(c->name, "user", l.user, c->user, &bad);
		view_is(c->name, "remote_addr", l.remote_addr, c->remote_addr, &bad);
		view_is(c->name, "forwarded", l.forwarded, c->forwarded, &bad);
		if (l.user_id != c->user_id) {
			print_error("%s: user_id %llu\n", c->name, (unsigned long long)l.user_id);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The forwarded entries from the right: what the nearest proxy saw first. */
static void
test_forwarded(void **state)
{
	static const char f[] = "X-Real-IP: 198.51.100.4,X-Forwarded-For: 203.0.113.9,  10.0.0.9 ";
	static const char *const want[] = { "10.0.0.9", "203.0.113.9", "198.51.100.4" };
	struct strview v = { f, sizeof(f) - 1 }, a;
	size_t pos = v.len, n = 0;

	(void)state;
	while (roundcube_forwarded_next(v, &pos, &a) == 0) {
		assert_true(n < 3);
		assert_int_equal(a.len, strlen(want[n]));
		assert_memory_equal(a.ptr, want[n], a.len);
		n++;
	}
	assert_int_equal(n, 3);
	pos = 0;
	assert_int_equal(roundcube_forwarded_next(v, &pos, &a), -1);
	struct strview empty = { ",, ", 3 };
	pos = empty.len;
	assert_int_equal(roundcube_forwarded_next(empty, &pos, &a), -1);
}

static void
test_names(void **state)
{
	(void)state;
	for (int i = 1; i <= ROUNDCUBE_ERROR_COUNT; i++)
		assert_string_not_equal(roundcube_error_name(-i), "unknown");
	assert_string_equal(roundcube_error_name(-ROUNDCUBE_ERROR_COUNT - 1), "unknown");
	assert_string_equal(roundcube_kind_name(ROUNDCUBE_LOGIN), "login");
	assert_string_equal(roundcube_kind_name(ROUNDCUBE_KIND_COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
