/*
 * sandbox.c — see sandbox.h.
 */
#include "common/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/sched.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifndef SANDBOX_SANITIZED
#define SANDBOX_SANITIZED 0
#endif

int
sandbox_user_lookup(const char *name, struct sandbox_user *u, char *err, size_t errlen)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (name == NULL || *name == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errlen, "user %s: %s", name, errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s: is root; name an unprivileged user (adduser --system lazaret)", name);
		return -1;
	}
	if (geteuid() != 0 && geteuid() != pw->pw_uid) {
		snprintf(err, errlen, "user %s: lazaretd runs as uid %u and cannot become uid %u; start it as root "
		    "or as %s", name, (unsigned)geteuid(), (unsigned)pw->pw_uid, name);
		return -1;
	}
	u->change = geteuid() != pw->pw_uid;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", name);
	return 0;
}

/* The process's own last words before it runs with less: no gaining any back, no core. */
static int
sandbox_lock(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_drop(const struct sandbox_user *u, const int *caps, size_t ncaps, char *err, size_t errlen)
{
	int rc;

	capng_get_caps_process();
	bool may_bound = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	if (!u->change && capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
		return sandbox_lock(err, errlen);        /* an ordinary user: nothing to give up */
	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < ncaps; i++)
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, (unsigned)caps[i]) != 0) {
			snprintf(err, errlen, "capability %d: unknown to libcap-ng", caps[i]);
			return -1;
		}
	if (u->change) {
		int flags = CAPNG_INIT_SUPP_GRP | (may_bound ? CAPNG_CLEAR_BOUNDING : 0);
#ifdef CAPNG_CLEAR_AMBIENT
		flags |= CAPNG_CLEAR_AMBIENT;
#endif
		if ((rc = capng_change_id((int)u->uid, (int)u->gid, flags)) != 0) {
			snprintf(err, errlen, "cannot become user %s (uid %u, gid %u): libcap-ng error %d (%s)", u->name,
			    (unsigned)u->uid, (unsigned)u->gid, rc, strerror(errno));
			return -1;
		}
	} else if ((rc = capng_apply(may_bound ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS)) != 0) {
		snprintf(err, errlen, "cannot drop capabilities: libcap-ng error %d (%s)", rc, strerror(errno));
		return -1;
	}
#ifdef PR_CAP_AMBIENT
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
#endif
	return sandbox_lock(err, errlen);
}

bool
sandbox_seccomp_supported(void)
{
	return !SANDBOX_SANITIZED;
}

/*
 * What the main process calls, found with strace -f over the integration tests
 * (policy, API, portal, mail log, store, garden, reload, shutdown) and glibc's own
 * needs (getaddrinfo for remediation names, syslog, dlopen'ed NSS modules). Not
 * there on purpose: execve, ptrace, mount, setuid and friends, namespaces (clone
 * is allowed without CLONE_NEW* flags: threads, and the portal's front), bpf,
 * module and key calls, io_uring.
 */
static const char *const sandbox_main_calls[] = {
	/* files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"open", "openat", "close", "close_range", "stat", "fstat", "lstat", "newfstatat", "statx", "statfs",
	"fstatfs", "lseek", "fsync", "fdatasync", "ftruncate", "fallocate", "fadvise64", "fcntl", "flock",
	"ioctl", "dup", "dup2", "dup3", "pipe", "pipe2", "rename", "renameat", "renameat2", "unlink",
	"unlinkat", "mkdir", "mkdirat", "rmdir", "readlink", "readlinkat", "getdents64", "access",
	"faccessat", "faccessat2", "chmod", "fchmod", "fchmodat", "fchown", "chown", "fchownat", "lchown",
	"umask", "getcwd", "utimensat", "futimesat", "symlink", "link", "linkat",
	"inotify_init1", "inotify_add_watch", "inotify_rm_watch", "sendfile", "copy_file_range",
	/* memory */
	"mmap", "munmap", "mremap", "mprotect", "brk", "madvise", "mincore",
	/* sockets (the domains are checked below) */
	"bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "setsockopt",
	"getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
	/* waiting */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll",
	"ppoll", "select", "pselect6", "eventfd", "eventfd2", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "signalfd", "signalfd4", "futex", "futex_waitv", "nanosleep", "clock_nanosleep",
	"sched_yield", "restart_syscall",
	/* threads (clone only with CLONE_THREAD, below) */
	"set_robust_list", "get_robust_list", "set_tid_address", "rseq", "exit", "exit_group",
	"sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_getscheduler", "getpriority",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigpending", "rt_sigsuspend",
	"sigaltstack", "kill", "tgkill", "tkill", "wait4", "waitid",
	/* who, what time */
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid",
	"getresgid", "getpgrp", "getpgid", "getsid", "clock_gettime", "clock_getres", "gettimeofday", "time",
	"getrandom", "uname", "sysinfo", "getrlimit", "prlimit64", "getrusage", "times", "prctl", "arch_prctl",
	"capget", "membarrier",
	"seccomp",            /* filters only ever narrow: the portal's front adds its own */
};

/*
 * The portal's front, on top of the main process's list (filters stack): serving the
 * connections libmicrohttpd accepts on a socket it was given and talking to the desk.
 * No open(), so no file at all — the store included; no new sockets but a Unix one
 * (syslog reconnecting), no connect elsewhere that matters, no fork, no threads.
 */
static const char *const sandbox_portal_calls[] = {
	"read", "write", "readv", "writev", "close", "fstat", "newfstatat", "lseek", "fcntl",
	"accept", "accept4", "recvfrom", "recvmsg", "sendto", "sendmsg", "shutdown", "setsockopt", "getsockopt",
	"getsockname", "getpeername", "connect",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
	"mmap", "munmap", "mremap", "mprotect", "brk", "madvise", "futex",
	"clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep", "sched_yield",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getrandom",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill", "restart_syscall",
	"exit", "exit_group",
};

static int
seccomp_allow(scmp_filter_ctx ctx, const char *name, unsigned n, const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;        /* not a call on this architecture */
	return n ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp) : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

int
sandbox_seccomp(enum sandbox_profile profile, enum seccomp_mode mode, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc = 0;

	if (mode == SECCOMP_MODE_OFF || SANDBOX_SANITIZED)
		return 0;
	if ((ctx = seccomp_init(mode == SECCOMP_MODE_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp: cannot make a filter");
		return -1;
	}
	if (profile == SANDBOX_PORTAL) {
		for (size_t i = 0; rc == 0 && i < sizeof(sandbox_portal_calls) / sizeof(sandbox_portal_calls[0]); i++)
			rc = seccomp_allow(ctx, sandbox_portal_calls[i], 0, NULL);
		/* libuv makes descriptors non-blocking and close-on-exec with ioctl */
		struct scmp_arg_cmp nbio = SCMP_A1(SCMP_CMP_EQ, FIONBIO), clex = SCMP_A1(SCMP_CMP_EQ, FIOCLEX);
		struct scmp_arg_cmp unix_only = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
		if (rc == 0)
			rc = seccomp_allow(ctx, "ioctl", 1, &nbio);
		if (rc == 0)
			rc = seccomp_allow(ctx, "ioctl", 1, &clex);
		if (rc == 0)
			rc = seccomp_allow(ctx, "socket", 1, &unix_only);
		goto load;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(sandbox_main_calls) / sizeof(sandbox_main_calls[0]); i++)
		rc = seccomp_allow(ctx, sandbox_main_calls[i], 0, NULL);
	/* threads and plain processes (the portal's front), never new namespaces */
	struct scmp_arg_cmp no_ns = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID |
	    CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, 0);
	if (rc == 0)
		rc = seccomp_allow(ctx, "clone", 1, &no_ns);
	/* a background thread's own nice value (common/background.h: lowering needs no privilege,
	 * and without CAP_SYS_NICE, dropped by now, no thread can go above the others) */
	struct scmp_arg_cmp prio_process = SCMP_A0(SCMP_CMP_EQ, PRIO_PROCESS);
	if (rc == 0)
		rc = seccomp_allow(ctx, "setpriority", 1, &prio_process);
	/* clone3's flags are in memory a filter cannot read: ENOSYS, and glibc falls back to clone */
	if (rc == 0 && seccomp_syscall_resolve_name("clone3") != __NR_SCMP_ERROR)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0);
	/* Unix (API, syslog, sd_notify), IPv4 and IPv6, netlink for getaddrinfo's AI_ADDRCONFIG */
	static const int domains[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };
	for (size_t i = 0; rc == 0 && i < sizeof(domains) / sizeof(domains[0]); i++) {
		struct scmp_arg_cmp d = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i]);
		rc = seccomp_allow(ctx, "socket", 1, &d);
		if (rc == 0 && domains[i] == AF_UNIX)
			rc = seccomp_allow(ctx, "socketpair", 1, &d);
	}
load:
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp: cannot install the filter: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
