/*
 * timeutil.h — lazaret counts time in microseconds since the Unix epoch (usec_t).
 */
#ifndef LAZARET_COMMON_TIMEUTIL_H
#define LAZARET_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t usec_t;

#define USEC_PER_SEC  INT64_C(1000000)

/* Wall-clock time now. */
usec_t time_now(void);

/* Monotonic time now, for measuring durations only. */
usec_t time_mono(void);

/* Formats t as RFC 3339 UTC with seconds ("2026-11-27T06:40:00Z"); returns buf. */
char *time_format(usec_t t, char *buf, size_t size);

/* time_parse — a UTC time as time_format writes it ("2026-12-04T21:00:00Z"; the Z, the
 * seconds and a space for the T may be left out) or "@SECONDS" since the epoch. 0 or -1. */
int time_parse(const char *text, usec_t *out);

/*
 * Parses a duration such as "90", "90s", "250ms", "15m", "1h", "7d", "2w" into
 * microseconds. Returns 0, or -1 on anything else (negative, overflow, junk).
 */
int duration_parse(const char *text, usec_t *out);

/* Formats a duration compactly ("1h", "90s", "1d12h"); returns buf. */
char *duration_format(usec_t d, char *buf, size_t size);

/* time_days_from_civil — days since 1970-01-01 of a proleptic Gregorian date (any year). */
int64_t time_days_from_civil(int year, int month, int day);

/*
 * time_local_hour — the start of the local-time hour year-month-day hour (1-based month
 * and day), in µs since the epoch, as mktime(3) places it under the zone's rules
 * (daylight saving time included). mktime reads the zone and costs microseconds while a
 * log has thousands of lines an hour, so the last hour asked is kept, per thread (the
 * store's and libuv's threads never ask; a thread of its own gets a cache of its own).
 */
usec_t time_local_hour(int year, int month, int day, int hour);

#endif
