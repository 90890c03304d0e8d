/*
 * test_radius_coa.c — RFC 5176 requests and answers (act/radius_coa.h) and the
 * FreeRADIUS-format dictionary (act/radius_dict.h): the builder against the bytes
 * radclient sent for the same requests (tests/unit/data/radius/README.md), answers
 * good and bad, attributes as an operator writes them, Debian's own dictionaries and
 * broken ones.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>

#include "act/radius_coa.h"
#include "act/radius_dict.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/unit/data/radius"
#endif
#define DEBIAN_DICT "/usr/share/freeradius/dictionary"

static const uint8_t secret[] = "testing123";
#define SECRET secret, sizeof(secret) - 1

static uint8_t capture[4096];
static size_t off[3], lens[3];
static struct radius_dict *debian;

static int
setup(void **state)
{
	(void)state;
	FILE *fp = fopen(DATA_DIR "/coa-requests.bin", "rb");
	char err[512];
	size_t n, o = 0;

	if (fp == NULL)
		return -1;
	n = fread(capture, 1, sizeof(capture), fp);
	fclose(fp);
	for (int i = 0; i < 3; i++) {
		if (o + 2 > n)
			return -1;
		lens[i] = (size_t)capture[o] << 8 | capture[o + 1];
		off[i] = o + 2;
		o += 2 + lens[i];
	}
	if (o != n)
		return -1;
	/* Debian's full dictionary (freeradius-common): the test suite's packages bring it */
	debian = radius_dict_new();
	if (debian == NULL || radius_dict_load(debian, DEBIAN_DICT, err, sizeof(err)) != 0) {
		fprintf(stderr, "cannot load %s: %s\n", DEBIAN_DICT, err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	radius_dict_free(debian);
	return 0;
}

static struct strview
sv(const char *s)
{
	return (struct strview){ .ptr = s, .len = strlen(s) };
}

static void
avps_of(const char *const *texts, struct radius_avp *avps, size_t *n)
{
	char err[256];

	for (*n = 0; texts[*n] != NULL; (*n)++) {
		int rc = radius_dict_avp_parse(debian, texts[*n], &avps[*n], err, sizeof(err));
		if (rc != 0)
			fail_msg("%s: %s", texts[*n], err);
	}
}

/* The three requests of coa-requests.bin, built again: the same bytes. */
static void
test_radclient_requests(void **state)
{
	(void)state;
	struct radius_session s = {
		.user_name = sv("alice@isp.example"), .acct_session_id = sv("0A000001-00000001"),
		.nas_identifier = sv("bng1.example"), .calling_station_id = sv("02-00-00-00-00-01"),
		.nas_ip = { .family = AF_INET, .bytes = { 192, 0, 2, 1 } },
		.framed_ip = { .family = AF_INET, .bytes = { 100, 64, 0, 10 } },
		.has_framed_ipv6_prefix = true,
		.framed_ipv6_prefix = { .addr = { .family = AF_INET6, .bytes = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 1 } },
		    .prefix = 64 },
	};
	static const char *const avp1[] = { "Filter-Id = \"walled-garden\"",
		"Cisco-AVPair = \"subscriber:service-name=garden\"", NULL };
	static const char *const avp2[] = { NULL };
	static const char *const avp3[] = { "Filter-Id = \"walled-garden\"", "Session-Timeout = 3600",
		"Service-Type = Framed-User", "Framed-Pool = \"garden\\\"pool\"", NULL };
	const struct {
		uint8_t code;
		unsigned ident;
		const char *const *avps;
		bool ma;
	} cases[3] = {
		{ RADIUS_COA_REQUEST, RADIUS_IDENT_NAS_IP | RADIUS_IDENT_USER_NAME | RADIUS_IDENT_ACCT_SESSION_ID |
		    RADIUS_IDENT_FRAMED_IP, avp1, false },
		{ RADIUS_DISCONNECT_REQUEST, RADIUS_IDENT_NAS_IP | RADIUS_IDENT_NAS_IDENTIFIER |
		    RADIUS_IDENT_ACCT_SESSION_ID | RADIUS_IDENT_FRAMED_IPV6_PREFIX | RADIUS_IDENT_CALLING_STATION_ID,
		    avp2, false },
		{ RADIUS_COA_REQUEST, RADIUS_IDENT_ACCT_SESSION_ID, avp3, true },
	};

	for (int i = 0; i < 3; i++) {
		struct radius_avp avps[8];
		uint8_t out[RADIUS_COA_MAX_LEN];
		const uint8_t *want = capture + off[i];
		size_t n;

		avps_of(cases[i].avps, avps, &n);
		int len = radius_coa_build(cases[i].code, want[1], cases[i].ident, &s, avps, n, cases[i].ma, SECRET,
		    out, sizeof(out));
		assert_int_equal(len, (int)lens[i]);
		assert_memory_equal(out, want, lens[i]);
	}
}

static void
test_build_refuses(void **state)
{
	(void)state;
	struct radius_session s = { .nas_ip = { .family = AF_INET, .bytes = { 192, 0, 2, 1 } },
		.nas_identifier = sv("bng1") };
	struct radius_avp big = { .number = 11, .type_len = 1, .len_len = 1, .len = 200 };
	struct radius_avp many[RADIUS_COA_AVPS_MAX];
	uint8_t out[RADIUS_COA_MAX_LEN];

	/* the NAS named, but no session */
	assert_int_equal(radius_coa_build(RADIUS_COA_REQUEST, 1, RADIUS_IDENT_NAS_IP | RADIUS_IDENT_NAS_IDENTIFIER |
	    RADIUS_IDENT_ACCT_SESSION_ID, &s, NULL, 0, false, SECRET, out, sizeof(out)), -ENODATA);
	s.acct_session_id = sv("S1");
	assert_int_equal(radius_coa_build(4, 1, RADIUS_IDENT_ACCT_SESSION_ID, &s,
	    NULL, 0, false, SECRET, out, sizeof(out)), -EINVAL);
	/* a packet larger than its buffer */
	for (int i = 0; i < RADIUS_COA_AVPS_MAX; i++)
		many[i] = big;
	assert_int_equal(radius_coa_build(RADIUS_COA_REQUEST, 1, RADIUS_IDENT_ACCT_SESSION_ID, &s, many, 2, false,
	    SECRET, out, 300), -ENOSPC);
	assert_int_equal(radius_coa_build(RADIUS_COA_REQUEST, 1, RADIUS_IDENT_ACCT_SESSION_ID, &s, many, 2, false,
	    SECRET, out, sizeof(out)), 20 + 4 + 2 * 202);
}

/* ---- answers ---- */

struct answer_spec {
	uint8_t code, id;
	const uint8_t *attrs;
	size_t attrs_len;
	bool ma;                          /* add a right Message-Authenticator */
	bool ma_wrong;
	const char *secret;
};

/* An answer made here, apart from the code under test: RFC 5176 §2.3 / RFC 2866 §3. */
static size_t
make_answer(const struct answer_spec *a, const uint8_t *req, uint8_t *out)
{
	size_t len = 20 + a->attrs_len + (a->ma ? 18 : 0);
	struct md5_ctx m;

	out[0] = a->code;
	out[1] = a->id;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	memcpy(out + 4, req + 4, 16);
	if (a->attrs_len > 0)
		memcpy(out + 20, a->attrs, a->attrs_len);
	if (a->ma) {
		struct hmac_md5_ctx h;
		uint8_t *p = out + 20 + a->attrs_len;
		p[0] = 80;
		p[1] = 18;
		memset(p + 2, 0, 16);
		hmac_md5_set_key(&h, strlen(a->secret), (const uint8_t *)a->secret);
		hmac_md5_update(&h, len, out);
		hmac_md5_digest(&h, 16, p + 2);
		if (a->ma_wrong)
			p[5] ^= 1;
	}
	md5_init(&m);
	md5_update(&m, len, out);
	md5_update(&m, strlen(a->secret), (const uint8_t *)a->secret);
	md5_digest(&m, 16, out + 4);
	return len;
}

static void
test_answers(void **state)
{
	(void)state;
	static const uint8_t cause503[] = { 101, 6, 0, 0, 0x01, 0xf7 };
	static const uint8_t cause506[] = { 18, 5, 'n', 'o', '!', 101, 6, 0, 0, 0x01, 0xfa };
	static const uint8_t cause_short[] = { 101, 5, 0, 0x01, 0xf7 };
	static const uint8_t zero_len[] = { 11, 0 };
	const uint8_t *coa = capture + off[0], *disc = capture + off[1];
	const struct {
		const char *what;
		const uint8_t *req;
		struct answer_spec a;
		int rc;
		uint32_t cause;
	} cases[] = {
		{ "CoA-ACK", coa, { RADIUS_COA_ACK, 0, NULL, 0, false, false, "testing123" }, 0, 0 },
		{ "CoA-NAK 503", coa, { RADIUS_COA_NAK, 0, cause503, sizeof(cause503), false, false, "testing123" }, 0, 503 },
		{ "CoA-NAK 506 after Reply-Message", coa, { RADIUS_COA_NAK, 0, cause506, sizeof(cause506), false, false,
		    "testing123" }, 0, 506 },
		{ "Disconnect-ACK", disc, { RADIUS_DISCONNECT_ACK, 0, NULL, 0, false, false, "testing123" }, 0, 0 },
		{ "Disconnect-NAK + M-A", disc, { RADIUS_DISCONNECT_NAK, 0, cause503, sizeof(cause503), true, false,
		    "testing123" }, 0, 503 },
		{ "wrong secret", coa, { RADIUS_COA_ACK, 0, NULL, 0, false, false, "testing124" },
		    -RADIUS_COA_E_AUTHENTICATOR, 0 },
		{ "wrong Identifier", coa, { RADIUS_COA_ACK, 1, NULL, 0, false, false, "testing123" },
		    -RADIUS_COA_E_IDENTIFIER, 0 },
		{ "CoA-ACK to a Disconnect", disc, { RADIUS_COA_ACK, 0, NULL, 0, false, false, "testing123" },
		    -RADIUS_COA_E_CODE, 0 },
		{ "an Access-Accept", coa, { 2, 0, NULL, 0, false, false, "testing123" }, -RADIUS_COA_E_CODE, 0 },
		{ "wrong Message-Authenticator", coa, { RADIUS_COA_ACK, 0, NULL, 0, true, true, "testing123" },
		    -RADIUS_COA_E_MESSAGE_AUTHENTICATOR, 0 },
		{ "Error-Cause of 3 bytes", coa, { RADIUS_COA_NAK, 0, cause_short, sizeof(cause_short), false, false,
		    "testing123" }, -RADIUS_COA_E_VALUE, 0 },
		{ "zero-length attribute", coa, { RADIUS_COA_NAK, 0, zero_len, sizeof(zero_len), false, false,
		    "testing123" }, -RADIUS_COA_E_ATTRIBUTE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[256];
		struct answer_spec a = cases[i].a;
		struct radius_coa_answer ans;

		a.id = (uint8_t)(cases[i].req[1] + a.id);
		size_t len = make_answer(&a, cases[i].req, buf);
		int rc = radius_coa_answer_check(buf, len, cases[i].req, SECRET, &ans);
		if (rc != cases[i].rc)
			fail_msg("%s: %d (%s), not %d", cases[i].what, rc, radius_coa_error_name(rc), cases[i].rc);
		if (rc == 0) {
			assert_int_equal(ans.code, a.code);
			assert_int_equal(ans.has_error_cause, cases[i].cause != 0);
			assert_int_equal(ans.error_cause, cases[i].cause);
		}
	}
}

static void
test_answer_framing(void **state)
{
	(void)state;
	const uint8_t *coa = capture + off[0];
	struct answer_spec a = { RADIUS_COA_ACK, coa[1], NULL, 0, false, false, "testing123" };
	struct radius_coa_answer ans;
	uint8_t buf[64];
	size_t len = make_answer(&a, coa, buf);

	assert_int_equal(radius_coa_answer_check(buf, 19, coa, SECRET, &ans), -RADIUS_COA_E_SHORT);
	buf[3] = 21;                                  /* a Length past the datagram */
	assert_int_equal(radius_coa_answer_check(buf, len, coa, SECRET, &ans), -RADIUS_COA_E_LENGTH);
	buf[3] = 19;
	assert_int_equal(radius_coa_answer_check(buf, len, coa, SECRET, &ans), -RADIUS_COA_E_LENGTH);
	buf[3] = 20;
	assert_int_equal(radius_coa_answer_check(buf, len, coa, SECRET, &ans), 0);
	/* padding past Length is ignored (RFC 2865 §3) */
	buf[20] = 0xee;
	assert_int_equal(radius_coa_answer_check(buf, len + 1, coa, SECRET, &ans), 0);
	/* an attribute running past Length */
	buf[2] = 0, buf[3] = 23, buf[20] = 11, buf[21] = 4;
	assert_int_equal(radius_coa_answer_parse(buf, 23, &ans), -RADIUS_COA_E_ATTRIBUTE);
	assert_string_equal(radius_coa_error_name(-RADIUS_COA_E_SOURCE), "unknown_source");
	assert_string_equal(radius_coa_error_name(-99), "unknown");
}

/* FreeRADIUS 3.2.1's own answers (coa-exchanges.bin: request, answer, three times): a
 * CoA-ACK, a Disconnect-NAK with Error-Cause 503, a CoA-ACK to a request that carried a
 * Message-Authenticator. Each checks against its request, and not against another's. */
static void
test_freeradius_answers(void **state)
{
	(void)state;
	uint8_t buf[4096];
	size_t o = 0, n, len[6], at[6];
	FILE *fp = fopen(DATA_DIR "/coa-exchanges.bin", "rb");
	struct radius_coa_answer a;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	for (int i = 0; i < 6; i++) {
		assert_true(o + 2 <= n);
		len[i] = (size_t)buf[o] << 8 | buf[o + 1];
		at[i] = o + 2;
		o += 2 + len[i];
	}
	assert_int_equal(o, n);
	assert_int_equal(radius_coa_answer_check(buf + at[1], len[1], buf + at[0], SECRET, &a), 0);
	assert_int_equal(a.code, RADIUS_COA_ACK);
	assert_false(a.has_error_cause);
	assert_int_equal(radius_coa_answer_check(buf + at[3], len[3], buf + at[2], SECRET, &a), 0);
	assert_int_equal(a.code, RADIUS_DISCONNECT_NAK);
	assert_true(a.has_error_cause);
	assert_int_equal(a.error_cause, 503);
	assert_int_equal(radius_coa_answer_check(buf + at[5], len[5], buf + at[4], SECRET, &a), 0);
	assert_int_equal(a.code, RADIUS_COA_ACK);
	/* the first ACK is no answer to the third request (same code and Identifier 0) */
	assert_int_equal(radius_coa_answer_check(buf + at[1], len[1], buf + at[4], SECRET, &a),
	    -RADIUS_COA_E_AUTHENTICATOR);
	assert_int_equal(radius_coa_answer_check(buf + at[1], len[1], buf + at[0], (const uint8_t *)"testing12", 9, &a),
	    -RADIUS_COA_E_AUTHENTICATOR);
	assert_int_equal(radius_coa_answer_check(buf + at[3], len[3], buf + at[0], SECRET, &a), -RADIUS_COA_E_CODE);
}

/* RFC 5176 §3.5's table, and every one with a counter slot. */
static void
test_error_causes(void **state)
{
	(void)state;
	static const struct {
		uint32_t cause;
		const char *name;
	} rfc[] = {
		{ 201, "Residual-Context-Removed" }, { 202, "Invalid-EAP-Packet" }, { 401, "Unsupported-Attribute" },
		{ 402, "Missing-Attribute" }, { 403, "NAS-Identification-Mismatch" }, { 404, "Invalid-Request" },
		{ 405, "Unsupported-Service" }, { 406, "Unsupported-Extension" }, { 407, "Invalid-Attribute-Value" },
		{ 501, "Administratively-Prohibited" }, { 502, "Proxy-Request-Not-Routable" },
		{ 503, "Session-Context-Not-Found" }, { 504, "Session-Context-Not-Removable" },
		{ 505, "Proxy-Processing-Error" }, { 506, "Resources-Unavailable" }, { 507, "Request-Initiated" },
		{ 508, "Multiple-Session-Selection-Unsupported" },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		assert_string_equal(radius_error_cause_name(rfc[i].cause), rfc[i].name);
		unsigned k = radius_coa_cause_index(rfc[i].cause);
		assert_true(k >= 1 && k < 19);
		assert_int_equal(radius_coa_cause_at(k), rfc[i].cause);
		/* the same names as Debian's dictionary.rfc5176 */
		assert_true(radius_dict_value(debian, "Error-Cause", rfc[i].name, &v));
		assert_int_equal(v, rfc[i].cause);
	}
	assert_null(radius_error_cause_name(600));
	assert_int_equal(radius_coa_cause_index(600), 0);
	assert_string_equal(radius_coa_code_name(45), "CoA-NAK");
	assert_string_equal(radius_coa_code_name(4), "unknown");
}

/* ---- attributes as the operator writes them ---- */

#define X5 "xxxxx"
#define X35 X5 X5 X5 X5 X5 X5 X5
#define LONG245 X35 X35 X35 X35 X35 X35 X35
#define H5 "7878787878"
#define H35 H5 H5 H5 H5 H5 H5 H5
#define HEX245 H35 H35 H35 H35 H35 H35 H35

static void
test_avp_text(void **state)
{
	(void)state;
	struct radius_dict *builtin = radius_dict_new();
	const struct {
		bool debian;
		const char *text;
		const char *bytes;            /* hex of the encoded attribute; NULL: refused */
		const char *err;
	} cases[] = {
		{ false, "Filter-Id = \"walled-garden\"", "0b0f77616c6c65642d67617264656e", NULL },
		{ false, "  filter-id=walled-garden  ", "0b0f77616c6c65642d67617264656e", NULL },
		{ false, "Session-Timeout = 3600", "1b0600000e10", NULL },
		{ false, "Service-Type = Framed-User", "060600000002", NULL },
		{ false, "Framed-IP-Address = 100.64.0.10", "08066440000a", NULL },
		{ false, "Framed-IPv6-Prefix = 2001:db8:ffff::1/36", "6114002420010db8f00000000000000000000000", NULL },
		{ false, "Class = 0x6761", "19046761", NULL },
		{ false, "Reply-Message = \"a\\tb\\101\"", "120661096241", NULL },
		{ true, "Cisco-AVPair = \"subscriber:service-name=garden\"",
		    "1a2600000009012073756273637269626572"
		    "3a736572766963652d6e616d653d67617264656e", NULL },
		{ true, "USR-Last-Number-Dialed-Out = \"123\"", "1a0d000001ad00000066313233", NULL },
		{ true, "Lucent-Max-Shared-Users = 5", "1a0d000012ee00020700000005", NULL },
		{ false, "Cisco-AVPair = \"x\"", NULL, "unknown attribute" },
		{ false, "Nope = 1", NULL, "unknown attribute" },
		{ false, "Filter-Id", NULL, "Name = value" },
		{ false, "Filter-Id = ", NULL, "Name = value" },
		{ false, "Filter-Id = \"open", NULL, "string of 1 to" },
		{ false, "Filter-Id = \"\"", NULL, "string of 1 to" },
		{ false, "Session-Timeout = 4294967296", NULL, "a number up to 4294967295" },
		{ false, "Session-Timeout = soon", NULL, "VALUE name expected" },
		{ false, "Session-Timeout = -1", NULL, "VALUE name expected" },
		{ false, "Framed-IP-Address = 300.1.1.1", NULL, "IPv4 address expected" },
		{ false, "Framed-IPv6-Prefix = 2001:db8::/129", NULL, "IPv6 prefix" },
		{ false, "User-Password = \"x\"", NULL, "encrypted" },
		{ false, "Vendor-Specific = 0x00", NULL, "cannot be sent" },
		{ false, "Message-Authenticator = 0x00", NULL, "not an attribute to write" },
		{ true, "Tunnel-Type = VLAN", NULL, "tagged" },
		{ true, "WiMAX-Release = \"1\"", NULL, "TLV" },
		{ true, "WiMAX-Capability = 0x00", NULL, "TLV" },
		/* 247 bytes fit a standard attribute (2 + 247) but not USR's 4-byte type in a VSA (10 + 247) */
		{ true, "USR-Last-Number-Dialed-Out = " LONG245 "xx", NULL, "too long for one attribute" },
		{ false, "Filter-Id = " LONG245 "xx", "0bf9" HEX245 "7878", NULL },
	};

	assert_non_null(builtin);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct radius_avp avp;
		char err[256] = "", hex[600] = "";
		uint8_t enc[260];
		int rc = radius_dict_avp_parse(cases[i].debian ? debian : builtin, cases[i].text, &avp, err, sizeof(err));

		if (cases[i].bytes == NULL) {
			if (rc != -EINVAL || strstr(err, cases[i].err) == NULL)
				fail_msg("%s: rc %d, \"%s\" (wanted \"%s\")", cases[i].text, rc, err, cases[i].err);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", cases[i].text, err);
		int n = radius_avp_encode(&avp, enc, sizeof(enc));
		assert_true(n > 0);
		for (int k = 0; k < n; k++)
			sprintf(hex + 2 * k, "%02x", enc[k]);
		if (strcmp(hex, cases[i].bytes) != 0)
			fail_msg("%s: %s, not %s", cases[i].text, hex, cases[i].bytes);
	}
	radius_dict_free(builtin);
}

/* ---- dictionaries ---- */

static void
test_debian_dictionary(void **state)
{
	(void)state;
	size_t attrs, vendors, values;
	const struct radius_dict_attr *a;
	const struct radius_dict_vendor *v;
	uint64_t n;

	radius_dict_counts(debian, &attrs, &vendors, &values);
	/* Debian 12's freeradius-common 3.2.1: 7 511 attributes, 186 vendors, 8 009 values, built-in ones included */
	assert_true(attrs > 7000);
	assert_true(vendors > 150);
	assert_true(values > 7500);
	a = radius_dict_attr(debian, "cisco-avpair");
	assert_non_null(a);
	assert_int_equal(a->vendor, 9);
	assert_int_equal(a->number, 1);
	assert_int_equal(a->type, RADIUS_TYPE_STRING);
	v = radius_dict_vendor(debian, "USR", 0);
	assert_non_null(v);
	assert_int_equal(v->id, 429);
	assert_int_equal(v->type_len, 4);
	assert_int_equal(v->len_len, 0);
	v = radius_dict_vendor(debian, NULL, 24757);
	assert_non_null(v);
	assert_true(v->continuation);
	a = radius_dict_attr(debian, "ERX-Ingress-Policy-Name");      /* Juniper's E-series BNGs */
	assert_non_null(a);
	assert_int_equal(a->vendor, 4874);
	a = radius_dict_attr(debian, "Tunnel-Type");
	assert_non_null(a);
	assert_true(a->has_tag);
	assert_true(radius_dict_value(debian, "Acct-Status-Type", "Interim-Update", &n));
	assert_int_equal(n, 3);
	assert_false(radius_dict_value(debian, "Acct-Status-Type", "Sometimes", &n));
}

static void
test_broken_dictionaries(void **state)
{
	(void)state;
	const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{ "ATTRIBUTE Foo\n", "t:1: ATTRIBUTE name number type" },
		{ "# fine\n\nATTRIBUTE Foo 0 string\n", "t:3: bad attribute number \"0\"" },
		{ "ATTRIBUTE Foo 0x1g string\n", "t:1: bad attribute number" },
		{ "ATTRIBUTE Foo 1.x string\n", "t:1: bad attribute number" },
		{ "ATTRIBUTE Foo 1 strnig\n", "t:1: unknown type \"strnig\"" },
		{ "ATTRIBUTE Foo 1 octets[0]\n", "t:1: bad size" },
		{ "ATTRIBUTE Foo 1 string has_tagg\n", "t:1: unknown attribute flag \"has_tagg\"" },
		{ "ATTRIBUTE Foo 1 string a b\n", "t:1: ATTRIBUTE name number type" },
		{ "VENDOR Acme x\n", "t:1: bad vendor number" },
		{ "VENDOR Acme 0\n", "t:1: bad vendor number" },
		{ "VENDOR Acme 99 format=3,1\n", "t:1: bad vendor format" },
		{ "VENDOR Acme 99 format=1,1,x\n", "t:1: bad vendor format" },
		{ "BEGIN-VENDOR Nobody\n", "t:1: unknown vendor \"Nobody\"" },
		{ "VENDOR A 99\nBEGIN-VENDOR A\nATTRIBUTE X 1 string\n", "t:4: BEGIN-VENDOR A without END-VENDOR" },
		{ "VENDOR A 99\nEND-VENDOR A\n", "t:2: END-VENDOR A without its BEGIN-VENDOR" },
		{ "VENDOR A 99\nBEGIN-VENDOR A\nATTRIBUTE X 256 string\nEND-VENDOR A\n", "t:3: attribute number 256 too large" },
		{ "END-TLV X\n", "t:1: END-TLV without" },
		{ "VALUE Foo Bar x\n", "t:1: bad value number" },
		{ "VALUE Foo Bar\n", "t:1: VALUE attribute name number" },
		{ "FROBNICATE x\n", "t:1: unknown keyword \"FROBNICATE\"" },
		{ "$INCLUDE other\n", "t:1: $INCLUDE not allowed here" },
		{ "ATTRIBUTE A-Name-Of-More-Than-Seventy-Nine-Bytes-Is-Longer-Than-Any-In-FreeRADIUS-xxxxxxxxxxxx 1 string\n",
		    "t:1: name longer than 79 bytes" },
		{ "ATTRIBUTE Foo\x01 1 string\n", "t:1: a name of printable ASCII" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct radius_dict *d = radius_dict_new();
		char err[512] = "";
		int rc = radius_dict_parse(d, "t", NULL, cases[i].text, strlen(cases[i].text), err, sizeof(err));
		if (rc >= 0 || strstr(err, cases[i].err) != err)
			fail_msg("case %zu: rc %d, \"%s\" (wanted \"%s\")", i, rc, err, cases[i].err);
		radius_dict_free(d);
	}
}

/* $INCLUDE relative to the including file, errors named where they are, loops stopped. */
static void
test_dictionary_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_radius_coa.XXXXXX", path[256], err[1024];
	struct radius_dict *d = radius_dict_new();
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
#define WRITE(name, text) do { \
		snprintf(path, sizeof(path), "%s/%s", dir, name); \
		assert_non_null(fp = fopen(path, "w")); fputs(text, fp); fclose(fp); } while (0)
	WRITE("main", "# the operator's\n$INCLUDE sub/acme\n$INCLUDE- absent\n");
	WRITE("sub/acme", "VENDOR Acme 99999\nBEGIN-VENDOR Acme\nATTRIBUTE Acme-Profile 7 string\n"
	    "END-VENDOR Acme\n$INCLUDE acme2\n");
	WRITE("sub/acme2", "ATTRIBUTE Acme-Garden 8 integer Acme\nVALUE Acme-Garden On 1\n");
	snprintf(path, sizeof(path), "%s/main", dir);
	assert_int_equal(radius_dict_load(d, path, err, sizeof(err)), 0);
	const struct radius_dict_attr *a = radius_dict_attr(d, "Acme-Garden");
	assert_non_null(a);
	assert_int_equal(a->vendor, 99999);
	struct radius_avp avp;
	assert_int_equal(radius_dict_avp_parse(d, "Acme-Garden = On", &avp, err, sizeof(err)), 0);
	assert_int_equal(avp.vendor, 99999);
	assert_int_equal(avp.len, 4);
	assert_int_equal(avp.value[3], 1);
	radius_dict_free(d);

	/* an error in an included file names both places */
	WRITE("sub/acme2", "ATTRIBUTE Acme-Garden 8 integr\n");
	d = radius_dict_new();
	snprintf(path, sizeof(path), "%s/main", dir);
	assert_int_equal(radius_dict_load(d, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/main:2: "));
	assert_non_null(strstr(err, "/sub/acme:5: "));
	assert_non_null(strstr(err, "/sub/acme2:1: unknown type \"integr\""));
	radius_dict_free(d);

	/* a missing include, and one that includes itself */
	WRITE("sub/acme", "$INCLUDE nothere\n");
	d = radius_dict_new();
	assert_int_equal(radius_dict_load(d, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "sub/nothere: No such file"));
	radius_dict_free(d);
	WRITE("sub/acme", "$INCLUDE acme\n");
	d = radius_dict_new();
	assert_int_equal(radius_dict_load(d, path, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "nested deeper than"));
	radius_dict_free(d);
	d = radius_dict_new();
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(radius_dict_load(d, path, err, sizeof(err)), -ENOENT);
	radius_dict_free(d);

	const char *names[] = { "sub/acme", "sub/acme2", "main", "sub" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		i < 3 ? unlink(path) : rmdir(path);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_radclient_requests),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_answer_framing),
		cmocka_unit_test(test_freeradius_answers),
		cmocka_unit_test(test_error_causes),
		cmocka_unit_test(test_avp_text),
		cmocka_unit_test(test_debian_dictionary),
		cmocka_unit_test(test_broken_dictionaries),
		cmocka_unit_test(test_dictionary_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
