/*
 * timeutil.c — clocks, RFC 3339 formatting and durations.
 */
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

usec_t
time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

usec_t
time_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

char *
time_format(usec_t t, char *buf, size_t size)
{
	time_t sec = (time_t)(t / USEC_PER_SEC);
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	gmtime_r(&sec, &tm);
	if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && size)
		buf[0] = '\0';
	return buf;
}

int
time_parse(const char *text, usec_t *out)
{
	int y, mo, d, h, mi, sec = 0, n = 0;
	char sep;

	if (text[0] == '@') {
		char *end;
		errno = 0;
		long long v = strtoll(text + 1, &end, 10);
		if (end == text + 1 || *end != '\0' || errno != 0 || v < 0 || v > INT64_MAX / USEC_PER_SEC)
			return -1;
		*out = (usec_t)v * USEC_PER_SEC;
		return 0;
	}
	if (sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n) != 6 || (sep != 'T' && sep != ' '))
		return -1;
	const char *rest = text + n;
	if (rest[0] == ':') {
		int m = 0;
		if (sscanf(rest, ":%2d%n", &sec, &m) != 1)
			return -1;
		rest += m;
	}
	if (rest[0] == 'Z')
		rest++;
	if (*rest != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    h < 0 || mi < 0 || sec < 0)
		return -1;
	*out = ((usec_t)time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * USEC_PER_SEC;
	return 0;
}

static const struct {
	char unit;
	usec_t usec;
} duration_units[] = {
	{ 'w', 7 * 86400 * USEC_PER_SEC },
	{ 'd', 86400 * USEC_PER_SEC },
	{ 'h', 3600 * USEC_PER_SEC },
	{ 'm', 60 * USEC_PER_SEC },
	{ 's', USEC_PER_SEC },
};

/* Accepts one or more NUMBER[UNIT] groups ("1h30m"); a bare number is seconds. */
int
duration_parse(const char *text, usec_t *out)
{
	const char *p = text;
	usec_t total = 0;

	if (p == NULL || *p == '\0')
		return -1;
	while (*p != '\0') {
		usec_t n = 0, mult = USEC_PER_SEC;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			if (n > (INT64_MAX / 10 - 9) / USEC_PER_SEC / (7 * 86400))
				return -1;
			n = n * 10 + (*p++ - '0');
		}
		if (p[0] == 'm' && p[1] == 's') {
			mult = 1000;
			p += 2;
		} else if (*p != '\0') {
			size_t i;
			for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
				if (*p == duration_units[i].unit)
					break;
			if (i == sizeof(duration_units) / sizeof(duration_units[0]))
				return -1;
			mult = duration_units[i].usec;
			p++;
		}
		if (total > INT64_MAX - n * mult)
			return -1;
		total += n * mult;
	}
	*out = total;
	return 0;
}

char *
duration_format(usec_t d, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (d <= 0 || d % USEC_PER_SEC != 0) {
		/* sub-second precision: milliseconds, which duration_parse reads back */
		snprintf(buf, size, "%lldms", (long long)(d / 1000));
		return buf;
	}
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		usec_t n = d / duration_units[i].usec;
		if (n == 0 || (duration_units[i].unit == 'w' && d % duration_units[i].usec != 0))
			continue;
		int w = snprintf(buf + off, size - off, "%lld%c", (long long)n, duration_units[i].unit);
		if (w < 0 || (size_t)w >= size - off)
			break;
		off += (size_t)w;
		d -= n * duration_units[i].usec;
	}
	return buf;
}

int64_t
time_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

usec_t
time_local_hour(int year, int month, int day, int hour)
{
	static __thread int cy, cm, cd, ch = -1;
	static __thread usec_t cbase;

	if (cy != year || cm != month || cd != day || ch != hour) {
		struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = hour,
		    .tm_isdst = -1 };
		cbase = (usec_t)mktime(&tm) * USEC_PER_SEC;
		cy = year, cm = month, cd = day, ch = hour;
	}
	return cbase;
}
