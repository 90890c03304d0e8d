/*
 * test_background.c — background threads below the event loop (common/background.h): a
 * thread that enters the background goes down by the steps set, alone (the thread that
 * started it keeps its nice value), never past the kernel's lowest priority, and not at all
 * when the steps are 0. lazaretd's own threads are checked by tests/integration/test_daemon.sh.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/background.h"

struct entered {
	int rc;
	int before, after;      /* the thread's nice value */
};

static int
own_nice(void)
{
	errno = 0;
	int n = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	assert_false(n == -1 && errno != 0);
	return n;
}

static void *
enter(void *arg)
{
	struct entered *e = arg;

	e->before = own_nice();
	e->rc = background_enter();
	e->after = own_nice();
	return NULL;
}

/* A thread started now enters the background; what it saw. */
static struct entered
run_thread(void)
{
	struct entered e = { -1, 0, 0 };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, enter, &e), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	return e;
}

static void
test_steps_down(void **state)
{
	(void)state;
	int mine = own_nice();

	background_set_nice(5);
	assert_int_equal(background_nice(), 5);
	struct entered e = run_thread();
	assert_int_equal(e.rc, 0);
	assert_int_equal(e.before, mine);       /* a new thread starts at its creator's */
	assert_int_equal(e.after, mine + 5 > BACKGROUND_NICE_MAX ? BACKGROUND_NICE_MAX : mine + 5);
	assert_int_equal(own_nice(), mine);     /* the loop's thread stays where it was */
}

static void
test_zero_is_nothing(void **state)
{
	(void)state;
	int mine = own_nice();

	background_set_nice(0);
	struct entered e = run_thread();
	assert_int_equal(e.rc, 0);
	assert_int_equal(e.after, mine);
}

/* More steps than there are: the lowest priority, and a thread there stays there. */
static void
test_clamped(void **state)
{
	(void)state;
	background_set_nice(40);
	assert_int_equal(background_nice(), BACKGROUND_NICE_MAX);
	struct entered e = run_thread();
	assert_int_equal(e.rc, 0);
	assert_int_equal(e.after, BACKGROUND_NICE_MAX);
	/* from a thread at 19 already: nothing to do, and no error */
	assert_int_equal(background_enter(), 0);
	assert_int_equal(background_enter(), 0);
	assert_int_equal(own_nice(), BACKGROUND_NICE_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_down),
		cmocka_unit_test(test_zero_is_nothing),
		cmocka_unit_test(test_clamped),  /* last: it puts this thread at 19 */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
