/*
 * test_hugepages.c — what lazaretd sets GLIBC_TUNABLES to before it runs itself again
 * (common/hugepages.h), how it reads the kernel's THP setting, and its process name after
 * a run through /proc/self/exe. The run itself is tests/integration/test_daemon.sh's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hugepages.h"

/* The tunable is added to what is there, once, and never over another value of its own. */
static void
test_tunables(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(hugepages_tunables(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "glibc.malloc.hugetlb=1");
	assert_int_equal(hugepages_tunables("", out, sizeof(out)), 0);
	assert_string_equal(out, "glibc.malloc.hugetlb=1");
	assert_int_equal(hugepages_tunables("glibc.malloc.arena_max=2", out, sizeof(out)), 0);
	assert_string_equal(out, "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
	/* set already, by a run before (1) or by the operator (0: off, 2: hugetlbfs pages) */
	assert_int_equal(hugepages_tunables("glibc.malloc.hugetlb=1", out, sizeof(out)), -EEXIST);
	assert_int_equal(hugepages_tunables("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0", out, sizeof(out)),
	    -EEXIST);
	assert_int_equal(hugepages_tunables("glibc.malloc.hugetlb=2:glibc.malloc.arena_max=2", out, sizeof(out)),
	    -EEXIST);
	/* a longer name that begins the same is another tunable */
	assert_int_equal(hugepages_tunables("glibc.malloc.hugetlbx=1", out, sizeof(out)), 0);
	assert_string_equal(out, "glibc.malloc.hugetlbx=1:glibc.malloc.hugetlb=1");
	/* too long: refused, not cut */
	assert_int_equal(hugepages_tunables("glibc.malloc.arena_max=2:glibc.malloc.arena_test=2", out, 40),
	    -ENAMETOOLONG);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The kernel's setting as /sys/kernel/mm/transparent_hugepage/enabled shows it. */
static void
test_kernel_setting(void **state)
{
	char path[] = "/tmp/lazaret-test-thp-XXXXXX";
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	write_file(path, "always [madvise] never\n");
	assert_false(hugepages_kernel_never(path));
	write_file(path, "[always] madvise never\n");
	assert_false(hugepages_kernel_never(path));
	write_file(path, "always madvise [never]\n");
	assert_true(hugepages_kernel_never(path));
	unlink(path);
	assert_true(hugepages_kernel_never(path));          /* no THP in this kernel */
}

/* What the start line says. */
static void
test_state(void **state)
{
	(void)state;
	assert_string_equal(hugepages_state(false), "off ([daemon] huge_pages = no)");
	if (hugepages_kernel_never("/sys/kernel/mm/transparent_hugepage/enabled"))
		skip();
	assert_int_equal(setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1", 1), 0);
	assert_string_equal(hugepages_state(true), "on");
	assert_int_equal(setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1), 0);
	assert_string_equal(hugepages_state(true), "as the environment's GLIBC_TUNABLES sets glibc.malloc.hugetlb");
	assert_int_equal(setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=10", 1), 0);
	assert_string_equal(hugepages_state(true), "as the environment's GLIBC_TUNABLES sets glibc.malloc.hugetlb");
	assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
	assert_string_equal(hugepages_state(true), "off (not set)");
}

/* Named "exe" (run through /proc/self/exe), the process takes argv[0]'s last component;
 * under any other name it keeps it. */
static void
test_restore_name(void **state)
{
	char name[16];

	(void)state;
	assert_int_equal(prctl(PR_SET_NAME, "test_hugepages"), 0);
	hugepages_restore_name("/usr/sbin/lzb-relay-a");
	assert_int_equal(prctl(PR_GET_NAME, name), 0);
	assert_string_equal(name, "test_hugepages");

	assert_int_equal(prctl(PR_SET_NAME, "exe"), 0);
	hugepages_restore_name("/usr/sbin/lzb-relay-a");
	assert_int_equal(prctl(PR_GET_NAME, name), 0);
	assert_string_equal(name, "lzb-relay-a");

	assert_int_equal(prctl(PR_SET_NAME, "exe"), 0);
	hugepages_restore_name("lazaretd-with-a-long-name");
	assert_int_equal(prctl(PR_GET_NAME, name), 0);
	assert_string_equal(name, "lazaretd-with-a");     /* 15 bytes, as exec cuts it */
}

/* The run started by hugepages_exec does not start another, whatever its GLIBC_TUNABLES
 * (a glibc in secure mode may drop it): it takes the mark out and goes on. */
static void
test_run_once(void **state)
{
	char err[128] = "", *argv[] = { "test_hugepages", NULL };

	(void)state;
	assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
	assert_int_equal(setenv(HUGEPAGES_RUN_MARK, "1", 1), 0);
	assert_int_equal(hugepages_exec(argv, err, sizeof(err)), 0);     /* returned: no exec */
	assert_null(getenv(HUGEPAGES_RUN_MARK));
	assert_null(getenv("GLIBC_TUNABLES"));
	assert_string_equal(err, "");
	/* the tunable named already: nothing to do either */
	assert_int_equal(setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1), 0);
	assert_int_equal(hugepages_exec(argv, err, sizeof(err)), 0);
	assert_string_equal(getenv("GLIBC_TUNABLES"), "glibc.malloc.hugetlb=0");
	assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tunables),
		cmocka_unit_test(test_kernel_setting),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_restore_name),
		cmocka_unit_test(test_run_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
