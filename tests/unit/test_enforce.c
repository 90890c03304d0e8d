/*
 * test_enforce.c — the nft scripts of act/enforce_rules.c as text: the ruleset for a
 * full and an empty configuration (golden), element batches (refresh = add, delete,
 * add with timeout; removals; merging of duplicates; IPv4 hosts and IPv6 /64s only;
 * chunking), reconcile, the parser of `nft list set` output, refusals of anything we
 * did not parse ourselves, buffer bounds to the byte, and the none backend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "act/enforce.h"

#define SEC(n) ((usec_t)(n) * USEC_PER_SEC)

static struct addr
A(const char *text)
{
	struct addr a;

	assert_int_equal(addr_parse(text, strlen(text), &a), 0);
	return a;
}

static struct cidr
C(const char *text)
{
	struct cidr c;

	assert_int_equal(cidr_parse(text, &c), 0);
	return c;
}

static struct enforce_entry
E(const char *text, usec_t timeout)
{
	struct enforce_entry e = { .net = C(text), .timeout = timeout };
	return e;
}

/* The configuration of the golden ruleset: both families, every kind of destination. */
static void
full_config(struct enforce_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->table, "lazaret");
	cfg->subscribers[cfg->subscriber_count++] = C("10.77.1.0/24");
	cfg->subscribers[cfg->subscriber_count++] = C("198.51.100.0/25");
	cfg->subscribers[cfg->subscriber_count++] = C("fd77:1::/48");
	cfg->relays[cfg->relay_count++] = A("10.77.3.25");
	cfg->relays[cfg->relay_count++] = A("fd77:3::25");
	cfg->resolvers[cfg->resolver_count++] = A("10.77.3.53");
	cfg->resolvers[cfg->resolver_count++] = A("10.77.3.54");
	cfg->resolvers[cfg->resolver_count++] = A("fd77:3::53");
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ C("10.77.3.80"), 443, IPPROTO_TCP };
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ C("10.77.4.0/24"), 0, 0 };
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ C("fd77:3::80"), 443, 0 };
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ C("10.77.5.1"), 0, IPPROTO_UDP };
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ C("10.77.6.0/28"), 80, IPPROTO_TCP };
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ C("fd77:6::90"), 80, 0 };
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ C("10.77.7.1"), 80, IPPROTO_UDP };
	cfg->portal_v4 = A("10.77.1.1");
	cfg->portal_v6 = A("fd77:1::1");
	cfg->portal_port = 8080;
	cfg->element_timeout = SEC(3600);
}

static const char golden_full[] =
	"add table inet lazaret\n"
	"delete table inet lazaret\n"
	"table inet lazaret {\n"
	"\tset quarantine_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags timeout\n"
	"\t}\n"
	"\tset quarantine_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags timeout\n"
	"\t}\n"
	"\tset subscribers_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t\telements = { 10.77.1.0/24,\n"
	"\t\t\t     198.51.100.0/25 }\n"
	"\t}\n"
	"\tset subscribers_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t\telements = { fd77:1::/48 }\n"
	"\t}\n"
	"\tset relays_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\telements = { 10.77.3.25 }\n"
	"\t}\n"
	"\tset relays_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\telements = { fd77:3::25 }\n"
	"\t}\n"
	"\tset resolvers_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\telements = { 10.77.3.53,\n"
	"\t\t\t     10.77.3.54 }\n"
	"\t}\n"
	"\tset resolvers_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\telements = { fd77:3::53 }\n"
	"\t}\n"
	/* remediation allowing TCP/80 (any port or 80, TCP or any protocol) and the resolvers */
	"\tset portal_bypass_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t\telements = { 10.77.4.0/24,\n"
	"\t\t\t     10.77.6.0/28,\n"
	"\t\t\t     10.77.3.53,\n"
	"\t\t\t     10.77.3.54 }\n"
	"\t}\n"
	"\tset portal_bypass_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t\telements = { fd77:6::90,\n"
	"\t\t\t     fd77:3::53 }\n"
	"\t}\n"
	"\tchain prerouting {\n"
	"\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	"\t\tip saddr @quarantine_v4 ip daddr != @portal_bypass_v4 tcp dport 80 dnat ip to 10.77.1.1:8080\n"
	"\t\tip6 saddr & ffff:ffff:ffff:ffff:: @quarantine_v6 ip6 daddr != @portal_bypass_v6 tcp dport 80 dnat ip6 to [fd77:1::1]:8080\n"
	"\t}\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tip saddr @quarantine_v4 jump quarantined\n"
	"\t\tip6 saddr & ffff:ffff:ffff:ffff:: @quarantine_v6 jump quarantined\n"
	"\t\tip saddr @subscribers_v4 tcp dport 25 ip daddr != @relays_v4 reject with icmpx type admin-prohibited\n"
	"\t\tip6 saddr @subscribers_v6 tcp dport 25 ip6 daddr != @relays_v6 reject with icmpx type admin-prohibited\n"
	"\t}\n"
	"\tchain quarantined {\n"
	"\t\tct direction reply accept\n"
	"\t\tct state related accept\n"
	"\t\tip daddr @resolvers_v4 meta l4proto { tcp, udp } th dport 53 accept\n"
	"\t\tip6 daddr @resolvers_v6 meta l4proto { tcp, udp } th dport 53 accept\n"
	"\t\tip daddr 10.77.1.1 tcp dport 8080 accept\n"
	"\t\tip6 daddr fd77:1::1 tcp dport 8080 accept\n"
	"\t\tip daddr 10.77.3.80 tcp dport 443 accept\n"
	"\t\tip daddr 10.77.4.0/24 meta l4proto { tcp, udp } accept\n"
	"\t\tip6 daddr fd77:3::80 meta l4proto { tcp, udp } th dport 443 accept\n"
	"\t\tip daddr 10.77.5.1 meta l4proto udp accept\n"
	"\t\tip daddr 10.77.6.0/28 tcp dport 80 accept\n"
	"\t\tip6 daddr fd77:6::90 meta l4proto { tcp, udp } th dport 80 accept\n"
	"\t\tip daddr 10.77.7.1 udp dport 80 accept\n"
	"\t\ttcp dport 443 reject with tcp reset\n"
	"\t\treject with icmpx type admin-prohibited\n"
	"\t}\n"
	"}\n"
	;


/* ---- the ruleset ---- */

static void
test_ruleset_full(void **state)
{
	struct enforce_config cfg;
	char buf[8192];

	(void)state;
	full_config(&cfg);
	int n = enforce_ruleset(&cfg, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(golden_full));
	assert_string_equal(buf, golden_full);
}

/* No lists, no portal, no table name: every set empty (no "elements" line), no DNAT rule. */
static const char golden_empty[] =
	"add table inet lazaret\n"
	"delete table inet lazaret\n"
	"table inet lazaret {\n"
	"\tset quarantine_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags timeout\n"
	"\t}\n"
	"\tset quarantine_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags timeout\n"
	"\t}\n"
	"\tset subscribers_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t}\n"
	"\tset subscribers_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t}\n"
	"\tset relays_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t}\n"
	"\tset relays_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t}\n"
	"\tset resolvers_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t}\n"
	"\tset resolvers_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t}\n"
	"\tset portal_bypass_v4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t}\n"
	"\tset portal_bypass_v6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t}\n"
	"\tchain prerouting {\n"
	"\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	"\t}\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tip saddr @quarantine_v4 jump quarantined\n"
	"\t\tip6 saddr & ffff:ffff:ffff:ffff:: @quarantine_v6 jump quarantined\n"
	"\t\tip saddr @subscribers_v4 tcp dport 25 ip daddr != @relays_v4 reject with icmpx type admin-prohibited\n"
	"\t\tip6 saddr @subscribers_v6 tcp dport 25 ip6 daddr != @relays_v6 reject with icmpx type admin-prohibited\n"
	"\t}\n"
	"\tchain quarantined {\n"
	"\t\tct direction reply accept\n"
	"\t\tct state related accept\n"
	"\t\tip daddr @resolvers_v4 meta l4proto { tcp, udp } th dport 53 accept\n"
	"\t\tip6 daddr @resolvers_v6 meta l4proto { tcp, udp } th dport 53 accept\n"
	"\t\ttcp dport 443 reject with tcp reset\n"
	"\t\treject with icmpx type admin-prohibited\n"
	"\t}\n"
	"}\n"
	;

static void
test_ruleset_empty(void **state)
{
	struct enforce_config cfg;
	char buf[8192];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), (int)strlen(golden_empty));
	assert_string_equal(buf, golden_empty);
}

/* The portal port defaults to 80; one family alone gets one DNAT and one allow rule. */
static void
test_ruleset_portal_v4_only(void **state)
{
	struct enforce_config cfg;
	char buf[8192];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.table, "lz_test2");
	cfg.portal_v4 = A("192.0.2.1");
	assert_true(enforce_ruleset(&cfg, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "add table inet lz_test2\ndelete table inet lz_test2\ntable inet lz_test2 {\n"));
	assert_non_null(strstr(buf, "\t\tip saddr @quarantine_v4 ip daddr != @portal_bypass_v4 tcp dport 80 dnat ip to 192.0.2.1:80\n"));
	assert_non_null(strstr(buf, "\t\tip daddr 192.0.2.1 tcp dport 80 accept\n"));
	assert_null(strstr(buf, "dnat ip6"));
	assert_null(strstr(buf, "ip6 daddr fd"));
}

/* Every length short of the whole text fails with ENOSPC and leaves an empty string. */
static void
test_ruleset_buffer_bounds(void **state)
{
	struct enforce_config cfg;
	size_t len = strlen(golden_full);
	char *buf = malloc(len + 1);

	(void)state;
	full_config(&cfg);
	assert_non_null(buf);
	errno = 0;
	assert_int_equal(enforce_ruleset(&cfg, buf, 0), -1);
	assert_int_equal(errno, ENOSPC);
	for (size_t size = 1; size <= len; size++) {
		errno = 0;
		assert_int_equal(enforce_ruleset(&cfg, buf, size), -1);
		assert_int_equal(errno, ENOSPC);
		assert_string_equal(buf, "");
	}
	assert_int_equal(enforce_ruleset(&cfg, buf, len + 1), (int)len);
	assert_string_equal(buf, golden_full);
	free(buf);
}

/* The table name is the only configured text that reaches nft: a plain identifier or nothing. */
static void
test_ruleset_refuses_bad_input(void **state)
{
	static const char *const bad_tables[] = {
		"lazaret; flush ruleset", "lazaret\n", "9lazaret", "laz-aret", "laz aret", "_x", "a{b}",
		"lazaret\"", "lazaret.x", "lazaret/x",
	};
	struct enforce_config cfg;
	char buf[8192];
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_tables) / sizeof(bad_tables[0]); i++) {
		full_config(&cfg);
		snprintf(cfg.table, sizeof(cfg.table), "%s", bad_tables[i]);
		errno = 0;
		assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(enforce_batch(&cfg, NULL, 0, NULL, 0, &s), -EINVAL);
		assert_null(s);
	}
	/* 31 characters fit, and there is no room for a 32nd (no terminator: refused) */
	full_config(&cfg);
	memset(cfg.table, 'a', sizeof(cfg.table) - 1);
	assert_true(enforce_ruleset(&cfg, buf, sizeof(buf)) > 0);
	memset(cfg.table, 'a', sizeof(cfg.table));
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);

	/* a remediation protocol that is neither TCP nor UDP */
	full_config(&cfg);
	cfg.remediation[1].proto = IPPROTO_ICMP;
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
	/* a remediation destination, portal or count we never parsed */
	full_config(&cfg);
	cfg.remediation[0].net.addr.family = 0;
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
	full_config(&cfg);
	cfg.portal_v4 = A("fd77:1::1");
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
	full_config(&cfg);
	cfg.relay_count = ENFORCE_MAX_LIST + 1;
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
	/* an address of no family in any list */
	full_config(&cfg);
	cfg.subscribers[2].addr.family = 0;
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
	full_config(&cfg);
	cfg.relays[1].family = AF_UNIX;
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
	full_config(&cfg);
	cfg.resolvers[0].family = 0;
	assert_int_equal(enforce_ruleset(&cfg, buf, sizeof(buf)), -1);
}

/* ---- element batches ---- */

static void
test_batch_golden(void **state)
{
	struct enforce_config cfg;
	struct enforce_entry add[] = {
		E("10.77.1.9", 2500000),         /* 2.5 s: whole seconds, rounded up */
		E("fd77:1:0:5::/64", 0),         /* the configured timeout */
		E("10.77.1.2", 0),
		E("10.77.1.2", SEC(90)),         /* the later of two identical entries wins */
		E("10.77.1.3", 0),               /* also removed: the add wins, it comes after */
	};
	struct cidr del[] = { C("10.77.1.3"), C("fd77:1:0:6::/64"), C("10.77.1.4"), C("10.77.1.4") };
	static const char want[] =
		"add element inet lazaret quarantine_v4 { 10.77.1.2, 10.77.1.3, 10.77.1.4, 10.77.1.9 }\n"
		"delete element inet lazaret quarantine_v4 { 10.77.1.2, 10.77.1.3, 10.77.1.4, 10.77.1.9 }\n"
		"add element inet lazaret quarantine_v4 { 10.77.1.2 timeout 90s, 10.77.1.3 timeout 3600s, "
		"10.77.1.9 timeout 3s }\n"
		"add element inet lazaret quarantine_v6 { fd77:1:0:5::, fd77:1:0:6:: }\n"
		"delete element inet lazaret quarantine_v6 { fd77:1:0:5::, fd77:1:0:6:: }\n"
		"add element inet lazaret quarantine_v6 { fd77:1:0:5:: timeout 3600s }\n";
	char *s;

	(void)state;
	full_config(&cfg);
	int n = enforce_batch(&cfg, add, sizeof(add) / sizeof(add[0]), del, sizeof(del) / sizeof(del[0]), &s);
	assert_non_null(s);
	assert_string_equal(s, want);
	assert_int_equal(n, (int)strlen(want));
	free(s);
}

/* Removals alone: add then delete, so that removing an absent element cannot fail the batch. */
static void
test_batch_removals_only(void **state)
{
	struct enforce_config cfg;
	struct cidr del[] = { C("2001:db8:aa:bb::/64"), C("192.0.2.7") };
	char *s;

	(void)state;
	full_config(&cfg);
	strcpy(cfg.table, "other");
	assert_true(enforce_batch(&cfg, NULL, 0, del, 2, &s) > 0);
	assert_string_equal(s,
		"add element inet other quarantine_v4 { 192.0.2.7 }\n"
		"delete element inet other quarantine_v4 { 192.0.2.7 }\n"
		"add element inet other quarantine_v6 { 2001:db8:aa:bb:: }\n"
		"delete element inet other quarantine_v6 { 2001:db8:aa:bb:: }\n");
	free(s);
}

/* No default timeout and none given: the element is added without one (it never expires). */
static void
test_batch_no_timeout(void **state)
{
	struct enforce_config cfg;
	struct enforce_entry add[] = { E("10.77.1.9", 0), E("10.77.1.8", 1) };
	char *s;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_true(enforce_batch(&cfg, add, 2, NULL, 0, &s) > 0);
	assert_string_equal(s,
		"add element inet lazaret quarantine_v4 { 10.77.1.8, 10.77.1.9 }\n"
		"delete element inet lazaret quarantine_v4 { 10.77.1.8, 10.77.1.9 }\n"
		"add element inet lazaret quarantine_v4 { 10.77.1.8 timeout 1s, 10.77.1.9 }\n");
	free(s);
}

static void
test_batch_empty(void **state)
{
	struct enforce_config cfg;
	char *s;

	(void)state;
	full_config(&cfg);
	assert_int_equal(enforce_batch(&cfg, NULL, 0, NULL, 0, &s), 0);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

/* Host bits of an IPv6 entry never reach the script: the /64 network address does. */
static void
test_batch_masks(void **state)
{
	struct enforce_config cfg;
	struct enforce_entry e = { .timeout = SEC(60) };
	char *s;

	(void)state;
	full_config(&cfg);
	e.net.addr = A("2001:db8:1:2:3:4:5:6");
	e.net.prefix = 64;                      /* not masked, as a careless caller might pass it */
	assert_true(enforce_batch(&cfg, &e, 1, NULL, 0, &s) > 0);
	assert_non_null(strstr(s, "quarantine_v6 { 2001:db8:1:2:: timeout 60s }\n"));
	assert_null(strstr(s, ":3:4:5:6"));
	free(s);
}

/* IPv4 hosts and IPv6 /64s only: anything else is refused before a line is written. */
static void
test_batch_refusals(void **state)
{
	static const char *const bad[] = { "10.77.1.0/24", "10.77.1.0/31", "fd77:1::/48", "fd77:1::/65",
	                                   "fd77:1::1", "::/0", "0.0.0.0/0" };
	struct enforce_config cfg;
	char *s;

	(void)state;
	full_config(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct enforce_entry e = E(bad[i], 0);
		struct enforce_entry ok[2] = { E("10.1.1.1", 0), e };
		assert_int_equal(enforce_batch(&cfg, ok, 2, NULL, 0, &s), -EINVAL);
		assert_null(s);
		assert_int_equal(enforce_batch(&cfg, NULL, 0, &e.net, 1, &s), -EINVAL);
		assert_null(s);
		assert_int_equal(enforce_reconcile_batch(&cfg, ok, 2, &s), -EINVAL);
		assert_null(s);
	}
	struct enforce_entry nofamily = { .timeout = 0 };
	assert_int_equal(enforce_batch(&cfg, &nofamily, 1, NULL, 0, &s), -EINVAL);
}

/* Many elements: bounded commands, each element exactly once per command kind, sorted. */
static void
test_batch_chunks(void **state)
{
	enum { N = 2500, CHUNK = 1024 };
	struct enforce_config cfg;
	struct enforce_entry *add = calloc(N, sizeof(*add));
	char *s, text[32];

	(void)state;
	assert_non_null(add);
	full_config(&cfg);
	for (int i = 0; i < N; i++) {
		int j = (i * 7919) % N;         /* a permutation: the script comes out sorted anyway */
		snprintf(text, sizeof(text), "10.%d.%d.%d", 100 + j / 65536, (j / 256) % 256, j % 256);
		add[i] = E(text, SEC(600));
	}
	assert_true(enforce_batch(&cfg, add, N, NULL, 0, &s) > 0);
	int lines = 0, adds = 0, dels = 0, timed = 0;
	for (char *line = s, *end; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		*end = '\0';
		int elems = 1;
		for (char *p = line; *p != '\0'; p++)
			elems += *p == ',';
		assert_true(elems <= CHUNK);
		if (strncmp(line, "add element inet lazaret quarantine_v4 { ", 41) == 0) {
			if (strstr(line, "timeout") != NULL) {
				timed += elems;
			} else {
				adds += elems;
			}
		} else if (strncmp(line, "delete element inet lazaret quarantine_v4 { ", 44) == 0) {
			dels += elems;
		} else {
			fail_msg("unexpected line: %.80s", line);
		}
		lines++;
	}
	assert_int_equal(lines, 3 * ((N + CHUNK - 1) / CHUNK));
	assert_int_equal(adds, N);
	assert_int_equal(dels, N);
	assert_int_equal(timed, N);
	free(s);

	/* the first command starts with the lowest address, in order */
	assert_true(enforce_batch(&cfg, add, N, NULL, 0, &s) > 0);
	static const char first[] = "add element inet lazaret quarantine_v4 { 10.100.0.0, 10.100.0.1, 10.100.0.2, ";
	assert_memory_equal(s, first, sizeof(first) - 1);
	free(s);
	free(add);
}

/* ---- reconcile ---- */

static void
test_reconcile_golden(void **state)
{
	struct enforce_config cfg;
	struct enforce_entry all[] = { E("2001:db8:0:1::/64", SEC(7200)), E("192.0.2.9", 0), E("192.0.2.10", 0),
	                               E("192.0.2.9", SEC(30)) };
	char *s;

	(void)state;
	full_config(&cfg);
	assert_true(enforce_reconcile_batch(&cfg, all, 4, &s) > 0);
	assert_string_equal(s,
		"flush set inet lazaret quarantine_v4\n"
		"flush set inet lazaret quarantine_v6\n"
		"add element inet lazaret quarantine_v4 { 192.0.2.9 timeout 30s, 192.0.2.10 timeout 3600s }\n"
		"add element inet lazaret quarantine_v6 { 2001:db8:0:1:: timeout 7200s }\n");
	free(s);

	/* nothing: both sets emptied */
	assert_true(enforce_reconcile_batch(&cfg, NULL, 0, &s) > 0);
	assert_string_equal(s, "flush set inet lazaret quarantine_v4\nflush set inet lazaret quarantine_v6\n");
	free(s);
}

/* ---- reading nft's listing ---- */

static void
test_parse_elements(void **state)
{
	/* as nft 1.0.6 prints them: two to a line, a wrapped line, timeouts and expiry */
	static const char v4[] =
		"table inet lazaret {\n"
		"\tset quarantine_v4 {\n"
		"\t\ttype ipv4_addr\n"
		"\t\tflags timeout\n"
		"\t\telements = { 10.77.1.2 timeout 1h expires 59m58s880ms, 10.77.1.3 timeout 2s expires 1s2ms,\n"
		"\t\t\t     192.0.2.255 }\n"
		"\t}\n"
		"}\n";
	static const char v6[] =
		"table inet lazaret {\n"
		"\tset quarantine_v6 {\n"
		"\t\ttype ipv6_addr\n"
		"\t\tflags timeout\n"
		"\t\telements = { fd77:1:0:5:: timeout 1m expires 59s968ms,\n"
		"\t\t\t     2001:db8::/64 }\n"
		"\t}\n"
		"}\n";
	static const char empty[] =
		"table inet lazaret {\n\tset quarantine_v4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n}\n";
	struct cidr *v;
	size_t n;
	char a[ADDR_TEXT_MAX];

	(void)state;
	assert_int_equal(enforce_parse_elements(v4, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(cidr_format(&v[0], a, sizeof(a)), "10.77.1.2/32");
	assert_string_equal(cidr_format(&v[1], a, sizeof(a)), "10.77.1.3/32");
	assert_string_equal(cidr_format(&v[2], a, sizeof(a)), "192.0.2.255/32");
	free(v);

	assert_int_equal(enforce_parse_elements(v6, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(cidr_format(&v[0], a, sizeof(a)), "fd77:1:0:5::/128");
	assert_string_equal(cidr_format(&v[1], a, sizeof(a)), "2001:db8::/64");
	free(v);

	assert_int_equal(enforce_parse_elements(empty, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(enforce_parse_elements("", &v, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_parse_elements_refuses(void **state)
{
	static const char *const bad[] = {
		"elements = { 10.0.0.1-10.0.0.9 }",             /* a range: not ours */
		"elements = { 10.0.0.1, , 10.0.0.2 }",            /* empty element */
		"elements = { 10.0.0.1 timeout 1h",              /* cut short */
		"elements = { 10.0.0.1",
		"elements = { host.example }",
		"elements = { 10.0.0.1000 }",
		"elements = { 0123456789012345678901234567890123456789012345678901234567890123456789 }",
	};
	struct cidr *v;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(enforce_parse_elements(bad[i], &v, &n), -EINVAL);
		assert_null(v);
		assert_int_equal(n, 0);
	}
}

/* ---- the none backend: what the kernel would hold, in memory ---- */

static int
none_contains(void *be, const char *text)
{
	struct cidr *v, want = C(text);
	size_t n;
	char err[256];
	int found = 0;

	assert_int_equal(enforce_none_ops.list(be, &v, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		found += v[i].prefix == want.prefix && memcmp(&v[i].addr, &want.addr, sizeof(want.addr)) == 0;
	free(v);
	return found;
}

static size_t
none_count(void *be)
{
	struct cidr *v;
	size_t n;
	char err[256];

	assert_int_equal(enforce_none_ops.list(be, &v, &n, err, sizeof(err)), 0);
	free(v);
	return n;
}

static bool
cidr_equal_test(const struct cidr *c, const char *text)
{
	struct cidr w = C(text);

	return c->prefix == w.prefix && memcmp(&c->addr, &w.addr, sizeof(w.addr)) == 0;
}

static void
test_none_backend(void **state)
{
	struct enforce_config cfg;
	void *be = enforce_none_new();
	char err[256] = "";

	(void)state;
	assert_non_null(be);
	full_config(&cfg);
	assert_int_equal(enforce_none_ops.setup(be, &cfg, NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(enforce_none_ops.name, "none");
	assert_int_equal(none_count(be), 0);

	struct enforce_entry add[] = { E("10.77.1.2", 0), E("fd77:1:0:5::/64", 0), E("10.77.1.3", SEC(1)) };
	assert_int_equal(enforce_none_ops.apply(be, add, 3, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(none_count(be), 3);
	assert_int_equal(none_contains(be, "fd77:1:0:5::/64"), 1);

	/* refresh and removal (of a present and an absent element) in one batch */
	struct cidr del[] = { C("10.77.1.2"), C("10.9.9.9") };
	assert_int_equal(enforce_none_ops.apply(be, add + 1, 2, del, 2, err, sizeof(err)), 0);
	assert_int_equal(none_count(be), 2);
	assert_int_equal(none_contains(be, "10.77.1.2"), 0);

	/* what nft would refuse, the none backend refuses too, and changes nothing */
	struct enforce_entry bad = E("10.77.1.0/24", 0);
	assert_int_equal(enforce_none_ops.apply(be, &bad, 1, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/32"));
	assert_int_equal(none_count(be), 2);

	/* the 1 s element expires by itself */
	usleep(1200 * 1000);
	assert_int_equal(none_contains(be, "10.77.1.3"), 0);
	assert_int_equal(none_count(be), 1);

	/* reconcile: exactly these */
	struct enforce_entry all[] = { E("192.0.2.1", 0), E("192.0.2.2", 0), E("2001:db8:0:7::/64", 0) };
	assert_int_equal(enforce_none_ops.reconcile(be, all, 3, err, sizeof(err)), 0);
	assert_int_equal(none_count(be), 3);
	assert_int_equal(none_contains(be, "fd77:1:0:5::/64"), 0);
	assert_int_equal(none_contains(be, "2001:db8:0:7::/64"), 1);

	/* a second setup replaces the table: empty sets, as in the kernel */
	assert_int_equal(enforce_none_ops.setup(be, &cfg, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(none_count(be), 0);
	enforce_none_ops.free(be);
}

/* A mass quarantine through the none backend: 100 000 adds, then all refreshed. */
static void
test_none_backend_100k(void **state)
{
	enum { N = 100000 };
	struct enforce_config cfg;
	struct enforce_entry *add = calloc(N, sizeof(*add));
	void *be = enforce_none_new();
	char err[256], text[32];

	(void)state;
	assert_non_null(add);
	full_config(&cfg);
	assert_int_equal(enforce_none_ops.setup(be, &cfg, NULL, 0, err, sizeof(err)), 0);
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", 100 + i / 65536, (i / 256) % 256, i % 256);
		add[i] = E(text, 0);
	}
	assert_int_equal(enforce_none_ops.apply(be, add, N, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(enforce_none_ops.apply(be, add, N, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(none_count(be), N);
	enforce_none_ops.free(be);
	free(add);
}

/* The log lines' element lists: the first eight, hosts bare, then a count. */
static void
test_elements_text(void **state)
{
	struct enforce_entry e[10];
	struct cidr c[1];
	char out[512];

	(void)state;
	memset(e, 0, sizeof(e));
	for (int i = 0; i < 10; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		assert_int_equal(cidr_parse(a, &e[i].net), 0);
	}
	assert_int_equal(cidr_parse("2001:db8:1:2::/64", &e[1].net), 0);
	enforce_elements_text(e, NULL, 2, out, sizeof(out));
	assert_string_equal(out, "192.0.2.1,2001:db8:1:2::/64");
	enforce_elements_text(e, NULL, 10, out, sizeof(out));
	assert_string_equal(out, "192.0.2.1,2001:db8:1:2::/64,192.0.2.3,192.0.2.4,192.0.2.5,192.0.2.6,192.0.2.7,"
	    "192.0.2.8 (+2 more)");
	assert_int_equal(cidr_parse("198.51.100.7", &c[0]), 0);
	enforce_elements_text(NULL, c, 1, out, sizeof(out));
	assert_string_equal(out, "198.51.100.7");
	enforce_elements_text(NULL, NULL, 0, out, sizeof(out));
	assert_string_equal(out, "-");
	enforce_elements_text(e, NULL, 10, out, 12);          /* cut, still terminated */
	assert_int_equal(strlen(out), 11);
}

/*
 * The none backend against a reference over many batches: adds (new and refreshed) and
 * removals of random elements among 200, each batch merged into what the earlier ones left
 * (only the new elements are sorted): after every batch, exactly the reference's.
 */
static void
test_none_backend_batches(void **state)
{
	struct enforce_config cfg;
	void *be = enforce_none_new();
	char err[256] = "", text[64];
	bool want[200] = { false };
	uint32_t rng = 12345;

	(void)state;
	full_config(&cfg);
	assert_int_equal(enforce_none_ops.setup(be, &cfg, NULL, 0, err, sizeof(err)), 0);
	for (int round = 0; round < 300; round++) {
		struct enforce_entry add[8];
		struct cidr del[8];
		size_t nadd = 0, ndel = 0;
		unsigned k = 1 + round % 8;
		for (unsigned i = 0; i < k; i++) {
			rng = rng * 1103515245u + 12345u;
			unsigned e = (rng >> 8) % 200;
			if (e % 2 == 0)
				snprintf(text, sizeof(text), "10.77.%u.%u", e / 100, e % 100);
			else
				snprintf(text, sizeof(text), "fd77:1:0:%x::/64", e);
			bool taken = false;     /* an element once per batch, as the garden sends them */
			for (size_t j = 0; j < nadd; j++)
				taken |= cidr_equal_test(&add[j].net, text);
			for (size_t j = 0; j < ndel; j++)
				taken |= cidr_equal_test(&del[j], text);
			if (taken)
				continue;
			if ((rng >> 20) % 3 != 0) {
				add[nadd++] = E(text, 0);
				want[e] = true;
			} else {
				del[ndel++] = C(text);
				want[e] = false;
			}
		}
		assert_int_equal(enforce_none_ops.apply(be, add, nadd, del, ndel, err, sizeof(err)), 0);
		size_t expect = 0;
		for (unsigned e = 0; e < 200; e++) {
			if (e % 2 == 0)
				snprintf(text, sizeof(text), "10.77.%u.%u", e / 100, e % 100);
			else
				snprintf(text, sizeof(text), "fd77:1:0:%x::/64", e);
			assert_int_equal(none_contains(be, text), want[e] ? 1 : 0);
			expect += want[e];
		}
		assert_int_equal(none_count(be), expect);
	}
	enforce_none_ops.free(be);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elements_text),
		cmocka_unit_test(test_ruleset_full),
		cmocka_unit_test(test_ruleset_empty),
		cmocka_unit_test(test_ruleset_portal_v4_only),
		cmocka_unit_test(test_ruleset_buffer_bounds),
		cmocka_unit_test(test_ruleset_refuses_bad_input),
		cmocka_unit_test(test_batch_golden),
		cmocka_unit_test(test_batch_removals_only),
		cmocka_unit_test(test_batch_no_timeout),
		cmocka_unit_test(test_batch_empty),
		cmocka_unit_test(test_batch_masks),
		cmocka_unit_test(test_batch_refusals),
		cmocka_unit_test(test_batch_chunks),
		cmocka_unit_test(test_reconcile_golden),
		cmocka_unit_test(test_parse_elements),
		cmocka_unit_test(test_parse_elements_refuses),
		cmocka_unit_test(test_none_backend),
		cmocka_unit_test(test_none_backend_batches),
		cmocka_unit_test(test_none_backend_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
