/*
 * analyze.c — offline analysis of a Postfix log, or of flows as nfdump prints them, with
 * the daemon's own sensors and judge.
 */
#include "ctl/analyze.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/config.h"
#include "common/jsondump.h"
#include "common/log.h"
#include "common/subject_text.h"
#include "api/evidence.h"
#include "common/linesplit.h"
#include "judge/judge.h"
#include "pipeline.h"
#include "sense/delivery.h"
#include "sense/flowdetect.h"
#include "sense/nfdump_csv.h"

#define ANALYZE_CHUNK (4 * 1024 * 1024)

struct analyze {
	enum analyze_input input;
	struct judge *judge;
	struct delivery *delivery;
	struct flow_detect *flows;  /* ANALYZE_FLOWS: the detectors */
	struct nfdump_csv csv;      /* ANALYZE_FLOWS: the reader's column positions */
	uint64_t flow_lines, flow_records;
	uint64_t flow_skipped[NFDUMP_CSV_ERROR_COUNT];
	struct subjects *peaks;     /* every subject that left normal, with its highest level */
	usec_t now;
	usec_t last_time;
	struct linesplit split;     /* as lazaretd's follower splits its log */
};

static void
analyze_observe(void *arg, const struct subject *s, int old_level, int new_level, const char *actor)
{
	struct analyze *an = arg;
	struct subject *p = subjects_get(an->peaks, (enum subject_kind)s->kind, s->key, s->key_len);

	(void)old_level;
	(void)actor;
	if (p != NULL && new_level > p->level)
		p->level = (uint8_t)new_level;
}

/* One line of nfdump's CSV: a record goes to the detectors at its own end time. */
static void
analyze_flow_line(struct analyze *an, const char *line, size_t len)
{
	struct flow_record r;
	int rc = nfdump_csv_line(&an->csv, line, len, &r);

	an->flow_lines++;
	if (rc < 0) {
		an->flow_skipped[-rc]++;
		return;
	}
	if (rc == 0)
		return;
	usec_t t = r.last > r.first ? r.last : r.first;
	flow_detect_record(an->flows, &r, t);
	if (t > an->last_time)
		an->last_time = t;
	/* a daemon frees quiet hosts every second; here every 4096 records, in log time */
	if (++an->flow_records % 4096 == 0)
		flow_detect_expire(an->flows, an->last_time, 4096);
}

static void
analyze_line(void *arg, const char *line, size_t len)
{
	struct analyze *an = arg;

	if (an->input == ANALYZE_FLOWS)
		analyze_flow_line(an, line, len);
	else
		delivery_line(an->delivery, line, len, an->now);
}

/* Feeds the whole lines in buf[0, *len) and keeps the rest at its start (at eof, none). */
static void
analyze_lines(struct analyze *an, char *buf, size_t *len, int eof)
{
	size_t used = linesplit_run(&an->split, buf, *len, eof != 0, analyze_line, an);

	memmove(buf, buf + used, *len - used);
	*len -= used;
}

/*
 * A gzip file (logrotate's compress: mail.log.2.gz), its first `have` bytes already
 * read into buf: inflated into buf a chunk at a time, member after member (gzip -c
 * a >> b). A damaged or cut file is an error; the lines before the damage are fed.
 * Returns 0 or -1 (reported).
 */
static int
analyze_gz(struct analyze *an, const char *path, int fd, char *buf, size_t have)
{
	z_stream zs = { 0 };
	unsigned char *in = malloc(ANALYZE_CHUNK);
	size_t len = 0;
	int zrc, eof = 0, ended = 0, rc = -1, init = 0;

	if (in == NULL) {
		fprintf(stderr, "lazaretctl: analyze: out of memory\n");
		goto done;
	}
	memcpy(in, buf, have);
	if (inflateInit2(&zs, 15 + 16) != Z_OK) {      /* 15 + 16: a gzip wrapper */
		fprintf(stderr, "lazaretctl: analyze: %s: zlib: %s\n", path, zs.msg ? zs.msg : "no memory");
		goto done;
	}
	init = 1;
	zs.next_in = in;
	zs.avail_in = (uInt)have;
	for (;;) {
		if (zs.avail_in == 0 && !eof) {
			ssize_t n = read(fd, in, ANALYZE_CHUNK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fprintf(stderr, "lazaretctl: analyze: reading %s: %s\n", path, strerror(errno));
				goto done;
			}
			eof = n == 0;
			zs.next_in = in;
			zs.avail_in = (uInt)n;
		}
		if (ended) {
			if (zs.avail_in == 0) {
				if (eof)
					break;
				continue;
			}
			inflateReset(&zs);      /* another member follows */
			ended = 0;
		}
		zs.next_out = (Bytef *)buf + len;
		zs.avail_out = (uInt)(ANALYZE_CHUNK - len);
		zrc = inflate(&zs, Z_NO_FLUSH);
		len = ANALYZE_CHUNK - zs.avail_out;
		if (zrc == Z_STREAM_END)
			ended = 1;
		else if (zrc == Z_BUF_ERROR ? eof && zs.avail_in == 0 : zrc != Z_OK) {
			fprintf(stderr, "lazaretctl: analyze: %s: damaged gzip file: %s\n", path,
			    zrc == Z_BUF_ERROR ? "unexpected end of file" : zs.msg ? zs.msg : "inflate failed");
			goto done;
		}
		analyze_lines(an, buf, &len, 0);
	}
	analyze_lines(an, buf, &len, 1);
	rc = 0;
done:
	if (init)
		inflateEnd(&zs);
	free(in);
	return rc;
}

/* Feeds one file's lines, plain or gzip (told by its first bytes); returns 0 or -1 (reported). */
static int
analyze_file(struct analyze *an, const char *path, char *buf)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;
	int checked = 0, rc = 0;

	if (fd < 0) {
		fprintf(stderr, "lazaretctl: analyze: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		n = read(fd, buf + len, ANALYZE_CHUNK - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "lazaretctl: analyze: reading %s: %s\n", path, strerror(errno));
			rc = -1;
			break;
		}
		len += (size_t)n;
		/* gzip's magic number, before any line is fed */
		if (!checked && (len >= 2 || n == 0)) {
			checked = 1;
			if (len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b) {
				rc = analyze_gz(an, path, fd, buf, len);
				break;
			}
		}
		analyze_lines(an, buf, &len, n == 0);
		if (n == 0)
			break;
	}
	if (fd != 0)
		close(fd);
	return rc;
}

/* The non-zero counters as an object, or NULL when jansson runs out of memory. */
static json_t *
analyze_counts(const uint64_t *v, size_t n, const char *(*name)(int), int sign)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < n; i++)
		if (v[i] && json_object_set_new(o, name(sign * (int)i), json_integer((json_int_t)v[i])) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static const char *
outcome_name_int(int o)
{
	return maillog_outcome_name((enum maillog_outcome)o);
}

/*
 * One flagged subject as JSON, or NULL when it cannot be built: the caller reports it,
 * for a subject or an evidence item left out would tell the operator it was never there.
 * The subject is its subject text; summaries are valid UTF-8 (the judge keeps them so).
 */
static json_t *
analyze_subject_json(struct analyze *an, const struct subject *s, int peak, usec_t at)
{
	json_t *ev = json_array();
	char key[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];

	/* as lazaretctl shows subjects everywhere, and takes them back */
	subject_text_encode(key, sizeof(key), s->key, s->key_len);
	for (size_t i = 0; ev != NULL && s->detail && i < s->detail->evidence_count; i++) {
		const struct evidence_item *e = &s->detail->evidence[i];

		if (json_array_append_new(ev, evidence_json(an->judge, e, at)) != 0) {
			json_decref(ev);
			return NULL;
		}
	}
	/* "o" takes ev, and fails on NULL */
	return json_pack("{s:s, s:s, s:s, s:s, s:f, s:o}", "subject", key,
	    "kind", subject_field(s), "peak_level", level_name(peak),
	    "level", level_name(s->level), "score", judge_score(an->judge, s, at), "evidence", ev);
}

struct analyze_row {
	struct subject *s;
	int peak;
	double score;
	size_t order;           /* place in the walk over the table */
};

/*
 * Highest peak first, then highest score; equal rows by their keys' bytes, so that
 * the output is the same in every run (the table's walk order follows its hash, keyed
 * anew in each process). The insertion sort this replaced was quadratic: 84 000
 * flagged subjects took seconds.
 */
static int
analyze_row_cmp(const void *a, const void *b)
{
	const struct analyze_row *x = a, *y = b;

	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	if (x->score > y->score)
		return -1;
	if (x->score < y->score)
		return 1;
	size_t n = x->s->key_len < y->s->key_len ? x->s->key_len : y->s->key_len;
	int c = memcmp(x->s->key, y->s->key, n);
	if (c != 0)
		return c;
	return x->s->key_len < y->s->key_len ? -1 : x->s->key_len > y->s->key_len;
}

/* Writes a JSON text with `indent` more blanks after each of its newlines. */
static void
analyze_json_indented(const char *text, const char *indent)
{
	const char *nl;

	while ((nl = strchr(text, '\n')) != NULL) {
		fwrite(text, 1, (size_t)(nl - text) + 1, stdout);
		fputs(indent, stdout);
		text = nl + 1;
	}
	fputs(text, stdout);
}

/* Says that subject s (NULL: the totals) could not be written as JSON; returns -1. */
static int
analyze_json_failed(const struct subject *s)
{
	char key[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];

	if (s == NULL) {
		fprintf(stderr, "lazaretctl: analyze: cannot write the JSON (out of memory)\n");
		return -1;
	}
	subject_text_encode(key, sizeof(key), s->key, s->key_len);
	fprintf(stderr, "lazaretctl: analyze: cannot write flagged subject %s as JSON; the output is "
	    "incomplete\n", key);
	return -1;
}

/*
 * Prints root (whose last member, "flagged", is an empty array) with the flagged rows
 * in it, as JSON_INDENT(2) prints the whole tree, byte for byte: "[",
 * then each subject on a new line two levels in, separated by ",", then "\n  ]".
 * One subject's tree at a time, built, dumped and freed: the whole tree of 100 000
 * subjects took 2 s of malloc and free in a heap fragmented by the analysis. JSON
 * strings never hold a raw newline, so indenting after each one is safe. Returns 0,
 * or -1 (reported) when a subject or the totals could not be built or dumped: the
 * output then lacks them, and the caller's exit status says so.
 */
static int
analyze_json_dump(struct analyze *an, json_t *root, const struct analyze_row *rows, size_t n, usec_t at)
{
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
	static const char last[] = "\"flagged\": []\n}";
	size_t len = 0, printed = 0;
	char *text = jsondump_text(root, flags, &len);
	char *tail = len >= sizeof(last) - 1 && strcmp(text + len - (sizeof(last) - 1), last) == 0 ?
	    text + len - (sizeof(last) - 1) : NULL;
	int rc = 0;

	if (root == NULL)
		return analyze_json_failed(NULL);
	if (tail == NULL) {             /* no memory: the slow way still says it all */
		json_t *flagged = json_object_get(root, "flagged");

		free(text);
		for (size_t i = 0; i < n; i++)
			if (json_array_append_new(flagged, analyze_subject_json(an, rows[i].s, rows[i].peak, at)) != 0)
				return analyze_json_failed(rows[i].s);
		if ((text = jsondump_text(root, flags, &len)) == NULL)
			return analyze_json_failed(NULL);
		fwrite(text, 1, len, stdout);
		fputc('\n', stdout);
		free(text);
		return 0;
	}
	tail += strlen("\"flagged\": [");
	fwrite(text, 1, (size_t)(tail - text), stdout);
	for (size_t i = 0; i < n; i++) {
		json_t *o = analyze_subject_json(an, rows[i].s, rows[i].peak, at);
		char *one = jsondump_text(o, flags, NULL);

		if (one != NULL) {
			fputs(printed++ ? ",\n    " : "\n    ", stdout);
			analyze_json_indented(one, "    ");
		} else
			rc = analyze_json_failed(rows[i].s);
		free(one);
		json_decref(o);
	}
	if (printed)
		fputs("\n  ", stdout);
	fputs(tail, stdout);
	fputc('\n', stdout);
	free(text);
	return rc;
}

/*
 * Whether analyze_run frees what the analysis built before it returns. It returns to
 * lazaretctl's exit: freeing 2 M subjects, their rule state and queue IDs one block at a
 * time took about a fifth of analyze's time with 2 M distinct clients (bench/README.md,
 * "maillog"), for pages the kernel takes back at once. Sanitizer builds free everything,
 * so that LeakSanitizer still finds a leak of analyze's own (make test runs them).
 */
#if defined(__SANITIZE_ADDRESS__)
#define ANALYZE_FREE_AT_END 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define ANALYZE_FREE_AT_END 1
#endif
#endif
#ifndef ANALYZE_FREE_AT_END
#define ANALYZE_FREE_AT_END 0
#endif

static void
analyze_maillog_text(const struct delivery_stats *ds, double secs)
{
	printf("%llu lines in %.2f s (%.0f lines/s)\n", (unsigned long long)ds->lines, secs,
	    secs > 0 ? (double)ds->lines / secs : 0.0);
	printf("lines used:");
	for (int k = 0; k < MAILLOG_KIND_COUNT; k++)
		if (ds->kinds[k])
			printf(" %s %llu", maillog_kind_name(k), (unsigned long long)ds->kinds[k]);
	printf("\nlines skipped:");
	for (int e = 1; e <= MAILLOG_ERROR_COUNT; e++)
		if (ds->errors[e])
			printf(" %s %llu", maillog_error_name(-e), (unsigned long long)ds->errors[e]);
	printf("\noutcomes:");
	for (int o = 0; o < MAILLOG_OUTCOME_COUNT; o++)
		if (ds->outcomes[o])
			printf(" %s %llu", maillog_outcome_name((enum maillog_outcome)o),
			    (unsigned long long)ds->outcomes[o]);
	printf("; not attributable %llu\n\n", (unsigned long long)ds->unattributed);
}

/* The first lines of the report on flows: what was read and skipped, by reason. */
static json_t *
analyze_flows_json(const struct analyze *an, double secs, json_t *flagged)
{
	struct flow_detect_stats fs;

	flow_detect_stats_get(an->flows, &fs);
	return json_pack("{s:I, s:I, s:f, s:o, s:I, s:I, s:o}", "lines", (json_int_t)an->flow_lines,
	    "records", (json_int_t)an->flow_records, "seconds", secs,
	    "skipped", analyze_counts(an->flow_skipped, NFDUMP_CSV_ERROR_COUNT, nfdump_csv_error_name, -1),
	    "outside", (json_int_t)fs.outside, "hosts_refused", (json_int_t)fs.hosts_refused, "flagged", flagged);
}

static void
analyze_flows_text(const struct analyze *an, double secs)
{
	struct flow_detect_stats fs;

	flow_detect_stats_get(an->flows, &fs);
	printf("%llu lines, %llu flow records in %.2f s (%.0f records/s)\n", (unsigned long long)an->flow_lines,
	    (unsigned long long)an->flow_records, secs, secs > 0 ? (double)an->flow_records / secs : 0.0);
	printf("lines skipped:");
	for (int e = 1; e < NFDUMP_CSV_ERROR_COUNT; e++)
		if (an->flow_skipped[e])
			printf(" %s %llu", nfdump_csv_error_name(-e), (unsigned long long)an->flow_skipped[e]);
	printf("\nrecords with no subscriber on either side: %llu; hosts past max_hosts: %llu\n\n",
	    (unsigned long long)fs.outside, (unsigned long long)fs.hosts_refused);
}

int
analyze_run(char *const *files, size_t nfiles, const char *config_path, int json, enum analyze_input input)
{
	static struct config cfg;
	struct analyze an = { 0 };
	struct pipeline pl = { 0 };
	char err[1024];
	char *buf = NULL;
	int rc = 0;

	log_init("lazaretctl", 0, LOG_LEVEL_ERROR);   /* the judge's verdict lines are not wanted here */
	if (config_path != NULL) {
		if (config_load(config_path, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	} else
		config_defaults(&cfg);
	/* what the log shows, every subject judged on its own: no mass-infection cap */
	cfg.judge.quarantine_cap = 0;
	an.now = time_now();
	int prc = pipeline_open(&pl, &cfg, NULL, err, sizeof(err));
	if (prc == -EINVAL) {
		fprintf(stderr, "%s\n", err);
		rc = 2;
		goto done;
	}
	an.judge = pl.judge;
	an.delivery = pl.delivery;
	an.input = input;
	nfdump_csv_init(&an.csv);
	if (input == ANALYZE_FLOWS && prc == 0) {
		if (cfg.network.subscriber_count == 0) {
			/* without them every record is someone else's: a verdict of "nobody" would mislead */
			fprintf(stderr, "lazaretctl: analyze --flows needs [network] subscribers (your subscribers' "
			    "address ranges) in the file --config names\n");
			rc = 2;
			goto done;
		}
		if ((an.flows = flow_detect_new(pl.judge, &cfg)) == NULL)
			prc = -ENOMEM;
	}
	if (prc != 0 || (an.peaks = subjects_new()) == NULL || (buf = malloc(ANALYZE_CHUNK)) == NULL) {
		fprintf(stderr, "lazaretctl: analyze: out of memory\n");
		rc = 1;
		goto done;
	}
	judge_set_observer(an.judge, analyze_observe, &an);

	usec_t t0 = time_mono();
	size_t unread = 0;
	for (size_t i = 0; i < nfiles; i++)
		if (analyze_file(&an, files[i], buf) != 0)
			unread++;
	if (unread > 0) {
		/* a verdict over part of the input would read as one over all of it */
		fprintf(stderr, "lazaretctl: analyze: no verdict: %zu of %zu file%s could not be read\n", unread,
		    nfiles, nfiles == 1 ? "" : "s");
		rc = 1;
		goto done;
	}
	delivery_flush(an.delivery);        /* the last lines' outcomes held for a link */
	if (an.flows != NULL)
		flow_detect_expire(an.flows, an.last_time, SIZE_MAX);
	double secs = (double)(time_mono() - t0) / 1e6;
	const struct delivery_stats *ds = delivery_stats(an.delivery);

	/* Subjects in the order they were flagged is not kept; sort by peak then score. */
	size_t cursor = 0, n = 0;
	struct analyze_row *rows = NULL;
	usec_t at = 0;
	for (struct subject *p = subjects_next(an.peaks, &cursor, NULL); p; p = subjects_next(an.peaks, &cursor, p))
		n++;
	rows = calloc(n ? n : 1, sizeof(*rows));
	cursor = 0;
	n = 0;
	for (struct subject *p = subjects_next(an.peaks, &cursor, NULL); rows && p;
	    p = subjects_next(an.peaks, &cursor, p)) {
		struct subject *s = subjects_find(judge_subjects(an.judge), p->key, p->key_len);
		if (s == NULL)
			continue;
		if (s->last_seen > at)
			at = s->last_seen;
		rows[n].s = s;
		rows[n].peak = p->level;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		rows[i].score = judge_score(an.judge, rows[i].s, at);
		rows[i].order = i;
	}
	qsort(rows, n, sizeof(*rows), analyze_row_cmp);

	if (json && input == ANALYZE_FLOWS) {
		json_t *root = analyze_flows_json(&an, secs, json_array());
		if (root == NULL || analyze_json_dump(&an, root, rows, n, at) != 0)
			rc = 1;
		json_decref(root);
	} else if (json) {
		json_t *flagged = json_array();         /* left empty: analyze_json_dump streams it */
		json_t *root = json_pack("{s:I, s:f, s:o, s:o, s:o, s:I, s:I, s:I, s:o}",
		    "lines", (json_int_t)ds->lines, "seconds", secs,
		    "kinds", analyze_counts(ds->kinds, MAILLOG_KIND_COUNT, maillog_kind_name, 1),
		    "skipped", analyze_counts(ds->errors, MAILLOG_ERROR_COUNT + 1, maillog_error_name, -1),
		    "outcomes", analyze_counts(ds->outcomes, MAILLOG_OUTCOME_COUNT, outcome_name_int, 1),
		    "unattributed", (json_int_t)ds->unattributed,
		    "queue_ids_open", (json_int_t)ds->queue_ids_open,
		    "queue_ids_evicted", (json_int_t)ds->queue_ids_evicted,
		    "flagged", flagged);
		if (analyze_json_dump(&an, root, rows, n, at) != 0)
			rc = 1;
		json_decref(root);
	} else {
		if (input == ANALYZE_FLOWS)
			analyze_flows_text(&an, secs);
		else
			analyze_maillog_text(ds, secs);
		if (n == 0)
			printf("Nobody would be flagged by these rules.\n");
		else
			printf("%-40s %-11s %-11s %6s  %s\n", "SUBJECT", "PEAK", "AT END", "SCORE", "EVIDENCE");
		for (size_t i = 0; i < n; i++) {
			const struct subject *s = rows[i].s;
			char key[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];
			subject_text_encode(key, sizeof(key), s->key, s->key_len);
			printf("%-40s %-11s %-11s %6.2f", key, level_name(rows[i].peak),
			    level_name(s->level), rows[i].score);
			for (size_t k = 0; s->detail && k < s->detail->evidence_count; k++) {
				const struct evidence_item *e = &s->detail->evidence[k];
				printf("%s%s: %s\n", k == 0 ? "  " : "                                                                          ",
				    judge_kind_name(an.judge, e->kind), e->summary);
			}
			if (s->detail == NULL || s->detail->evidence_count == 0)
				printf("\n");
		}
	}
	free(rows);
done:
	free(buf);
	if (ANALYZE_FREE_AT_END) {
		subjects_free(an.peaks);
		flow_detect_free(an.flows);
		pipeline_close(&pl);
		if (config_path != NULL)
			config_free(&cfg);
	}
	return rc;
}
