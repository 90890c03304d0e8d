/*
 * test_report_intake.c — what the report pipeline makes of an event (report_intake.h):
 * the summary's words, the source's trust, dedup by id and by what a row says, the
 * subscriber ranges, attribution by the report's time through the address history,
 * and the spool a posted report is written to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ident_hold.h"

#include "common/log.h"
#include "common/nat.h"
#include "ident/ident.h"
#include "judge/judge.h"
#include "judge/kinds.h"
#include "sense/report_intake.h"
#include "repo_path.h"
#include "rmtree.h"

#define SEC(n) ((usec_t)(n) * USEC_PER_SEC)

struct fx {
	struct config cfg;
	struct judge *j;
	struct report_intake *ri;
	uv_loop_t loop;
	char dir[64];
	usec_t now;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL)
		return -1;
	log_set_level(LOG_LEVEL_ERROR);
	config_defaults(&f->cfg);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lazaret-test-reports-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->cfg.reports.directory, sizeof(f->cfg.reports.directory), "%s/spool", f->dir);
	if (uv_loop_init(&f->loop) != 0 || (f->j = judge_new(&f->cfg, NULL)) == NULL ||
	    judge_configure(f->j, &f->cfg, err, sizeof(err)) != 0)
		return -1;
	if ((f->ri = report_intake_new(&f->loop, &f->cfg, f->j, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "report_intake_new: %s\n", err);
		return -1;
	}
	f->now = time_now();
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	report_intake_free(f->ri);
	judge_free(f->j);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	uv_loop_close(&f->loop);
	config_free(&f->cfg);
	rmtree(f->dir);
	free(f);
	return 0;
}

static struct report_event
event(enum report_kind kind, const char *addr, usec_t time, const char *family, const char *type)
{
	struct report_event ev = { .kind = kind, .time = time, .format = "test" };

	assert_int_equal(addr_parse(addr, strlen(addr), &ev.addr), 0);
	snprintf(ev.family, sizeof(ev.family), "%s", family);
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	return ev;
}

static const struct evidence_item *
evidence_of(struct fx *f, const char *subject, const char *kind)
{
	struct subject *s = judge_lookup(f->j, subject);

	return s != NULL ? judge_evidence(s, judge_kind_id(f->j, kind)) : NULL;
}

static void
test_summary_words(void **state)
{
	char out[STORE_SUMMARY_MAX];
	/* 2026-11-20 03:12:45 UTC */
	struct report_event ev = event(REPORT_INFECTION, "100.64.0.10", SEC(1795144365), "andromeda",
	    "event4_sinkhole_http");

	(void)state;
	ev.has_port = true;
	ev.port = 51234;
	snprintf(ev.detail, sizeof(ev.detail), "contacted a sinkhole");
	report_summary("shadowserver", &ev, out, sizeof(out));
	assert_string_equal(out, "Shadowserver report (event4_sinkhole_http): the 'andromeda' bot on this connection "
	    "was seen (contacted a sinkhole) at 03:12 UTC on 20 November 2026 (source port 51234)");
	ev = event(REPORT_SPAM, "192.0.2.1", 0, "", "abuse");
	report_summary("fbl", &ev, out, sizeof(out));
	assert_string_equal(out, "Fbl report (abuse): mail sent from this connection was reported as spam");
	/* cut, never overrun */
	report_summary("fbl", &ev, out, 10);
	assert_int_equal(strlen(out), 9);
}

/* One unit times the source's trust; 0 records without moving the level. */
static void
test_trust(void **state)
{
	struct fx *f = *state;
	struct report_source_section sources[] = { { .name = "half", .trust = 0.5 }, { .name = "none", .trust = 0 } };
	struct report_event ev = event(REPORT_INFECTION, "192.0.2.1", f->now - SEC(3600), "mirai", "botnet_drone");

	f->cfg.reports.sources = sources;
	f->cfg.reports.source_count = 2;
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, 0, f->now), REPORT_APPLIED);
	const struct evidence_item *e = evidence_of(f, "192.0.2.1", "report_infection");
	assert_non_null(e);
	assert_true(e->value > 0.99 && e->value <= 1.0);
	assert_non_null(strstr(e->summary, "the 'mirai' bot on this connection"));
	/* 3.5 × 1: throttle with the shipped weights */
	assert_int_equal(judge_lookup(f->j, "192.0.2.1")->level, LEVEL_THROTTLE);

	ev = event(REPORT_INFECTION, "192.0.2.2", f->now - SEC(3600), "mirai", "botnet_drone");
	assert_int_equal(report_intake_apply(f->ri, "half", &ev, 0, f->now), REPORT_APPLIED);
	assert_true(evidence_of(f, "192.0.2.2", "report_infection")->value < 0.51);
	ev = event(REPORT_INFECTION, "192.0.2.3", f->now - SEC(3600), "mirai", "botnet_drone");
	assert_int_equal(report_intake_apply(f->ri, "none", &ev, 0, f->now), REPORT_APPLIED);
	e = evidence_of(f, "192.0.2.3", "report_infection");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_int_equal(judge_lookup(f->j, "192.0.2.3")->level, LEVEL_NORMAL);
	f->cfg.reports.sources = NULL;
	f->cfg.reports.source_count = 0;
}

/* The same report twice counts once: by id, or by source, time, address, port and type. */
static void
test_dedup(void **state)
{
	struct fx *f = *state;
	struct report_event ev = event(REPORT_SPAM, "192.0.2.9", f->now - SEC(600), "", "abuse");
	struct report_intake_stats st;

	snprintf(ev.id, sizeof(ev.id), "<fbl-1@example.com>");
	assert_int_equal(report_intake_apply(f->ri, "fbl", &ev, 0, f->now), REPORT_APPLIED);
	/* the same report through another way in is still the same report */
	assert_int_equal(report_intake_apply(f->ri, "complaints", &ev, 0, f->now), REPORT_DUPLICATE);
	ev.id[0] = '\0';
	ev.has_port = true;
	ev.port = 4444;
	assert_int_equal(report_intake_apply(f->ri, "fbl", &ev, 0, f->now), REPORT_APPLIED);
	assert_int_equal(report_intake_apply(f->ri, "fbl", &ev, 0, f->now + SEC(60)), REPORT_DUPLICATE);
	ev.port = 4445;
	assert_int_equal(report_intake_apply(f->ri, "fbl", &ev, 0, f->now), REPORT_APPLIED);
	ev.time += SEC(1);
	assert_int_equal(report_intake_apply(f->ri, "fbl", &ev, 0, f->now), REPORT_APPLIED);
	/* another source saying the same thing is another report */
	assert_int_equal(report_intake_apply(f->ri, "other", &ev, 0, f->now), REPORT_APPLIED);
	/* after the window it counts again */
	assert_int_equal(report_intake_apply(f->ri, "fbl", &ev, 0, f->now + f->cfg.reports.dedup_window + SEC(120)),
	    REPORT_APPLIED);
	assert_int_equal(evidence_of(f, "192.0.2.9", "report_spam")->count, 6);
	report_intake_stats_get(f->ri, &st);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.applied, 6);
	assert_int_equal(st.by_kind[REPORT_SPAM], 6);
}

/* A report about an address that is not ours names nobody of ours. */
static void
test_outside(void **state)
{
	struct fx *f = *state;
	struct cidr ours;
	struct report_event ev = event(REPORT_SCAN, "198.51.100.7", f->now - SEC(60), "", "scan");
	struct report_intake_stats st;

	assert_int_equal(cidr_parse("100.64.0.0/10", &ours), 0);
	f->cfg.network.subscribers = &ours;
	f->cfg.network.subscriber_count = 1;
	assert_int_equal(report_intake_apply(f->ri, "x", &ev, 0, f->now), REPORT_OUTSIDE);
	assert_null(judge_lookup(f->j, "198.51.100.7"));
	ev = event(REPORT_SCAN, "100.64.1.2", f->now - SEC(60), "", "scan");
	assert_int_equal(report_intake_apply(f->ri, "x", &ev, 0, f->now), REPORT_APPLIED);
	assert_non_null(evidence_of(f, "100.64.1.2", "report_scan"));
	f->cfg.network.subscribers = NULL;
	f->cfg.network.subscriber_count = 0;
	report_intake_stats_get(f->ri, &st);
	assert_int_equal(st.outside, 1);
}

/* A report arriving after the address moved on goes to whoever held it at the report's time;
 * one without a time goes by when it arrived. */
static void
test_attribution_by_time(void **state)
{
	struct fx *f = *state;
	struct ident *id = ident_new(NULL);
	usec_t t = f->now - SEC(7200);
	struct report_intake_stats st;

	assert_int_equal(ident_load(id, t - SEC(60)), 0);
	judge_set_ident(f->j, id);
	ident_hold(id, true, "alice", "100.64.0.10/32", t);
	ident_hold(id, false, "alice", "100.64.0.10/32", t + SEC(600));
	ident_hold(id, true, "bob", "100.64.0.10/32", t + SEC(601));

	struct report_event ev = event(REPORT_INFECTION, "100.64.0.10", t + SEC(300), "andromeda", "sinkhole");
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, 0, f->now), REPORT_APPLIED);
	assert_non_null(evidence_of(f, "subscriber:alice", "report_infection"));
	assert_null(judge_lookup(f->j, "subscriber:bob"));
	ev.time = t + SEC(900);
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, 0, f->now), REPORT_APPLIED);
	assert_non_null(evidence_of(f, "subscriber:bob", "report_infection"));
	/* no time: when it arrived (alice's time), and counted as undated */
	ev.time = 0;
	ev.has_port = true;
	ev.port = 1;
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, t + SEC(10), f->now), REPORT_APPLIED);
	assert_int_equal(evidence_of(f, "subscriber:alice", "report_infection")->count, 2);
	/* a time in the future is no time */
	ev.time = f->now + SEC(86400);
	ev.port = 2;
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, t + SEC(20), f->now), REPORT_APPLIED);
	assert_int_equal(evidence_of(f, "subscriber:alice", "report_infection")->count, 3);
	report_intake_stats_get(f->ri, &st);
	assert_int_equal(st.undated, 2);
	judge_set_ident(f->j, NULL);
	ident_free(id);
}

/* A report on a CGN's public address and port lands on the private address behind it
 * (RFC 7422's example); without a port it names nobody, never the whole pool. */
static void
test_cgnat(void **state)
{
	struct fx *f = *state;
	struct nat_pool pool;
	const char *why;
	struct report_event ev = event(REPORT_INFECTION, "192.0.2.1", f->now - SEC(60), "mirai", "botnet_drone");
	struct report_intake_stats st;
	struct cidr ours;

	assert_int_equal(nat_pool_parse("192.0.2.1 198.51.100.1-198.51.100.14 4032", &pool, &why), 0);
	f->cfg.nat.pools = &pool;
	f->cfg.nat.pool_count = 1;
	/* the public address need not be in [network] subscribers: the private one is ours */
	assert_int_equal(cidr_parse("198.51.100.0/24", &ours), 0);
	f->cfg.network.subscribers = &ours;
	f->cfg.network.subscriber_count = 1;
	ev.has_port = true;
	ev.port = 2001;
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, 0, f->now), REPORT_APPLIED);
	assert_non_null(evidence_of(f, "198.51.100.1", "report_infection"));
	assert_null(judge_lookup(f->j, "192.0.2.1"));
	ev.port = 6033;       /* the second subscriber's block: 1024 + 4032 + 977 */
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, 0, f->now), REPORT_APPLIED);
	assert_non_null(evidence_of(f, "198.51.100.2", "report_infection"));
	ev.has_port = false;
	ev.time -= SEC(1);
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, 0, f->now), REPORT_UNATTRIBUTED);
	ev.has_port = true;
	ev.port = 80;         /* below the first port */
	assert_int_equal(report_intake_apply(f->ri, "shadowserver", &ev, 0, f->now), REPORT_UNATTRIBUTED);
	report_intake_stats_get(f->ri, &st);
	assert_int_equal(st.nat_mapped, 2);
	assert_int_equal(st.nat_unattributed, 2);
	assert_null(judge_lookup(f->j, "192.0.2.1"));
	f->cfg.nat.pools = NULL;
	f->cfg.nat.pool_count = 0;
	f->cfg.network.subscribers = NULL;
	f->cfg.network.subscriber_count = 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Files dropped in the spool: a Shadowserver CSV (a quoted newline in a row, a garbled
 * row) read and kept in done/, an unknown report type kept in failed/ with its reason.
 * (The same bytes again, which needs the store, is test_reports.sh's.) */
static void
test_spool_files(void **state)
{
	struct fx *f = *state;
	char path[512], reason[512] = "";
	struct report_intake_stats st;
	const char csv[] = "timestamp,src_ip,src_port,family,tag,http_agent\n"
	    "2026-12-03 10:00:00,100.64.0.1,4444,andromeda,botnet,\"Mozilla\n(two lines)\"\n"
	    "2026-12-03 10:00:01,not-an-address,4444,andromeda,botnet,x\n"
	    "2026-12-03 10:00:02,100.64.0.2,4445,Mirai,botnet,y\n";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/spool/shadowserver", f->dir);
	assert_int_equal(mkdir(path, 0770), 0);
	snprintf(path, sizeof(path), "%s/spool/shadowserver/2026-12-03-event4_drone-x.csv", f->dir);
	write_file(path, csv);
	snprintf(path, sizeof(path), "%s/spool/2026-12-03-weird_new_report-x.csv", f->dir);
	write_file(path, "timestamp,ip,port\n2026-12-03 10:00:00,100.64.0.3,1\n");
	report_intake_start(f->ri);
	for (int i = 0; i < 2000; i++) {
		report_intake_stats_get(f->ri, &st);
		if (st.files + st.files_failed >= 2)
			break;
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_int_equal(st.files, 1);
	assert_int_equal(st.files_failed, 1);
	assert_int_equal(st.applied, 2);
	assert_int_equal(st.rows_refused, 1);
	assert_non_null(evidence_of(f, "100.64.0.1", "report_infection"));
	assert_non_null(strstr(evidence_of(f, "100.64.0.2", "report_infection")->summary, "the 'mirai' bot"));
	snprintf(path, sizeof(path), "%s/spool/done/shadowserver/2026-12-03-event4_drone-x.csv", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/spool/failed/2026-12-03-weird_new_report-x.csv.reason", f->dir);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(reason, sizeof(reason), fp));
	fclose(fp);
	assert_non_null(strstr(reason, "unknown_type"));
	assert_null(judge_lookup(f->j, "100.64.0.3"));
}

static void
copy_file(const char *from, const char *to, time_t mtime)
{
	char buf[65536];
	size_t n;
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	struct timespec t[2] = { { mtime, 0 }, { mtime, 0 } };

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(utimensat(AT_FDCWD, to, t, 0), 0);
}

/* Mail messages are read several to a hop, in the spool's order: a CSV between two of them
 * is read alone in its turn, a message that is no report fails alone, the rest apply. */
static void
test_spool_mail_batch(void **state)
{
	struct fx *f = *state;
	char path[512], src[512];
	struct report_intake_stats st;
	const char csv[] = "timestamp,src_ip,src_port,family\n2026-12-03 10:00:00,192.0.2.50,4444,andromeda\n";

	snprintf(path, sizeof(path), "%s/spool/fbl", f->dir);
	assert_int_equal(mkdir(path, 0770), 0);
	snprintf(path, sizeof(path), "%s/spool/shadowserver", f->dir);
	assert_int_equal(mkdir(path, 0770), 0);
	repo_path("tests/data/reports/mail/arf-rfc5965-b2.eml", src, sizeof(src));
	snprintf(path, sizeof(path), "%s/spool/fbl/1.eml", f->dir);
	copy_file(src, path, 1000);
	snprintf(path, sizeof(path), "%s/spool/shadowserver/2026-12-03-event4_drone-x.csv", f->dir);
	write_file(path, csv);
	struct timespec t[2] = { { 2000, 0 }, { 2000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	repo_path("tests/data/reports/mail/arf-spamtrap.eml", src, sizeof(src));
	snprintf(path, sizeof(path), "%s/spool/fbl/3.eml", f->dir);
	copy_file(src, path, 3000);
	snprintf(path, sizeof(path), "%s/spool/fbl/4.eml", f->dir);
	write_file(path, "From: someone@example.org\nSubject: hi\n\nJust saying hi.\n");
	assert_int_equal(utimensat(AT_FDCWD, path, (struct timespec[2]){ { 4000, 0 }, { 4000, 0 } }, 0), 0);

	report_intake_start(f->ri);
	for (int i = 0; i < 2000; i++) {
		report_intake_stats_get(f->ri, &st);
		if (st.files + st.files_failed >= 4)
			break;
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_int_equal(st.files, 3);
	assert_int_equal(st.files_failed, 1);
	assert_int_equal(st.applied, 3);
	assert_non_null(evidence_of(f, "192.0.2.1", "report_spam"));
	assert_non_null(evidence_of(f, "192.0.2.50", "report_infection"));
	assert_non_null(evidence_of(f, "192.0.2.45", "report_spam"));
	snprintf(path, sizeof(path), "%s/spool/failed/fbl/4.eml.reason", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	for (const char *const *n = (const char *const[]){ "done/fbl/1.eml", "done/fbl/3.eml",
	    "done/shadowserver/2026-12-03-event4_drone-x.csv", NULL }; *n != NULL; n++) {
		snprintf(path, sizeof(path), "%s/spool/%s", f->dir, *n);
		if (access(path, F_OK) != 0)
			fail_msg("%s is not there", path);
	}
}

/* A complaint is traced through our relays' names and addresses; a reload (SIGHUP) frees the
 * configuration the pipeline started with, and the names it reads must not go with it
 * (ASan would see the read), while the relays' addresses follow the new one. */
static void
test_complaint_after_reload(void **state)
{
	struct fx *f = *state;
	struct config *started = calloc(1, sizeof(*started)), *now = calloc(1, sizeof(*now));
	struct report_intake *ri;
	struct report_intake_stats st;
	char err[256], path[512], src[512];

	(void)f;
	assert_non_null(started);
	assert_non_null(now);
	config_defaults(started);
	config_defaults(now);
	snprintf(started->reports.directory, sizeof(started->reports.directory), "%s/spool2", f->dir);
	snprintf(now->reports.directory, sizeof(now->reports.directory), "%s/spool2", f->dir);
	assert_non_null(started->reports.relay_names = calloc(2, sizeof(char *)));
	started->reports.relay_names[0] = strdup("relay1.isp.example");
	started->reports.relay_names[1] = strdup("relay2.isp.example");
	started->reports.relay_name_count = 2;
	assert_non_null(ri = report_intake_new(&f->loop, started, f->j, NULL, err, sizeof(err)));
	/* the relays' sending addresses come with the reload: [network] relay */
	assert_non_null(now->network.relays = calloc(1, sizeof(struct addr)));
	assert_int_equal(addr_parse("203.0.113.10", 12, &now->network.relays[0]), 0);
	now->network.relay_count = 1;
	report_intake_reload(ri, now);
	config_free(started);
	free(started);

	snprintf(path, sizeof(path), "%s/spool2/complaints", f->dir);
	assert_int_equal(mkdir(path, 0770), 0);
	repo_path("tests/data/reports/mail/complaint-spamcop.eml", src, sizeof(src));
	snprintf(path, sizeof(path), "%s/spool2/complaints/1.eml", f->dir);
	copy_file(src, path, 1000);
	report_intake_start(ri);
	for (int i = 0; i < 2000; i++) {
		report_intake_stats_get(ri, &st);
		if (st.files + st.files_failed >= 1)
			break;
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_int_equal(st.files, 1);
	assert_int_equal(st.applied, 1);
	assert_non_null(evidence_of(f, "192.0.2.42", "report_spam"));
	report_intake_free(ri);
	config_free(now);
	free(now);
}

struct spooled {
	int calls, status;
	char name[256];
};

static void
on_spooled(void *arg, int status, const char *name)
{
	struct spooled *s = arg;

	s->calls++;
	s->status = status;
	snprintf(s->name, sizeof(s->name), "%s", name);
}

/* A posted report is on disk under its source before the answer; bad sources and sizes are refused. */
static void
test_submit_spools(void **state)
{
	struct fx *f = *state;
	struct spooled sp = { 0 };
	char path[512], buf[64];
	FILE *fp;

	assert_int_equal(report_intake_submit(f->ri, "fbl.example", "From: x\n\nreport\n", 17, on_spooled, &sp), 0);
	while (sp.calls == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(sp.status, 0);
	assert_int_equal(strncmp(sp.name, "fbl.example/", 12), 0);
	snprintf(path, sizeof(path), "%s/spool/%s", f->dir, sp.name);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), 17);
	fclose(fp);
	assert_memory_equal(buf, "From: x\n\nreport\n", 17);
	/* nothing left in .incoming */
	snprintf(path, sizeof(path), "%s/spool/.incoming", f->dir);
	assert_int_equal(rmdir(path), 0);

	assert_int_equal(report_intake_submit(f->ri, "../etc", "x", 1, on_spooled, &sp), -EINVAL);
	assert_int_equal(report_intake_submit(f->ri, ".hidden", "x", 1, on_spooled, &sp), -EINVAL);
	assert_int_equal(report_intake_submit(f->ri, "done", "x", 1, on_spooled, &sp), -EINVAL);
	assert_int_equal(report_intake_submit(f->ri, "a b", "x", 1, on_spooled, &sp), -EINVAL);
	assert_int_equal(report_intake_submit(f->ri, "fbl", "x", 0, on_spooled, &sp), -EINVAL);
	char *big = calloc(1, f->cfg.reports.max_size + 1);
	assert_non_null(big);
	assert_int_equal(report_intake_submit(f->ri, "fbl", big, f->cfg.reports.max_size + 1, on_spooled, &sp), -EINVAL);
	free(big);
	assert_true(report_source_valid("shadowserver"));
	assert_false(report_source_valid(""));
	assert_false(report_source_valid(NULL));
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_words),
		T(test_trust),
		T(test_dedup),
		T(test_outside),
		T(test_attribution_by_time),
		T(test_submit_spools),
		T(test_cgnat),
		T(test_spool_files),
		T(test_spool_mail_batch),
		T(test_complaint_after_reload),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
