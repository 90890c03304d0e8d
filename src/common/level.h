/*
 * level.h — the graduated verdict every host and account carries.
 */
#ifndef LAZARET_COMMON_LEVEL_H
#define LAZARET_COMMON_LEVEL_H

enum level {
	LEVEL_NORMAL = 0,
	LEVEL_WATCH,
	LEVEL_THROTTLE,
	LEVEL_QUARANTINE,
	LEVEL_SUSPEND,     /* manual only: never reached from evidence */
	LEVEL_COUNT
};

/* "normal", "watch", ...; "invalid" for values out of range. */
const char *level_name(int level);

/* Parses a level name; returns the level or -1. */
int level_parse(const char *name);

#endif
