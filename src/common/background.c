/*
 * background.c — the daemon's background threads at a lower CPU priority (background.h).
 */
#include "common/background.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_uint background_steps;

void
background_set_nice(unsigned steps)
{
	atomic_store(&background_steps, steps > BACKGROUND_NICE_MAX ? BACKGROUND_NICE_MAX : steps);
}

unsigned
background_nice(void)
{
	return atomic_load(&background_steps);
}

int
background_enter(void)
{
	unsigned steps = background_nice();
	/* PRIO_PROCESS with a thread's id is that thread alone (Linux: a nice value per thread) */
	id_t tid = (id_t)syscall(SYS_gettid);
	int now;

	if (steps == 0)
		return 0;
	errno = 0;
	if ((now = getpriority(PRIO_PROCESS, tid)) == -1 && errno != 0)
		return -errno;
	int want = now + (int)steps > BACKGROUND_NICE_MAX ? BACKGROUND_NICE_MAX : now + (int)steps;
	if (want <= now)
		return 0;
	return setpriority(PRIO_PROCESS, tid, want) == 0 ? 0 : -errno;
}
