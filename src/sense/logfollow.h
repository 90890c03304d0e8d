/*
 * logfollow.h — follow a log file the way `tail -F` does, and remember where we were.
 *
 * Reads what was appended since the last poll and hands over complete lines; keeps a
 * partial last line until its newline arrives. Survives rotation by rename+create
 * (drains the old file, then opens the new one from its start) and by copytruncate
 * (the file shrinks: start again at 0). A position (inode, offset of the end of the
 * last whole line handed over) can be saved and given back at start; if the file was
 * rotated meanwhile, the rest of the old file is read from PATH.1 first. A poll reads
 * at most the bytes it is given, so a backlog can be read a slice at a time.
 */
#ifndef LAZARET_SENSE_LOGFOLLOW_H
#define LAZARET_SENSE_LOGFOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*logfollow_line_cb)(void *arg, const char *line, size_t len);

struct logfollow_stats {
	uint64_t bytes;
	uint64_t lines;
	uint64_t rotations;       /* rename+create */
	uint64_t truncations;     /* copytruncate */
	uint64_t too_long;        /* lines cut at the buffer limit */
};

struct logfollow;

/* A follower of path; lines go to cb(arg, line, len) without the newline. */
struct logfollow *logfollow_new(const char *path, logfollow_line_cb cb, void *arg);
void logfollow_free(struct logfollow *lf);

/* What the follower's log lines start with ("maillog PATH: rotated"): a static string. */
void logfollow_set_label(struct logfollow *lf, const char *label);

/* Resume at (inode, offset) from an earlier run; without it the file is read from its start. */
void logfollow_resume(struct logfollow *lf, uint64_t inode, uint64_t offset);

/* No limit for logfollow_poll: read to the end of the file. */
#define LOGFOLLOW_ALL SIZE_MAX

/*
 * logfollow_poll — read what is new, at most max_bytes of it, and hand over its whole
 * lines (a line cut by the budget waits, like a partial last line, for the next poll).
 * A rotation or truncation found at the end of the file is followed within the same
 * budget. Returns the number of bytes read, or -1 when the file cannot be opened
 * (logged once until it can). A daemon calls it with a small budget, again and again
 * while logfollow_pending says more is there, so that a backlog of gigabytes is read
 * in slices between its other work instead of all at once.
 */
long logfollow_poll(struct logfollow *lf, size_t max_bytes);

/* The last poll stopped at its budget, not at the end of the file: more is waiting. */
bool logfollow_pending(const struct logfollow *lf);

/*
 * Bytes in the log after the position: the rest of the file being read (the rotated
 * one, while it is finished) and, after a rotation, the whole new file. Costs an
 * fstat and a stat; for stats, not for every poll.
 */
uint64_t logfollow_behind(const struct logfollow *lf);

/* Where the next poll continues: the file's inode and the end of the last whole line. */
void logfollow_position(const struct logfollow *lf, uint64_t *inode, uint64_t *offset);

const char *logfollow_path(const struct logfollow *lf);
const struct logfollow_stats *logfollow_stats(const struct logfollow *lf);

#endif
