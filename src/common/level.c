/*
 * level.c — names of the verdict levels.
 */
#include "common/level.h"

#include <string.h>

static const char *const level_names[LEVEL_COUNT] = {
	"normal", "watch", "throttle", "quarantine", "suspend",
};

const char *
level_name(int level)
{
	if (level < 0 || level >= LEVEL_COUNT)
		return "invalid";
	return level_names[level];
}

int
level_parse(const char *name)
{
	for (int i = 0; i < LEVEL_COUNT; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}
