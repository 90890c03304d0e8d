/*
 * logfollow.c — the follower in logfollow.h: plain read(2) on a polled descriptor,
 * at most a given number of bytes per poll.
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

#include "common/linesplit.h"
#include "common/log.h"
#include "common/timeutil.h"

#define LOGFOLLOW_CHUNK    (256 * 1024)
#define LOGFOLLOW_LINE_MAX LINESPLIT_MAX   /* longer lines are cut and counted */
#define LOGFOLLOW_BACKLOG_LOG (16u << 20)   /* a backlog this large is logged when found and when read */

struct logfollow {
	char *path;
	const char *label;            /* what its log lines start with: "maillog", "dhcp" */
	logfollow_line_cb cb;
	void *arg;
	int fd;
	uint64_t inode;               /* of fd: PATH, or PATH.1 while finishing it after a restart */
	uint64_t offset;              /* end of the last whole line handed over */
	uint64_t read_offset;         /* bytes read from fd */
	bool resume_pending;
	uint64_t resume_inode, resume_offset;
	bool warned;
	bool pending;                 /* the last poll stopped at its budget */
	char *buf;                    /* partial line + chunk */
	size_t len;
	struct linesplit split;       /* where a line is cut, and the counts of lines */
	/* a run of polls cut by their budget: when it started, what had been read then */
	bool in_backlog, backlog_logged;
	usec_t backlog_start;
	uint64_t backlog_bytes, backlog_lines;
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
	lf->label = "maillog";
	return lf;
}

void
logfollow_set_label(struct logfollow *lf, const char *label)
{
	lf->label = label;
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

/* Hands over every whole line in buf and keeps the rest (common/linesplit.h). */
static void
logfollow_lines(struct logfollow *lf, bool flush)
{
	size_t start = linesplit_run(&lf->split, lf->buf, lf->len, flush, lf->cb, lf->arg);

	lf->offset += start;
	lf->stats.lines = lf->split.lines;
	lf->stats.too_long = lf->split.too_long;
	size_t rest = lf->len - start;
	if (start > 0 && rest > 0)
		memmove(lf->buf, lf->buf + start, rest);
	lf->len = rest;
}

/*
 * Reads up to max bytes from fd and hands over the whole lines. Stops at the budget or
 * at the end of the file (*eof); a read error counts as the end, as it did for tail.
 */
static size_t
logfollow_read(struct logfollow *lf, size_t max, bool *eof)
{
	size_t total = 0;

	*eof = false;
	while (total < max) {
		size_t room = LOGFOLLOW_LINE_MAX + LOGFOLLOW_CHUNK - lf->len;  /* >= CHUNK: a kept rest is shorter than a line */
		size_t want = max - total < room ? max - total : room;
		ssize_t n = read(lf->fd, lf->buf + lf->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*eof = true;
			break;
		}
		lf->len += (size_t)n;
		lf->read_offset += (uint64_t)n;
		lf->stats.bytes += (uint64_t)n;
		total += (size_t)n;
		logfollow_lines(lf, false);
	}
	return total;
}

/*
 * After a restart: when PATH.1 is the file we were reading, read the rest of it before
 * PATH (the rotation check at its end moves on). 0 when fd now reads PATH.1.
 */
static int
logfollow_open_rotated(struct logfollow *lf)
{
	char old[4096];
	struct stat st;

	snprintf(old, sizeof(old), "%s.1", lf->path);
	int fd = open(old, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_ino != lf->resume_inode ||
	    (uint64_t)st.st_size < lf->resume_offset || lseek(fd, (off_t)lf->resume_offset, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	log_info("%s %s: finishing the rotated %s from offset %llu", lf->label, lf->path, old,
	    (unsigned long long)lf->resume_offset);
	close(lf->fd);
	lf->fd = fd;
	lf->inode = lf->resume_inode;
	lf->offset = lf->read_offset = lf->resume_offset;
	return 0;
}

static int
logfollow_open(struct logfollow *lf)
{
	struct stat st;
	int fd = open(lf->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (!lf->warned)
			log_warn("%s %s: cannot open (will keep trying)", lf->label, lf->path);
		lf->warned = true;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if (lf->warned)
		log_info("%s %s: opened", lf->label, lf->path);
	lf->warned = false;
	lf->fd = fd;
	lf->inode = (uint64_t)st.st_ino;
	lf->offset = lf->read_offset = 0;
	lf->len = 0;
	lf->split.skipping = false;
	if (!lf->resume_pending)
		return 0;
	lf->resume_pending = false;
	if (lf->resume_inode == lf->inode && lf->resume_offset <= (uint64_t)st.st_size) {
		lseek(fd, (off_t)lf->resume_offset, SEEK_SET);
		lf->offset = lf->read_offset = lf->resume_offset;
		log_info("%s %s: resuming at offset %llu", lf->label, lf->path, (unsigned long long)lf->offset);
	} else if (lf->resume_inode == lf->inode) {
		log_info("%s %s: shorter than when we stopped (truncated); reading from the start", lf->label, lf->path);
		lf->stats.truncations++;
	} else if (logfollow_open_rotated(lf) != 0)
		log_info("%s %s: a new file since we stopped; reading it from the start", lf->label, lf->path);
	return 0;
}

/*
 * Logs a backlog worth an operator's notice: when a poll is first cut by its budget with
 * LOGFOLLOW_BACKLOG_LOG or more behind, and when the polls reach the end again, with how
 * fast it was read. The cost while reading is nothing; one fstat when a backlog starts.
 */
static void
logfollow_backlog_note(struct logfollow *lf, uint64_t bytes_before, uint64_t lines_before)
{
	if (lf->pending && !lf->in_backlog) {
		uint64_t behind = logfollow_behind(lf);
		lf->in_backlog = true;
		lf->backlog_start = time_mono();
		lf->backlog_bytes = bytes_before;
		lf->backlog_lines = lines_before;
		lf->backlog_logged = behind >= LOGFOLLOW_BACKLOG_LOG;
		if (lf->backlog_logged)
			log_info("%s %s: backlog of %.1f MiB; reading it in slices between other work", lf->label, lf->path,
			    (double)behind / (1 << 20));
	} else if (!lf->pending && lf->in_backlog) {
		lf->in_backlog = false;
		if (!lf->backlog_logged)
			return;
		double secs = (double)(time_mono() - lf->backlog_start) / USEC_PER_SEC;
		uint64_t bytes = lf->stats.bytes - lf->backlog_bytes, lines = lf->stats.lines - lf->backlog_lines;
		if (secs < 1e-3)
			secs = 1e-3;
		log_info("%s %s: caught up: %.1f MiB, %llu lines in %.2f s (%.0f MB/s, %.0f lines/s)", lf->label, lf->path,
		    (double)bytes / (1 << 20), (unsigned long long)lines, secs, (double)bytes / 1e6 / secs,
		    (double)lines / secs);
	}
}

long
logfollow_poll(struct logfollow *lf, size_t max_bytes)
{
	struct stat st;
	size_t total = 0;
	bool eof = false;
	uint64_t bytes_before = lf->stats.bytes, lines_before = lf->stats.lines;

	if (lf->fd < 0 && logfollow_open(lf) < 0)
		return -1;
	for (;;) {
		total += logfollow_read(lf, max_bytes - total, &eof);
		if (!eof)
			break;              /* the budget is spent */
		if (fstat(lf->fd, &st) == 0 && (uint64_t)st.st_size < lf->read_offset) {
			/* copytruncate: the same file, cut back */
			log_info("%s %s: truncated; reading from the start", lf->label, lf->path);
			lf->stats.truncations++;
			lseek(lf->fd, 0, SEEK_SET);
			lf->offset = lf->read_offset = 0;
			lf->len = 0;
			lf->split.skipping = false;
			continue;
		}
		if (stat(lf->path, &st) != 0 || (uint64_t)st.st_ino == lf->inode)
			break;              /* at the end of the file we follow */
		/* rename+create: what was written to the old file meanwhile, then the new one */
		total += logfollow_read(lf, max_bytes - total, &eof);
		if (!eof)
			break;              /* the next poll finishes it, and finds the rotation again */
		logfollow_lines(lf, true);
		close(lf->fd);
		lf->fd = -1;
		lf->stats.rotations++;
		log_info("%s %s: rotated; following the new file", lf->label, lf->path);
		if (logfollow_open(lf) < 0)
			break;
	}
	lf->pending = !eof;
	logfollow_backlog_note(lf, bytes_before, lines_before);
	return (long)total;
}

bool
logfollow_pending(const struct logfollow *lf)
{
	return lf->pending;
}

uint64_t
logfollow_behind(const struct logfollow *lf)
{
	struct stat st;
	uint64_t behind = 0;

	if (lf->fd < 0) {
		if (stat(lf->path, &st) != 0)
			return 0;
		if (lf->resume_pending && (uint64_t)st.st_ino == lf->resume_inode &&
		    (uint64_t)st.st_size >= lf->resume_offset)
			return (uint64_t)st.st_size - lf->resume_offset;
		return (uint64_t)st.st_size;
	}
	if (fstat(lf->fd, &st) == 0 && (uint64_t)st.st_size > lf->offset)
		behind = (uint64_t)st.st_size - lf->offset;
	if (stat(lf->path, &st) == 0 && (uint64_t)st.st_ino != lf->inode)
		behind += (uint64_t)st.st_size;     /* the new file, after the one being finished */
	return behind;
}
