/*
 * report_intake.c — the report pipeline (report_intake.h): the spool directory read on a
 * libuv worker, one file at a time, the events applied on the loop.
 *
 * A file goes through steps, each a uv_queue_work: SCAN picks the oldest file of the
 * spool; OPEN reads it through for its SHA-256 (a file read before is not read again)
 * and sniffs its format; PARSE emits events, a mail message whole, a CSV file at most
 * JOB_CHUNK events a step so that a million-row report never sits in memory at once and
 * the loop applies each chunk in a few milliseconds; FINISH moves it to done/ or
 * failed/ (with NAME.reason). Between steps the loop applies the events of the last
 * one. Only one file is in flight, so the order of the spool is the order of evidence.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/nat.h"
#include "judge/kinds.h"
#include "sense/report_formats.h"
#include "sense/report_intake.h"

#define JOB_CHUNK 4096                 /* events a PARSE step hands the loop at most */
#define SUBMIT_MAX_IN_FLIGHT 8
#define SPOOL_INCOMING ".incoming"
#define DEDUP_MIN_CAP 1024
#define SCAN_BATCH 4096                /* files taken from one look at the spool */
#define MAIL_BATCH 64                  /* mail messages read in one hop of the worker */
/* the file in flight, its digest and the events handled: a restart goes on from there */
#define PROGRESS_KEY "reports:progress"

/* --- the memory of reports seen: keys and the minute they were seen ------------------ */

struct dedup_slot {
	uint64_t key;                      /* 0: empty */
	uint32_t minute;                   /* minutes since the epoch */
};

struct dedup {
	struct dedup_slot *slots;
	size_t cap, n;                     /* cap: a power of two; n: slots used */
};

static uint32_t
minute_of(usec_t t)
{
	return t <= 0 ? 0 : (uint32_t)(t / (60 * USEC_PER_SEC));
}

static struct dedup_slot *
dedup_find(struct dedup *d, uint64_t key)
{
	size_t mask = d->cap - 1, i = (size_t)key & mask;

	while (d->slots[i].key != 0 && d->slots[i].key != key)
		i = (i + 1) & mask;
	return &d->slots[i];
}

/* Rebuilt with only the keys seen since oldest, in a table twice their number at least. */
static int
dedup_rebuild(struct dedup *d, uint32_t oldest)
{
	size_t live = 0, cap = DEDUP_MIN_CAP;
	struct dedup old = *d, fresh;

	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key != 0 && old.slots[i].minute >= oldest)
			live++;
	while (cap < live * 4)
		cap *= 2;
	if ((fresh.slots = calloc(cap, sizeof(*fresh.slots))) == NULL)
		return -ENOMEM;
	fresh.cap = cap;
	fresh.n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key != 0 && old.slots[i].minute >= oldest) {
			*dedup_find(&fresh, old.slots[i].key) = old.slots[i];
			fresh.n++;
		}
	free(old.slots);
	*d = fresh;
	return 0;
}

/* True when key was seen since oldest; remembers it (seen now) either way. */
static bool
dedup_check(struct dedup *d, uint64_t key, uint32_t now, uint32_t oldest)
{
	struct dedup_slot *s;

	if (key == 0)
		key = 1;
	if ((d->n + 1) * 2 > d->cap && dedup_rebuild(d, oldest) != 0)
		return false;              /* out of memory: counted twice rather than lost */
	s = dedup_find(d, key);
	if (s->key == key && s->minute >= oldest)
		return true;
	if (s->key == 0)
		d->n++;
	s->key = key;
	s->minute = now;
	return false;
}

/* --- a file through its steps ----------------------------------------------------------- */

enum job_step { STEP_SCAN, STEP_OPEN, STEP_PARSE, STEP_FINISH, STEP_BATCH, STEP_FINISH_BATCH };
struct spool_entry;

/* What became of one file's events, for its log line. */
struct file_tally {
	uint64_t events, applied, duplicates, outside, unattributed, refused;
};

/* One mail or JSON report of a batch: read in one hop with the others, its events a
 * stretch of the job's, moved out of the spool with the others. */
struct batch_file {
	char rel[PATH_MAX];
	char source[64];
	usec_t arrived;
	uint8_t digest[SHA256_DIGEST_SIZE];
	bool failed, duplicate_file, vanished;
	const char *format, *failure;
	char reason[256];
	size_t ev_start, ev_end;
	struct file_tally t;
	int error;
};

struct reason_tally {
	const char *name;
	uint64_t count;
};

struct report_job {
	uv_work_t work;
	struct report_intake *ri;
	enum job_step step;
	struct spool_entry *list;          /* SCAN: the oldest files, in order */
	size_t list_len, list_cap, list_pos;
	struct batch_file *files;          /* BATCH: the messages read in this hop */
	size_t nfiles;
	char rel[PATH_MAX];                /* the file, relative to the directory */
	char source[64];
	usec_t arrived;                    /* its modification time */
	int fd;
	size_t size;
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct report_reader reader;       /* the format's reader and its state */
	bool eof;                          /* PARSE: nothing more to read */
	struct report_event *events;       /* PARSE: this step's */
	size_t n, cap;
	struct reason_tally tally[16];     /* PARSE: rows refused this step, by reason */
	size_t tally_count;
	uint64_t refused;
	/* the whole file, for its log line and FINISH */
	struct file_tally t;
	uint64_t skip;                     /* events handled before a restart: not applied again */
	bool failed, duplicate_file;
	bool vanished;                     /* OPEN: the file went before we read it (removed by hand) */
	usec_t now, window;                /* OPEN: when it was taken, [reports] dedup_window then */
	size_t max_size;                   /* OPEN: [reports] max_size then (the worker reads no config) */
	char reason[256];
	int error;                         /* FINISH: the move failed (errno) */
	size_t backlog;                    /* SCAN: files waiting */
};

struct submit {
	uv_work_t work;
	struct report_intake *ri;
	char source[64];
	char name[96];
	void *body;
	size_t len;
	int status;
	report_submit_cb done;
	void *arg;
};

struct report_intake {
	uv_loop_t *loop;
	const struct config *cfg;
	struct judge *judge;
	struct store *store;
	char dir[PATH_MAX];
	uv_timer_t timer;
	bool timer_open, running, stopping;
	struct report_job *job;            /* in flight, or NULL */
	bool job_queued;
	unsigned submits;                  /* in flight */
	uint32_t submit_seq;
	int kinds[REPORT_KIND_COUNT];
	struct dedup dedup;
	usec_t last_forget;
	char **relay_names;                /* [reports] relay_name, or this host's name: our own copies,
	                                    * read by the worker (a restart changes them) */
	size_t relay_name_count;
	bool relay_nets_stale;             /* a reload changed them: set anew when no file is in flight */
	struct cidr *relay_nets;           /* [reports] relay_network, else [network] relays */
	size_t relay_net_count;
	struct report_intake_stats stats;
	struct log_limit log_budget;
};

bool
report_source_valid(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n >= 64 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-' || name[i] == '.'))
			return false;
	return strcmp(name, "done") != 0 && strcmp(name, "failed") != 0;
}

static void
tally_add(struct reason_tally *t, size_t *count, size_t max, const char *name, uint64_t n)
{
	for (size_t i = 0; i < *count; i++)
		if (t[i].name == name || strcmp(t[i].name, name) == 0) {
			t[i].count += n;
			return;
		}
	if (*count < max) {
		t[*count].name = name;
		t[(*count)++].count = n;
	}
}

static void
stats_reason(struct report_intake *ri, const char *name, uint64_t n)
{
	struct report_intake_stats *s = &ri->stats;
	struct reason_tally *t = (struct reason_tally *)s->reasons;

	_Static_assert(sizeof(struct reason_tally) == sizeof(struct report_reason_count), "same shape");
	tally_add(t, &s->reason_count, REPORT_REASONS_MAX, name, n);
}

/* --- the worker's steps ----------------------------------------------------------------- */

static bool
spool_name_ok(const char *name)
{
	size_t n = strlen(name);

	/* dot files are being written (or are ours); .reason files sit beside failed ones */
	return n > 0 && name[0] != '.' && !(n > 4 && strcmp(name + n - 4, ".tmp") == 0);
}

/* One file the scan found: its name relative to the spool, its source, its time. */
struct spool_entry {
	char rel[160];
	char source[64];
	struct timespec mtime;
};

static int
entry_order(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

/* Adds the regular files of path (and, at the top, of each source's subdirectory) to the
 * job's list; the list is sorted and cut to SCAN_BATCH after. */
static void
scan_dir(struct report_job *job, const char *path, const char *source)
{
	DIR *d;
	struct dirent *e;
	struct stat st;

	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!spool_name_ok(e->d_name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (source == NULL && report_source_valid(e->d_name)) {
				char sub[PATH_MAX];
				if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < sizeof(sub))
					scan_dir(job, sub, e->d_name);
			}
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		job->backlog++;
		if (job->list_len == job->list_cap) {
			size_t cap = job->list_cap == 0 ? 256 : job->list_cap * 2;
			struct spool_entry *grown = reallocarray(job->list, cap, sizeof(*grown));
			if (grown == NULL)
				continue;          /* the next scan finds it */
			job->list = grown;
			job->list_cap = cap;
		}
		struct spool_entry *en = &job->list[job->list_len];
		if ((size_t)snprintf(en->rel, sizeof(en->rel), "%s%s%s", source != NULL ? source : "",
		    source != NULL ? "/" : "", e->d_name) >= sizeof(en->rel))
			continue;              /* a name too long to be one of ours: left alone */
		snprintf(en->source, sizeof(en->source), "%s", source != NULL ? source : "directory");
		en->mtime = st.st_mtim;
		job->list_len++;
	}
	closedir(d);
}

static void
job_fail(struct report_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
job_fail(struct report_job *job, const char *fmt, ...)
{
	va_list ap;

	job->failed = true;
	va_start(ap, fmt);
	vsnprintf(job->reason, sizeof(job->reason), fmt, ap);
	va_end(ap);
}

static void
step_open(struct report_job *job)
{
	struct report_intake *ri = job->ri;
	char path[PATH_MAX * 2], head[4096];
	struct sha256_ctx sha;
	struct stat st;
	uint8_t buf[65536];
	ssize_t r;
	size_t got = 0;

	snprintf(path, sizeof(path), "%s/%s", ri->dir, job->rel);
	if ((job->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		job->vanished = errno == ENOENT;
		job_fail(job, "cannot open: %s", strerror(errno));
		return;
	}
	if (fstat(job->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		job_fail(job, "not a regular file");
		return;
	}
	job->size = (size_t)st.st_size;
	sha256_init(&sha);
	while ((r = read(job->fd, buf, sizeof(buf))) > 0) {
		if (got < sizeof(head))
			memcpy(head + got, buf, (size_t)r < sizeof(head) - got ? (size_t)r : sizeof(head) - got);
		got += (size_t)r;
		sha256_update(&sha, (size_t)r, buf);
	}
	if (r < 0) {
		job_fail(job, "cannot read: %s", strerror(errno));
		return;
	}
	sha256_digest(&sha, sizeof(job->digest), job->digest);
	job->size = got;
	if (lseek(job->fd, 0, SEEK_SET) != 0) {
		job_fail(job, "cannot read: %s", strerror(errno));
		return;
	}
	if (got == 0) {
		job_fail(job, "empty");
		return;
	}
	struct report_reader_options opt = { .max_size = job->max_size,
	    .relay_names = (const char *const *)ri->relay_names, .relay_name_count = ri->relay_name_count,
	    .relay_nets = ri->relay_nets, .relay_net_count = ri->relay_net_count };
	if (report_reader_open(&job->reader, head, got < sizeof(head) ? got : sizeof(head), job->rel,
	    job->fd, got, &opt, job->reason, sizeof(job->reason)) != 0)
		job->failed = true;
}

static int
collect_event(void *arg, const struct report_event *ev)
{
	struct report_job *job = arg;
	struct report_event *grown;

	if (job->n == job->cap) {
		size_t cap = job->cap == 0 ? 64 : job->cap * 2;
		if ((grown = reallocarray(job->events, cap, sizeof(*grown))) == NULL)
			return -ENOMEM;
		job->events = grown;
		job->cap = cap;
	}
	job->events[job->n++] = *ev;
	return 0;
}

static void
count_refused(void *arg, const char *reason)
{
	struct report_job *job = arg;

	job->refused++;
	tally_add(job->tally, &job->tally_count, sizeof(job->tally) / sizeof(job->tally[0]), reason, 1);
}

static void
step_parse_more(struct report_job *job)
{
	int rc;

	rc = report_reader_step(&job->reader, JOB_CHUNK, collect_event, count_refused, job, job->reason,
	    sizeof(job->reason));
	if (rc < 0) {
		job->failed = true;
		job->eof = true;
	} else
		job->eof = rc == 0;
}

static void
step_parse(struct report_job *job)
{
	job->n = 0;
	job->tally_count = 0;
	job->refused = 0;
	step_parse_more(job);
}

/* mkdir -p for the one or two levels under the spool. */
static int
make_dir(const char *path)
{
	if (mkdir(path, 0770) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Moves rel out of the spool into done/ or failed/ (with rel.reason); 0 or -errno. */
static int
move_file(const struct report_intake *ri, const char *rel, bool failed, const char *reason)
{
	const char *where = failed ? "failed" : "done";
	char from[PATH_MAX * 2], to[PATH_MAX * 2 + 16], dir[PATH_MAX * 2];
	const char *slash = strchr(rel, '/');
	struct stat st;
	int fd, rc;

	snprintf(from, sizeof(from), "%s/%s", ri->dir, rel);
	snprintf(dir, sizeof(dir), "%s/%s", ri->dir, where);
	if ((rc = make_dir(dir)) != 0)
		return rc;
	if (slash != NULL) {
		snprintf(dir, sizeof(dir), "%s/%s/%.*s", ri->dir, where, (int)(slash - rel), rel);
		if ((rc = make_dir(dir)) != 0)
			return rc;
	}
	/* never over an earlier file of the same name */
	snprintf(to, sizeof(to), "%s/%s/%s", ri->dir, where, rel);
	for (unsigned i = 1; lstat(to, &st) == 0 && i < 1000; i++)
		snprintf(to, sizeof(to), "%s/%s/%s.%u", ri->dir, where, rel, i);
	if (rename(from, to) != 0)
		return -errno;
	if (failed) {
		char rpath[sizeof(to) + 8];
		snprintf(rpath, sizeof(rpath), "%s.reason", to);
		if ((fd = open(rpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0660)) >= 0) {
			dprintf(fd, "%s\n", reason);
			close(fd);
		}
	}
	return 0;
}

static void
step_finish(struct report_job *job)
{
	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
	}
	job->error = move_file(job->ri, job->rel, job->failed, job->reason);
}

/* The next entry of the scan's list becomes the job's file. */
static void
entry_take(struct report_job *job)
{
	const struct spool_entry *en = &job->list[job->list_pos++];

	snprintf(job->rel, sizeof(job->rel), "%s", en->rel);
	snprintf(job->source, sizeof(job->source), "%s", en->source);
	job->arrived = (usec_t)en->mtime.tv_sec * USEC_PER_SEC + en->mtime.tv_nsec / 1000;
	if (job->backlog > 0)
		job->backlog--;
}

/* The file just read joins the batch; its reader and descriptor are done with. */
static void
batch_save(struct report_job *job, size_t ev_start, uint64_t refused_before)
{
	struct batch_file *b = &job->files[job->nfiles++];

	memset(b, 0, sizeof(*b));
	memcpy(b->rel, job->rel, sizeof(b->rel));
	memcpy(b->source, job->source, sizeof(b->source));
	b->arrived = job->arrived;
	memcpy(b->digest, job->digest, sizeof(b->digest));
	b->failed = job->failed;
	b->duplicate_file = job->duplicate_file;
	b->vanished = job->vanished;
	b->format = report_reader_format(&job->reader);
	b->failure = job->failed ? report_reader_failure(&job->reader) : NULL;
	memcpy(b->reason, job->reason, sizeof(b->reason));
	b->ev_start = ev_start;
	b->ev_end = job->n;
	b->t.refused = job->refused - refused_before;
	report_reader_close(&job->reader);
	if (job->fd >= 0)
		close(job->fd);
	job->fd = -1;
}

/* Whether the file just opened is in the spool's dedup window (the store's reader
 * connection serializes its callers, so the worker may ask). */
static bool
seen_before(struct report_job *job)
{
	usec_t at;

	return store_report_seen(job->ri->store, job->digest, sizeof(job->digest), &at) == 1 &&
	    at >= job->now - job->window;
}

/*
 * A mail message just opened, and the ones after it in the list while they are mail too:
 * each read whole in this one hop, up to MAIL_BATCH of them or JOB_CHUNK events. A CSV
 * file met on the way is left for the next hop, alone.
 */
static void
step_batch(struct report_job *job)
{
	job->n = 0;
	job->tally_count = 0;
	job->refused = 0;
	job->nfiles = 0;
	for (;;) {
		size_t ev_start = job->n;
		uint64_t refused_before = job->refused;
		if (!job->failed && !job->vanished && !job->duplicate_file)
			step_parse_more(job);
		batch_save(job, ev_start, refused_before);
		if (job->nfiles == MAIL_BATCH || job->n >= JOB_CHUNK || job->list_pos >= job->list_len)
			return;
		entry_take(job);
		job->failed = job->duplicate_file = job->vanished = false;
		job->reason[0] = '\0';
		memset(&job->reader, 0, sizeof(job->reader));
		step_open(job);
		if (!job->failed && !job->vanished) {
			if (seen_before(job))
				job->duplicate_file = true;
			else if (job->reader.kind == REPORT_READER_CSV) {
				report_reader_close(&job->reader);
				close(job->fd);
				job->fd = -1;
				job->list_pos--;
				job->backlog++;
				return;
			}
		}
	}
}

static void
job_work(uv_work_t *w)
{
	struct report_job *job = w->data;

	switch (job->step) {
	case STEP_SCAN:
		job->backlog = 0;
		job->list_len = job->list_pos = 0;
		scan_dir(job, job->ri->dir, NULL);
		if (job->list_len > 1)          /* an empty spool has no list at all: qsort(NULL) is undefined */
			qsort(job->list, job->list_len, sizeof(*job->list), entry_order);
		if (job->list_len > SCAN_BATCH)
			job->list_len = SCAN_BATCH;
		break;
	case STEP_OPEN:
		step_open(job);
		if (job->failed || job->vanished)
			break;
		/* the store's reader connection serializes its callers: asked from here, a mail
		 * message costs the loop one hop less */
		if (seen_before(job))
			job->duplicate_file = true;
		else if (job->reader.kind != REPORT_READER_CSV) {
			step_batch(job);           /* whole messages: this one and the next ones, in this hop */
			job->step = STEP_BATCH;
		}
		break;
	case STEP_PARSE:
		step_parse(job);
		break;
	case STEP_FINISH:
		step_finish(job);
		break;
	case STEP_BATCH:
		break;
	case STEP_FINISH_BATCH:
		for (size_t i = 0; i < job->nfiles; i++)
			if (!job->files[i].vanished)
				job->files[i].error = move_file(job->ri, job->files[i].rel, job->files[i].failed,
				    job->files[i].reason);
		break;
	}
}

/* --- the loop's side --------------------------------------------------------------------- */

static void job_after(uv_work_t *w, int status);
static void relay_nets_refresh(struct report_intake *ri);

static void
job_queue(struct report_intake *ri, enum job_step step)
{
	ri->job->step = step;
	ri->job->work.data = ri->job;
	if (uv_queue_work(ri->loop, &ri->job->work, job_work, job_after) == 0)
		ri->job_queued = true;
}

/* Forgets the file just read; keeps the scan's list and where in it we are. */
static void
job_reset(struct report_job *job)
{
	struct report_intake *ri = job->ri;
	struct spool_entry *list = job->list;
	struct batch_file *files = job->files;
	size_t len = job->list_len, cap = job->list_cap, pos = job->list_pos, backlog = job->backlog;

	free(job->events);
	report_reader_close(&job->reader);
	if (job->fd >= 0)
		close(job->fd);
	memset(job, 0, sizeof(*job));
	job->fd = -1;
	job->ri = ri;
	job->list = list;
	job->list_len = len;
	job->list_cap = cap;
	job->list_pos = pos;
	job->backlog = backlog;
	job->files = files;
}

/* The next file of the scan's list, or a new look at the spool once the list is done
 * (only when it held something: an empty spool waits for the timer). */
static void
job_next(struct report_intake *ri)
{
	struct report_job *job = ri->job;

	relay_nets_refresh(ri);            /* no step is in flight here */
	if (job->list_pos < job->list_len) {
		entry_take(job);
		job->now = time_now();
		job->window = ri->cfg->reports.dedup_window;
		job->max_size = ri->cfg->reports.max_size;
		ri->stats.backlog = job->backlog;
		job_queue(ri, STEP_OPEN);
		return;
	}
	if (job->list_len > 0) {
		job->list_len = job->list_pos = 0;
		job_queue(ri, STEP_SCAN);
	}
}

static const char *
source_display(const char *source, char *buf, size_t size)
{
	if (!strcmp(source, "shadowserver"))
		return "Shadowserver";
	snprintf(buf, size, "%s", source);
	if (buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
	return buf;
}

void
report_summary(const char *source, const struct report_event *ev, char *out, size_t size)
{
	static const char *const months[] = { "January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December" };
	char name[64], when[64] = "", port[32] = "";
	const char *what;
	size_t n;

	if (size == 0)
		return;
	if (ev->time > 0) {
		time_t t = (time_t)(ev->time / USEC_PER_SEC);
		struct tm tm;
		if (gmtime_r(&t, &tm) != NULL)
			snprintf(when, sizeof(when), " at %02d:%02d UTC on %d %s %d", tm.tm_hour, tm.tm_min, tm.tm_mday,
			    months[tm.tm_mon], tm.tm_year + 1900);
	}
	if (ev->has_port)
		snprintf(port, sizeof(port), " (source port %u)", ev->port);
	switch (ev->kind) {
	case REPORT_SPAM:
		what = "mail sent from this connection was reported as spam";
		break;
	case REPORT_INFECTION:
		what = ev->family[0] != '\0' ? NULL : "a bot on this connection was seen";
		break;
	case REPORT_SCAN:
		what = "this connection was reported scanning or attacking others";
		break;
	default:
		what = "this connection was reported";
		break;
	}
	n = (size_t)snprintf(out, size, "%s report%s%s%s: ", source_display(source, name, sizeof(name)),
	    ev->type[0] != '\0' ? " (" : "", ev->type, ev->type[0] != '\0' ? ")" : "");
	if (n >= size)
		return;
	if (what == NULL)
		n += (size_t)snprintf(out + n, size - n, REPORT_FAMILY_OPEN "%s" REPORT_FAMILY_CLOSE " was seen", ev->family);
	else
		n += (size_t)snprintf(out + n, size - n, "%s", what);
	if (n >= size)
		return;
	if (ev->detail[0] != '\0')
		n += (size_t)snprintf(out + n, size - n, " (%s)", ev->detail);
	if (n >= size)
		return;
	snprintf(out + n, size - n, "%s%s", when, port);
}

static double
source_trust(const struct report_intake *ri, const char *source)
{
	const struct report_source_section *s = config_report_source(ri->cfg, source);

	return s != NULL ? s->trust : ri->cfg->reports.trust;
}

/* The key an event is deduplicated by: its id when it has one, else what it says. */
static uint64_t
event_key(const char *source, const struct report_event *ev, bool *by_id)
{
	char buf[64 + REPORT_ID_MAX + REPORT_TYPE_MAX + 64];
	size_t n;

	if (ev->id[0] != '\0') {
		*by_id = true;
		n = (size_t)snprintf(buf, sizeof(buf), "id\n%s\n%s", ev->id, ev->type);
	} else {
		*by_id = false;
		n = (size_t)snprintf(buf, sizeof(buf), "row\n%s\n%" PRId64 "\n%d\n%s\n%u\n", source,
		    ev->time / USEC_PER_SEC, ev->addr.family, ev->type, ev->has_port ? ev->port + 1u : 0u);
		if (n < sizeof(buf) - 16) {
			memcpy(buf + n, ev->addr.bytes, 16);
			n += 16;
		}
	}
	return hash_bytes(buf, n < sizeof(buf) ? n : sizeof(buf));
}

int
report_intake_apply(struct report_intake *ri, const char *source, const struct report_event *ev, usec_t arrived,
    usec_t now)
{
	const struct config *cfg = ri->cfg;
	uint32_t window = (uint32_t)(cfg->reports.dedup_window / (60 * USEC_PER_SEC));
	uint32_t minute = minute_of(now);
	struct subject *s;
	char summary[STORE_SUMMARY_MAX];
	struct report_event local, nat;
	bool by_id;
	uint64_t key;
	usec_t at;
	int kind;

	ri->stats.events++;
	key = event_key(source, ev, &by_id);
	if (cfg->nat.pool_count > 0) {
		/* a CGN's public address and port name one private address, or nobody */
		struct addr priv;
		int rc = nat_lookup(cfg->nat.pools, cfg->nat.pool_count, &ev->addr, ev->has_port, ev->port, &priv);
		if (rc < 0) {
			ri->stats.nat_unattributed++;
			ri->stats.unattributed++;
			stats_reason(ri, nat_error_name(rc), 1);
			return REPORT_UNATTRIBUTED;
		}
		if (rc == 1) {
			nat = *ev;
			nat.addr = priv;
			ev = &nat;
			ri->stats.nat_mapped++;
		}
	}
	if (ev != &nat && cfg->network.subscriber_count > 0 &&
	    !cidr_list_contains(cfg->network.subscribers, cfg->network.subscriber_count, &ev->addr)) {
		ri->stats.outside++;
		return REPORT_OUTSIDE;
	}
	if (dedup_check(&ri->dedup, key, minute, minute > window ? minute - window : 0)) {
		ri->stats.duplicates++;
		return REPORT_DUPLICATE;
	}
	if (by_id) {
		/* a report id outlives a restart: the same message delivered again counts once */
		uint8_t digest[SHA256_DIGEST_SIZE];
		struct sha256_ctx sha;
		sha256_init(&sha);
		sha256_update(&sha, 3, (const uint8_t *)"id\n");
		sha256_update(&sha, strlen(ev->id), (const uint8_t *)ev->id);
		sha256_update(&sha, 1, (const uint8_t *)"\n");
		sha256_update(&sha, strlen(ev->type), (const uint8_t *)ev->type);
		sha256_digest(&sha, sizeof(digest), digest);
		if (store_report_seen(ri->store, digest, sizeof(digest), &at) == 1 && at >= now - cfg->reports.dedup_window) {
			ri->stats.duplicates++;
			return REPORT_DUPLICATE;
		}
		store_report_remember(ri->store, digest, sizeof(digest), now);
	}
	at = ev->time;
	if (at <= 0 || at > now + 3600 * USEC_PER_SEC) {
		/* no time, or one from the future: when the report reached us is the best we know */
		ri->stats.undated++;
		local = *ev;
		local.time = 0;
		ev = &local;
		at = arrived > 0 ? arrived : now;
	}
	kind = ri->kinds[ev->kind < REPORT_KIND_COUNT ? ev->kind : REPORT_OTHER];
	if ((s = judge_host(ri->judge, &ev->addr, at)) == NULL || kind < 0) {
		ri->stats.unattributed++;
		return REPORT_UNATTRIBUTED;
	}
	report_summary(source, ev, summary, sizeof(summary));
	judge_add_evidence(ri->judge, s, kind, source_trust(ri, source), 1, now, summary);
	ri->stats.applied++;
	ri->stats.by_kind[ev->kind < REPORT_KIND_COUNT ? ev->kind : REPORT_OTHER]++;
	return REPORT_APPLIED;
}

/* One line per file read, whichever path read it. */
static void
file_log(const char *rel, const char *source, const char *format, const struct file_tally *t, bool failed,
    bool duplicate, const char *reason)
{
	if (failed)
		log_warnx("report file=%s source=%s format=%s events=%" PRIu64 " applied=%" PRIu64
		    " refused=%" PRIu64 " result=failed reason=\"%s\"", rel, source, format, t->events, t->applied,
		    t->refused, reason);
	else
		log_info("report file=%s source=%s format=%s events=%" PRIu64 " applied=%" PRIu64 " duplicates=%" PRIu64
		    " outside=%" PRIu64 " unattributed=%" PRIu64 " refused=%" PRIu64 " result=%s", rel, source, format,
		    t->events, t->applied, t->duplicates, t->outside, t->unattributed, t->refused,
		    duplicate ? "duplicate" : "done");
}

/* Applies n events of one file from source, counting what became of each in t. */
static void
apply_events(struct report_intake *ri, const char *source, const struct report_event *ev, size_t n,
    usec_t arrived, usec_t now, struct file_tally *t)
{
	for (size_t i = 0; i < n; i++)
		switch (report_intake_apply(ri, source, &ev[i], arrived, now)) {
		case REPORT_APPLIED:
			t->applied++;
			break;
		case REPORT_DUPLICATE:
			t->duplicates++;
			break;
		case REPORT_OUTSIDE:
			t->outside++;
			break;
		default:
			t->unattributed++;
			break;
		}
	t->events += n;
}

static void
digest_hex(const uint8_t *d, char *out)
{
	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* Saved after each chunk: kill -9 halfway through a million rows costs no row twice. */
static void
progress_save(struct report_intake *ri, const struct report_job *job)
{
	char value[PATH_MAX + 2 * SHA256_DIGEST_SIZE + 32], hex[2 * SHA256_DIGEST_SIZE + 1];

	if (ri->store == NULL)
		return;
	digest_hex(job->digest, hex);
	snprintf(value, sizeof(value), "%s %" PRIu64 " %s", hex, job->t.events, job->rel);
	store_state_put(ri->store, PROGRESS_KEY, value);
}

/* How many events of this file a run before us handled: 0 unless it was this very file. */
static uint64_t
progress_load(struct report_intake *ri, const struct report_job *job)
{
	char value[PATH_MAX + 2 * SHA256_DIGEST_SIZE + 32], hex[2 * SHA256_DIGEST_SIZE + 1];
	unsigned long long n;
	int off = 0;

	if (ri->store == NULL || store_state_get(ri->store, PROGRESS_KEY, value, sizeof(value)) != 0)
		return 0;
	digest_hex(job->digest, hex);
	if (strncmp(value, hex, 2 * SHA256_DIGEST_SIZE) != 0 ||
	    sscanf(value + 2 * SHA256_DIGEST_SIZE, " %llu %n", &n, &off) != 1 || off == 0 ||
	    strcmp(value + 2 * SHA256_DIGEST_SIZE + off, job->rel) != 0)
		return 0;
	return n;
}

static void
job_after(uv_work_t *w, int status)
{
	struct report_job *job = w->data;
	struct report_intake *ri = job->ri;
	usec_t now = time_now();

	ri->job_queued = false;
	if (status == UV_ECANCELED || ri->stopping) {
		if (job->step == STEP_PARSE || job->step == STEP_OPEN)
			log_info("report file=%s: stopped before its end; read again at the next start", job->rel);
		return;
	}
	switch (job->step) {
	case STEP_SCAN:
		ri->stats.backlog = job->backlog;
		job_next(ri);
		return;
	case STEP_OPEN:
		if (job->vanished) {
			job_reset(job);
			job_next(ri);
			return;
		}
		if (!job->failed) {
			if (job->duplicate_file) {
				ri->stats.files_duplicate++;
				job_queue(ri, STEP_FINISH);
				return;
			}
			if ((job->skip = progress_load(ri, job)) > 0)
				log_info("report file=%s: going on after event %" PRIu64 ", where the last run stopped",
				    job->rel, job->skip);
			job_queue(ri, STEP_PARSE);
			return;
		}
		job_queue(ri, STEP_FINISH);
		return;
	case STEP_PARSE: {
		/* the events a run before us applied count as read, not again */
		size_t skip = job->skip < job->n ? (size_t)job->skip : job->n;
		job->skip -= skip;
		job->t.events += skip;
		apply_events(ri, job->source, job->events + skip, job->n - skip, job->arrived, now, &job->t);
		job->t.refused += job->refused;
		ri->stats.rows_refused += job->refused;
		for (size_t i = 0; i < job->tally_count; i++)
			stats_reason(ri, job->tally[i].name, job->tally[i].count);
		if (!job->eof) {
			progress_save(ri, job);
			job_queue(ri, STEP_PARSE);
			return;
		}
		if (ri->store != NULL && job->t.events > JOB_CHUNK)
			store_state_put(ri->store, PROGRESS_KEY, "");
		if (job->failed)
			stats_reason(ri, report_reader_failure(&job->reader), 1);
		else
			store_report_remember(ri->store, job->digest, sizeof(job->digest), now);
		job_queue(ri, STEP_FINISH);
		return;
	}
	case STEP_BATCH:
		for (size_t f = 0; f < job->nfiles; f++) {
			struct batch_file *b = &job->files[f];
			if (b->vanished)
				continue;
			if (b->duplicate_file) {
				ri->stats.files_duplicate++;
				continue;
			}
			apply_events(ri, b->source, job->events + b->ev_start, b->ev_end - b->ev_start, b->arrived, now,
			    &b->t);
			if (b->failed)
				stats_reason(ri, b->failure, 1);
			else
				store_report_remember(ri->store, b->digest, sizeof(b->digest), now);
		}
		ri->stats.rows_refused += job->refused;
		for (size_t i = 0; i < job->tally_count; i++)
			stats_reason(ri, job->tally[i].name, job->tally[i].count);
		job_queue(ri, STEP_FINISH_BATCH);
		return;
	case STEP_FINISH_BATCH:
		for (size_t f = 0; f < job->nfiles; f++) {
			const struct batch_file *b = &job->files[f];
			if (b->vanished)
				continue;
			if (b->error != 0) {
				log_limited(&ri->log_budget, LOG_LEVEL_WARN, "report file=%s: cannot move it out of the spool: %s",
				    b->rel, strerror(-b->error));
				continue;
			}
			if (b->failed)
				ri->stats.files_failed++;
			else
				ri->stats.files++;
			file_log(b->rel, b->source, b->format, &b->t, b->failed, b->duplicate_file, b->reason);
		}
		job_reset(job);
		job_next(ri);
		return;
	case STEP_FINISH:
		if (job->error != 0)
			log_limited(&ri->log_budget, LOG_LEVEL_WARN, "report file=%s: cannot move it out of the spool: %s;"
			    " the spool is stuck until it can", job->rel, strerror(-job->error));
		else {
			if (job->failed)
				ri->stats.files_failed++;
			else
				ri->stats.files++;
			file_log(job->rel, job->source, report_reader_format(&job->reader), &job->t, job->failed,
			    job->duplicate_file, job->reason);
		}
		job_reset(job);
		if (ri->dedup.n > 0 && now - ri->last_forget > 60 * USEC_PER_SEC) {
			store_report_forget(ri->store, now - ri->cfg->reports.dedup_window);
			ri->last_forget = now;
		}
		/* the next file at once: a backlog is worked off without waiting for the timer */
		job_next(ri);
		return;
	}
}

static void
on_timer(uv_timer_t *t)
{
	struct report_intake *ri = t->data;

	if (ri->job_queued || ri->stopping)
		return;
	job_queue(ri, STEP_SCAN);
}

/* The addresses our relays send from, as the next hop names them: [reports] relay_network,
 * else each of [network] relays. Written to before any reader runs, or between files. */
static int
relay_nets_set(struct report_intake *ri, const struct config *cfg)
{
	size_t n = cfg->reports.relay_network_count > 0 ? cfg->reports.relay_network_count : cfg->network.relay_count;
	struct cidr *nets = n > 0 ? calloc(n, sizeof(*nets)) : NULL;

	if (n > 0 && nets == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (cfg->reports.relay_network_count > 0)
			nets[i] = cfg->reports.relay_networks[i];
		else {
			nets[i].addr = cfg->network.relays[i];
			nets[i].prefix = nets[i].addr.family == AF_INET ? 32 : 128;
		}
	}
	free(ri->relay_nets);
	ri->relay_nets = nets;
	ri->relay_net_count = n;
	return 0;
}

/* Our relays' names, copied: [reports] relay_name, else this host's name. */
static int
relay_names_copy(struct report_intake *ri, const struct config *cfg)
{
	char host[256] = "";
	size_t n = cfg->reports.relay_name_count;

	if (n == 0 && gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
		n = 1;
	if (n == 0)
		return 0;
	if ((ri->relay_names = calloc(n, sizeof(*ri->relay_names))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((ri->relay_names[i] = strdup(cfg->reports.relay_name_count > 0 ? cfg->reports.relay_names[i] :
		    host)) == NULL)
			return -ENOMEM;
		ri->relay_name_count++;
	}
	return 0;
}

/* The relays' addresses of the configuration now, when a reload changed them. */
static void
relay_nets_refresh(struct report_intake *ri)
{
	if (!ri->relay_nets_stale)
		return;
	if (relay_nets_set(ri, ri->cfg) != 0)
		log_warnx("reports: out of memory for [network] relay; the old addresses stay");
	ri->relay_nets_stale = false;
}

struct report_intake *
report_intake_new(uv_loop_t *loop, const struct config *cfg, struct judge *j, struct store *st, char *err,
    size_t errlen)
{
	struct report_intake *ri;
	char path[PATH_MAX + 16];
	static const char *const subdirs[] = { "", "/done", "/failed", "/" SPOOL_INCOMING };

	if (cfg->reports.directory[0] == '\0') {
		snprintf(err, errlen, "[reports] directory is not set");
		return NULL;
	}
	if ((ri = calloc(1, sizeof(*ri))) == NULL || (ri->job = calloc(1, sizeof(*ri->job))) == NULL ||
	    (ri->job->files = calloc(MAIL_BATCH, sizeof(*ri->job->files))) == NULL ||
	    (ri->dedup.slots = calloc(DEDUP_MIN_CAP, sizeof(*ri->dedup.slots))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ri->dedup.cap = DEDUP_MIN_CAP;
	ri->loop = loop;
	ri->cfg = config_ref(cfg);
	ri->judge = j;
	ri->store = st;
	ri->job->fd = -1;
	ri->job->ri = ri;
	snprintf(ri->dir, sizeof(ri->dir), "%s", cfg->reports.directory);
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", ri->dir, subdirs[i]);
		if (make_dir(path) != 0) {
			snprintf(err, errlen, "[reports] directory %s: cannot make %s: %s", ri->dir, path, strerror(errno));
			goto fail;
		}
	}
	snprintf(path, sizeof(path), "%s/" SPOOL_INCOMING, ri->dir);
	if (access(path, W_OK) != 0) {
		snprintf(err, errlen, "[reports] directory %s: cannot write in it: %s", ri->dir, strerror(errno));
		goto fail;
	}
	for (int k = 0; k < REPORT_KIND_COUNT; k++)
		ri->kinds[k] = evidence_kind_register(j, report_kind_name((enum report_kind)k));
	if (relay_names_copy(ri, cfg) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (relay_nets_set(ri, cfg) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ri->log_budget = (struct log_limit)LOG_LIMIT_INIT(5, 60 * USEC_PER_SEC);
	uv_timer_init(loop, &ri->timer);
	ri->timer.data = ri;
	ri->timer_open = true;
	return ri;
fail:
	if (ri != NULL) {
		config_unref(ri->cfg);
		free(ri->dedup.slots);
		if (ri->job != NULL)
			free(ri->job->files);
		free(ri->job);
		free(ri);
	}
	return NULL;
}

void
report_intake_start(struct report_intake *ri)
{
	uint64_t ms = (uint64_t)(ri->cfg->reports.poll_interval / 1000);
	char every[32];

	ri->running = true;
	uv_timer_start(&ri->timer, on_timer, 0, ms > 0 ? ms : 1);
	log_info("reports: reading %s every %s", ri->dir, duration_format(ri->cfg->reports.poll_interval, every,
	    sizeof(every)));
}

void
report_intake_reload(struct report_intake *ri, const struct config *cfg)
{
	const struct config *old = ri->cfg;

	/* the directory, interval, size and relay names wait for a restart; trust, the window
	 * and the relays' addresses come from the new configuration */
	ri->cfg = config_ref(cfg);
	config_unref(old);
	/* [network] relay may have changed: the worker reads the nets, so not under its feet */
	ri->relay_nets_stale = true;
	if (!ri->job_queued)
		relay_nets_refresh(ri);
}

static void
on_timer_closed(uv_handle_t *h)
{
	struct report_intake *ri = h->data;

	ri->timer_open = false;
}

void
report_intake_stop(struct report_intake *ri)
{
	if (ri == NULL || ri->stopping)
		return;
	ri->stopping = true;
	if (ri->timer_open)
		uv_close((uv_handle_t *)&ri->timer, on_timer_closed);
	if (ri->job_queued)
		uv_cancel((uv_req_t *)&ri->job->work);
	/* a step already running finishes on its thread; its callback sees stopping */
	while (ri->job_queued || ri->submits > 0 || ri->timer_open)
		uv_run(ri->loop, UV_RUN_ONCE);
}

void
report_intake_free(struct report_intake *ri)
{
	if (ri == NULL)
		return;
	report_intake_stop(ri);
	job_reset(ri->job);
	free(ri->job->list);
	free(ri->job->files);
	free(ri->job);
	free(ri->dedup.slots);
	free(ri->relay_nets);
	for (size_t i = 0; i < ri->relay_name_count; i++)
		free(ri->relay_names[i]);
	free(ri->relay_names);
	config_unref(ri->cfg);
	free(ri);
}

/* --- spooling a posted report ------------------------------------------------------------- */

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void
submit_work(uv_work_t *w)
{
	struct submit *s = w->data;
	const char *dir = s->ri->dir;
	char tmp[PATH_MAX * 2], dst[PATH_MAX * 2], sub[PATH_MAX * 2];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/" SPOOL_INCOMING "/%s", dir, s->name);
	snprintf(sub, sizeof(sub), "%s/%s", dir, s->source);
	snprintf(dst, sizeof(dst), "%s/%s/%s", dir, s->source, s->name);
	if ((s->status = make_dir(sub)) != 0)
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660)) < 0) {
		s->status = -errno;
		return;
	}
	if ((s->status = write_all(fd, s->body, s->len)) == 0 && fsync(fd) != 0)
		s->status = -errno;
	close(fd);
	if (s->status == 0 && rename(tmp, dst) != 0)
		s->status = -errno;
	if (s->status != 0) {
		unlink(tmp);
		return;
	}
	s->status = fsync_dir(sub);
}

static void
submit_after(uv_work_t *w, int status)
{
	struct submit *s = w->data;
	struct report_intake *ri = s->ri;
	char name[sizeof(s->source) + sizeof(s->name) + 2];

	ri->submits--;
	if (status == UV_ECANCELED)
		s->status = -ECANCELED;
	if (s->status == 0) {
		ri->stats.submitted++;
		snprintf(name, sizeof(name), "%s/%s", s->source, s->name);
		log_info("report spooled file=%s bytes=%zu", name, s->len);
		if (!ri->job_queued && ri->running && !ri->stopping)
			uv_timer_start(&ri->timer, on_timer, 0, (uint64_t)(ri->cfg->reports.poll_interval / 1000));
	} else {
		ri->stats.submit_failures++;
		log_warnx("report spool source=%s bytes=%zu: %s", s->source, s->len, strerror(-s->status));
		name[0] = '\0';
	}
	if (s->done != NULL)
		s->done(s->arg, s->status, name);
	free(s->body);
	free(s);
}

int
report_intake_submit(struct report_intake *ri, const char *source, const void *body, size_t len,
    report_submit_cb done, void *arg)
{
	struct submit *s;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (source == NULL || *source == '\0')
		source = "api";
	if (!report_source_valid(source) || len == 0 || len > ri->cfg->reports.max_size)
		return -EINVAL;
	if (ri->stopping)
		return -ESHUTDOWN;
	if (ri->submits >= SUBMIT_MAX_IN_FLIGHT)
		return -EBUSY;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->body = malloc(len)) == NULL) {
		free(s);
		return -ENOMEM;
	}
	memcpy(s->body, body, len);
	s->len = len;
	s->ri = ri;
	s->done = done;
	s->arg = arg;
	snprintf(s->source, sizeof(s->source), "%s", source);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(s->name, sizeof(s->name), "%s-%u-%06" PRIu32, stamp, (unsigned)getpid(), ++ri->submit_seq);
	s->work.data = s;
	if (uv_queue_work(ri->loop, &s->work, submit_work, submit_after) != 0) {
		free(s->body);
		free(s);
		return -ENOMEM;
	}
	ri->submits++;
	return 0;
}

void
report_intake_stats_get(const struct report_intake *ri, struct report_intake_stats *out)
{
	*out = ri->stats;
	out->dedup_entries = ri->dedup.n;
}
