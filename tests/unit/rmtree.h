/*
 * rmtree.h — remove a test's temporary directory and everything in it, without a shell
 * (the path goes to no command line). Header-only: each test program includes it.
 */
#ifndef LAZARET_TESTS_RMTREE_H
#define LAZARET_TESTS_RMTREE_H

#include <ftw.h>
#include <stdio.h>

static int
rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* 0, or -1 with errno set by the first remove(3) that failed. */
static inline int
rmtree(const char *dir)
{
	return nftw(dir, rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
