/*
 * logfollow.c — the follower in logfollow.h: plain read(2) on a polled descriptor.
 */
#include "sense/logfollow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define LOGFOLLOW_CHUNK    (256 * 1024)
#define LOGFOLLOW_LINE_MAX 16384        /* longer lines are cut and counted */

struct logfollow {
	char *path;
	logfollow_line_cb cb;
	void *arg;
	int fd;
	uint64_t inode;
	uint64_t offset;              /* end of the last whole line handed over */
	uint64_t read_offset;         /* bytes read from fd */
	bool resume_pending;
	uint64_t resume_inode, resume_offset;
	bool warned;
	char *buf;                    /* partial line + chunk */
	size_t len;
	bool skipping;                /* inside a line that was too long */
	long resumed_bytes;           /* read from PATH.1 while opening, for poll's total */
	struct logfollow_stats stats;
};

struct logfollow *
logfollow_new(const char *path, logfollow_line_cb cb, void *arg)
{
	struct logfollow *lf = calloc(1, sizeof(*lf));

	if (lf == NULL)
		return NULL;
	if ((lf->path = strdup(path)) == NULL || (lf->buf = malloc(LOGFOLLOW_LINE_MAX + LOGFOLLOW_CHUNK)) == NULL) {
		free(lf->path);
		free(lf);
		return NULL;
	}
	lf->cb = cb;
	lf->arg = arg;
	lf->fd = -1;
	return lf;
}

void
logfollow_free(struct logfollow *lf)
{
	if (lf == NULL)
		return;
	if (lf->fd >= 0)
		close(lf->fd);
	free(lf->buf);
	free(lf->path);
	free(lf);
}

void
logfollow_resume(struct logfollow *lf, uint64_t inode, uint64_t offset)
{
	lf->resume_pending = true;
	lf->resume_inode = inode;
	lf->resume_offset = offset;
}

const char *
logfollow_path(const struct logfollow *lf)
{
	return lf->path;
}

const struct logfollow_stats *
logfollow_stats(const struct logfollow *lf)
{
	return &lf->stats;
}

void
logfollow_position(const struct logfollow *lf, uint64_t *inode, uint64_t *offset)
{
	*inode = lf->inode;
	*offset = lf->offset;
}

/*
 * Hands over every whole line in buf and keeps the rest. A line longer than
 * LOGFOLLOW_LINE_MAX is handed over cut at that length (and counted) and the rest of
 * it skipped up to its newline, however read(2) happened to split it. With flush, a
 * final line without newline is handed over too.
 */
static void
logfollow_lines(struct logfollow *lf, bool flush)
{
	size_t start = 0;

	while (start < lf->len) {
		char *nl = memchr(lf->buf + start, '\n', lf->len - start);
		size_t n = nl ? (size_t)(nl - (lf->buf + start)) : lf->len - start;
		size_t used = nl ? n + 1 : n;

		if (lf->skipping) {
			/* inside a cut line: drop it up to and including its newline */
			if (nl != NULL)
				lf->skipping = false;
		} else if (n >= LOGFOLLOW_LINE_MAX && (nl != NULL || n > LOGFOLLOW_LINE_MAX || !flush)) {
			lf->cb(lf->arg, lf->buf + start, LOGFOLLOW_LINE_MAX);
			lf->stats.lines++;
			lf->stats.too_long++;
			if (nl == NULL)
				lf->skipping = true;
		} else if (nl != NULL || flush) {
			lf->cb(lf->arg, lf->buf + start, n);
			lf->stats.lines++;
		} else
			break;              /* a partial line: wait for its newline */
		start += used;
		lf->offset += used;
	}
	if (flush)
		lf->skipping = false;
	size_t rest = lf->len - start;
	if (start > 0 && rest > 0)
		memmove(lf->buf, lf->buf + start, rest);
	lf->len = rest;
}

/* Reads fd to its end. */
static long
logfollow_drain(struct logfollow *lf, int fd)
{
	long total = 0;
	for (;;) {
		ssize_t n = read(fd, lf->buf + lf->len, LOGFOLLOW_LINE_MAX + LOGFOLLOW_CHUNK - lf->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		lf->len += (size_t)n;
		lf->read_offset += (uint64_t)n;
		lf->stats.bytes += (uint64_t)n;
		total += n;
		logfollow_lines(lf, false);
	}
	return total;
}

/* After a restart: finish the rotated file PATH.1 if it is the one we were reading. */
static long
logfollow_finish_rotated(struct logfollow *lf)
{
	char old[4096];
	struct stat st;
	long n = 0;

	snprintf(old, sizeof(old), "%s.1", lf->path);
	int fd = open(old, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_ino == lf->resume_inode &&
	    (uint64_t)st.st_size >= lf->resume_offset && lseek(fd, (off_t)lf->resume_offset, SEEK_SET) >= 0) {
		log_info("maillog %s: finishing the rotated %s from offset %llu", lf->path, old,
		    (unsigned long long)lf->resume_offset);
		lf->offset = lf->read_offset = lf->resume_offset;
		lf->len = 0;
		n = logfollow_drain(lf, fd);
		logfollow_lines(lf, true);
		lf->stats.rotations++;
	}
	close(fd);
	return n;
}

static int
logfollow_open(struct logfollow *lf)
{
	struct stat st;
	int fd = open(lf->path, O_RDONLY | O_CLOEXEC);
	long extra = 0;

	if (fd < 0) {
		if (!lf->warned)
			log_warn("maillog %s: cannot open (will keep trying)", lf->path);
		lf->warned = true;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if (lf->warned)
		log_info("maillog %s: opened", lf->path);
	lf->warned = false;
	lf->fd = fd;
	lf->inode = (uint64_t)st.st_ino;
	lf->offset = lf->read_offset = 0;
	lf->len = 0;
	lf->skipping = false;
	if (lf->resume_pending) {
		lf->resume_pending = false;
		if (lf->resume_inode == lf->inode && lf->resume_offset <= (uint64_t)st.st_size) {
			lseek(fd, (off_t)lf->resume_offset, SEEK_SET);
			lf->offset = lf->read_offset = lf->resume_offset;
			log_info("maillog %s: resuming at offset %llu", lf->path, (unsigned long long)lf->offset);
		} else if (lf->resume_inode == lf->inode) {
			log_info("maillog %s: shorter than when we stopped (truncated); reading from the start", lf->path);
			lf->stats.truncations++;
		} else {
			extra = logfollow_finish_rotated(lf);
			lf->offset = lf->read_offset = 0;
			lf->len = 0;
			lf->skipping = false;
			lf->resumed_bytes = extra;
			log_info("maillog %s: a new file since we stopped; reading it from the start", lf->path);
		}
	}
	return (int)(extra > 0);
}

long
logfollow_poll(struct logfollow *lf)
{
	struct stat st, cur;
	long total = 0;

	if (lf->fd < 0 && logfollow_open(lf) < 0)
		return -1;
	total += lf->resumed_bytes;
	lf->resumed_bytes = 0;
	total += logfollow_drain(lf, lf->fd);

	if (fstat(lf->fd, &cur) == 0 && (uint64_t)cur.st_size < lf->read_offset) {
		/* copytruncate: the same file, cut back */
		log_info("maillog %s: truncated; reading from the start", lf->path);
		lf->stats.truncations++;
		lseek(lf->fd, 0, SEEK_SET);
		lf->offset = lf->read_offset = 0;
		lf->len = 0;
		lf->skipping = false;
		total += logfollow_drain(lf, lf->fd);
	}
	if (stat(lf->path, &st) == 0 && (uint64_t)st.st_ino != lf->inode) {
		/* rename+create: finish the old file, then start the new one */
		total += logfollow_drain(lf, lf->fd);
		logfollow_lines(lf, true);
		close(lf->fd);
		lf->fd = -1;
		lf->stats.rotations++;
		log_info("maillog %s: rotated; following the new file", lf->path);
		if (logfollow_open(lf) == 0)
			total += logfollow_drain(lf, lf->fd);
	}
	return total;
}
