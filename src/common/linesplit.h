/*
 * linesplit.h — lines out of a byte stream, the same way for the daemon's mail-log
 * follower and for lazaretctl analyze: whole lines handed over without their newline,
 * a partial line kept for the next read, and a line longer than LINESPLIT_MAX cut
 * there, counted and the rest of it dropped up to its newline, however read(2) split
 * it. (The mail-log parser refuses lines over MAILLOG_MAX_LINE anyway; the cut only
 * bounds what a runaway line costs.)
 */
#ifndef LAZARET_COMMON_LINESPLIT_H
#define LAZARET_COMMON_LINESPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINESPLIT_MAX 16384

struct linesplit {
	bool skipping;            /* inside a cut line: its rest is dropped up to its newline */
	uint64_t lines;           /* handed over */
	uint64_t too_long;        /* of which cut at LINESPLIT_MAX */
};

typedef void (*linesplit_cb)(void *arg, const char *line, size_t len);

/*
 * linesplit_run — hand every whole line of buf[0..len) to cb and return how many bytes
 * that used: the caller keeps buf[used..len), a partial line, for its next call with
 * more bytes after it. The caller's buffer must hold LINESPLIT_MAX bytes and a read
 * (a kept rest is never longer than LINESPLIT_MAX). With flush (the end of the input),
 * a last line without newline is handed over too and nothing is kept.
 */
size_t linesplit_run(struct linesplit *ls, const char *buf, size_t len, bool flush, linesplit_cb cb, void *arg);

#endif
