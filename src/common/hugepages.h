/*
 * hugepages.h — malloc's memory in transparent huge pages (THP).
 *
 * A mass quarantine grows every node's memory by hundreds of megabytes within seconds: a
 * subject, its evidence, the other nodes' parts, 1.7 kB each. The first touch of each 4 kB
 * page is a fault, and on a virtual machine a fault costs microseconds: a fifth of each
 * event loop's time in the bench's burst of 100 000 quarantines (bench/README, "Huge
 * pages"). glibc (2.35 on) asks the kernel for huge pages for malloc's memory when its
 * tunable glibc.malloc.hugetlb=1 is set, a fault then bringing 2 MB, but reads its tunables
 * only when a program starts: lazaretd runs itself again with it set.
 */
#ifndef LAZARET_COMMON_HUGEPAGES_H
#define LAZARET_COMMON_HUGEPAGES_H

#include <stdbool.h>
#include <stddef.h>

#define HUGEPAGES_TUNABLE "glibc.malloc.hugetlb"
/* In the environment of the run started by hugepages_exec only (it takes it out). */
#define HUGEPAGES_RUN_MARK "LAZARETD_HUGEPAGES_RUN"

/*
 * hugepages_tunables — old (the GLIBC_TUNABLES value, NULL when unset) with
 * glibc.malloc.hugetlb=1 added, into out. 0; -EEXIST when old names glibc.malloc.hugetlb
 * already (whatever its value: the operator's or an earlier run's choice stands);
 * -ENAMETOOLONG when it does not fit.
 */
int hugepages_tunables(const char *old, char *out, size_t outlen);

/*
 * hugepages_kernel_never — the kernel's THP setting (the file at path, normally
 * /sys/kernel/mm/transparent_hugepage/enabled) is "never", or the file is missing or
 * unreadable (a kernel without THP): there is nothing to ask for.
 */
bool hugepages_kernel_never(const char *path);

/*
 * hugepages_exec — unless GLIBC_TUNABLES names the tunable already, the kernel has no THP
 * to give, or this is the run it started (HUGEPAGES_RUN_MARK: never twice, whatever glibc
 * made of the variable), sets it and runs this program again (execv of /proc/self/exe with argv:
 * the same process, its descriptors and arguments). Returns only when it did not: 0 when
 * there was nothing to do, else -errno with GLIBC_TUNABLES as it was and what failed in err.
 * Call it before any thread or listener exists.
 */
int hugepages_exec(char **argv, char *err, size_t errlen);

/*
 * hugepages_restore_name — run again through /proc/self/exe, the process is named "exe"
 * (the kernel names it after the file executed): back to argv[0]'s last component, as a
 * first exec named it (ps, pgrep, top). Does nothing in a process not named "exe".
 */
void hugepages_restore_name(const char *argv0);

/* hugepages_state — for the start line: "on" when this process runs with the tunable
 * at 1, else what keeps it off. */
const char *hugepages_state(bool wanted);

#endif
