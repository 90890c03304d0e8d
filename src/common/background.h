/*
 * background.h — the daemon's background threads at a lower CPU priority than its event loop.
 *
 * The event loop answers Postfix, and a policy answer never waits for the store. Its
 * store's writer and the shared store's sync thread write down and pass on what the loop
 * decided; when thousands of verdicts come at once they take most of a CPU for a moment,
 * and on a machine with no CPU to spare the loop then waits behind them and its answers
 * with it. At a higher nice value they take what the loop leaves (bench/README, "Background
 * threads at nice +10"). RocksDB lowers its compaction threads' priority for the same reason.
 * Linux keeps a nice value per thread, and lowering one's own needs no privilege.
 */
#ifndef LAZARET_COMMON_BACKGROUND_H
#define LAZARET_COMMON_BACKGROUND_H

#define BACKGROUND_NICE_MAX 19   /* the kernel's lowest priority */

/* background_set_nice — how many steps of nice background threads started from now on go
 * below the thread that starts them ([daemon] background_nice; 0, the default until set:
 * none). Process-wide: call it before the store opens. */
void background_set_nice(unsigned steps);

/* background_nice — what background_set_nice set. */
unsigned background_nice(void);

/*
 * background_enter — the calling thread's nice value raised by background_nice() steps, at
 * most to BACKGROUND_NICE_MAX; a background thread calls it first thing. 0 (also when there
 * is nothing to do), or -errno when the kernel refused (the thread stays as it was).
 */
int background_enter(void);

#endif
