/*
 * lease_follow.c — see lease_follow.h: Kea's lease files through logfollow, each line
 * through kea_lease, each lease to a binding event.
 */
#include "sense/lease_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"

#define LEASE_AUX_MAX 3               /* PATH.completed, or PATH.2 and PATH.1 */

/* Kea's lease states (lease.h): 1 declined, 2 expired-reclaimed, 3 released (Kea 2.3 on). */
#define KEA_STATE_DECLINED 1
#define KEA_STATE_RECLAIMED 2
#define KEA_STATE_RELEASED 3

struct lease_follow;

/* One file being read: the followed PATH, or one of Kea's earlier files read at start. */
struct lease_source {
	struct lease_follow *owner;
	struct lease_file *file;
	struct logfollow *log;
	struct kea_lease_reader reader;   /* the columns of this file's header */
	bool replay;                      /* what it reads now was there before: see lease_follow.h */
};

struct lease_file {
	char *path;
	struct lease_source main;
	struct lease_source aux;          /* aux.log != NULL: reading Kea's earlier files first */
	char *aux_paths[LEASE_AUX_MAX];   /* the ones still to read, in order */
	size_t aux_next, aux_count;
};

struct lease_follow {
	enum lease_id_kind kind;
	lease_binding_cb cb;
	void *arg;
	int64_t now;
	struct lease_file **files;       /* each allocated alone: logfollow holds its sources' addresses */
	size_t count;
	struct log_limit malformed_log;
	struct lease_follow_stats stats;
};

static const char *const id_kind_names[LEASE_ID_COUNT + 1] = {
	[LEASE_ID_CLIENT_ID] = "client-id", [LEASE_ID_HWADDR] = "hwaddr", [LEASE_ID_DUID] = "duid",
	[LEASE_ID_CIRCUIT_ID] = "circuit-id", [LEASE_ID_REMOTE_ID] = "remote-id", [LEASE_ID_NONE] = "none",
};

/*
 * Which id names the subscriber when the configured one is missing: the other id of the
 * same kind first (the device's own, or the relay's), then the rest. client-id and duid
 * are one column of the file (DHCPv4 client_id, DHCPv6 duid).
 */
static const enum lease_id_kind id_order[LEASE_ID_COUNT][4] = {
	[LEASE_ID_CLIENT_ID] = { LEASE_ID_CLIENT_ID, LEASE_ID_HWADDR, LEASE_ID_REMOTE_ID, LEASE_ID_CIRCUIT_ID },
	[LEASE_ID_HWADDR] = { LEASE_ID_HWADDR, LEASE_ID_CLIENT_ID, LEASE_ID_REMOTE_ID, LEASE_ID_CIRCUIT_ID },
	[LEASE_ID_DUID] = { LEASE_ID_DUID, LEASE_ID_HWADDR, LEASE_ID_REMOTE_ID, LEASE_ID_CIRCUIT_ID },
	[LEASE_ID_CIRCUIT_ID] = { LEASE_ID_CIRCUIT_ID, LEASE_ID_REMOTE_ID, LEASE_ID_CLIENT_ID, LEASE_ID_HWADDR },
	[LEASE_ID_REMOTE_ID] = { LEASE_ID_REMOTE_ID, LEASE_ID_CIRCUIT_ID, LEASE_ID_CLIENT_ID, LEASE_ID_HWADDR },
};

const char *
lease_id_kind_name(enum lease_id_kind k)
{
	return (unsigned)k <= LEASE_ID_NONE ? id_kind_names[k] : "unknown";
}

const char *
lease_event_name(enum lease_event e)
{
	static const char *const names[LEASE_EVENT_COUNT] = {
		[LEASE_EVENT_LEASE] = "lease", [LEASE_EVENT_RELEASE] = "release", [LEASE_EVENT_EXPIRED] = "expired",
	};
	return (unsigned)e < LEASE_EVENT_COUNT ? names[e] : "unknown";
}

/* --- lines to events ------------------------------------------------------------------ */

/* The id of kind k in lease l, into out; its length, 0 when the lease has none. */
static size_t
lease_id(const struct kea_lease *l, int family, enum lease_id_kind k, char *out, size_t size)
{
	struct strview v = { 0 };

	switch (k) {
	case LEASE_ID_CLIENT_ID:
	case LEASE_ID_DUID:
		v = l->client_id;
		break;
	case LEASE_ID_HWADDR:
		v = l->hwaddr;
		break;
	case LEASE_ID_CIRCUIT_ID:
	case LEASE_ID_REMOTE_ID:
		return lease_relay_id(l->user_context.ptr, l->user_context.len, family, k, out, size);
	default:
		return 0;
	}
	return kea_unescape(v, out, size);
}

/*
 * One line of a lease file (logfollow's callback; arg: its source): a header sets the
 * source's columns, a lease becomes one binding event handed to the callback, anything
 * else is counted by reason and skipped. What the event's texts point at lives on this
 * stack frame.
 */
static void
lease_source_line(void *arg, const char *line, size_t len)
{
	struct lease_source *src = arg;
	struct lease_follow *lf = src->owner;
	char subscriber[LEASE_SUBSCRIBER_MAX], hostname[256];
	struct kea_lease l;
	struct lease_binding b;
	int rc;

	lf->stats.lines++;
	rc = kea_lease_line(&src->reader, line, len, &l);
	if (rc == 0)
		return;
	if (rc < 0) {
		if (-rc < KEA_LEASE_ERROR_COUNT)
			lf->stats.malformed[-rc]++;
		log_limited(&lf->malformed_log, LOG_LEVEL_WARN, "dhcp %s: lease line skipped: reason=%s",
		    logfollow_path(src->log), kea_lease_error_name(rc));
		return;
	}

	if (l.state == KEA_STATE_RECLAIMED && l.valid_lifetime == 0) {
		/* Kea's flush of a lease it reclaimed earlier (flush-reclaimed-timer): written as a
		 * deletion, lifetime 0, with no time of its own. Its end was the reclaim line's. */
		lf->stats.flushed++;
		return;
	}
	memset(&b, 0, sizeof(b));
	b.net = l.net;
	b.subnet_id = l.subnet_id;
	b.start = l.expire - (int64_t)l.valid_lifetime;
	b.until = l.expire;
	b.replay = src->replay;
	b.path = src->file->path;
	if (l.valid_lifetime == 0 || l.state == KEA_STATE_RELEASED || l.state == KEA_STATE_DECLINED) {
		b.event = LEASE_EVENT_RELEASE;
		b.until = lf->now;      /* Kea writes a release as the lease with lifetime 0: no time of its own */
	} else if (l.state == KEA_STATE_RECLAIMED || l.expire <= lf->now)
		b.event = LEASE_EVENT_EXPIRED;
	else
		b.event = LEASE_EVENT_LEASE;

	b.id_kind = LEASE_ID_NONE;
	subscriber[0] = '\0';
	for (size_t i = 0; i < 4; i++) {
		enum lease_id_kind k = id_order[lf->kind][i];
		size_t n = lease_id(&l, src->reader.family, k, subscriber, sizeof(subscriber));
		if (n > 0) {
			b.id_kind = k;
			b.subscriber_len = n;
			b.fallback = i > 0;
			break;
		}
	}
	b.subscriber = subscriber;
	if (b.id_kind == LEASE_ID_NONE)
		lf->stats.no_subscriber++;
	else if (b.fallback)
		lf->stats.fallback++;
	b.hostname_len = kea_unescape(l.hostname, hostname, sizeof(hostname));
	b.hostname = hostname;
	lf->stats.events[b.event]++;
	lf->cb(lf->arg, &b);
}

/* --- files ---------------------------------------------------------------------------- */

static void
source_init(struct lease_source *s, struct lease_follow *lf, struct lease_file *f, bool replay)
{
	s->owner = lf;
	s->file = f;
	s->replay = replay;
	kea_lease_reader_init(&s->reader);
}

/* The inode of path, 0 when it is not there. */
static uint64_t
path_inode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/*
 * Resuming in the middle of a file: its header line (the columns) from its start. The
 * file is PATH or, after a rotation while we were down, PATH.1; logfollow picks the same.
 */
static void
read_header(struct lease_source *s, const char *path, uint64_t inode)
{
	char buf[KEA_LEASE_LINE_MAX + 1];
	struct kea_lease l;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_ino == inode && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		char *nl = memchr(buf, '\n', (size_t)n);
		if (nl != NULL)
			(void)kea_lease_line(&s->reader, buf, (size_t)(nl - buf), &l);
	}
	close(fd);
}

static int
aux_add(struct lease_file *f, const char *suffix)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s%s", f->path, suffix) >= sizeof(path))
		return 0;
	if (path_inode(path) == 0)
		return 0;
	if ((f->aux_paths[f->aux_count] = strdup(path)) == NULL)
		return -ENOMEM;
	f->aux_count++;
	return 0;
}

/* Opens the next of Kea's earlier files that is still there; false when none is left. */
static bool
aux_next(struct lease_follow *lf, struct lease_file *f)
{
	while (f->aux_next < f->aux_count) {
		const char *path = f->aux_paths[f->aux_next++];
		if (path_inode(path) == 0)
			continue;               /* kea-lfc finished meanwhile: its result is read next */
		source_init(&f->aux, lf, f, true);
		if ((f->aux.log = logfollow_new(path, lease_source_line, &f->aux)) == NULL)
			return false;
		logfollow_set_label(f->aux.log, "dhcp");
		log_info("dhcp %s: reading %s first (the leases Kea held before)", f->path, path);
		lf->stats.replayed_files++;
		return true;
	}
	return false;
}

struct lease_follow *
lease_follow_new(enum lease_id_kind kind, lease_binding_cb cb, void *arg)
{
	struct lease_follow *lf = calloc(1, sizeof(*lf));

	if (lf == NULL)
		return NULL;
	lf->kind = kind < LEASE_ID_COUNT ? kind : LEASE_ID_CLIENT_ID;
	lf->cb = cb;
	lf->arg = arg;
	lf->malformed_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	return lf;
}

void
lease_follow_set_id_kind(struct lease_follow *lf, enum lease_id_kind kind)
{
	if (kind < LEASE_ID_COUNT)
		lf->kind = kind;
}

void
lease_follow_free(struct lease_follow *lf)
{
	if (lf == NULL)
		return;
	for (size_t i = 0; i < lf->count; i++) {
		struct lease_file *f = lf->files[i];
		logfollow_free(f->main.log);
		logfollow_free(f->aux.log);
		for (size_t j = 0; j < f->aux_count; j++)
			free(f->aux_paths[j]);
		free(f->path);
		free(f);
	}
	free(lf->files);
	free(lf);
}

int
lease_follow_add(struct lease_follow *lf, const char *path, bool have_position, uint64_t inode, uint64_t offset)
{
	struct lease_file **grown = realloc(lf->files, (lf->count + 1) * sizeof(*grown));
	struct lease_file *f;
	char rotated[PATH_MAX];
	int rc = -ENOMEM;

	if (grown == NULL)
		return -ENOMEM;
	lf->files = grown;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	if ((f->path = strdup(path)) == NULL)
		goto fail;
	source_init(&f->main, lf, f, false);
	if ((f->main.log = logfollow_new(path, lease_source_line, &f->main)) == NULL)
		goto fail;
	logfollow_set_label(f->main.log, "dhcp");
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	if (have_position && inode != 0 && (path_inode(path) == inode || path_inode(rotated) == inode)) {
		logfollow_resume(f->main.log, inode, offset);
		read_header(&f->main, path_inode(path) == inode ? path : rotated, inode);
	} else {
		if (have_position)
			log_info("dhcp %s: the file read last is gone (Kea's lease-file cleanup merged it); "
			    "reading Kea's files again", path);
		/* as Kea loads them (memfile_lease_mgr.cc, loadLeasesFromFiles) */
		rc = aux_add(f, ".completed");
		if (rc == 0 && f->aux_count == 0 && (rc = aux_add(f, ".2")) == 0)
			rc = aux_add(f, ".1");
		if (rc != 0)
			goto fail;
		/* PATH held open now: a cleanup while the earlier files are read renames it to
		 * PATH.1, which is not on the list, and its lines must still come, once */
		(void)logfollow_poll(f->main.log, 0);
		f->main.replay = true;            /* until its end is first reached */
		aux_next(lf, f);
	}
	lf->files[lf->count++] = f;
	lf->stats.files = lf->count;
	return 0;
fail:
	logfollow_free(f->main.log);
	for (size_t j = 0; j < f->aux_count; j++)
		free(f->aux_paths[j]);
	free(f->path);
	free(f);
	return rc;
}

bool
lease_follow_poll(struct lease_follow *lf, size_t max_bytes, int64_t now)
{
	bool behind = false;

	lf->now = now;
	for (size_t i = 0; i < lf->count; i++) {
		struct lease_file *f = lf->files[i];
		if (f->aux.log != NULL) {
			long n = logfollow_poll(f->aux.log, max_bytes);
			if (n >= 0 && logfollow_pending(f->aux.log)) {
				behind = true;
				continue;
			}
			log_info("dhcp %s: read %s: %llu lines", f->path, logfollow_path(f->aux.log),
			    (unsigned long long)logfollow_stats(f->aux.log)->lines);
			logfollow_free(f->aux.log);
			f->aux.log = NULL;
			if (aux_next(lf, f)) {
				behind = true;
				continue;
			}
		}
		logfollow_poll(f->main.log, max_bytes);
		if (!logfollow_pending(f->main.log))
			f->main.replay = false;       /* at its end: from now on, what Kea appends */
		behind |= logfollow_pending(f->main.log);
	}
	return behind;
}

size_t
lease_follow_count(const struct lease_follow *lf)
{
	return lf->count;
}

const char *
lease_follow_path(const struct lease_follow *lf, size_t i)
{
	return lf->files[i]->path;
}

const struct logfollow *
lease_follow_file(const struct lease_follow *lf, size_t i)
{
	return lf->files[i]->main.log;
}

int
lease_follow_position(const struct lease_follow *lf, size_t i, uint64_t *inode, uint64_t *offset)
{
	const struct lease_file *f = lf->files[i];

	if (f->aux.log != NULL || f->aux_next < f->aux_count)
		return -EAGAIN;
	logfollow_position(f->main.log, inode, offset);
	return *inode != 0 ? 0 : -EAGAIN;
}

const struct lease_follow_stats *
lease_follow_stats(const struct lease_follow *lf)
{
	return &lf->stats;
}
