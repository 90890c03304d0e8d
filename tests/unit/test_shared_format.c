/*
 * test_shared_format.c — the shared store's change format (store/shared.c) without
 * PostgreSQL: every field of a verdict through shared_verdict_encode and back, boundary
 * values on purpose; the bodies shared_verdict_decode must refuse, since they come from
 * other nodes through PostgreSQL (a field missing, of the wrong type or out of range, a
 * text one byte too long or holding a NUL, duplicate keys, a tag outside [0, INT64_MAX]),
 * with *out left zeroed; the verdict line (schema 3) through shared_verdict_line and back,
 * and the lines its decoder must refuse; the same checks on the members as texts
 * (shared_verdict_from_fields) and on an evidence row's columns (shared_evidence_from_columns);
 * the evidence line (schema 4) through shared_evidence_line and back (hostile subjects, UTF-8
 * texts, numbers at their bounds), the lines its decoder must refuse and the evidence its
 * writer must; and the node names shared_node_name_valid lets through.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/level.h"
#include "store/shared.h"

/* A text of exactly len bytes of UTF-8: "€" (3 bytes) repeated, then ASCII to fill. */
static void
fill_utf8(char *dst, size_t len)
{
	size_t i = 0;

	while (i + 3 <= len) {
		memcpy(dst + i, "\xe2\x82\xac", 3);
		i += 3;
	}
	while (i < len)
		dst[i++] = 'x';
	dst[len] = '\0';
}

static void
fill_ascii(char *dst, size_t len, char c)
{
	memset(dst, c, len);
	dst[len] = '\0';
}

static void
assert_verdict_equal(const struct shared_verdict *a, const struct shared_verdict *b)
{
	assert_int_equal(a->level, b->level);
	assert_int_equal(a->old_level, b->old_level);
	assert_int_equal(a->manual_level, b->manual_level);
	assert_true(a->manual_until == b->manual_until);
	assert_true(a->grace_until == b->grace_until);
	assert_true(a->time == b->time);
	assert_int_equal(a->self_release, b->self_release);
	assert_int_equal(a->reset, b->reset);
	assert_true(a->tag == b->tag);
	assert_string_equal(a->manual_reason, b->manual_reason);
	assert_string_equal(a->actor, b->actor);
	assert_string_equal(a->reason, b->reason);
}

/* decode() of text (exactly len bytes, no NUL after it: ASan sees a read past the end). */
static int
decode_copy(int (*decode)(const char *, size_t, struct shared_verdict *), const char *text, size_t len,
    struct shared_verdict *out)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = decode(copy, len, out);
	free(copy);
	return rc;
}

/* A JSON body through shared_verdict_decode, exactly len bytes. */
static int
decode_exact(const char *body, size_t len, struct shared_verdict *out)
{
	return decode_copy(shared_verdict_decode, body, len, out);
}

/*
 * The members of body as texts (strings as they are, numbers in decimal, booleans
 * "true"/"false", absent NULL), each in a buffer of its own exact length, then
 * shared_verdict_from_fields, where both decoders end.
 */
static int
decode_fields(const json_t *o, struct shared_verdict *out)
{
	const char *value[SHARED_F_COUNT];
	size_t len[SHARED_F_COUNT];
	char *own[SHARED_F_COUNT];
	int rc;

	for (int i = 0; i < SHARED_F_COUNT; i++) {
		json_t *m = json_object_get(o, shared_verdict_fields[i]);
		char num[32];
		const char *text = num;
		size_t n = 0;

		own[i] = NULL;
		value[i] = NULL;
		len[i] = 0;
		if (m == NULL)
			continue;
		if (json_is_string(m)) {
			text = json_string_value(m);
			n = json_string_length(m);
		} else if (json_is_integer(m))
			n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(m));
		else if (json_is_boolean(m))
			n = strlen(text = json_is_true(m) ? "true" : "false");
		else
			fail_msg("member %s of an unexpected type", shared_verdict_fields[i]);
		assert_non_null(own[i] = malloc(n ? n : 1));
		memcpy(own[i], text, n);
		value[i] = own[i];
		len[i] = n;
	}
	rc = shared_verdict_from_fields(value, len, out);
	for (int i = 0; i < SHARED_F_COUNT; i++)
		free(own[i]);
	return rc;
}

static const struct shared_verdict zero;

/* A verdict line through shared_verdict_line_decode, exactly len bytes. */
static int
line_decode_exact(const char *line, size_t len, struct shared_verdict *out)
{
	return decode_copy(shared_verdict_line_decode, line, len, out);
}

/* v through the verdict line and back: no newline in it, a tab between members only. */
static void
line_round_trip(const struct shared_verdict *v)
{
	char line[SHARED_LINE_MAX];
	struct shared_verdict got;
	int n = shared_verdict_line(v, line, sizeof(line)), tabs = 0;

	assert_true(n > 0);
	assert_int_equal(strlen(line), (size_t)n);
	assert_null(strchr(line, '\n'));
	for (int i = 0; i < n; i++)
		tabs += line[i] == '\t';
	assert_int_equal(tabs, SHARED_F_COUNT - 1);
	memset(&got, 0xa5, sizeof(got));
	if (line_decode_exact(line, (size_t)n, &got) != 0)
		fail_msg("the line decoder refused what shared_verdict_line made: %s", line);
	assert_verdict_equal(&got, v);
	/* a buffer one byte short is refused, not overrun */
	char *tight = malloc((size_t)n + 1);
	assert_non_null(tight);
	assert_int_equal(shared_verdict_line(v, tight, (size_t)n), -EINVAL);
	/* and one of exactly its length and the NUL is enough */
	assert_int_equal(shared_verdict_line(v, tight, (size_t)n + 1), n);
	assert_memory_equal(tight, line, (size_t)n + 1);
	free(tight);
}

static void
round_trip(const struct shared_verdict *v)
{
	struct shared_verdict got;
	char *body = NULL;

	line_round_trip(v);
	assert_int_equal(shared_verdict_encode(v, &body), 0);
	assert_non_null(body);
	memset(&got, 0xa5, sizeof(got));
	if (decode_exact(body, strlen(body), &got) != 0)
		fail_msg("decode refused what encode made: %s", body);
	assert_verdict_equal(&got, v);
	/* and as the feed reads it: the members PostgreSQL takes out of the body */
	json_error_t jerr;
	json_t *o = json_loads(body, 0, &jerr);
	assert_non_null(o);
	memset(&got, 0xa5, sizeof(got));
	if (decode_fields(o, &got) != 0)
		fail_msg("the members of %s refused", body);
	assert_verdict_equal(&got, v);
	json_decref(o);
	free(body);
}

static void
verdict_base(struct shared_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->level = LEVEL_QUARANTINE;
	v->old_level = LEVEL_WATCH;
	v->manual_level = -1;
	v->time = 1764900000000000;
	v->tag = 42;
	snprintf(v->actor, sizeof(v->actor), "judge");
	snprintf(v->reason, sizeof(v->reason), "score 7.5 over 5");
}

static void
test_round_trip(void **state)
{
	struct shared_verdict v;

	(void)state;
	/* every level as level and as old, every manual level, -1 (none) included */
	for (int l = 0; l < LEVEL_COUNT; l++)
		for (int m = -1; m < LEVEL_COUNT; m++) {
			verdict_base(&v);
			v.level = l;
			v.old_level = LEVEL_COUNT - 1 - l;
			v.manual_level = m;
			v.self_release = (l + m) % 2 == 0;
			v.reset = l % 2 == 1;
			round_trip(&v);
		}

	/* the times and the tag at their bounds */
	static const usec_t times[] = { 0, 1, 1764900000000000, INT64_MAX - 1, INT64_MAX };
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		verdict_base(&v);
		v.manual_level = LEVEL_SUSPEND;
		v.manual_until = times[i];
		v.grace_until = times[(i + 1) % 5];
		v.time = times[(i + 2) % 5];
		v.tag = (uint64_t)times[(i + 3) % 5];
		round_trip(&v);
	}
	verdict_base(&v);
	v.tag = (uint64_t)INT64_MAX;
	round_trip(&v);
	v.tag = 0;
	round_trip(&v);

	/* texts at their maximum length, ASCII and UTF-8, with the characters JSON escapes */
	verdict_base(&v);
	v.manual_level = LEVEL_QUARANTINE;
	v.self_release = true;
	v.reset = true;
	fill_ascii(v.manual_reason, sizeof(v.manual_reason) - 1, 'm');
	fill_ascii(v.actor, sizeof(v.actor) - 1, 'a');
	fill_ascii(v.reason, sizeof(v.reason) - 1, 'r');
	round_trip(&v);
	fill_utf8(v.manual_reason, sizeof(v.manual_reason) - 1);
	fill_utf8(v.actor, sizeof(v.actor) - 1);
	fill_utf8(v.reason, sizeof(v.reason) - 1);
	round_trip(&v);
	snprintf(v.manual_reason, sizeof(v.manual_reason), "\"quoted\" \\ back\tslash\nnew line \x01 \x7f");
	snprintf(v.actor, sizeof(v.actor), "operator:\xc3\xa9milie");
	snprintf(v.reason, sizeof(v.reason), "\xf0\x9f\x92\xa3 bot \xe2\x80\xa8 U+2028");
	round_trip(&v);
	/* every control character, escaped as \u00XX or as JSON's short forms by any writer */
	for (int c = 1; c < 0x20; c++)
		v.reason[c - 1] = (char)c;
	v.reason[0x1f] = '\0';
	snprintf(v.manual_reason, sizeof(v.manual_reason), "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 "
	    "\xf4\x8f\xbf\xbf: the first and last of each length");
	round_trip(&v);
	/* an empty reason and manual reason are texts too (the actor is not: below) */
	v.manual_reason[0] = v.reason[0] = '\0';
	round_trip(&v);
}

/*
 * A batch row's line (schema 5): node_seq, at, the subject text, the verdict line; what is
 * written is read back to the same change, and only what the writer writes is accepted.
 */
static void
test_batch_line(void **state)
{
	struct shared_verdict v;
	struct shared_change c;
	char verdict[SHARED_LINE_MAX], subject[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)], line[SHARED_BATCH_LINE_MAX];
	static const char *const names[] = { "192.0.2.1", "2001:db8::1", "account:alice@example.net",
		"account:b\tob\n\\ %25", "subscriber:\xe2\x80\xae" "evil\x01" };
	int len;

	(void)state;
	verdict_base(&v);
	assert_true(shared_verdict_line(&v, verdict, sizeof(verdict)) > 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		subject_text_encode(subject, sizeof(subject), names[i], strlen(names[i]));
		len = shared_batch_line((int64_t)i + 1, 1764900000000000 + (int64_t)i, subject, verdict, line, sizeof(line));
		assert_true(len > 0 && line[len - 1] == '\n' && line[len] == '\0');
		memset(&c, 0, sizeof(c));
		assert_int_equal(shared_batch_line_decode(line, (size_t)len - 1, &c), 0);
		assert_true(c.node_seq == (int64_t)i + 1);
		assert_true(c.at == 1764900000000000 + (int64_t)i);
		assert_string_equal(c.subject, names[i]);
		assert_true(c.verdict.tag == v.tag);
		assert_string_equal(c.verdict.reason, v.reason);
	}
	/* at its bounds */
	len = shared_batch_line(INT64_MAX, 0, "192.0.2.1", verdict, line, sizeof(line));
	assert_true(len > 0);
	assert_int_equal(shared_batch_line_decode(line, (size_t)len - 1, &c), 0);
	assert_true(c.node_seq == INT64_MAX && c.at == 0);

	/* what the writer refuses */
	assert_int_equal(shared_batch_line(0, 1, "192.0.2.1", verdict, line, sizeof(line)), -EINVAL);
	assert_int_equal(shared_batch_line(1, -1, "192.0.2.1", verdict, line, sizeof(line)), -EINVAL);
	assert_int_equal(shared_batch_line(1, 1, "192.0.2.1\t", verdict, line, sizeof(line)), -EINVAL);
	assert_int_equal(shared_batch_line(1, 1, "192.0.2.1", "a\nb", line, sizeof(line)), -EINVAL);
	assert_int_equal(shared_batch_line(1, 1, "192.0.2.1", verdict, line, 10), -EINVAL);

	/* what the reader refuses: another spelling of a number, a member missing or empty, a
	 * subject not as the encoder writes it, a verdict it refuses, a newline or NUL inside */
	char bad[SHARED_BATCH_LINE_MAX + 64];
	static const char *const forms[] = {
		"01\t5\t192.0.2.1\t%s", "+1\t5\t192.0.2.1\t%s", "-1\t5\t192.0.2.1\t%s", "0\t5\t192.0.2.1\t%s",
		"1\t-5\t192.0.2.1\t%s", "1\t05\t192.0.2.1\t%s", "1\t\t192.0.2.1\t%s", "\t5\t192.0.2.1\t%s",
		"1\t5\t\t%s", "1\t5\t%%31%%39%%32.0.2.1\t%s", "1\t5\t192.0.2.1%s", "1\t5\t192.0.2.1\t\t%s",
		"1 \t5\t192.0.2.1\t%s", "99999999999999999999\t5\t192.0.2.1\t%s",
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(bad, sizeof(bad), forms[i], verdict);
		memset(&c, 0, sizeof(c));
		if (shared_batch_line_decode(bad, strlen(bad), &c) != -EINVAL)
			fail_msg("accepted: %s", forms[i]);
	}
	static const char not_verdict[] = "1\t5\t192.0.2.1\tnot a verdict";
	assert_int_equal(shared_batch_line_decode(not_verdict, sizeof(not_verdict) - 1, &c), -EINVAL);
	len = snprintf(bad, sizeof(bad), "1\t5\t192.0.2.1\t%s", verdict);
	assert_int_equal(shared_batch_line_decode(bad, (size_t)len, &c), 0);
	bad[3] = '\n';
	assert_int_equal(shared_batch_line_decode(bad, (size_t)len, &c), -EINVAL);
	bad[3] = '\0';
	assert_int_equal(shared_batch_line_decode(bad, (size_t)len, &c), -EINVAL);
	assert_int_equal(shared_batch_line_decode("", 0, &c), -EINVAL);
}

static void
test_encode_refusals(void **state)
{
	struct shared_verdict v;
	char *body;

	(void)state;
	struct { const char *what; int level, old, manual; uint64_t tag; } bad[] = {
		{ "level -1", -1, 0, -1, 1 },
		{ "level LEVEL_COUNT", LEVEL_COUNT, 0, -1, 1 },
		{ "old -1", 0, -1, -1, 1 },
		{ "old LEVEL_COUNT", 0, LEVEL_COUNT, -1, 1 },
		{ "manual -2", 0, 0, -2, 1 },
		{ "manual LEVEL_COUNT", 0, 0, LEVEL_COUNT, 1 },
		{ "tag 2^63", 0, 0, -1, (uint64_t)INT64_MAX + 1 },
		{ "tag UINT64_MAX", 0, 0, -1, UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		verdict_base(&v);
		v.level = bad[i].level;
		v.old_level = bad[i].old;
		v.manual_level = bad[i].manual;
		v.tag = bad[i].tag;
		body = (char *)"untouched";
		if (shared_verdict_encode(&v, &body) != -EINVAL)
			fail_msg("%s: encoded", bad[i].what);
		assert_null(body);
		char line[SHARED_LINE_MAX];
		if (shared_verdict_line(&v, line, sizeof(line)) != -EINVAL)
			fail_msg("%s: made a line", bad[i].what);
	}
	/* a text that is not UTF-8 cannot be JSON, whichever of the three holds it */
	static const char *const not_utf8[] = {
		"bad \xff byte", "\xc0\x80 overlong NUL", "\xe0\x80\xaf overlong slash", "\xed\xa0\x80 surrogate",
		"\xf4\x90\x80\x80 past U+10FFFF", "\xf5\x80\x80\x80 no such lead", "cut \xe2\x82", "cut at the end \xc3",
		"\x80 lone continuation", "\xc3\x28 not a continuation",
	};
	for (size_t i = 0; i < sizeof(not_utf8) / sizeof(not_utf8[0]); i++)
		for (int field = 0; field < 3; field++) {
			verdict_base(&v);
			char *dst = field == 0 ? v.reason : field == 1 ? v.manual_reason : v.actor;
			snprintf(dst, field == 2 ? sizeof(v.actor) : sizeof(v.reason), "%s", not_utf8[i]);
			body = (char *)"untouched";
			if (shared_verdict_encode(&v, &body) != -EINVAL)
				fail_msg("field %d \"%s\": encoded", field, not_utf8[i]);
			assert_null(body);
			char line[SHARED_LINE_MAX];
			if (shared_verdict_line(&v, line, sizeof(line)) != -EINVAL)
				fail_msg("field %d \"%s\": made a line", field, not_utf8[i]);
		}
	/* a text not ended within its field is refused, not read past */
	verdict_base(&v);
	memset(v.reason, 'r', sizeof(v.reason));
	assert_int_equal(shared_verdict_encode(&v, &body), -EINVAL);
	assert_null(body);
	char line[SHARED_LINE_MAX];
	assert_int_equal(shared_verdict_line(&v, line, sizeof(line)), -EINVAL);
	verdict_base(&v);
	v.actor[0] = '\0';             /* no verdict without its maker */
	assert_int_equal(shared_verdict_line(&v, line, sizeof(line)), -EINVAL);
}

/* The verdict lines the decoder must refuse (from other nodes through PostgreSQL), *out
 * zeroed each time; and the one it reads, as written by hand. */
static void
test_line_refusals(void **state)
{
	struct shared_verdict got;
	char line[SHARED_LINE_MAX];

	(void)state;
	static const char good[] = "quarantine\twatch\t-1\t0\t\tfalse\t0\t1764900000000000\tjudge\t"
	    "score 7.5 over 5\tfalse\t42\t1";
	assert_int_equal(line_decode_exact(good, strlen(good), &got), 0);
	assert_int_equal(got.level, LEVEL_QUARANTINE);
	assert_int_equal(got.old_level, LEVEL_WATCH);
	assert_string_equal(got.reason, "score 7.5 over 5");
	assert_true(got.tag == 42);
	/* the three escapes, in a text */
	static const char escaped[] = "quarantine\twatch\t-1\t0\ta\\\\b\\tc\\nd\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1";
	assert_int_equal(line_decode_exact(escaped, strlen(escaped), &got), 0);
	assert_string_equal(got.manual_reason, "a\\b\tc\nd");

	static const char *const bad[] = {
		"",
		"quarantine",
		/* a member short, a member too many, an empty one where a number goes */
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1764900000000000\tjudge\tr\tfalse\t42",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1764900000000000\tjudge\tr\tfalse\t42\t1\t",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1764900000000000\tjudge\tr\tfalse\t42\t1\tx",
		"quarantine\twatch\t\t0\t\tfalse\t0\t1764900000000000\tjudge\tr\tfalse\t42\t1",
		/* escapes never written, a lone backslash at the end, a raw newline */
		"quarantine\twatch\t-1\t0\ta\\rb\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\ta\\x41\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1\\",
		"quarantine\twatch\t-1\t0\ta\nb\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1\n",
		/* members out of range or in forms no writer makes */
		"jail\twatch\t-1\t0\t\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-2\t0\t\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t-5\t\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\t1\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t01\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1\t\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1\tjudge\tr\tfalse\t9223372036854775808\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1\tjudge\tr\tfalse\t42\t2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&got, 0xa5, sizeof(got));
		if (line_decode_exact(bad[i], strlen(bad[i]), &got) != -EINVAL)
			fail_msg("line %zu accepted: %s", i, bad[i]);
		assert_memory_equal(&got, &zero, sizeof(got));
	}
	/* a text that is not UTF-8, whichever of the three holds it */
	static const char *const not_utf8[] = {
		"quarantine\twatch\t-1\t0\tbad \xff\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1\t\xc0\x80\tr\tfalse\t42\t1",
		"quarantine\twatch\t-1\t0\t\tfalse\t0\t1\tjudge\tcut \xe2\x82\tfalse\t42\t1",
	};
	for (size_t i = 0; i < sizeof(not_utf8) / sizeof(not_utf8[0]); i++)
		assert_int_equal(line_decode_exact(not_utf8[i], strlen(not_utf8[i]), &got), -EINVAL);
	/* a NUL inside a text; a text one byte too long (an actor of STORE_ACTOR_MAX bytes) */
	static const char nul[] = "quarantine\twatch\t-1\t0\ta\0b\tfalse\t0\t1\tjudge\tr\tfalse\t42\t1";
	assert_int_equal(line_decode_exact(nul, sizeof(nul) - 1, &got), -EINVAL);
	int n = snprintf(line, sizeof(line), "quarantine\twatch\t-1\t0\t\tfalse\t0\t1\t%0*d\tr\tfalse\t42\t1",
	    STORE_ACTOR_MAX, 7);
	assert_int_equal(line_decode_exact(line, (size_t)n, &got), -EINVAL);
	/* a line as long as the buffer the decoder has, or longer: refused, not overrun */
	char *huge = malloc(SHARED_LINE_MAX + 16);
	assert_non_null(huge);
	memset(huge, 'x', SHARED_LINE_MAX + 16);
	assert_int_equal(line_decode_exact(huge, SHARED_LINE_MAX, &got), -EINVAL);
	assert_int_equal(line_decode_exact(huge, SHARED_LINE_MAX + 16, &got), -EINVAL);
	free(huge);
}

/* ---- refusals ---- */

/* A valid body as a jansson object, every field set (the encoder's own output). */
static json_t *
valid_object(void)
{
	struct shared_verdict v;
	json_error_t jerr;
	char *body;
	json_t *o;

	verdict_base(&v);
	v.manual_level = LEVEL_SUSPEND;
	v.manual_until = 1764903600000000;
	v.grace_until = 1764900060000000;
	snprintf(v.manual_reason, sizeof(v.manual_reason), "abuse desk ticket 4711");
	assert_int_equal(shared_verdict_encode(&v, &body), 0);
	assert_non_null(o = json_loads(body, 0, &jerr));
	free(body);
	return o;
}

/* o (consumed) must be refused, with *out zeroed. */
static void
expect_refused_object(json_t *o, const char *what)
{
	char *body = json_dumps(o, JSON_COMPACT);
	struct shared_verdict got;

	assert_non_null(body);
	json_decref(o);
	memset(&got, 0xa5, sizeof(got));
	if (decode_exact(body, strlen(body), &got) != -EINVAL)
		fail_msg("%s: accepted %s", what, body);
	if (memcmp(&got, &zero, sizeof(got)) != 0)
		fail_msg("%s: *out not zeroed after refusing %s", what, body);
	free(body);
}

static void
expect_refused(const char *body, size_t len, const char *what)
{
	struct shared_verdict got;

	memset(&got, 0xa5, sizeof(got));
	if (decode_exact(body, len, &got) != -EINVAL)
		fail_msg("%s: accepted '%.*s'", what, (int)len, body);
	if (memcmp(&got, &zero, sizeof(got)) != 0)
		fail_msg("%s: *out not zeroed", what);
}

#define REFUSED(lit) expect_refused(lit, sizeof(lit) - 1, lit)

static const char *const fields[] = {
	"level", "old", "manual_level", "manual_until", "manual_reason", "self_release",
	"grace_until", "time", "actor", "reason", "reset", "tag", "v",
};

static void
test_valid_object_accepted(void **state)
{
	struct shared_verdict got;
	json_t *o = valid_object();
	char *body;

	(void)state;
	/* the bodies the refusals start from are good ones: each refusal is the change's doing */
	assert_non_null(body = json_dumps(o, JSON_COMPACT));
	assert_int_equal(decode_exact(body, strlen(body), &got), 0);
	assert_int_equal(got.manual_level, LEVEL_SUSPEND);
	free(body);
	/* members in another order, spaces, and a member this version does not know: read */
	json_object_set_new(o, "evidence_delta", json_integer(3));
	assert_non_null(body = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS));
	assert_int_equal(decode_exact(body, strlen(body), &got), 0);
	assert_string_equal(got.manual_reason, "abuse desk ticket 4711");
	free(body);
	json_decref(o);
}

static void
test_not_json(void **state)
{
	(void)state;
	expect_refused("", 0, "empty");
	REFUSED("not json");
	REFUSED("{");
	REFUSED("{\"level\":\"quarantine\"");
	REFUSED("[]");
	REFUSED("[{\"level\":\"quarantine\"}]");
	REFUSED("\"quarantine\"");
	REFUSED("42");
	REFUSED("null");
	REFUSED("true");
	REFUSED("{}");

	/* a valid body with something after it, or cut short */
	json_t *o = valid_object();
	char *body = json_dumps(o, JSON_COMPACT);
	size_t len = strlen(body);
	char *more = malloc(len + 3);
	assert_non_null(more);
	memcpy(more, body, len);
	memcpy(more + len, "{}", 2);
	expect_refused(more, len + 2, "trailing object");
	memcpy(more + len, "x", 1);
	expect_refused(more, len + 1, "trailing byte");
	expect_refused(body, len - 1, "cut short by one byte");
	expect_refused(body, len / 2, "cut in half");
	/* a NUL inside the length: what follows it is not ignored */
	memcpy(more, body, len);
	more[len] = '\0';
	more[len + 1] = ' ';
	expect_refused(more, len + 2, "NUL after the object");
	free(more);
	free(body);
	json_decref(o);
}

static void
test_missing_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *o = valid_object();
		assert_int_equal(json_object_del(o, fields[i]), 0);
		expect_refused_object(o, fields[i]);
	}
}

static void
test_wrong_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *wrong[] = { json_null(), json_true(), json_integer(1), json_real(1.0), json_string("1"),
		    json_array(), json_object() };
		for (size_t k = 0; k < sizeof(wrong) / sizeof(wrong[0]); k++) {
			json_t *o = valid_object(), *cur = json_object_get(o, fields[i]);
			/* the same type as the field's is not a wrong one (true for false, 1 for 0) */
			if (json_typeof(cur) == json_typeof(wrong[k]) || (json_is_boolean(cur) && json_is_boolean(wrong[k]))) {
				json_decref(wrong[k]);
				json_decref(o);
				continue;
			}
			char what[64];
			snprintf(what, sizeof(what), "%s as JSON type %d", fields[i], (int)json_typeof(wrong[k]));
			json_object_set_new(o, fields[i], wrong[k]);
			expect_refused_object(o, what);
		}
	}
}

static void
set_refused(const char *field, json_t *value, const char *what)
{
	json_t *o = valid_object();

	json_object_set_new(o, field, value);
	expect_refused_object(o, what);
}

static void
test_out_of_range(void **state)
{
	static const char *const not_levels[] = {
		"", "quarantined", "QUARANTINE", "Quarantine", " quarantine", "quarantine ", "invalid", "none",
		"0", "3", "normal\nwatch",
		"a level name far longer than any level's name, longer than the decoder's buffer too",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(not_levels) / sizeof(not_levels[0]); i++) {
		set_refused("level", json_string(not_levels[i]), not_levels[i]);
		set_refused("old", json_string(not_levels[i]), not_levels[i]);
	}
	static const json_int_t bad_manual[] = { -2, LEVEL_COUNT, LEVEL_COUNT + 1, INT32_MAX, (json_int_t)INT32_MAX + 1 + LEVEL_SUSPEND,
	    INT64_MIN, INT64_MAX };
	for (size_t i = 0; i < sizeof(bad_manual) / sizeof(bad_manual[0]); i++)
		set_refused("manual_level", json_integer(bad_manual[i]), "manual_level out of range");
	/* a negative time: none of them is a moment lazaret keeps */
	static const char *const times[] = { "manual_until", "grace_until", "time" };
	for (size_t i = 0; i < 3; i++) {
		set_refused(times[i], json_integer(-1), times[i]);
		set_refused(times[i], json_integer(INT64_MIN), times[i]);
	}
	/* a tag: 0 to INT64_MAX, negative or above refused */
	set_refused("tag", json_integer(-1), "tag -1");
	set_refused("tag", json_integer(INT64_MIN), "tag INT64_MIN");
	set_refused("tag", json_real(9223372036854775808.0), "tag 2^63 as a real");
	/* above INT64_MAX jansson cannot hold it: the body itself, as another node could write it */
	json_t *o = valid_object();
	char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	char *tag = strstr(body, "\"tag\":42");
	assert_non_null(tag);
	char *big = malloc(strlen(body) + 64);
	assert_non_null(big);
	static const char *const bigs[] = { "9223372036854775808", "18446744073709551615",
	    "18446744073709551616", "99999999999999999999999", "-9223372036854775809", "1e3", "42.0" };
	for (size_t i = 0; i < sizeof(bigs) / sizeof(bigs[0]); i++) {
		int n = sprintf(big, "%.*s\"tag\":%s%s", (int)(tag - body), body, bigs[i], tag + strlen("\"tag\":42"));
		expect_refused(big, (size_t)n, bigs[i]);
	}
	/* and INT64_MAX itself is read */
	int n = sprintf(big, "%.*s\"tag\":9223372036854775807%s", (int)(tag - body), body, tag + strlen("\"tag\":42"));
	struct shared_verdict got;
	assert_int_equal(decode_exact(big, (size_t)n, &got), 0);
	assert_true(got.tag == (uint64_t)INT64_MAX);
	free(big);
	free(body);
	json_decref(o);
	/* an empty actor: every change has a maker */
	set_refused("actor", json_string(""), "empty actor");
}

static void
test_texts(void **state)
{
	static const struct { const char *field; size_t size; } texts[] = {
		{ "manual_reason", STORE_REASON_MAX }, { "actor", STORE_ACTOR_MAX }, { "reason", STORE_REASON_MAX },
	};
	char buf[STORE_REASON_MAX + 8];
	struct shared_verdict got;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		/* the longest that fits, then one byte more, ASCII and UTF-8 */
		json_t *o = valid_object();
		fill_ascii(buf, texts[i].size - 1, 'x');
		json_object_set_new(o, texts[i].field, json_string(buf));
		char *body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		assert_int_equal(decode_exact(body, strlen(body), &got), 0);
		free(body);
		fill_ascii(buf, texts[i].size, 'x');
		set_refused(texts[i].field, json_string(buf), "one byte too long");
		fill_utf8(buf, texts[i].size);
		set_refused(texts[i].field, json_string(buf), "one byte too long in UTF-8");
		set_refused(texts[i].field, json_stringn("a\0b", 3), "embedded NUL");
		set_refused(texts[i].field, json_stringn("\0", 1), "a NUL alone");
	}
	/* written by hand: escaped NULs, an escape that is no UTF-8 (a lone surrogate), raw bad bytes */
	json_t *o = valid_object();
	char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	char *reason = strstr(body, "\"reason\":\"score 7.5 over 5\"");
	assert_non_null(reason);
	size_t head = (size_t)(reason - body), old = strlen("\"reason\":\"score 7.5 over 5\"");
	static const char *const bad[] = { "\"reason\":\"a\\u0000b\"", "\"reason\":\"\\u0000\"",
	    "\"reason\":\"\\ud800\"", "\"reason\":\"\xff\"", "\"reason\":\"\xc3\"", "\"reason\":\"\xed\xa0\x80\"",
	    "\"reason\":\"a\nb\"", "\"reason\":'x'" };
	char *edited = malloc(strlen(body) + 64);
	assert_non_null(edited);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = sprintf(edited, "%.*s%s%s", (int)head, body, bad[i], reason + old);
		expect_refused(edited, (size_t)n, bad[i]);
	}
	free(edited);
	free(body);
	json_decref(o);
}

static void
test_duplicate_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *o = valid_object();
		char *body = json_dumps(o, JSON_COMPACT), *dup;
		json_t *v = json_object_get(o, fields[i]);
		char *one = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		size_t len = strlen(body);

		/* {"field":<its own value>, ...the object...}: the same value twice is refused too */
		assert_non_null(dup = malloc(len + strlen(fields[i]) + strlen(one) + 8));
		int n = sprintf(dup, "{\"%s\":%s,%s", fields[i], one, body + 1);
		expect_refused(dup, (size_t)n, fields[i]);
		free(dup);
		free(one);
		free(body);
		json_decref(o);
	}
	REFUSED("{\"level\":\"normal\",\"level\":\"quarantine\"}");
}

/* member's text replaced by value (len bytes; NULL: absent) in a valid body's members must be
 * refused by shared_verdict_from_fields, *out zeroed */
static void
fields_refused(int member, const char *value, size_t len, const char *what)
{
	json_t *o = valid_object();
	const char *v[SHARED_F_COUNT];
	size_t l[SHARED_F_COUNT];
	char num[SHARED_F_COUNT][32];
	struct shared_verdict got;

	for (int i = 0; i < SHARED_F_COUNT; i++) {
		json_t *m = json_object_get(o, shared_verdict_fields[i]);
		assert_non_null(m);
		if (json_is_string(m)) {
			v[i] = json_string_value(m);
			l[i] = json_string_length(m);
		} else if (json_is_integer(m)) {
			l[i] = (size_t)snprintf(num[i], sizeof(num[i]), "%" JSON_INTEGER_FORMAT, json_integer_value(m));
			v[i] = num[i];
		} else {
			v[i] = json_is_true(m) ? "true" : "false";
			l[i] = strlen(v[i]);
		}
	}
	/* unchanged, they are read */
	assert_int_equal(shared_verdict_from_fields(v, l, &got), 0);
	char *exact = value != NULL ? malloc(len ? len : 1) : NULL;   /* no NUL after it: ASan sees */
	if (value != NULL) {
		assert_non_null(exact);
		memcpy(exact, value, len);
	}
	v[member] = exact;
	l[member] = len;
	memset(&got, 0xa5, sizeof(got));
	if (shared_verdict_from_fields(v, l, &got) != -EINVAL)
		fail_msg("%s = '%.*s': accepted", shared_verdict_fields[member], (int)len, value ? value : "(absent)");
	if (memcmp(&got, &zero, sizeof(got)) != 0)
		fail_msg("%s: *out not zeroed", what);
	free(exact);
	json_decref(o);
}

#define FIELD_REFUSED(member, lit) fields_refused(member, lit, sizeof(lit) - 1, lit)

static void
test_fields(void **state)
{
	(void)state;
	/* every member absent (SQL NULL) */
	for (int i = 0; i < SHARED_F_COUNT; i++)
		fields_refused(i, NULL, 0, "absent");
	/* numbers: plain decimal in range, nothing else (PostgreSQL writes a jsonb number so) */
	static const int numbers[] = { SHARED_F_MANUAL_LEVEL, SHARED_F_MANUAL_UNTIL, SHARED_F_GRACE_UNTIL,
	    SHARED_F_TIME, SHARED_F_TAG };
	for (size_t k = 0; k < sizeof(numbers) / sizeof(numbers[0]); k++) {
		int f = numbers[k];
		FIELD_REFUSED(f, "");
		FIELD_REFUSED(f, "-");
		FIELD_REFUSED(f, "+1");
		FIELD_REFUSED(f, " 1");
		FIELD_REFUSED(f, "1 ");
		FIELD_REFUSED(f, "01");
		FIELD_REFUSED(f, "-0");
		FIELD_REFUSED(f, "1e3");
		FIELD_REFUSED(f, "1.0");
		FIELD_REFUSED(f, "0x10");
		FIELD_REFUSED(f, "9223372036854775808");
		FIELD_REFUSED(f, "99999999999999999999999");
		FIELD_REFUSED(f, "-9223372036854775809");
		FIELD_REFUSED(f, "-2");
		fields_refused(f, "1\0", 2, "a NUL after a digit");
	}
	FIELD_REFUSED(SHARED_F_MANUAL_LEVEL, "5");
	FIELD_REFUSED(SHARED_F_TIME, "-1");
	FIELD_REFUSED(SHARED_F_TAG, "-9223372036854775808");
	/* booleans: the two words only */
	static const int bools[] = { SHARED_F_SELF_RELEASE, SHARED_F_RESET };
	for (size_t k = 0; k < 2; k++) {
		FIELD_REFUSED(bools[k], "");
		FIELD_REFUSED(bools[k], "1");
		FIELD_REFUSED(bools[k], "True");
		FIELD_REFUSED(bools[k], "truee");
		FIELD_REFUSED(bools[k], "fals");
		fields_refused(bools[k], "true\0", 5, "true and a NUL");
	}
	/* texts: a NUL anywhere, one byte too long; levels by their names only */
	char buf[STORE_REASON_MAX + 1];
	fill_ascii(buf, STORE_REASON_MAX, 'x');
	fields_refused(SHARED_F_REASON, buf, STORE_REASON_MAX, "reason one byte too long");
	fields_refused(SHARED_F_MANUAL_REASON, buf, STORE_REASON_MAX, "manual reason one byte too long");
	fields_refused(SHARED_F_ACTOR, buf, STORE_ACTOR_MAX, "actor one byte too long");
	fields_refused(SHARED_F_REASON, "a\0b", 3, "NUL in the reason");
	fields_refused(SHARED_F_ACTOR, "judge\0", 6, "NUL after the actor");
	FIELD_REFUSED(SHARED_F_ACTOR, "");
	FIELD_REFUSED(SHARED_F_LEVEL, "quarantined");
	fields_refused(SHARED_F_LEVEL, "quarantine\0", 11, "a level and a NUL");
	FIELD_REFUSED(SHARED_F_OLD, "");
	/* the format's version: "1", this one, only */
	FIELD_REFUSED(SHARED_F_VERSION, "2");
	FIELD_REFUSED(SHARED_F_VERSION, "");
	FIELD_REFUSED(SHARED_F_VERSION, "10");
	FIELD_REFUSED(SHARED_F_VERSION, "1.0");
}

/* An lz_evidence row's columns as PostgreSQL gives them, each in a buffer of its own length. */
static const char *const evidence_row[SHARED_E_COLUMNS] = {
	"100.96.0.1", "relay-a", "report", "3.5", "1764900000000000", "2", "1764899999000000", "1764900000000000",
	"Shadowserver report (event4_drone): the 'mirai' bot",
};

/* The row with column col replaced by value (len bytes; NULL: SQL NULL), decoded. */
static int
evidence_with(int col, const char *value, size_t len, struct shared_evidence *out)
{
	const char *v[SHARED_E_COLUMNS];
	size_t l[SHARED_E_COLUMNS];
	char *own[SHARED_E_COLUMNS];

	for (int i = 0; i < SHARED_E_COLUMNS; i++) {
		const char *src = i == col ? value : evidence_row[i];
		size_t n = i == col ? len : strlen(evidence_row[i]);
		own[i] = NULL;
		if (src != NULL) {
			assert_non_null(own[i] = malloc(n ? n : 1));
			memcpy(own[i], src, n);
		}
		v[i] = own[i];
		l[i] = src != NULL ? n : 0;
	}
	int rc = shared_evidence_from_columns(v, l, out);
	for (int i = 0; i < SHARED_E_COLUMNS; i++)
		free(own[i]);
	return rc;
}

static void
evidence_refused(int col, const char *value, size_t len, const char *what)
{
	static const struct shared_evidence none;
	struct shared_evidence e;

	memset(&e, 0xa5, sizeof(e));
	if (evidence_with(col, value, len, &e) != -EINVAL)
		fail_msg("evidence with %s: accepted", what);
	if (memcmp(&e, &none, sizeof(e)) != 0)
		fail_msg("evidence with %s: *out not zeroed", what);
}

#define EV_REFUSED(col, lit) evidence_refused(col, lit, sizeof(lit) - 1, #col " = " lit)

static void
test_evidence_columns(void **state)
{
	struct shared_evidence e;

	(void)state;
	/* a row as written, every column read */
	assert_int_equal(evidence_with(-1, NULL, 0, &e), 0);
	assert_string_equal(e.subject, "100.96.0.1");
	assert_string_equal(e.node, "relay-a");
	assert_string_equal(e.kind, "report");
	assert_true(e.value == 3.5);
	assert_true(e.value_time == 1764900000000000 && e.first_seen == 1764899999000000 &&
	    e.last_seen == 1764900000000000 && e.count == 2);
	assert_string_equal(e.summary, evidence_row[SHARED_E_SUMMARY]);
	/* a subject as subject text, decoded; values as PostgreSQL writes a float8 */
	assert_int_equal(evidence_with(SHARED_E_SUBJECT, "account:bob%40example.net%0A", 28, &e), 0);
	assert_string_equal(e.subject, "account:bob@example.net\n");
	assert_int_equal(evidence_with(SHARED_E_VALUE, "1.5e-05", 7, &e), 0);
	assert_true(e.value == 1.5e-05);
	assert_int_equal(evidence_with(SHARED_E_VALUE, "0", 1, &e), 0);
	assert_int_equal(evidence_with(SHARED_E_SUMMARY, "", 0, &e), 0);
	/* every column NULL */
	for (int i = 0; i < SHARED_E_COLUMNS; i++)
		evidence_refused(i, NULL, 0, "a NULL column");
	/* the subject: none, one that stands for a NUL, or longer than a subject is */
	EV_REFUSED(SHARED_E_SUBJECT, "");
	EV_REFUSED(SHARED_E_SUBJECT, "100.96.0.1%00");
	evidence_refused(SHARED_E_SUBJECT, "a\0b", 3, "a NUL in the subject");
	char longest[STORE_SUBJECT_MAX + 1];
	memset(longest, 'a', sizeof(longest));
	evidence_refused(SHARED_E_SUBJECT, longest, STORE_SUBJECT_MAX, "a subject one byte too long");
	assert_int_equal(evidence_with(SHARED_E_SUBJECT, longest, STORE_SUBJECT_MAX - 1, &e), 0);
	/* the value: finite, in [0, 1e300), decimal */
	EV_REFUSED(SHARED_E_VALUE, "NaN");
	EV_REFUSED(SHARED_E_VALUE, "Infinity");
	EV_REFUSED(SHARED_E_VALUE, "-1");
	EV_REFUSED(SHARED_E_VALUE, "1e300");
	EV_REFUSED(SHARED_E_VALUE, "0x1p3");
	EV_REFUSED(SHARED_E_VALUE, " 3.5");
	EV_REFUSED(SHARED_E_VALUE, "3.5x");
	EV_REFUSED(SHARED_E_VALUE, "");
	evidence_refused(SHARED_E_VALUE, "3.5\0", 4, "a NUL after the value");
	/* times and the count: plain decimal, none negative */
	static const int numbers[] = { SHARED_E_VALUE_TIME, SHARED_E_COUNT, SHARED_E_FIRST_SEEN, SHARED_E_LAST_SEEN };
	for (size_t k = 0; k < 4; k++) {
		EV_REFUSED(numbers[k], "-1");
		EV_REFUSED(numbers[k], "+1");
		EV_REFUSED(numbers[k], "1.0");
		EV_REFUSED(numbers[k], "9223372036854775808");
		EV_REFUSED(numbers[k], "");
	}
	/* texts: a NUL inside, one byte too long */
	char buf[STORE_SUMMARY_MAX + 1];
	memset(buf, 's', sizeof(buf));
	evidence_refused(SHARED_E_SUMMARY, buf, STORE_SUMMARY_MAX, "a summary one byte too long");
	assert_int_equal(evidence_with(SHARED_E_SUMMARY, buf, STORE_SUMMARY_MAX - 1, &e), 0);
	evidence_refused(SHARED_E_NODE, "relay\0a", 7, "a NUL in the node");
	evidence_refused(SHARED_E_KIND, buf, STORE_KIND_MAX, "a kind one byte too long");
}

/* ---- the evidence line (schema 4) ---- */

static void
assert_evidence_equal(const struct shared_evidence *a, const struct shared_evidence *b)
{
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->kind, b->kind);
	assert_true(a->value == b->value);
	assert_true(a->value_time == b->value_time);
	assert_true(a->count == b->count);
	assert_true(a->first_seen == b->first_seen);
	assert_true(a->last_seen == b->last_seen);
	assert_string_equal(a->summary, b->summary);
}

/* An evidence line of node's through shared_evidence_line_decode, exactly len bytes (no NUL
 * after it: ASan sees a read past the end). */
static int
ev_line_decode_exact(const char *line, size_t len, const char *node, struct shared_evidence *out)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, line, len);
	rc = shared_evidence_line_decode(copy, len, node, out);
	free(copy);
	return rc;
}

/* e through the evidence line and back as relay-b's: no newline in it, a tab between members
 * only, the node the caller's; the decoded evidence writes the same line again. */
static void
ev_line_round_trip(const struct shared_evidence *e)
{
	char line[SHARED_EV_LINE_MAX], again[SHARED_EV_LINE_MAX];
	struct shared_evidence got;
	int n = shared_evidence_line(e, line, sizeof(line)), tabs = 0;

	if (n <= 0)
		fail_msg("shared_evidence_line refused %s (%s): %d", e->subject, e->kind, n);
	assert_int_equal(strlen(line), (size_t)n);
	assert_null(strchr(line, '\n'));
	for (int i = 0; i < n; i++)
		tabs += line[i] == '\t';
	assert_int_equal(tabs, SHARED_EV_LINE_FIELDS - 1);
	memset(&got, 0xa5, sizeof(got));
	if (ev_line_decode_exact(line, (size_t)n, "relay-b", &got) != 0)
		fail_msg("the evidence line decoder refused what shared_evidence_line made: %s", line);
	assert_evidence_equal(&got, e);
	assert_string_equal(got.node, "relay-b");
	assert_int_equal(shared_evidence_line(&got, again, sizeof(again)), n);
	assert_memory_equal(again, line, (size_t)n);
	/* a buffer one byte short is refused, not overrun */
	char *tight = malloc((size_t)n + 1);
	assert_non_null(tight);
	assert_int_equal(shared_evidence_line(e, tight, (size_t)n), -EINVAL);
	/* and one of exactly its length and the NUL is enough */
	assert_int_equal(shared_evidence_line(e, tight, (size_t)n + 1), n);
	assert_memory_equal(tight, line, (size_t)n + 1);
	free(tight);
}

static void
evidence_base(struct shared_evidence *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->subject, sizeof(e->subject), "192.0.2.7");
	snprintf(e->node, sizeof(e->node), "relay-a");          /* not written: the row's */
	snprintf(e->kind, sizeof(e->kind), "rate_limit");
	e->value = 3.5;
	e->value_time = 1764900000000000;
	e->first_seen = 1764899990000000;
	e->last_seen = 1764900000000000;
	e->count = 12;
	snprintf(e->summary, sizeof(e->summary), "12 messages in 60 s over 10");
}

static void
test_evidence_line_round_trip(void **state)
{
	struct shared_evidence e;
	char line[SHARED_EV_LINE_MAX];

	(void)state;
	evidence_base(&e);
	ev_line_round_trip(&e);
	/* as written by hand: the node is not in the line */
	int n = shared_evidence_line(&e, line, sizeof(line));
	assert_int_equal(n, (int)strlen(line));
	assert_string_equal(line, "192.0.2.7\trate_limit\t3.5\t1764900000000000\t12\t1764899990000000\t"
	    "1764900000000000\t12 messages in 60 s over 10");

	/* hostile subjects: any byte but NUL, alone and among others, written as subject text
	 * (a tab, a newline or a backslash as %XX, never as a line's escape) */
	evidence_base(&e);
	snprintf(e.subject, sizeof(e.subject), "account:ev\til\nname\\x@example.net");
	assert_true(shared_evidence_line(&e, line, sizeof(line)) > 0);
	assert_memory_equal(line, "account:ev%09il%0Aname%5Cx@example.net\t", 38);
	ev_line_round_trip(&e);
	for (int c = 1; c < 256; c++) {
		evidence_base(&e);
		snprintf(e.subject, sizeof(e.subject), "account:a%cb", c);
		ev_line_round_trip(&e);
		e.subject[0] = (char)c;
		e.subject[1] = '\0';
		ev_line_round_trip(&e);
	}
	evidence_base(&e);
	for (int c = 1; c < 256; c++)
		e.subject[c - 1] = (char)c;
	e.subject[255] = '\0';
	ev_line_round_trip(&e);
	/* subjects that look like subject text already, and the longest, every byte an escape */
	snprintf(e.subject, sizeof(e.subject), "account:%%41%%zz%%");
	ev_line_round_trip(&e);
	fill_ascii(e.subject, sizeof(e.subject) - 1, '\xff');
	ev_line_round_trip(&e);
	fill_ascii(e.subject, sizeof(e.subject) - 1, '\t');
	ev_line_round_trip(&e);
	fill_utf8(e.subject, sizeof(e.subject) - 1);
	ev_line_round_trip(&e);

	/* kinds and summaries: UTF-8, the three escapes, control bytes, at their longest */
	evidence_base(&e);
	snprintf(e.summary, sizeof(e.summary), "Anmeldung f\xc3\xbcr \xe2\x80\x9c" "ev\\il\xe2\x80\x9d:\tTab\n"
	    "zweite Zeile \xf0\x9f\x92\xa3 \xe2\x80\xa8 \\\\ \\t \\n");
	ev_line_round_trip(&e);
	for (int c = 1; c < 0x20; c++)
		e.summary[c - 1] = (char)c;
	e.summary[0x1f] = '\0';
	snprintf(e.kind, sizeof(e.kind), "k\\i\tn\nd \x7f");
	ev_line_round_trip(&e);
	snprintf(e.summary, sizeof(e.summary), "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 "
	    "\xf4\x8f\xbf\xbf: the first and last of each length");
	ev_line_round_trip(&e);
	fill_utf8(e.kind, sizeof(e.kind) - 1);
	fill_utf8(e.summary, sizeof(e.summary) - 1);
	ev_line_round_trip(&e);
	fill_ascii(e.kind, sizeof(e.kind) - 1, '\\');
	fill_ascii(e.summary, sizeof(e.summary) - 1, '\\');
	fill_ascii(e.subject, sizeof(e.subject) - 1, '"');
	ev_line_round_trip(&e);            /* the longest line there is */
	e.kind[0] = e.summary[0] = '\0';   /* empty texts are texts too (the subject is not: below) */
	ev_line_round_trip(&e);

	/* numbers at their bounds: every double "%.17g" writes reads back the same */
	static const double values[] = { 0, 5e-324, DBL_MIN, 1e-05, 0.1, 1.0 / 3, 0.5, 1, 3.5, 1e15, 9007199254740993.0,
	    1e299, 9.999999999999999e+299 };
	static const usec_t times[] = { 0, 1, 1764900000000000, INT64_MAX - 1, INT64_MAX };
	static const uint64_t counts[] = { 0, 1, 4294967296, (uint64_t)INT64_MAX - 1, (uint64_t)INT64_MAX };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		evidence_base(&e);
		e.value = values[i];
		e.value_time = times[i % 5];
		e.first_seen = times[(i + 1) % 5];
		e.last_seen = times[(i + 2) % 5];
		e.count = counts[(i + 3) % 5];
		ev_line_round_trip(&e);
	}
	evidence_base(&e);
	e.value = nextafter(1e300, 0);
	e.value_time = e.first_seen = e.last_seen = INT64_MAX;
	e.count = (uint64_t)INT64_MAX;
	ev_line_round_trip(&e);
	/* 0.1 as "%.17g" writes it */
	e.value = 0.1;
	assert_true(shared_evidence_line(&e, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\t0.10000000000000001\t"));
}

/* The evidence lines the decoder must refuse (other nodes' pushes through PostgreSQL), *out
 * zeroed each time; and those it reads, as written by hand. */
static void
test_evidence_line_refusals(void **state)
{
	static const struct shared_evidence none;
	struct shared_evidence got;
	char line[SHARED_EV_LINE_MAX];

	(void)state;
	static const char good[] = "account:ev%09il%0Aname%5Cx@example.net\tsasl_failures\t0.10000000000000001\t"
	    "1764900000000000\t9223372036854775807\t0\t1764900000000000\ta\\\\b\\tc\\nd \xe2\x82\xac";
	assert_int_equal(ev_line_decode_exact(good, strlen(good), "relay-a", &got), 0);
	assert_string_equal(got.subject, "account:ev\til\nname\\x@example.net");
	assert_string_equal(got.node, "relay-a");
	assert_string_equal(got.kind, "sasl_failures");
	assert_true(got.value == 0.1);
	assert_true(got.value_time == 1764900000000000 && got.first_seen == 0 && got.last_seen == 1764900000000000);
	assert_true(got.count == (uint64_t)INT64_MAX);
	assert_string_equal(got.summary, "a\\b\tc\nd \xe2\x82\xac");

#define EV "\trate_limit\t3.5\t1764900000000000\t12\t1764899990000000\t1764900000000000\t"
	static const char *const bad[] = {
		"",
		"192.0.2.7",
		/* a member short, a member too many */
		"192.0.2.7\trate_limit\t3.5\t1764900000000000\t12\t1764899990000000\t1764900000000000",
		"192.0.2.7" EV "s\t",
		"192.0.2.7" EV "s\tx",
		/* escapes never written, a lone backslash at the end, a raw newline */
		"192.0.2.7" EV "a\\rb",
		"192.0.2.7" EV "a\\x41",
		"192.0.2.7" EV "s\\",
		"192.0.2.7" EV "a\nb",
		"192.0.2.7" EV "s\n",
		/* numbers in forms no writer makes, or out of range */
		"192.0.2.7\trate_limit\t1e-05\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t3.50\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t+3.5\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t3.5\t1\t+12\t1\t1\ts",
		"192.0.2.7\trate_limit\t3.5\t1\t012\t1\t1\ts",
		"192.0.2.7\trate_limit\t3.5\t-1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t3.5\t1\t12\t-0\t1\ts",
		"192.0.2.7\trate_limit\t3.5\t1\t12\t1\t1.0\ts",
		"192.0.2.7\trate_limit\tnan\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\tinf\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t0x1.cp+1\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t1e+300\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t-3.5\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t-0\t1\t12\t1\t1\ts",          /* zero is written "0" */
		"192.0.2.7\trate_limit\t\t1\t12\t1\t1\ts",
		"192.0.2.7\trate_limit\t3.5\t1\t9223372036854775808\t1\t1\ts",
		"192.0.2.7\trate_limit\t3.5\t1\t12\t1\t\ts",
		/* a summary and a kind that are not UTF-8 */
		"192.0.2.7" EV "bad \xff",
		"192.0.2.7" EV "\xc0\x80",
		"192.0.2.7\t\xe2\x82\t3.5\t1\t12\t1\t1\ts",
		/* subjects: none, a NUL, spelled otherwise than the writer spells them */
		EV "s",
		"100.96.0.1%00" EV "s",
		"account:ev%09il%0aname%5cx@example.net" EV "s",
		"192%2E0.2.7" EV "s",
		"account:a b" EV "s",
		"account:a\\tb" EV "s",
	};
#undef EV
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&got, 0xa5, sizeof(got));
		if (ev_line_decode_exact(bad[i], strlen(bad[i]), "relay-a", &got) != -EINVAL)
			fail_msg("evidence line %zu accepted: %s", i, bad[i]);
		assert_memory_equal(&got, &none, sizeof(got));
	}
	/* a NUL inside a text; a summary one byte too long (STORE_SUMMARY_MAX bytes) */
	static const char nul[] = "192.0.2.7\trate_limit\t3.5\t1\t12\t1\t1\ta\0b";
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(ev_line_decode_exact(nul, sizeof(nul) - 1, "relay-a", &got), -EINVAL);
	assert_memory_equal(&got, &none, sizeof(got));
	int n = snprintf(line, sizeof(line), "192.0.2.7\trate_limit\t3.5\t1\t12\t1\t1\t%0*d", STORE_SUMMARY_MAX, 7);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(ev_line_decode_exact(line, (size_t)n, "relay-a", &got), -EINVAL);
	assert_memory_equal(&got, &none, sizeof(got));
	n = snprintf(line, sizeof(line), "192.0.2.7\trate_limit\t3.5\t1\t12\t1\t1\t%0*d", STORE_SUMMARY_MAX - 1, 7);
	assert_int_equal(ev_line_decode_exact(line, (size_t)n, "relay-a", &got), 0);
	/* a node's name that does not fit (the row's, from the caller) */
	char node[SHARED_NODE_MAX + 1];
	fill_ascii(node, SHARED_NODE_MAX, 'n');
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(ev_line_decode_exact(good, strlen(good), node, &got), -EINVAL);
	assert_memory_equal(&got, &none, sizeof(got));
	/* a line as long as the buffer the decoder has, or longer: refused, not overrun */
	char *huge = malloc(SHARED_EV_LINE_MAX + 16);
	assert_non_null(huge);
	memset(huge, 'x', SHARED_EV_LINE_MAX + 16);
	assert_int_equal(ev_line_decode_exact(huge, SHARED_EV_LINE_MAX, "relay-a", &got), -EINVAL);
	assert_int_equal(ev_line_decode_exact(huge, SHARED_EV_LINE_MAX + 16, "relay-a", &got), -EINVAL);
	free(huge);
}

/* What shared_evidence_line refuses to write: what its decoder would refuse to read. */
static void
test_evidence_line_encode_refusals(void **state)
{
	struct shared_evidence e;
	char line[SHARED_EV_LINE_MAX];

	(void)state;
#define EV_NOT_WRITTEN(what) do { \
		if (shared_evidence_line(&e, line, sizeof(line)) != -EINVAL) \
			fail_msg("%s: made a line: %s", what, line); \
	} while (0)
	evidence_base(&e);
	e.subject[0] = '\0';
	EV_NOT_WRITTEN("an empty subject");
	memset(e.subject, 'a', sizeof(e.subject));
	EV_NOT_WRITTEN("a subject not ended within its field");
	static const double values[] = { -1, -5e-324, -DBL_MAX, 1e300, DBL_MAX, NAN, -NAN, INFINITY, -INFINITY };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		evidence_base(&e);
		e.value = values[i];
		if (shared_evidence_line(&e, line, sizeof(line)) != -EINVAL)
			fail_msg("value %g: made a line: %s", values[i], line);
	}
	/* -0 is written as 0 is: one spelling of zero */
	evidence_base(&e);
	e.value = -0.0;
	assert_true(shared_evidence_line(&e, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\t0\t"));
	assert_null(strstr(line, "-0"));
	for (int t = 0; t < 3; t++) {
		static const usec_t negative[] = { -1, INT64_MIN };
		for (size_t i = 0; i < 2; i++) {
			evidence_base(&e);
			*(t == 0 ? &e.value_time : t == 1 ? &e.first_seen : &e.last_seen) = negative[i];
			EV_NOT_WRITTEN("a negative time");
		}
	}
	evidence_base(&e);
	e.count = (uint64_t)INT64_MAX + 1;
	EV_NOT_WRITTEN("a count of 2^63");
	e.count = UINT64_MAX;
	EV_NOT_WRITTEN("a count of UINT64_MAX");
	/* a kind or summary that is not UTF-8, or not ended within its field */
	static const char *const not_utf8[] = {
		"bad \xff byte", "\xc0\x80 overlong NUL", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 past U+10FFFF",
		"cut at the end \xc3", "\x80 lone continuation",
	};
	for (size_t i = 0; i < sizeof(not_utf8) / sizeof(not_utf8[0]); i++) {
		evidence_base(&e);
		snprintf(e.summary, sizeof(e.summary), "%s", not_utf8[i]);
		EV_NOT_WRITTEN(not_utf8[i]);
		evidence_base(&e);
		snprintf(e.kind, sizeof(e.kind), "%s", not_utf8[i]);
		EV_NOT_WRITTEN(not_utf8[i]);
	}
	evidence_base(&e);
	memset(e.summary, 's', sizeof(e.summary));
	EV_NOT_WRITTEN("a summary not ended within its field");
	evidence_base(&e);
	memset(e.kind, 'k', sizeof(e.kind));
	EV_NOT_WRITTEN("a kind not ended within its field");
#undef EV_NOT_WRITTEN
	/* buffers too small, one byte short the smallest of them: refused, not overrun */
	evidence_base(&e);
	int n = shared_evidence_line(&e, line, sizeof(line));
	assert_true(n > 0);
	for (size_t size = 0; size < (size_t)n; size++) {
		char *tight = malloc(size ? size : 1);
		assert_non_null(tight);
		assert_int_equal(shared_evidence_line(&e, tight, size), -EINVAL);
		free(tight);
	}
}

static void
test_node_names(void **state)
{
	static const char *const good[] = { "a", "Z", "0", "relay-1", "gw_2.example.net", "...", "-", "_" };
	static const char *const bad[] = { "", "relay 1", "relay/1", "relay:1", "relay\n", "\xc3\xa9", "a;b", "a'b",
	    "a\"b", "a\\b", "a\tb", "relay@1", "*" };
	char name[SHARED_NODE_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!shared_node_name_valid(good[i]))
			fail_msg("refused '%s'", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (shared_node_name_valid(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	/* 63 bytes, the most a name has (SHARED_NODE_MAX with its NUL); 64 refused */
	fill_ascii(name, SHARED_NODE_MAX - 1, 'n');
	assert_true(shared_node_name_valid(name));
	fill_ascii(name, SHARED_NODE_MAX, 'n');
	assert_false(shared_node_name_valid(name));
	/* every byte outside the set, alone and after a good one */
	for (int c = 1; c < 256; c++) {
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '_' || c == '-';
		name[0] = 'n';
		name[1] = (char)c;
		name[2] = '\0';
		if (shared_node_name_valid(name) != ok)
			fail_msg("byte 0x%02x: %s", c, ok ? "refused" : "accepted");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_batch_line),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_evidence_columns),
		cmocka_unit_test(test_evidence_line_round_trip),
		cmocka_unit_test(test_evidence_line_refusals),
		cmocka_unit_test(test_evidence_line_encode_refusals),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_line_refusals),
		cmocka_unit_test(test_valid_object_accepted),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_missing_field),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_node_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
