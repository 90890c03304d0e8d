/*
 * test_priv.c — privilege separation: what the privileged helper accepts from the main
 * process (every field checked, each kind of corruption refused), the request/answer
 * round trip over a socketpair against the logging backend (a refused request leaves
 * the channel usable, a broken frame closes it), the system call filters (the main
 * process: threads and a plain fork, but no namespace, ptrace, execve or packet socket;
 * the portal's front: no open, fork or new IP socket), and, as root, the drop to
 * another user with one capability kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "act/enforce_priv.h"
#include "common/sandbox.h"

#define SEC(n) ((usec_t)(n) * USEC_PER_SEC)

static struct cidr
C(const char *text)
{
	struct cidr c;

	assert_int_equal(cidr_parse(text, &c), 0);
	return c;
}

static void
config_of(struct enforce_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->table, "lazaret_test1");
	cfg->subscribers[cfg->subscriber_count++] = C("10.77.0.0/16");
	cfg->subscribers[cfg->subscriber_count++] = C("fd77::/48");
	cfg->resolvers[cfg->resolver_count++] = C("10.0.0.53/32").addr;
	cfg->remediation[cfg->remediation_count++] = (struct enforce_dest){ .net = C("198.18.0.0/24"), .port = 80,
	    .proto = IPPROTO_TCP };
	cfg->portal_v4 = C("10.0.0.80/32").addr;
	cfg->portal_port = 8080;
	cfg->element_timeout = SEC(3600);
}

/* A setup request for cfg with two entries, as one buffer (payload after the header). */
struct setup_msg {
	struct enforce_priv_request rq;
	struct enforce_config cfg;
	struct enforce_entry e[2];
};

static void
setup_of(struct setup_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->rq = (struct enforce_priv_request){ .magic = ENFORCE_PRIV_MAGIC, .op = ENFORCE_PRIV_SETUP, .nadd = 2 };
	config_of(&m->cfg);
	m->e[0] = (struct enforce_entry){ .net = C("10.77.1.2/32"), .timeout = SEC(60) };
	m->e[1] = (struct enforce_entry){ .net = C("fd77:0:0:5::/64"), .fresh = true };
}

static int
check(const struct setup_msg *m, char *why)
{
	return enforce_priv_check(&m->rq, &m->cfg, sizeof(m->cfg) + sizeof(m->e), why, 256);
}

static void
test_check_accepts_and_refuses(void **state)
{
	struct setup_msg m;
	char why[256];

	(void)state;
	setup_of(&m);
	assert_int_equal(check(&m, why), 0);

	/* each corruption alone is refused */
#define REFUSED(mutate, what) do { setup_of(&m); mutate; why[0] = '\0'; \
	assert_int_equal(check(&m, why), -EINVAL); \
	if (strstr(why, what) == NULL) fail_msg("%s: got \"%s\"", #mutate, why); } while (0)
	REFUSED(m.rq.magic = 1, "magic");
	REFUSED(m.rq.op = 9, "operation");
	REFUSED(m.rq.op = 0, "operation");
	REFUSED(m.rq.nadd = 3, "payload");
	REFUSED(m.rq.nadd = ENFORCE_PRIV_MAX_ELEMENTS + 1, "more than");
	REFUSED(m.rq.ndel = 1, "does not take");
	REFUSED(strcpy(m.cfg.table, "x; flush ruleset"), "table name");
	REFUSED(strcpy(m.cfg.table, "1lazaret"), "table name");
	REFUSED(strcpy(m.cfg.table, "laz-aret"), "table name");
	REFUSED(memset(m.cfg.table, 'a', sizeof(m.cfg.table)), "not terminated");
	REFUSED(m.cfg.table[0] = '\0', "empty");
	REFUSED(m.cfg.subscriber_count = ENFORCE_MAX_LIST + 1, "longer");
	REFUSED(m.cfg.subscribers[0].prefix = 8, "out of range");          /* 10.77.0.0/8 is not masked */
	REFUSED(m.cfg.subscribers[1].prefix = 129, "out of range");
	REFUSED(m.cfg.resolvers[0].bytes[9] = 1, "out of range");          /* IPv4 with bytes after its 4 */
	REFUSED(m.cfg.resolvers[0].family = 99, "out of range");
	REFUSED(m.cfg.remediation[0].proto = 1, "out of range");
	REFUSED(m.cfg.portal_v4.family = AF_INET6, "out of range");
	REFUSED(m.cfg.element_timeout = SEC(1000) * 24 * 3600, "timeout");
	REFUSED(m.e[0].net = C("10.77.1.0/24"), "entry 0");
	REFUSED(m.e[1].net = C("fd77::/48"), "entry 1");
	REFUSED(m.e[0].timeout = SEC(500) * 24 * 3600, "entry 0");
	REFUSED(memset((char *)&m.e[1] + offsetof(struct enforce_entry, fresh), 2, 1), "entry 1");
	REFUSED((m.e[0].net.prefix = 31, m.e[0].net.addr.bytes[3] = 3), "entry 0");

	/* removals: networks only */
	struct {
		struct enforce_priv_request rq;
		struct cidr del[1];
	} a = { { ENFORCE_PRIV_MAGIC, ENFORCE_PRIV_APPLY, 0, 1 }, { C("10.77.1.2/32") } };
	assert_int_equal(enforce_priv_check(&a.rq, a.del, sizeof(a.del), why, sizeof(why)), 0);
	a.del[0].prefix = 40;
	assert_int_equal(enforce_priv_check(&a.rq, a.del, sizeof(a.del), why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "removal 0"));
	a.del[0] = C("10.77.0.0/16");      /* a network, but not a host the sets hold */
	assert_int_equal(enforce_priv_check(&a.rq, a.del, sizeof(a.del), why, sizeof(why)), -EINVAL);
}

struct server {
	int fd;
	void *be;
	int rc;
};

static void *
serve_thread(void *arg)
{
	struct server *s = arg;

	s->rc = enforce_priv_serve(s->fd, &enforce_none_ops, s->be);
	close(s->fd);
	return NULL;
}

static void
test_round_trip(void **state)
{
	struct server srv = { .be = enforce_none_new() };
	struct enforce_config cfg;
	struct enforce_entry e[2] = { { .net = C("10.77.1.2/32") }, { .net = C("fd77:0:0:5::/64") } };
	struct cidr del = C("10.77.1.2/32"), *list = NULL;
	char err[256];
	size_t n = 0;
	pthread_t t;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	srv.fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, serve_thread, &srv), 0);
	void *be = enforce_priv_new(sv[0]);
	config_of(&cfg);

	if (enforce_priv_ops.setup(be, &cfg, e, 2, err, sizeof(err)) != 0)
		fail_msg("setup: %s", err);
	if (enforce_priv_ops.list(be, &list, &n, err, sizeof(err)) != 0)
		fail_msg("list: %s", err);
	assert_int_equal(n, 2);
	free(list);
	if (enforce_priv_ops.apply(be, NULL, 0, &del, 1, err, sizeof(err)) != 0)
		fail_msg("apply: %s", err);
	if (enforce_priv_ops.list(be, &list, &n, err, sizeof(err)) != 0)
		fail_msg("list: %s", err);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].prefix, 64);
	free(list);

	/* a hostile entry is refused with the reason, and the channel goes on */
	struct enforce_entry bad = { .net = C("10.0.0.0/8") };
	assert_int_equal(enforce_priv_ops.apply(be, &bad, 1, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refused"));
	assert_int_equal(enforce_priv_ops.reconcile(be, e, 1, err, sizeof(err)), 0);
	if (enforce_priv_ops.list(be, &list, &n, err, sizeof(err)) != 0)
		fail_msg("list: %s", err);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].prefix, 32);
	free(list);

	/* a frame that cannot be followed closes the channel: the helper is gone for us */
	struct enforce_priv_request junk = { .magic = 0xdeadbeef };
	assert_int_equal(write(sv[0], &junk, sizeof(junk)), (ssize_t)sizeof(junk));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(srv.rc, -1);
	assert_int_equal(enforce_priv_ops.list(be, &list, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gone"));
	enforce_priv_ops.free(be);
	enforce_none_ops.free(srv.be);
}

static void *
thread_ok(void *arg)
{
	return arg;
}

/* Runs what in a child under profile's filter; its wait status. */
static int
in_filtered_child(enum sandbox_profile profile, int what)
{
	char err[256];
	pid_t pid = fork();

	if (pid == 0) {
		if (sandbox_seccomp(profile, SECCOMP_MODE_KILL, err, sizeof(err)) != 0)
			_exit(90);
		if (getpid() <= 0)
			_exit(91);
		pthread_t t;
		switch (what) {
		case 0: /* what the daemon does: threads, files, sockets */
			if (pthread_create(&t, NULL, thread_ok, NULL) != 0 || pthread_join(t, NULL) != 0)
				_exit(92);
			int s = socket(AF_INET6, SOCK_STREAM, 0);
			if (s < 0 || close(s) != 0)
				_exit(93);
			_exit(0);
		case 1: /* a process, yes (the portal's front); in a new namespace, no */
			if (fork() == 0)
				_exit(0);
			(void)unshare(CLONE_NEWNET);
			_exit(0);
		case 2:
			(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
			_exit(0);
		case 3:
			execl("/bin/true", "true", (char *)NULL);
			_exit(0);
		case 4: /* packet sockets: not ours */
			(void)socket(AF_PACKET, SOCK_RAW, 0);
			_exit(0);
		case 5: /* clone3 says ENOSYS rather than killing (glibc then uses clone) */
			_exit(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS ? 0 : 94);
		case 6: /* the portal's front: its channel and sockets, nothing else */
			if (write(1, "", 0) != 0 || time(NULL) == (time_t)-1)
				_exit(96);
			_exit(0);
		case 7:
			(void)open("/etc/hostname", O_RDONLY);
			_exit(0);
		case 8:
			(void)fork();
			_exit(0);
		case 9:
			(void)socket(AF_INET, SOCK_STREAM, 0);
			_exit(0);
		}
		_exit(95);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
test_seccomp(void **state)
{
	(void)state;
	if (!sandbox_seccomp_supported())
		skip();      /* sanitizer builds install no filter */
	static const struct { enum sandbox_profile profile; int what; bool killed; } cases[] = {
		{ SANDBOX_MAIN, 0, false }, { SANDBOX_MAIN, 1, true }, { SANDBOX_MAIN, 2, true },
		{ SANDBOX_MAIN, 3, true }, { SANDBOX_MAIN, 4, true }, { SANDBOX_MAIN, 5, false },
		{ SANDBOX_PORTAL, 6, false }, { SANDBOX_PORTAL, 7, true }, { SANDBOX_PORTAL, 8, true },
		{ SANDBOX_PORTAL, 9, true }, { SANDBOX_PORTAL, 3, true }, { SANDBOX_PORTAL, 2, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = in_filtered_child(cases[i].profile, cases[i].what);
		if (cases[i].killed && (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS))
			fail_msg("profile %d case %d: not killed by SIGSYS (status 0x%x)", cases[i].profile, cases[i].what, st);
		if (!cases[i].killed && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
			fail_msg("profile %d case %d: did not run (status 0x%x)", cases[i].profile, cases[i].what, st);
	}
}

/* The value of a "Name:\t..." line of /proc/self/status. */
static unsigned long long
status_hex(const char *name)
{
	char line[256];
	unsigned long long v = ~0ull;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, strlen(name)) && line[strlen(name)] == ':')
			v = strtoull(line + strlen(name) + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static void
test_drop_as_root(void **state)
{
	struct sandbox_user u;
	char err[256];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(sandbox_user_lookup("root", &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is root"));
	assert_int_equal(sandbox_user_lookup("no-such-user-lz", &u, err, sizeof(err)), -1);
	assert_int_equal(sandbox_user_lookup("", &u, err, sizeof(err)), 0);
	assert_false(u.change);
	assert_int_equal(sandbox_user_lookup("nobody", &u, err, sizeof(err)), 0);
	assert_true(u.change);

	pid_t pid = fork();
	if (pid == 0) {
		static const int keep[] = { CAP_NET_ADMIN };
		if (sandbox_drop(&u, keep, 1, err, sizeof(err)) != 0)
			_exit(80);
		if (getuid() != u.uid || geteuid() != u.uid || getgid() != u.gid)
			_exit(81);
		if (status_hex("CapEff") != 1ull << CAP_NET_ADMIN || status_hex("CapPrm") != 1ull << CAP_NET_ADMIN)
			_exit(82);
		if (status_hex("CapInh") != 0 || status_hex("CapAmb") != 0)
			_exit(83);
		if ((status_hex("CapBnd") & ~(1ull << CAP_NET_ADMIN)) != 0)
			_exit(84);
		if (status_hex("NoNewPrivs") != 1)
			_exit(85);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_accepts_and_refuses),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_drop_as_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
