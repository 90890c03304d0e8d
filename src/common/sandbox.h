/*
 * sandbox.h — least privilege for lazaretd's processes (OpenBSD's privsep on Linux).
 *
 * lazaretd is started as root (by systemd or an init script) or as an ordinary user.
 * Each of its processes gives up, as early as it can, what it will never need: the
 * user (setresuid/setresgid to [daemon] user, with that user's supplementary groups,
 * so group adm can read the mail log), every capability but the ones named (libcap-ng:
 * permitted, effective, inheritable, ambient and, while we may, the bounding set), the
 * right to gain any back (PR_SET_NO_NEW_PRIVS: no set-uid exec, no file capabilities),
 * and its core dumps (PR_SET_DUMPABLE 0, which also keeps same-user processes from
 * ptrace'ing it). Then a seccomp filter (libseccomp) allows only the system calls the
 * process makes; any other kills the whole process (SIGSYS) or is only logged.
 */
#ifndef LAZARET_COMMON_SANDBOX_H
#define LAZARET_COMMON_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"

struct sandbox_user {
	bool change;          /* false: stay who we are */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/*
 * sandbox_user_lookup — the account [daemon] user names (name "" = none: change stays
 * false). Refused (-1, message in err): an unknown user, uid 0, or a name other than
 * our own when we are not root and so could not become it.
 */
int sandbox_user_lookup(const char *name, struct sandbox_user *u, char *err, size_t errlen);

/*
 * sandbox_drop — become u (when u->change) keeping exactly caps[0..ncaps) permitted
 * and effective, nothing inheritable or ambient, the bounding set cleared when we hold
 * CAP_SETPCAP; then no new privileges and no core dumps. Call it before any thread
 * is started (capabilities and ids are per thread). 0, or -1 with a message in err.
 */
int sandbox_drop(const struct sandbox_user *u, const int *caps, size_t ncaps, char *err, size_t errlen);

/* The system call lists, one per kind of process. */
enum sandbox_profile {
	SANDBOX_MAIN,         /* sensors, judge, store, API, portal desk: files, sockets, threads, fork */
	SANDBOX_PORTAL,       /* the portal's front: accepted connections and its channel only */
};

/*
 * sandbox_seccomp — install profile's filter on every thread of this process
 * (SECCOMP_FILTER_FLAG_TSYNC) in mode (SECCOMP_MODE_KILL: a call outside the list
 * kills the process; _LOG: the kernel logs it and lets it run; _OFF: no filter).
 * Sanitizer builds install none: ASan and LSan make calls of their own (ptrace,
 * execve of the symbolizer) that the list rightly refuses. 0, or -1 with err.
 */
int sandbox_seccomp(enum sandbox_profile profile, enum seccomp_mode mode, char *err, size_t errlen);

/* Whether sandbox_seccomp installs filters in this build (false under sanitizers). */
bool sandbox_seccomp_supported(void);

#endif
