/*
 * test_lease_follow.c — Kea's lease files followed in a scratch directory, time injected:
 * DHCPv4 and DHCPv6 leases, renewals, releases, expiries; the subscriber id chosen, its
 * fallbacks and the relay ids in a user context as Kea 2.2 (and 2.4) writes them; a lease
 * file cleanup imitated step by step as Kea 2.2 does it, and once by the real kea-lfc;
 * a last line cut and finished later; a restart resumed from the saved position, and
 * one whose file the cleanup merged meanwhile; garbage lines counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "sense/lease_follow.h"
#include "repo_path.h"
#include "rmtree.h"

#define V4_HEADER "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state," \
	"user_context\n"
#define V6_HEADER "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd," \
	"fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n"

#define NOW 1796414300          /* the injected clock, seconds; the leases below expire after it */
#define DUID "00:01:00:01:32:a5:d7:a5:02:00:00:00:00:01"

/* ---- what the callback saw: one line of text per event ---- */

struct recorder {
	char **events;
	size_t count, cap;
};

static void
record(void *arg, const struct lease_binding *b)
{
	struct recorder *r = arg;
	char net[64], line[2048];

	cidr_format(&b->net, net, sizeof(net));
	assert_int_equal(strlen(b->subscriber), b->subscriber_len);
	snprintf(line, sizeof(line), "%s %s %s=%s%s %lld-%lld%s%s%s", lease_event_name(b->event), net,
	    lease_id_kind_name(b->id_kind), b->subscriber, b->fallback ? "(fallback)" : "", (long long)b->start,
	    (long long)b->until, b->hostname_len ? " host=" : "", b->hostname, b->replay ? " replay" : "");
	if (r->count == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		assert_non_null(r->events = realloc(r->events, r->cap * sizeof(*r->events)));
	}
	assert_non_null(r->events[r->count++] = strdup(line));
}

static void
recorder_clear(struct recorder *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->events[i]);
	r->count = 0;
}

/* Asserts the events since the last call are exactly the NULL-terminated list. */
static void
expect_events(struct recorder *r, ...)
{
	va_list ap;
	size_t n = 0;
	const char *want;

	va_start(ap, r);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (n >= r->count || strcmp(r->events[n], want) != 0) {
			for (size_t i = 0; i < r->count; i++)
				fprintf(stderr, "  seen[%zu] = %s\n", i, r->events[i]);
			va_end(ap);
			fail_msg("event %zu: want \"%s\"", n, want);
		}
		n++;
	}
	va_end(ap);
	if (n != r->count) {
		for (size_t i = 0; i < r->count; i++)
			fprintf(stderr, "  seen[%zu] = %s\n", i, r->events[i]);
		fail_msg("%zu events seen, want %zu", r->count, n);
	}
	recorder_clear(r);
}

/* ---- fixture: a scratch directory with a lease file in it ---- */

struct fx {
	char dir[64];
	char path[128];
	char name[160];             /* scratch for path + suffix */
	struct recorder rec;
	struct lease_follow *lf;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lazaret-lease-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/kea-leases4.csv", f->dir);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	lease_follow_free(f->lf);
	recorder_clear(&f->rec);
	free(f->rec.events);
	rmtree(f->dir);
	free(f);
	return 0;
}

static const char *
fx_name(struct fx *f, const char *suffix)
{
	snprintf(f->name, sizeof(f->name), "%s%s", f->path, suffix);
	return f->name;
}

static void
put(const char *path, const char *mode, const char *text)
{
	FILE *fp = fopen(path, mode);

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
fx_follow(struct fx *f, enum lease_id_kind kind)
{
	lease_follow_free(f->lf);
	assert_non_null(f->lf = lease_follow_new(kind, record, &f->rec));
	assert_int_equal(lease_follow_add(f->lf, f->path, false, 0, 0), 0);
}

static void
fx_poll(struct fx *f)
{
	for (int i = 0; i < 100 && lease_follow_poll(f->lf, 1 << 20, NOW); i++)
		;
}

/* ---- the tests ---- */

/* A DHCPv4 lease, renewed, released; another expired by Kea, one past its expiry. */
static void
test_v4_lease_renew_release_expiry(void **state)
{
	struct fx *f = *state;

	put(f->path, "w", V4_HEADER "100.64.0.10,02:00:00:00:00:01,01:02:00:00:00:00:01,600,1796414843,1,0,0,vm,0,\n");
	fx_follow(f, LEASE_ID_CLIENT_ID);
	fx_poll(f);
	/* what the file held before is no news (logged at debug): replay */
	expect_events(&f->rec,
	    "lease 100.64.0.10/32 client-id=01:02:00:00:00:00:01 1796414243-1796414843 host=vm replay", NULL);
	/* renewal: a later start and expiry */
	put(f->path, "a", "100.64.0.10,02:00:00:00:00:01,01:02:00:00:00:00:01,600,1796415143,1,0,0,vm,0,\n");
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 client-id=01:02:00:00:00:00:01 1796414543-1796415143 host=vm",
	    NULL);
	/* DHCPRELEASE: Kea writes the lease again with valid_lifetime 0 and expire = its start */
	put(f->path, "a", "100.64.0.10,02:00:00:00:00:01,01:02:00:00:00:00:01,0,1796414543,1,0,0,vm,0,\n");
	/* reclaimed by Kea (state 2), and one whose expiry is before now */
	put(f->path, "a", "100.64.0.11,02:00:00:00:00:02,,600,1796414400,1,0,0,,2,\n"
	    "100.64.0.12,02:00:00:00:00:03,,600,1796414000,1,0,0,,0,\n");
	/* declined (state 1): nobody holds it */
	put(f->path, "a", "100.64.0.13,,,86400,1796500000,1,0,0,,1,\n");
	/* the reclaimed 100.64.0.11 flushed by Kea later: a deletion of a lease already ended */
	put(f->path, "a", "100.64.0.11,02:00:00:00:00:02,,0,1796413800,1,0,0,,2,\n");
	fx_poll(f);
	expect_events(&f->rec,
	    "release 100.64.0.10/32 client-id=01:02:00:00:00:00:01 1796414543-1796414300 host=vm",
	    "expired 100.64.0.11/32 hwaddr=02:00:00:00:00:02(fallback) 1796413800-1796414400",
	    "expired 100.64.0.12/32 hwaddr=02:00:00:00:00:03(fallback) 1796413400-1796414000",
	    "release 100.64.0.13/32 none= 1796413600-1796414300", NULL);
	const struct lease_follow_stats *st = lease_follow_stats(f->lf);
	assert_int_equal(st->events[LEASE_EVENT_LEASE], 2);
	assert_int_equal(st->events[LEASE_EVENT_RELEASE], 2);
	assert_int_equal(st->events[LEASE_EVENT_EXPIRED], 2);
	assert_int_equal(st->fallback, 2);
	assert_int_equal(st->no_subscriber, 1);
	assert_int_equal(st->flushed, 1);
	assert_int_equal(st->files, 1);
}

/* DHCPv6: an address and a delegated prefix by DUID, then the address released (the lines
 * Kea 2.2.0 wrote for dhclient, tests/unit/data/kea/kea-leases6.csv). */
static void
test_v6_address_and_prefix(void **state)
{
	struct fx *f = *state;

	snprintf(f->path, sizeof(f->path), "%s/kea-leases6.csv", f->dir);
	put(f->path, "w", V6_HEADER
	    "2001:db8:10::100," DUID ",600,1796414905,1,300,0,1,128,0,0,,02:00:00:00:00:01,0,,1,2\n"
	    "2001:db8:1000::," DUID ",600,1796414905,1,300,2,1,56,0,0,,02:00:00:00:00:01,0,,1,2\n"
	    "2001:db8:10::100," DUID ",0,1796414305,1,0,0,1,128,0,0,,02:00:00:00:00:01,0,,1,2\n");
	fx_follow(f, LEASE_ID_DUID);
	fx_poll(f);
	expect_events(&f->rec,
	    "lease 2001:db8:10::100/128 duid=" DUID " 1796414305-1796414905 replay",
	    "lease 2001:db8:1000::/56 duid=" DUID " 1796414305-1796414905 replay",
	    "release 2001:db8:10::100/128 duid=" DUID " 1796414305-1796414300 replay", NULL);
	/* by hardware address instead: the same lines, after SIGHUP's change */
	lease_follow_set_id_kind(f->lf, LEASE_ID_HWADDR);
	put(f->path, "a", "2001:db8:10::101," DUID ",600,1796414905,1,300,0,1,128,0,0,,02:00:00:00:00:01,0,,1,2\n");
	fx_poll(f);
	expect_events(&f->rec, "lease 2001:db8:10::101/128 hwaddr=02:00:00:00:00:01 1796414305-1796414905", NULL);
}

/* Relay ids from the user context: circuit-id and remote-id, Kea 2.2 and 2.4 shapes. */
static void
test_relay_ids(void **state)
{
	struct fx *f = *state;
	char out[LEASE_SUBSCRIBER_MAX];
	/* option 82: circuit-id "eth0/1/2:100", remote-id 00:1a:2b:3c:4d:5e (not printable: hex) */
	const char *v4_22 = "{ \"ISC\": { \"relay-agent-info\": \"0x010C657468302F312F323A313030" "0206001A2B3C4D5E\" } }";
	const char *v4_24 = "{ \"ISC\": { \"relay-agent-info\": { \"sub-options\": \"0x010C657468302F312F323A313030"
	    "0206001A2B3C4D5E\"&#x2c \"remote-id\": \"001A2B3C4D5E\" } } }";
	/* DHCPv6, two relays: the one nearest the client (last) has interface-id "port7" and remote-id */
	const char *v6_22 = "{ \"ISC\": { \"relays\": [ { \"hop\": 1&#x2c \"link\": \"2001:db8::1\"&#x2c \"options\": "
	    "\"0x00120003666172\"&#x2c \"peer\": \"fe80::1\" }&#x2c { \"hop\": 0&#x2c \"link\": \"2001:db8:1::1\"&#x2c "
	    "\"options\": \"0x00120005706F727437002500080000000901020304\"&#x2c \"peer\": \"fe80::2\" } ] } }";

	(void)f;
	assert_int_equal(lease_relay_id(v4_22, strlen(v4_22), AF_INET, LEASE_ID_CIRCUIT_ID, out, sizeof(out)), 12);
	assert_string_equal(out, "eth0/1/2:100");
	assert_int_equal(lease_relay_id(v4_22, strlen(v4_22), AF_INET, LEASE_ID_REMOTE_ID, out, sizeof(out)), 17);
	assert_string_equal(out, "00:1a:2b:3c:4d:5e");
	assert_int_equal(lease_relay_id(v4_24, strlen(v4_24), AF_INET, LEASE_ID_CIRCUIT_ID, out, sizeof(out)), 12);
	assert_string_equal(out, "eth0/1/2:100");
	assert_int_equal(lease_relay_id(v6_22, strlen(v6_22), AF_INET6, LEASE_ID_CIRCUIT_ID, out, sizeof(out)), 5);
	assert_string_equal(out, "port7");
	/* remote-id: enterprise number 9, then the id */
	assert_int_equal(lease_relay_id(v6_22, strlen(v6_22), AF_INET6, LEASE_ID_REMOTE_ID, out, sizeof(out)), 23);
	assert_string_equal(out, "00:00:00:09:01:02:03:04");

	/* what must give nothing: a sub-option longer than what is left, odd or non-hex digits,
	 * not JSON, no ISC map, a zero-length circuit id, the wrong family's shape */
	static const char *const bad[] = {
		"{ \"ISC\": { \"relay-agent-info\": \"0x010C6574\" } }",
		"{ \"ISC\": { \"relay-agent-info\": \"0x0104AABBCC\" } }",
		"{ \"ISC\": { \"relay-agent-info\": \"0x0104AABBCCZZ\" } }",
		"{ \"ISC\": { \"relay-agent-info\": 42 } }",
		"{ \"ISC\": { \"relay-agent-info\": ",
		"{ \"relay-agent-info\": \"0x0104AABBCCDD\" }",
		"{ \"ISC\": { \"relay-agent-info\": \"0x0100\" } }",
		"{ \"ISC\": { \"relays\": [ { \"options\": \"0x00120005706F727437\" } ] } }",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out[0] = 'x';
		assert_int_equal(lease_relay_id(bad[i], strlen(bad[i]), AF_INET, LEASE_ID_CIRCUIT_ID, out, sizeof(out)), 0);
		assert_string_equal(out, "");
	}
	/* a circuit id of control bytes and quotes is hex, never raw */
	const char *odd = "{ \"ISC\": { \"relay-agent-info\": \"0x0103220A1B\" } }";
	assert_int_equal(lease_relay_id(odd, strlen(odd), AF_INET, LEASE_ID_CIRCUIT_ID, out, 9), 8);
	assert_string_equal(out, "22:0a:1b");
	assert_int_equal(lease_relay_id(odd, strlen(odd), AF_INET, LEASE_ID_CIRCUIT_ID, out, 6), 5);
	assert_string_equal(out, "22:0a");    /* cut at a whole byte */
}

/* [dhcp] subscriber_id = circuit-id on a lease line, and its fallback when a lease has none. */
static void
test_subscriber_circuit_id(void **state)
{
	struct fx *f = *state;

	put(f->path, "w", V4_HEADER
	    "100.64.0.20,02:00:00:00:00:05,,600,1796414843,1,0,0,cpe,0,"
	    "{ \"ISC\": { \"relay-agent-info\": \"0x010C657468302F312F323A313030\" } }\n"
	    "100.64.0.21,02:00:00:00:00:06,,600,1796414843,1,0,0,,0,\n");
	fx_follow(f, LEASE_ID_CIRCUIT_ID);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.20/32 circuit-id=eth0/1/2:100 1796414243-1796414843 host=cpe replay",
	    "lease 100.64.0.21/32 hwaddr=02:00:00:00:00:06(fallback) 1796414243-1796414843 replay", NULL);
}

/*
 * Leases Kea 2.2.0 wrote for dhclient through a real relay, ISC dhcrelay (tests/unit/data/kea/
 * README.md): option 82's circuit id "vlan100" in DHCPv4, the interface-id option (4 bytes,
 * not text: hex) in DHCPv6, for the address and the delegated prefix alike.
 */
static void
test_real_relayed_leases(void **state)
{
	struct fx *f = *state;
	char v4[PATH_MAX], v6[PATH_MAX];

	repo_path("tests/unit/data/kea/kea-leases4-relay.csv", v4, sizeof(v4));
	repo_path("tests/unit/data/kea/kea-leases6-relay.csv", v6, sizeof(v6));
	lease_follow_free(f->lf);
	assert_non_null(f->lf = lease_follow_new(LEASE_ID_CIRCUIT_ID, record, &f->rec));
	assert_int_equal(lease_follow_add(f->lf, v4, false, 0, 0), 0);
	assert_int_equal(lease_follow_add(f->lf, v6, false, 0, 0), 0);
	fx_poll(f);
	expect_events(&f->rec, "lease 10.81.1.100/32 circuit-id=vlan100 1796421395-1796421995 host=vm replay",
	    "lease 2001:db8:81::100/128 circuit-id=01:00:00:00 1796421401-1796422001 replay",
	    "lease 2001:db8:8100::/56 circuit-id=01:00:00:00 1796421401-1796422001 replay", NULL);
	/* dhcrelay sends no remote id: remote-id falls back to the circuit id */
	lease_follow_free(f->lf);
	assert_non_null(f->lf = lease_follow_new(LEASE_ID_REMOTE_ID, record, &f->rec));
	assert_int_equal(lease_follow_add(f->lf, v4, false, 0, 0), 0);
	fx_poll(f);
	expect_events(&f->rec, "lease 10.81.1.100/32 circuit-id=vlan100(fallback) 1796421395-1796421995 host=vm replay",
	    NULL);
	assert_int_equal(lease_follow_stats(f->lf)->fallback, 1);
}

/* Lines that are not leases: counted by reason, never an event; the next good line is. */
static void
test_garbage_counted(void **state)
{
	struct fx *f = *state;

	put(f->path, "w", "100.64.0.9,02:00:00:00:00:09,,600,1796414843,1,0,0,,0,\n"   /* before any header */
	    V4_HEADER
	    "100.64.0.10,02:00:00:00:00:01\n"                                        /* too few fields */
	    "2001:db8::1,02:00:00:00:00:01,,600,1796414843,1,0,0,,0,\n"              /* the wrong family */
	    "100.64.0.10,02:00:00:00:00:01,,six hundred,1796414843,1,0,0,,0,\n"      /* not a number */
	    "\n"
	    "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,,0,\n");
	fx_follow(f, LEASE_ID_HWADDR);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01 1796414243-1796414843 replay", NULL);
	const struct lease_follow_stats *st = lease_follow_stats(f->lf);
	assert_int_equal(st->malformed[KEA_E_NO_HEADER], 1);
	assert_int_equal(st->malformed[KEA_E_COLUMNS], 1);
	assert_int_equal(st->malformed[KEA_E_ADDRESS], 1);
	assert_int_equal(st->malformed[KEA_E_NUMBER], 1);
	assert_int_equal(st->lines, 7);
}

/* Kea writes a line in pieces (or we poll in the middle of one): no event until it is whole. */
static void
test_partial_last_line(void **state)
{
	struct fx *f = *state;

	put(f->path, "w", V4_HEADER "100.64.0.10,02:00:00:00:00:01,,600,17964");
	fx_follow(f, LEASE_ID_HWADDR);
	fx_poll(f);
	expect_events(&f->rec, NULL);
	put(f->path, "a", "14843,1,0,0,vm,0,\n");
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01 1796414243-1796414843 host=vm", NULL);
	assert_int_equal(lease_follow_stats(f->lf)->malformed[KEA_E_COLUMNS], 0);
}

/*
 * Kea 2.2's lease-file cleanup, step by step (memfile_lease_mgr.cc lfcExecute, kea-lfc's
 * fileRotate): the server renames PATH to PATH.1 and starts PATH again with its header;
 * kea-lfc writes PATH.output from PATH.2 and PATH.1, renames it PATH.completed, removes
 * PATH.2 and PATH.1 and renames PATH.completed to PATH.2. Every line once, none lost,
 * whatever step a poll falls on.
 */
static void
test_lfc_cycle(void **state)
{
	struct fx *f = *state;
	const char *a1 = "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,,0,\n";
	const char *b1 = "100.64.0.11,02:00:00:00:00:02,,600,1796414843,1,0,0,,0,\n";
	const char *a2 = "100.64.0.10,02:00:00:00:00:01,,600,1796415000,1,0,0,,0,\n";

	put(f->path, "w", V4_HEADER);
	put(f->path, "a", a1);
	fx_follow(f, LEASE_ID_HWADDR);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01 1796414243-1796414843 replay", NULL);
	/* a line the server appends just before its cleanup starts, not yet polled */
	put(f->path, "a", b1);
	assert_int_equal(rename(f->path, fx_name(f, ".1")), 0);
	put(f->path, "w", V4_HEADER);
	put(f->path, "a", a2);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414243-1796414843",
	    "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01 1796414400-1796415000", NULL);
	/* kea-lfc's steps: nothing new to tell */
	put(fx_name(f, ".output"), "w", V4_HEADER);
	put(fx_name(f, ".output"), "a", a1);
	put(fx_name(f, ".output"), "a", b1);
	char completed[160];
	snprintf(completed, sizeof(completed), "%s.completed", f->path);
	assert_int_equal(rename(fx_name(f, ".output"), completed), 0);
	fx_poll(f);
	unlink(fx_name(f, ".1"));
	assert_int_equal(rename(completed, fx_name(f, ".2")), 0);
	fx_poll(f);
	expect_events(&f->rec, NULL);
	/* the next cleanup: PATH.1 again, the server goes on in a new PATH */
	assert_int_equal(rename(f->path, fx_name(f, ".1")), 0);
	put(f->path, "w", V4_HEADER);
	put(f->path, "a", "100.64.0.11,02:00:00:00:00:02,,0,1796414243,1,0,0,,0,\n");
	fx_poll(f);
	expect_events(&f->rec, "release 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414243-1796414300", NULL);
	assert_int_equal(logfollow_stats(lease_follow_file(f->lf, 0))->rotations, 2);
}

/* The same with the real kea-lfc (Debian's kea-common) merging the files. */
static void
test_lfc_real(void **state)
{
	struct fx *f = *state;
	char x[160], i[160], o[160], fin[160], pid[160], lfc[160];

	if (access("/usr/sbin/kea-lfc", X_OK) != 0)
		skip();          /* scripts/install-deps.sh installs it for make test */
	/* Debian's AppArmor profile keeps /usr/sbin/kea-lfc to /var/lib/kea: a copy runs unconfined */
	snprintf(lfc, sizeof(lfc), "%s/kea-lfc", f->dir);
	pid_t cp = fork();
	assert_true(cp >= 0);
	if (cp == 0) {
		execl("/bin/cp", "cp", "/usr/sbin/kea-lfc", lfc, (char *)NULL);
		_exit(127);
	}
	int cst;
	assert_int_equal(waitpid(cp, &cst, 0), cp);
	assert_true(WIFEXITED(cst) && WEXITSTATUS(cst) == 0);
	put(f->path, "w", V4_HEADER "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,,0,\n"
	    "100.64.0.11,02:00:00:00:00:02,,600,1796414843,1,0,0,,0,\n");
	fx_follow(f, LEASE_ID_HWADDR);
	fx_poll(f);
	assert_int_equal(f->rec.count, 2);
	recorder_clear(&f->rec);
	assert_int_equal(rename(f->path, fx_name(f, ".1")), 0);
	put(f->path, "w", V4_HEADER "100.64.0.12,02:00:00:00:00:03,,600,1796414843,1,0,0,,0,\n");
	snprintf(x, sizeof(x), "%s.2", f->path);
	snprintf(i, sizeof(i), "%s.1", f->path);
	snprintf(o, sizeof(o), "%s.output", f->path);
	snprintf(fin, sizeof(fin), "%s.completed", f->path);
	snprintf(pid, sizeof(pid), "%s.pid", f->path);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execl(lfc, "kea-lfc", "-4", "-x", x, "-i", i, "-o", o, "-f", fin, "-p", pid, "-c",
		    "ignored-path", (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(access(i, F_OK), -1);      /* merged into PATH.2 */
	assert_int_equal(access(x, F_OK), 0);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.12/32 hwaddr=02:00:00:00:00:03 1796414243-1796414843", NULL);

	/* a first start now reads PATH.2 (the cleanup's result) first, then PATH */
	fx_follow(f, LEASE_ID_HWADDR);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01 1796414243-1796414843 replay",
	    "lease 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414243-1796414843 replay",
	    "lease 100.64.0.12/32 hwaddr=02:00:00:00:00:03 1796414243-1796414843 replay", NULL);
}

/* A restart resumes at the saved position: the header is read again for the columns. */
static void
test_restart_resume(void **state)
{
	struct fx *f = *state;
	uint64_t inode, offset;

	put(f->path, "w", V4_HEADER "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,,0,\n");
	fx_follow(f, LEASE_ID_HWADDR);
	assert_int_equal(lease_follow_position(f->lf, 0, &inode, &offset), 0);   /* opened, nothing read */
	assert_int_equal(offset, 0);
	fx_poll(f);
	recorder_clear(&f->rec);
	assert_int_equal(lease_follow_position(f->lf, 0, &inode, &offset), 0);
	assert_int_equal(offset, strlen(V4_HEADER) + 56);
	lease_follow_free(f->lf);
	/* while down: one more lease */
	put(f->path, "a", "100.64.0.11,02:00:00:00:00:02,,600,1796414843,1,0,0,,0,\n");
	assert_non_null(f->lf = lease_follow_new(LEASE_ID_HWADDR, record, &f->rec));
	assert_int_equal(lease_follow_add(f->lf, f->path, true, inode, offset), 0);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414243-1796414843", NULL);
	assert_int_equal(lease_follow_stats(f->lf)->malformed[KEA_E_NO_HEADER], 0);

	/* down again; Kea's cleanup renamed the file to PATH.1 and is not done: its rest, then PATH */
	assert_int_equal(lease_follow_position(f->lf, 0, &inode, &offset), 0);
	lease_follow_free(f->lf);
	put(f->path, "a", "100.64.0.12,02:00:00:00:00:03,,600,1796414843,1,0,0,,0,\n");
	assert_int_equal(rename(f->path, fx_name(f, ".1")), 0);
	put(f->path, "w", V4_HEADER "100.64.0.13,02:00:00:00:00:04,,600,1796414843,1,0,0,,0,\n");
	assert_non_null(f->lf = lease_follow_new(LEASE_ID_HWADDR, record, &f->rec));
	assert_int_equal(lease_follow_add(f->lf, f->path, true, inode, offset), 0);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.12/32 hwaddr=02:00:00:00:00:03 1796414243-1796414843",
	    "lease 100.64.0.13/32 hwaddr=02:00:00:00:00:04 1796414243-1796414843", NULL);
}

/*
 * Down while a cleanup ran to its end: the file we were in is gone, merged into PATH.2.
 * PATH.2 then PATH are read again (replayed); the latest event per address is the same as
 * before the restart, so nothing that matters is lost or applied twice.
 */
static void
test_restart_after_lfc(void **state)
{
	struct fx *f = *state;
	uint64_t inode, offset;

	put(f->path, "w", V4_HEADER "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,,0,\n"
	    "100.64.0.11,02:00:00:00:00:02,,600,1796414843,1,0,0,,0,\n");
	fx_follow(f, LEASE_ID_HWADDR);
	fx_poll(f);
	assert_int_equal(f->rec.count, 2);
	recorder_clear(&f->rec);
	assert_int_equal(lease_follow_position(f->lf, 0, &inode, &offset), 0);
	lease_follow_free(f->lf);
	f->lf = NULL;
	/* the cleanup, whole: PATH.1 merged into PATH.2, a new PATH with a renewal and a new lease */
	assert_int_equal(rename(f->path, fx_name(f, ".2")), 0);
	put(f->path, "w", V4_HEADER "100.64.0.11,02:00:00:00:00:02,,600,1796415000,1,0,0,,0,\n"
	    "100.64.0.12,02:00:00:00:00:03,,600,1796414843,1,0,0,,0,\n");
	assert_non_null(f->lf = lease_follow_new(LEASE_ID_HWADDR, record, &f->rec));
	assert_int_equal(lease_follow_add(f->lf, f->path, true, inode, offset), 0);
	assert_int_equal(lease_follow_position(f->lf, 0, &inode, &offset), -EAGAIN);  /* keep the old one meanwhile */
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01 1796414243-1796414843 replay",
	    "lease 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414243-1796414843 replay",
	    "lease 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414400-1796415000 replay",
	    "lease 100.64.0.12/32 hwaddr=02:00:00:00:00:03 1796414243-1796414843 replay", NULL);
	assert_int_equal(lease_follow_stats(f->lf)->replayed_files, 1);
	assert_int_equal(lease_follow_position(f->lf, 0, &inode, &offset), 0);

	/* read everything once more from nothing: the same events in the same order */
	fx_follow(f, LEASE_ID_HWADDR);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01 1796414243-1796414843 replay",
	    "lease 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414243-1796414843 replay",
	    "lease 100.64.0.11/32 hwaddr=02:00:00:00:00:02 1796414400-1796415000 replay",
	    "lease 100.64.0.12/32 hwaddr=02:00:00:00:00:03 1796414243-1796414843 replay", NULL);
}

/* Two files, DHCPv4 and DHCPv6, in one follower: each by its own header. */
static void
test_two_files(void **state)
{
	struct fx *f = *state;
	char v6[160];

	snprintf(v6, sizeof(v6), "%s/kea-leases6.csv", f->dir);
	put(f->path, "w", V4_HEADER "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,,0,\n");
	put(v6, "w", V6_HEADER "2001:db8:10::100," DUID ",600,1796414905,1,300,0,1,128,0,0,,,0,,1,2\n");
	fx_follow(f, LEASE_ID_CLIENT_ID);
	assert_int_equal(lease_follow_add(f->lf, v6, false, 0, 0), 0);
	fx_poll(f);
	expect_events(&f->rec, "lease 100.64.0.10/32 hwaddr=02:00:00:00:00:01(fallback) 1796414243-1796414843 replay",
	    "lease 2001:db8:10::100/128 client-id=" DUID " 1796414305-1796414905 replay", NULL);
	assert_int_equal(lease_follow_count(f->lf), 2);
	assert_string_equal(lease_follow_path(f->lf, 1), v6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v4_lease_renew_release_expiry, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_v6_address_and_prefix, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_relay_ids, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_subscriber_circuit_id, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_real_relayed_leases, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_counted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_partial_last_line, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lfc_cycle, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lfc_real, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_resume, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_after_lfc, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_two_files, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
