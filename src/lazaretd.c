/*
 * lazaretd.c — the daemon: configuration, start-up, signals, timers, shutdown.
 *
 * One libuv loop runs the policy service, the operator API and the judge; the store
 * commits on a thread of its own. Signals are libuv signal handles, so nothing runs
 * in signal context.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "act/enforce_priv.h"
#include "act/garden.h"
#include "act/relay_policy.h"
#include "api/api.h"
#include "common/background.h"
#include "common/config.h"
#include "common/httpd.h"
#include "common/hugepages.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/sdnotify.h"
#include "common/subject_text.h"
#include "judge/judge.h"
#include "judge/kinds.h"
#include "pipeline.h"
#include "portal/portal.h"
#include "sense/delivery.h"
#include "sense/lease_follow.h"
#include "sense/report_intake.h"
#include "sense/logfollow.h"
#include "sense/flow_collector.h"
#include "sense/radius_acct.h"
#include "act/coa.h"
#include "ident/ident.h"
#include "sense/flowdetect.h"
#include "sense/policy_server.h"
#include "store/pg.h"
#include "store/shared.h"
#include "store/store.h"

#define LAZARETD_DEFAULT_CONFIG "/etc/lazaret/lazaret.conf"
#define LAZARETD_SWEEP_MS 1000

struct daemon {
	uv_loop_t *loop;
	char config_path[PATH_MAX];
	struct config *cfg;
	struct store *store;
	const char *store_path;        /* the SQLite file: [daemon] store, or local_store beside PostgreSQL */
	struct shared *shared;         /* the shared store; NULL with SQLite alone */
	char node[SHARED_NODE_MAX];    /* [daemon] node, or the host name */
	struct pipeline pl;            /* the judge, the relay's decisions, the delivery log's rules */
	struct logfollow **followers;
	size_t follower_count;
	struct policy_server *policy;
	struct api *api;
	struct portal *portal;
	struct garden *garden;
	struct flow_collector *flows;  /* NULL without [flows] listen */
	struct flow_detect *flow_detect;   /* the detectors the records feed; with flows only */
	struct radius_acct *radius;    /* NULL without [radius] listen */
	struct ident *ident;           /* who held an address when; NULL without an identity source */
	struct coa *coa;               /* CoA and Disconnect to the NASes; NULL without [enforce] mode = radius */
	struct lease_follow *leases;   /* Kea's lease files; NULL without [dhcp] lease_file */
	struct report_intake *reports; /* the abuse-report spool; NULL without [reports] directory */
	uv_signal_t sig_term, sig_int, sig_hup, sig_chld;
	pid_t helper_pid;              /* the privileged nftables helper, -1: none */
	int exit_status;
	uv_timer_t checkpoint_timer, sweep_timer, maillog_timer;
	uv_prepare_t log_prepare;         /* writes the turn's log lines before the loop waits */
	uv_idle_t maillog_idle;        /* active while a log is behind: one more slice each loop turn */
	uv_timer_t lease_timer;
	uv_idle_t lease_idle;          /* active while a lease file is behind, as maillog_idle */
	usec_t delivery_saved;         /* monotonic; the delivery sensor's state is saved every few minutes */
	usec_t flows_saved;            /* monotonic; the flow templates too */
	bool stopping;
};

#define LAZARETD_DELIVERY_SAVE_EVERY (300 * USEC_PER_SEC)
#define LAZARETD_MAILLOG_SLICE_USEC 500          /* a log behind gets this much of each loop turn */
#define LAZARETD_MAILLOG_STEP (64 * 1024)        /* bytes per poll within a slice; the clock is read between */
#define LAZARETD_DELIVERY_KEY "delivery"
#define LAZARETD_FLOWS_KEY "flows:templates"
#define LAZARETD_LEASE_KEY "dhcp:%s"                /* the position in a lease file, by its path */
_Static_assert((int)DHCP_ID_CLIENT_ID == (int)LEASE_ID_CLIENT_ID && (int)DHCP_ID_HWADDR == (int)LEASE_ID_HWADDR &&
    (int)DHCP_ID_DUID == (int)LEASE_ID_DUID && (int)DHCP_ID_CIRCUIT_ID == (int)LEASE_ID_CIRCUIT_ID &&
    (int)DHCP_ID_REMOTE_ID == (int)LEASE_ID_REMOTE_ID, "[dhcp] subscriber_id names lease_follow's kinds in order");

/*
 * Descriptors lazaretd holds besides its connections: stdio and syslog; the store (the
 * database, its WAL and shared memory, a journal, SQLite's temporary files); the libuv
 * loop (epoll, the signal pipe, async eventfds, the EMFILE reserve, the threadpool's);
 * each HTTP listener's epoll and inter-thread descriptors; nftables' netlink socket and
 * the garden's worker; the resolver's socket. About 25 are open on a quiet daemon.
 */
#define LAZARETD_FD_RESERVE 64
#define LAZARETD_FD_PER_MAILLOG 2     /* the log followed, and the next one after a rotation */

/* What the configured listeners may hold at once, by listener, and the limit it must fit. */
struct fd_budget {
	unsigned long long policy;     /* max_connections, the one accepted to be refused, the sockets */
	unsigned long long portal;     /* max_connections and the listening socket */
	unsigned long long api;
	unsigned long long reserve;
	unsigned long long total;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: lazaretd [-n] [-d] [--init-store] [-c FILE]\n"
	    "\n"
	    "Finds infected subscriber hosts and hijacked mail accounts at the ISP's relay and\n"
	    "answers Postfix's policy requests: rate limits, verdicts, quarantine.\n"
	    "\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -n, --check        check the configuration, print it normalised, exit; with\n"
	    "                     --init-store, also create the store if there is none\n"
	    "  -d, --debug        log at debug level, whatever the configuration says\n"
	    "      --init-store   create the store (and its directory) if there is none: the file\n"
	    "                     is missing or empty; an existing store is opened as always.\n"
	    "                     Without it a missing or empty store is refused\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      print the version\n"
	    "\n"
	    "Signals: SIGHUP reloads the configuration, SIGTERM and SIGINT stop cleanly.\n"
	    "See lazaretd(8) and etc/lazaret.conf.\n", LAZARETD_DEFAULT_CONFIG);
}

/*
 * load_config — read and check path, including the evidence sections against the
 * table of kinds (judge/kinds.c; so -n catches those too). Returns a config or NULL
 * after printing "file:line: problem".
 */
/* A change of the shared store's feed, in its order: the judge applies it (enforcement follows). */
static void
on_shared_change(void *arg, const struct shared_change *c)
{
	struct daemon *d = arg;

	judge_apply_shared(d->pl.judge, c);
}

/* Another node's evidence: added to this node's (the owner judges it). */
static void
on_shared_evidence(void *arg, const struct shared_evidence *e)
{
	struct daemon *d = arg;

	judge_apply_evidence(d->pl.judge, e);
}

static void
on_shared_prefetch(void *arg, const struct shared_change *c, const struct shared_evidence *e, size_t n)
{
	struct daemon *d = arg;

	judge_prefetch_shared(d->pl.judge, c, e, n);
}

static void
on_shared_link(void *arg, bool up)
{
	struct daemon *d = arg;

	if (up)
		log_info("shared store reachable node=%s: verdicts are shared again", d->node);
	judge_shared_link(d->pl.judge, up);
}

/*
 * start_shared — [daemon] store names PostgreSQL: the sync thread starts, pushing what the
 * outbox holds and pulling every change after the last this node applied; verdicts from
 * now on take effect when the feed brings them back (judge_set_shared).
 */
static void
start_shared(struct daemon *d)
{
	char err[512], value[32], enforcing[64];
	int64_t applied = 0;
	int rc;

	snprintf(enforcing, sizeof(enforcing), "%s%s%s",
	    d->cfg->enforce.mode & ENFORCE_MODE_NFTABLES ? "nftables" : "",
	    (d->cfg->enforce.mode & ENFORCE_MODE_NFTABLES) && (d->cfg->enforce.mode & ENFORCE_MODE_RADIUS) ? "+" : "",
	    d->cfg->enforce.mode & ENFORCE_MODE_RADIUS ? "radius" : "");
	if (d->cfg->enforce.mode == ENFORCE_MODE_NONE)
		snprintf(enforcing, sizeof(enforcing), "none");
	rc = store_state_get(d->store, SHARED_APPLIED_KEY, value, sizeof(value));
	if (rc != 0 && rc != -ENOENT)
		fatalx("store %s: cannot read the shared store's last change applied: %s", d->store_path, strerror(-rc));
	if (rc == 0)
		applied = strtoll(value, NULL, 10);
	/* what the node does, for lazaretctl nodes: "relay+gateway", "collector", ... */
	char role[64];
	snprintf(role, sizeof(role), "%s%s%s%s", d->cfg->policy.listen_count > 0 ? "+relay" : "",
	    d->cfg->enforce.mode != ENFORCE_MODE_NONE ? "+gateway" : "", d->cfg->flows.listen_count > 0 ? "+collector" : "",
	    d->cfg->radius.listen_count > 0 ? "+accounting" : "");
	if ((d->shared = shared_new(d->cfg->daemon.store, d->node, role[0] ? role + 1 : "none",
	    enforcing, d->store, d->loop, on_shared_change, on_shared_link, d, err, sizeof(err))) == NULL)
		fatalx("shared store: %s", err);
	judge_set_shared(d->pl.judge, d->shared);
	shared_set_evidence(d->shared, on_shared_evidence);
	shared_set_prefetch(d->shared, on_shared_prefetch);
	if ((rc = shared_start(d->shared, applied)) != 0)
		fatalx("shared store: cannot start its thread: %s", strerror(-rc));
	log_info("shared store: node=%s local_store=%s applied=%lld: connecting", d->node, d->store_path,
	    (long long)applied);
}

static struct config *
load_config(const char *path)
{
	char err[1024];
	struct config *cfg = config_load_new(path, err, sizeof(err));

	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	/* [evidence NAME] sections against the table of kinds (the running judge checks again) */
	if (evidence_kinds_check(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		config_unref(cfg);
		return NULL;
	}
	/* a PostgreSQL store's connection string, as libpq reads it (nothing is connected) */
	if (pg_conninfo_is_pg(cfg->daemon.store) && pg_conninfo_check(cfg->daemon.store, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s:%d: [daemon] store: %s\n", path, cfg->daemon.store_line, err);
		config_unref(cfg);
		return NULL;
	}
	/* the [radius nas] attributes against the dictionary (the CoA client reads them again) */
	if (cfg->radius.nas_count > 0 && coa_check(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		config_unref(cfg);
		return NULL;
	}
	return cfg;
}

static void
fd_budget_of(const struct config *cfg, struct fd_budget *b)
{
	b->policy = (unsigned long long)cfg->policy.max_connections + 1 + cfg->policy.listen_count;
	b->portal = (unsigned long long)cfg->portal.max_connections + 1;
	/* Each API listener (the Unix socket, TCP) holds as many on its own. */
	b->api = (API_MAX_CONNECTIONS + 1ULL) * ((cfg->api.socket[0] != '\0') + cfg->api.listen_set);
	b->reserve = LAZARETD_FD_RESERVE + LAZARETD_FD_PER_MAILLOG * (unsigned long long)cfg->maillog.file_count +
	    LAZARETD_FD_PER_MAILLOG * (cfg->logins.roundcube_log[0] != '\0') +
	    LAZARETD_FD_PER_MAILLOG * (unsigned long long)cfg->dhcp.lease_file_count;
	b->total = b->policy + b->portal + b->api + b->reserve;
}

/*
 * fd_budget_check — does cfg's budget fit under limit (what lazaretd may open, `what`
 * saying which limit that is)? 0, or -1 with "file:line: ..." in err, naming the larger
 * of the two max_connections (line 0 when it is the default): one listener must never
 * take the descriptors another needs, so a configuration that could is refused.
 */
static int
fd_budget_check(const struct config *cfg, unsigned long long limit, const char *what, char *err, size_t errlen)
{
	struct fd_budget b;

	fd_budget_of(cfg, &b);
	if (b.total <= limit)
		return 0;
	bool portal = cfg->portal.max_connections > cfg->policy.max_connections;
	snprintf(err, errlen, "%s:%d: [%s] max_connections = %u: the listeners need %llu descriptors (policy %llu, "
	    "portal %llu, API %llu, reserve %llu) but lazaretd may open only %llu (%s); lower [policy] or "
	    "[portal] max_connections, or raise the limit (LimitNOFILE= in the service unit)", cfg->path,
	    portal ? cfg->portal.max_connections_line : cfg->policy.max_connections_line, portal ? "portal" : "policy",
	    portal ? cfg->portal.max_connections : cfg->policy.max_connections, b.total, b.policy, b.portal, b.api,
	    b.reserve, limit, what);
	return -1;
}

/* The descriptor budget as `lazaretd -n` shows it: a comment after the configuration. */
static void
fd_budget_print(const struct config *cfg, const struct rlimit *rl, FILE *out)
{
	struct fd_budget b;

	fd_budget_of(cfg, &b);
	fprintf(out, "\n# descriptors: policy %llu + portal %llu + API %llu + reserve %llu = %llu; "
	    "RLIMIT_NOFILE hard limit %llu (lazaretd raises its soft limit to it)\n", b.policy, b.portal, b.api,
	    b.reserve, b.total, (unsigned long long)rl->rlim_max);
}

/*
 * fd_limit_raise — raise the soft RLIMIT_NOFILE to the hard one: 1 024, the usual soft
 * limit, is less than the listeners hold by default. *rl receives the limits in force.
 */
static void
fd_limit_raise(struct rlimit *rl)
{
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, rl) != 0) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		rl->rlim_cur = rl->rlim_max = 1024;
		return;
	}
	was = rl->rlim_cur;
	if (rl->rlim_cur < rl->rlim_max) {
		rl->rlim_cur = rl->rlim_max;
		if (setrlimit(RLIMIT_NOFILE, rl) != 0) {
			log_warn("cannot raise the descriptor limit from %llu to %llu", (unsigned long long)was,
			    (unsigned long long)rl->rlim_max);
			rl->rlim_cur = was;
		}
	}
}

static int
ensure_parent_dir(const char *path)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	char *dir = dirname(copy);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Saves the delivery sensor's state (its windows, baselines and open queue IDs) for
 * the next start; the log positions saved more often than this mean that after a
 * crash the lines of the last few minutes are missing from it, not counted twice.
 */
static void
save_delivery(struct daemon *d)
{
	uint8_t *bytes;
	size_t len;
	usec_t t0 = time_mono();

	if (d->follower_count == 0)
		return;
	d->delivery_saved = t0;
	if (delivery_save(d->pl.delivery, time_now(), &bytes, &len) != 0) {
		log_warnx("maillog: out of memory saving the delivery rules' state; kept from the last save");
		return;
	}
	if (store_state_put_bytes(d->store, LAZARETD_DELIVERY_KEY, bytes, len) != 0)    /* takes bytes */
		log_warnx("maillog: cannot save the delivery rules' state (%zu bytes)", len);
	else
		log_debug("maillog: delivery rules' state saved: %zu bytes in %.1f ms", len,
		    (double)(time_mono() - t0) / 1000.0);
}

/* Puts back the delivery sensor's state saved by the last run, if any and if whole. */
static void
restore_delivery(struct daemon *d)
{
	uint8_t *bytes;
	size_t len;
	int rc = store_state_get_bytes(d->store, LAZARETD_DELIVERY_KEY, &bytes, &len);

	if (rc == -ENOENT)
		return;
	if (rc != 0)        /* the store cannot read it: not the same as nothing saved */
		fatalx("store %s: cannot read the delivery rules' saved state: %s", d->store_path,
		    strerror(-rc));
	rc = delivery_restore(d->pl.delivery, bytes, len);
	free(bytes);
	if (rc != 0) {
		log_warnx("maillog: the delivery rules' state in the store is unusable (%s); starting without it",
		    rc == -EINVAL ? "damaged or from another version" : strerror(-rc));
		return;
	}
	const struct delivery_stats *ds = delivery_stats(d->pl.delivery);
	log_info("maillog: delivery rules' state restored (%zu bytes, %llu open queue IDs)", len,
	    (unsigned long long)ds->queue_ids_open);
}

/* Saves the flow decoders' templates, so that a restart decodes v9/IPFIX at once. */
static void
save_flow_templates(struct daemon *d)
{
	uint8_t *bytes;
	size_t len;

	if (d->flows == NULL)
		return;
	d->flows_saved = time_mono();
	if (flow_collector_save(d->flows, &bytes, &len) != 0) {
		log_warnx("flows: out of memory saving the exporters' templates; kept from the last save");
		return;
	}
	if (store_state_put_bytes(d->store, LAZARETD_FLOWS_KEY, bytes, len) != 0)    /* takes bytes */
		log_warnx("flows: cannot save the exporters' templates (%zu bytes)", len);
}

/* Puts back the templates the last run saved, if any and if whole. */
static void
restore_flow_templates(struct daemon *d)
{
	uint8_t *bytes;
	size_t len;
	int rc;

	if (d->flows == NULL || (rc = store_state_get_bytes(d->store, LAZARETD_FLOWS_KEY, &bytes, &len)) == -ENOENT)
		return;
	if (rc != 0) {
		log_warnx("store %s: cannot read the exporters' saved templates: %s; they are learnt again",
		    d->store_path, strerror(-rc));
		return;
	}
	rc = flow_collector_restore(d->flows, bytes, len);
	free(bytes);
	if (rc != 0)
		log_warnx("flows: the exporters' templates in the store are unusable (%s); they are learnt again",
		    rc == -EINVAL ? "damaged or from another version" : strerror(-rc));
	else
		log_info("flows: exporters' templates restored (%zu bytes)", len);
}

/* A decoded flow record: the flow detectors' input. */
static void
on_flow_record(void *arg, const struct flow_record *r, usec_t now)
{
	struct daemon *d = arg;

	flow_detect_record(d->flow_detect, r, now);
}

/* Saves where each log follower is, after the evidence its lines produced. */
static void
save_positions(struct daemon *d)
{
	for (size_t i = 0; i < d->follower_count; i++) {
		char key[PATH_MAX + 16], value[64];
		uint64_t inode, offset;
		logfollow_position(d->followers[i], &inode, &offset);
		snprintf(key, sizeof(key), "maillog:%s", logfollow_path(d->followers[i]));
		snprintf(value, sizeof(value), "%llu %llu", (unsigned long long)inode, (unsigned long long)offset);
		if (store_state_put(d->store, key, value) != 0)
			log_warnx("maillog %s: cannot save the position", logfollow_path(d->followers[i]));
	}
}

/* Saves where each lease file is; not while Kea's earlier files are read at start (a
 * crash then would skip them): the position saved before stays. */
static void
save_lease_positions(struct daemon *d)
{
	for (size_t i = 0; d->leases != NULL && i < lease_follow_count(d->leases); i++) {
		char key[PATH_MAX + 16], value[64];
		uint64_t inode, offset;
		if (lease_follow_position(d->leases, i, &inode, &offset) != 0)
			continue;
		snprintf(key, sizeof(key), LAZARETD_LEASE_KEY, lease_follow_path(d->leases, i));
		snprintf(value, sizeof(value), "%llu %llu", (unsigned long long)inode, (unsigned long long)offset);
		if (store_state_put(d->store, key, value) != 0)
			log_warnx("dhcp %s: cannot save the position", lease_follow_path(d->leases, i));
	}
}

static void
on_log_prepare(uv_prepare_t *h)
{
	(void)h;
	log_flush();
}

static void
on_checkpoint(uv_timer_t *t)
{
	struct daemon *d = t->data;
	judge_checkpoint(d->pl.judge);
	save_positions(d);
	save_lease_positions(d);
	if (time_mono() - d->delivery_saved >= LAZARETD_DELIVERY_SAVE_EVERY)
		save_delivery(d);
	if (d->flows != NULL && time_mono() - d->flows_saved >= LAZARETD_DELIVERY_SAVE_EVERY)
		save_flow_templates(d);
}

static void
on_sweep(uv_timer_t *t)
{
	struct daemon *d = t->data;
	struct judge_stats js;

	/* Visit every subject about once a minute, whatever their number. */
	judge_stats_get(d->pl.judge, &js);
	judge_sweep(d->pl.judge, time_now(), js.tracked / 60 + 1000);
	delivery_release_held(d->pl.delivery, time_now());
	if (d->flows != NULL)
		flow_collector_tick(d->flows, time_now());
	if (d->flow_detect != NULL) {       /* every flow host about once a minute, too */
		struct flow_detect_stats fs;
		flow_detect_stats_get(d->flow_detect, &fs);
		flow_detect_expire(d->flow_detect, time_now(), fs.hosts / 60 + 1000);
	}
	if (d->coa != NULL)                 /* a NAS that never answered is asked again */
		coa_resend(d->coa, time_now());
	if (d->ident != NULL) {             /* every held network about once a minute, too */
		struct ident_stats is;
		ident_stats_get(d->ident, &is);
		ident_sweep_some(d->ident, time_now(), (size_t)is.bound / 60 + 1000);
	}
	static unsigned ticks;
	if (++ticks % 60 == 0) {
		delivery_expire(d->pl.delivery, time_now());
		if (d->ident != NULL)
			ident_expire_history(d->ident, time_now(), d->cfg->identity.retention);
	}
}

/* The address history's changes: the garden's elements follow their holders. */
static void
on_holder_changed(void *arg, const char *subscriber, size_t len, const struct cidr *net, bool held)
{
	struct daemon *d = arg;

	garden_holder_changed(d->garden, subscriber, len, net, held);
	coa_holder_changed(d->coa, subscriber, len, net, held);
}

/* The policy service's answers: the relay's decision (sense hands, act decides). */
static enum policy_action
decide_relay(void *arg, const struct policy_request *req, usec_t now, char *answer, size_t *len)
{
	return relay_decide(arg, req, now, answer, len);
}

static void
on_maillog_line(void *arg, const char *line, size_t len)
{
	struct daemon *d = arg;
	delivery_line(d->pl.delivery, line, len, time_now());
}

/* A line of Roundcube's userlogins log ([logins] roundcube_log): a webmail login. */
static void
on_roundcube_line(void *arg, const char *line, size_t len)
{
	struct daemon *d = arg;
	delivery_webmail_line(d->pl.delivery, line, len, time_now());
}

static void on_maillog_idle(uv_idle_t *h);

/*
 * Reads the followed logs for at most LAZARETD_MAILLOG_SLICE_USEC, a step of each in
 * turn (all of them on the timer's tick, then only those still behind). While one is
 * behind, the idle handle brings us back on the next loop turn, after the policy
 * service and the API had theirs: a backlog of gigabytes makes a policy request wait
 * at most about one slice, instead of the whole backlog, and is still read at nearly
 * the speed of one long read (the loop turn between slices costs a few microseconds).
 */
static void
maillog_slice(struct daemon *d, bool all)
{
	usec_t deadline = time_mono() + LAZARETD_MAILLOG_SLICE_USEC;
	bool behind;

	do {
		behind = false;
		for (size_t i = 0; i < d->follower_count; i++) {
			struct logfollow *lf = d->followers[i];
			if (all || logfollow_pending(lf))
				logfollow_poll(lf, LAZARETD_MAILLOG_STEP);
			behind |= logfollow_pending(lf);
		}
		all = false;
	} while (behind && time_mono() < deadline);
	if (behind)
		uv_idle_start(&d->maillog_idle, on_maillog_idle);
	else
		uv_idle_stop(&d->maillog_idle);
}

static void
on_maillog_idle(uv_idle_t *h)
{
	maillog_slice(h->data, false);
}

static void
on_maillog_poll(uv_timer_t *t)
{
	maillog_slice(t->data, true);
}

/*
 * A binding from Kea's lease files: for now one line for the operator. The subscriber id
 * and the hostname are the client's or the relay's words: subject text, never raw. Leases
 * read at start from what Kea wrote before (replay: its earlier files, the file itself on a
 * first start) are at debug level: a file of a million leases is not a million lines of news.
 */
static void
on_lease_binding(void *arg, const struct lease_binding *b)
{
	char net[ADDR_TEXT_MAX + 8], until[32], start[32];
	char sub[SUBJECT_TEXT_SIZE(LEASE_SUBSCRIBER_MAX)], host[SUBJECT_TEXT_SIZE(256)];
	struct daemon *d = arg;

	if (b->net.prefix == (b->net.addr.family == AF_INET ? 32u : 128u))
		addr_format(&b->net.addr, net, sizeof(net));
	else
		cidr_format(&b->net, net, sizeof(net));
	subject_text_encode(sub, sizeof(sub), b->subscriber, b->subscriber_len);
	subject_text_encode(host, sizeof(host), b->hostname, b->hostname_len);
	time_format((usec_t)b->start * USEC_PER_SEC, start, sizeof(start));
	time_format((usec_t)b->until * USEC_PER_SEC, until, sizeof(until));
	(b->replay ? log_debug : log_info)("dhcp: address=%s subscriber=%s id=%s%s source=%s lease_from=%s "
	    "lease_until=%s reason=%s%s%s%s", net, b->id_kind == LEASE_ID_NONE ? "-" : sub,
	    lease_id_kind_name(b->id_kind), b->fallback ? " id_fallback=yes" : "",
	    b->net.addr.family == AF_INET ? "dhcp4" : "dhcp6", start, until, lease_event_name(b->event),
	    b->hostname_len ? " hostname=" : "", b->hostname_len ? host : "", b->replay ? " replay=yes" : "");
	if (d->ident == NULL || b->id_kind == LEASE_ID_NONE)
		return;                  /* a lease nobody can be named by holds nothing for anyone */
	/* into the address history: a lease holds the address from its start until it lapses
	 * (a renewal pushes that), a release or an expiry ends it */
	const char *file = strrchr(b->path, '/');
	char origin[STORE_ORIGIN_MAX];
	snprintf(origin, sizeof(origin), "kea/%s", file != NULL ? file + 1 : b->path);
	struct ident_event e = { .start = b->event == LEASE_EVENT_LEASE, .net = b->net, .subscriber = b->subscriber,
		.subscriber_len = b->subscriber_len, .origin = origin,
		.source = b->net.addr.family == AF_INET ? IDENT_DHCP4 : IDENT_DHCP6,
		.at = (usec_t)(b->event == LEASE_EVENT_LEASE ? b->start : b->until) * USEC_PER_SEC,
		.expires = b->event == LEASE_EVENT_LEASE ? (usec_t)b->until * USEC_PER_SEC : 0 };
	if (ident_apply(d->ident, &e) == -EINVAL)
		log_debug("dhcp: address=%s: the subscriber id is not one the address history takes", net);
}

static void on_lease_idle(uv_idle_t *h);

/* The lease files, a slice at a time as the mail log (maillog_slice). */
static void
lease_slice(struct daemon *d)
{
	usec_t deadline = time_mono() + LAZARETD_MAILLOG_SLICE_USEC;
	bool behind;

	do
		behind = lease_follow_poll(d->leases, LAZARETD_MAILLOG_STEP, (int64_t)(time_now() / USEC_PER_SEC));
	while (behind && time_mono() < deadline);
	if (behind)
		uv_idle_start(&d->lease_idle, on_lease_idle);
	else
		uv_idle_stop(&d->lease_idle);
}

static void
on_lease_idle(uv_idle_t *h)
{
	lease_slice(h->data);
}

static void
on_lease_poll(uv_timer_t *t)
{
	lease_slice(t->data);
}

/* The judge committed a level change: the walled garden follows. */
static void
on_level_changed(void *arg, const struct subject *s, int old_level, int new_level, const char *actor)
{
	struct daemon *d = arg;

	(void)actor;
	garden_level_changed(d->garden, s, old_level, new_level);
	coa_level_changed(d->coa, s, old_level, new_level);
	portal_level_changed(d->portal);
}


/* A notification systemd did not get is worth a line, not a stop: it would time the start out. */
static void
notify(int rc, const char *what)
{
	if (rc != 0)
		log_warnx("cannot tell systemd %s through NOTIFY_SOCKET: %s", what, strerror(-rc));
}

static void
reload(struct daemon *d)
{
	char err[1024], restart[512];
	struct config *cfg;

	log_info("SIGHUP: reloading %s", d->config_path);
	notify(sdnotify_reloading(), "RELOADING=1");
	if ((cfg = config_load_new(d->config_path, err, sizeof(err))) == NULL) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		notify(sdnotify_send("READY=1"), "READY=1");
		return;
	}
	struct rlimit rl;
	/* every check before anything takes the new configuration; a module that takes it
	 * holds a reference, so one that fails later cannot leave another pointing at freed
	 * memory */
	if ((getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    fd_budget_check(cfg, (unsigned long long)rl.rlim_cur, "RLIMIT_NOFILE", err, sizeof(err)) != 0) ||
	    pipeline_configure(&d->pl, cfg, err, sizeof(err)) != 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		config_unref(cfg);
		notify(sdnotify_send("READY=1"), "READY=1");
		return;
	}
	config_restart_changes(d->cfg, cfg, restart, sizeof(restart));
	if (restart[0] != '\0')
		log_warnx("reload: %s change only on restart; the running values stay", restart);
	policy_server_configure(d->policy, cfg);
	api_configure(d->api, cfg);
	portal_configure(d->portal, cfg);
	garden_configure(d->garden, cfg);
	if (d->flows != NULL)
		flow_collector_configure(d->flows, cfg);
	if (d->flow_detect != NULL && flow_detect_configure(d->flow_detect, cfg) != 0)
		log_warnx("reload: out of memory for the flow detectors' subscribers and relays; the old ones stay");
	if (d->radius != NULL && radius_acct_configure(d->radius, cfg) != 0)
		log_warnx("reload: out of memory for the RADIUS clients; the old ones stay");
	if (d->leases != NULL)
		lease_follow_set_id_kind(d->leases, (enum lease_id_kind)cfg->dhcp.subscriber_id);
	if (d->reports != NULL)
		report_intake_reload(d->reports, cfg);
	log_set_level(cfg->daemon.log_level);
	uv_timer_set_repeat(&d->checkpoint_timer, (uint64_t)(cfg->daemon.checkpoint_interval / 1000));
	config_unref(d->cfg);
	d->cfg = cfg;
	log_info("reloaded %s", d->config_path);
	notify(sdnotify_send("READY=1"), "READY=1");
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
shutdown_daemon(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	notify(sdnotify_send("STOPPING=1"), "STOPPING=1");
	log_info("stopping: saving state");
	policy_server_stop(d->policy);
	uv_timer_stop(&d->checkpoint_timer);
	uv_timer_stop(&d->sweep_timer);
	uv_timer_stop(&d->maillog_timer);
	uv_idle_stop(&d->maillog_idle);
	uv_timer_stop(&d->lease_timer);
	uv_idle_stop(&d->lease_idle);
	delivery_flush(d->pl.delivery);      /* no more lines: no link comes */
	judge_checkpoint(d->pl.judge);
	save_positions(d);
	save_lease_positions(d);
	save_delivery(d);
	save_flow_templates(d);
	flow_collector_stop(d->flows);
	radius_acct_stop(d->radius);
	uv_signal_stop(&d->sig_term);
	uv_signal_stop(&d->sig_int);
	uv_signal_stop(&d->sig_hup);
	uv_stop(d->loop);
}

/*
 * SIGCHLD. The portal's front died: the portal starts a new one. The privileged
 * helper died: nobody left could restart it with its capability, so the daemon stops
 * cleanly with status 1 for the service manager to start it again; the kernel
 * enforces the sets meanwhile (their elements' timeouts outlive a restart by far).
 */
static void
on_child(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;
	int status;
	pid_t pid;

	(void)signum;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (portal_child_exited(d->portal, pid, status))
			continue;
		if (pid != d->helper_pid)
			continue;
		d->helper_pid = -1;
		if (WIFSIGNALED(status))
			log_warnx("enforce: the privileged helper died of signal %d; stopping so that lazaretd is "
			    "started again (the kernel keeps enforcing the quarantines meanwhile)", WTERMSIG(status));
		else
			log_warnx("enforce: the privileged helper exited with status %d; stopping so that lazaretd is "
			    "started again (the kernel keeps enforcing the quarantines meanwhile)", WEXITSTATUS(status));
		d->exit_status = 1;
		shutdown_daemon(d);
	}
}

/*
 * A policy or API listener below port 1024: lazaretd gives up the capability to bind
 * one before it starts them. The portal's socket is bound before the drop (a portal
 * on port 80 is common); Postfix and lazaretctl connect to any port. 0, or -1 with err.
 */
static int
refuse_low_ports(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->policy.listen_count; i++)
		if (cfg->policy.listen[i].kind == LISTEN_TCP && cfg->policy.listen[i].port < 1024) {
			snprintf(err, errlen, "%s: [policy] listen port %u: below 1024 only the portal may listen "
			    "(lazaretd keeps no privilege to bind one); choose a port from 1024", cfg->path,
			    cfg->policy.listen[i].port);
			return -1;
		}
	if (cfg->api.listen_set && cfg->api.listen.kind == LISTEN_TCP && cfg->api.listen.port < 1024) {
		snprintf(err, errlen, "%s: [api] listen port %u: below 1024 only the portal may listen "
		    "(lazaretd keeps no privilege to bind one); choose a port from 1024", cfg->path,
		    cfg->api.listen.port);
		return -1;
	}
	return 0;
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP)
		reload(d);
	else {
		log_info("%s received", signum == SIGTERM ? "SIGTERM" : "SIGINT");
		shutdown_daemon(d);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "init-store", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d;
	bool check = false, debug = false, init_store = false;
	char err[1024];
	struct rlimit rl;
	int ch;

	hugepages_restore_name(argv[0]);    /* run again by hugepages_exec, below */
	memset(&d, 0, sizeof(d));
	snprintf(d.config_path, sizeof(d.config_path), "%s", LAZARETD_DEFAULT_CONFIG);
	while ((ch = getopt_long(argc, argv, "c:ndhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			snprintf(d.config_path, sizeof(d.config_path), "%s", optarg);
			break;
		case 'n':
			check = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("lazaretd %s\n", LAZARET_VERSION);
			return 0;
		case 'I':
			init_store = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if ((d.cfg = load_config(d.config_path)) == NULL)
		return 1;
	/* with PostgreSQL, the node's own SQLite file beside it; else the store is that file */
	d.store_path = pg_conninfo_is_pg(d.cfg->daemon.store) ? d.cfg->daemon.local_store : d.cfg->daemon.store;
	if (d.cfg->daemon.node[0] != '\0')
		snprintf(d.node, sizeof(d.node), "%s", d.cfg->daemon.node);
	else {
		/* the host name, cut to a node name's size; one that is not a node name: "lazaretd" */
		if (gethostname(d.node, sizeof(d.node)) != 0)
			d.node[0] = '\0';
		d.node[sizeof(d.node) - 1] = '\0';
		if (!shared_node_name_valid(d.node))
			snprintf(d.node, sizeof(d.node), "lazaretd");
	}
	if (check) {
		int rc = 0;
		config_print(d.cfg, stdout);
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			fd_budget_print(d.cfg, &rl, stdout);
			if (fd_budget_check(d.cfg, (unsigned long long)rl.rlim_max, "the RLIMIT_NOFILE hard limit here",
			    err, sizeof(err)) != 0) {
				fprintf(stderr, "%s\n", err);
				rc = 1;
			}
		}
		/* -n --init-store: a package's postinst makes the store once, before the first start,
		 * so that the service's command line never needs --init-store */
		if (rc == 0 && init_store) {
			struct store *st;
			if (ensure_parent_dir(d.store_path) != 0) {
				fprintf(stderr, "lazaretd: cannot create the directory of store %s: %s\n",
				    d.store_path, strerror(errno));
				rc = 1;
			} else if ((st = store_open_with(d.store_path, NULL, STORE_OPEN_CHECK | STORE_OPEN_CREATE,
			    err, sizeof(err))) == NULL) {
				fprintf(stderr, "lazaretd: store %s\n", err);
				rc = 1;
			} else
				store_close(st);
		}
		config_unref(d.cfg);
		return rc;
	}

	/* before any thread, listener or helper: a run with huge pages starts over from here */
	char hp_err[512] = "";
	if (d.cfg->daemon.huge_pages && hugepages_exec(argv, hp_err, sizeof(hp_err)) == 0)
		hp_err[0] = '\0';
	log_init("lazaretd", d.cfg->daemon.syslog, debug ? LOG_LEVEL_DEBUG : (enum log_level)d.cfg->daemon.log_level);
	if (hp_err[0] != '\0')
		log_warnx("memory: no transparent huge pages for malloc: %s", hp_err);
	else
		log_info("memory: transparent huge pages for malloc: %s", hugepages_state(d.cfg->daemon.huge_pages));
	fd_limit_raise(&rl);
	if (fd_budget_check(d.cfg, (unsigned long long)rl.rlim_cur, "RLIMIT_NOFILE", err, sizeof(err)) != 0)
		fatalx("%s", err);
	struct fd_budget fb;
	fd_budget_of(d.cfg, &fb);
	log_info("descriptors: %llu may be open, the listeners need %llu (policy %llu, portal %llu, API %llu, "
	    "reserve %llu)", (unsigned long long)rl.rlim_cur, fb.total, fb.policy, fb.portal, fb.api, fb.reserve);
	signal(SIGPIPE, SIG_IGN);

	/* Privilege separation, before any input is read or any thread started: the
	 * nftables helper keeps CAP_NET_ADMIN, this process keeps nothing. */
	struct sandbox_user user;
	int helper_fd = GARDEN_LOG_ONLY;
	d.helper_pid = -1;
	if (sandbox_user_lookup(d.cfg->daemon.user, &user, err, sizeof(err)) != 0)
		fatalx("%s: [daemon] %s", d.config_path, err);
	if (d.cfg->enforce.mode & ENFORCE_MODE_NFTABLES) {
		int src = enforce_priv_spawn(&user, &helper_fd, &d.helper_pid, err, sizeof(err));
		if (src < 0)
			fatalx("%s", err);
		if (src > 0) {
			log_warnx("enforce: mode = nftables but %s; quarantines are only logged (enforce=none) "
			    "until lazaretd runs with CAP_NET_ADMIN", err);
			helper_fd = GARDEN_LOG_ONLY;
		} else
			log_info("enforce: privileged helper pid %d holds CAP_NET_ADMIN and nothing else", (int)d.helper_pid);
	}
	/* as root, the API's socket is made (and given its group) while we may still chown it;
	 * anyone else makes it in api_start, after the store's checks, as ever */
	int api_fd = -1;
	if (geteuid() == 0 && d.cfg->api.socket[0] != '\0') {
		/* with --init-store its directory is made if missing (var/ in a fresh clone: make
		 * run, before the store is made there) and given to the user, who removes the
		 * socket at stop */
		char copy[PATH_MAX];
		struct stat st;
		snprintf(copy, sizeof(copy), "%s", d.cfg->api.socket);
		const char *dir = dirname(copy);
		if (init_store && stat(dir, &st) != 0) {
			if (ensure_parent_dir(d.cfg->api.socket) != 0)
				fatal("cannot create %s, the directory of the API socket", dir);
			if (user.change && chown(dir, user.uid, user.gid) != 0)
				log_warn("%s, the directory of the API socket: cannot give it to %s", dir, user.name);
		}
		if ((api_fd = api_socket_bind(d.cfg, user.change ? user.gid : getegid(), err, sizeof(err))) < 0)
			fatalx("%s", err);
	}
	/* the portal's socket is bound now, while a port below 1024 may still be */
	int portal_fd = httpd_listen_socket(&d.cfg->portal.listen, err, sizeof(err));
	if (portal_fd < 0)
		fatalx("portal %s", err);
	if (portal_fd == 0) {           /* started with stdin closed: 0 means "not bound" to the portal */
		portal_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
		close(0);
	}
	/* the flow listeners too: a receive buffer past rmem_max needs the privilege we drop */
	if (d.cfg->flows.listen_count > 0 &&
	    ((d.flows = flow_collector_new(d.cfg, on_flow_record, &d, err, sizeof(err))) == NULL ||
	    flow_collector_bind(d.flows, err, sizeof(err)) != 0))
		fatalx("%s", err);
	/* and RADIUS accounting's (1813 is below 1024) */
	if (d.cfg->radius.listen_count > 0 &&
	    ((d.radius = radius_acct_new(d.cfg, err, sizeof(err))) == NULL || radius_acct_bind(d.radius, err, sizeof(err)) != 0))
		fatalx("%s", err);
	if (refuse_low_ports(d.cfg, err, sizeof(err)) != 0 || sandbox_drop(&user, NULL, 0, err, sizeof(err)) != 0)
		fatalx("%s", err);
	d.loop = uv_default_loop();
	/* the store's writer and the sync thread below the loop from their first step */
	background_set_nice(d.cfg->daemon.background_nice);
	const char *background = pg_conninfo_is_pg(d.cfg->daemon.store) ?
	    "the store's writer and the shared store's sync thread run" : "the store's writer runs";
	if (d.cfg->daemon.background_nice > 0)
		log_info("threads: %s %u nice steps below the event loop (background_nice)", background,
		    d.cfg->daemon.background_nice);
	else
		log_info("threads: %s at the event loop's priority (background_nice = 0)", background);

	/* Only when told: a store that is not there may be one that should be (see store_open_with). */
	if (init_store && ensure_parent_dir(d.store_path) != 0)
		fatal("cannot create the directory of store %s", d.store_path);
	if ((d.store = store_open_with(d.store_path, d.loop, STORE_OPEN_CHECK |
	    (init_store ? STORE_OPEN_CREATE : 0), err, sizeof(err))) == NULL)
		fatalx("store %s; refusing to start", err);
	if (pipeline_open(&d.pl, d.cfg, d.store, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (d.flows != NULL && (d.flow_detect = flow_detect_new(d.pl.judge, d.cfg)) == NULL)
		fatalx("out of memory");
	/* the mail logs, then Roundcube's userlogins log: followed, sliced and kept alike */
	size_t nlogs = d.cfg->maillog.file_count + (d.cfg->logins.roundcube_log[0] != '\0');
	if (nlogs > 0 && (d.followers = calloc(nlogs, sizeof(*d.followers))) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < nlogs; i++) {
		bool webmail = i == d.cfg->maillog.file_count;
		const char *path = webmail ? d.cfg->logins.roundcube_log : d.cfg->maillog.files[i];
		if ((d.followers[i] = logfollow_new(path, webmail ? on_roundcube_line : on_maillog_line, &d)) == NULL)
			fatalx("out of memory");
		if (webmail)
			logfollow_set_label(d.followers[i], "roundcube_log");
		d.follower_count++;
		char key[PATH_MAX + 16], value[64];
		unsigned long long inode, offset;
		snprintf(key, sizeof(key), "maillog:%s", path);
		int rc = store_state_get(d.store, key, value, sizeof(value));
		if (rc != 0 && rc != -ENOENT)     /* not "never read": the whole log again would count twice */
			fatalx("store %s: cannot read where %s %s was left: %s", d.store_path,
			    webmail ? "roundcube_log" : "maillog", path, strerror(-rc));
		if (rc == 0 && sscanf(value, "%llu %llu", &inode, &offset) == 2)
			logfollow_resume(d.followers[i], inode, offset);
		log_info("%s %s: following", webmail ? "roundcube_log" : "maillog", path);
	}
	if (d.cfg->dhcp.lease_file_count > 0 &&
	    (d.leases = lease_follow_new((enum lease_id_kind)d.cfg->dhcp.subscriber_id, on_lease_binding, &d)) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < d.cfg->dhcp.lease_file_count; i++) {
		char key[PATH_MAX + 16], value[64];
		unsigned long long inode = 0, offset = 0;
		snprintf(key, sizeof(key), LAZARETD_LEASE_KEY, d.cfg->dhcp.lease_files[i]);
		int rc = store_state_get(d.store, key, value, sizeof(value));
		if (rc != 0 && rc != -ENOENT)     /* not "never read": Kea's files would all be read again */
			fatalx("store %s: cannot read where lease file %s was left: %s", d.store_path,
			    d.cfg->dhcp.lease_files[i], strerror(-rc));
		bool have = rc == 0 && sscanf(value, "%llu %llu", &inode, &offset) == 2;
		if (lease_follow_add(d.leases, d.cfg->dhcp.lease_files[i], have, inode, offset) != 0)
			fatalx("out of memory");
		log_info("dhcp %s: following (subscriber_id = %s)", d.cfg->dhcp.lease_files[i],
		    lease_id_kind_name((enum lease_id_kind)d.cfg->dhcp.subscriber_id));
	}
	usec_t t0 = time_mono();
	int lrc = judge_load(d.pl.judge);
	if (lrc != 0)
		fatalx("store %s: cannot load the subjects: %s", d.store_path, strerror(-lrc));
	struct judge_stats js;
	judge_stats_get(d.pl.judge, &js);
	log_info("store %s: %zu subjects loaded in %.1f ms (%zu watch, %zu throttle, %zu quarantine, %zu suspend)",
	    d.store_path, js.tracked, (double)(time_mono() - t0) / 1000.0, js.by_level[LEVEL_WATCH],
	    js.by_level[LEVEL_THROTTLE], js.by_level[LEVEL_QUARANTINE], js.by_level[LEVEL_SUSPEND]);
	if (d.radius != NULL || d.leases != NULL) {
		/* the address history: who holds what now, before any evidence is attributed */
		t0 = time_mono();
		if ((d.ident = ident_new(d.store)) == NULL)
			fatalx("out of memory");
		if ((lrc = ident_load(d.ident, time_now())) != 0)
			fatalx("store %s: cannot load the address history: %s", d.store_path, strerror(-lrc));
		struct ident_stats is;
		ident_stats_get(d.ident, &is);
		log_info("identity: %llu networks held by %llu subscribers loaded in %.1f ms", (unsigned long long)is.bound,
		    (unsigned long long)is.subscribers, (double)(time_mono() - t0) / 1000.0);
		judge_set_ident(d.pl.judge, d.ident);
	}
	restore_delivery(&d);
	restore_flow_templates(&d);
	d.delivery_saved = d.flows_saved = time_mono();

	/* the kernel holds the store's quarantines before anything is served */
	if ((d.garden = garden_new(d.loop, d.cfg, d.pl.judge, helper_fd, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (garden_start(d.garden, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (d.cfg->enforce.mode & ENFORCE_MODE_RADIUS) {
		/* the NASes told of every quarantine the store holds: brought in line after a restart */
		if ((d.coa = coa_new(d.loop, d.cfg, d.pl.judge, d.ident, d.store, err, sizeof(err))) == NULL)
			fatalx("%s", err);
		coa_start(d.coa);
		log_info("enforce: CoA and Disconnect to %zu NASes", d.cfg->radius.nas_count);
	}
	if (d.ident != NULL)          /* a quarantined subscriber's new address joins the garden and the NAS is told */
		ident_set_observer(d.ident, on_holder_changed, &d);
	judge_set_observer(d.pl.judge, on_level_changed, &d);
	if (pg_conninfo_is_pg(d.cfg->daemon.store))
		start_shared(&d);

	if ((d.policy = policy_server_new(d.loop, decide_relay, d.pl.relay, d.cfg)) == NULL)
		fatalx("out of memory");
	if (policy_server_start(d.policy, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (d.flows != NULL && flow_collector_start(d.flows, d.loop, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (d.radius != NULL && radius_acct_start(d.radius, d.loop, d.ident, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (d.cfg->reports.directory[0] != '\0') {
		/* reports weeks late go to whoever held the address then: after the history is loaded */
		if ((d.reports = report_intake_new(d.loop, d.cfg, d.pl.judge, d.store, err, sizeof(err))) == NULL)
			fatalx("%s", err);
		report_intake_start(d.reports);
	}
	struct api_context actx = { .judge = d.pl.judge, .store = d.store, .policy = d.policy,
	    .delivery = d.pl.delivery, .followers = d.followers, .follower_count = d.follower_count,
	    .garden = d.garden, .flows = d.flows, .flow_detect = d.flow_detect, .ident = d.ident, .radius = d.radius,
	    .coa = d.coa, .leases = d.leases, .reports = d.reports, .shared = d.shared,
	    .cfg = d.cfg,
	    .started = time_now(), .socket_fd = api_fd };
	if ((d.api = api_start(d.loop, &actx, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	struct portal_context pctx = { .judge = d.pl.judge, .store = d.store, .cfg = d.cfg, .own_process = true,
	    .listen_fd = portal_fd };
	if ((d.portal = portal_start(d.loop, &pctx, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	api_set_portal(d.api, d.portal);

	/* every listener is bound: the system call filter */
	if (sandbox_seccomp(SANDBOX_MAIN, d.cfg->daemon.seccomp, err, sizeof(err)) != 0)
		fatalx("%s", err);
	log_info("privileges: user %s (uid %u), no capabilities, system call filter %s", user.change ? user.name :
	    "unchanged", (unsigned)getuid(), !sandbox_seccomp_supported() ? "not in this build (sanitizers)" :
	    d.cfg->daemon.seccomp == SECCOMP_MODE_KILL ? "on" : d.cfg->daemon.seccomp == SECCOMP_MODE_LOG ? "logging only" : "off");

	uv_signal_init(d.loop, &d.sig_term);
	uv_signal_init(d.loop, &d.sig_int);
	uv_signal_init(d.loop, &d.sig_hup);
	d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
	uv_signal_start(&d.sig_term, on_signal, SIGTERM);
	uv_signal_start(&d.sig_int, on_signal, SIGINT);
	uv_signal_start(&d.sig_hup, on_signal, SIGHUP);
	uv_signal_init(d.loop, &d.sig_chld);
	d.sig_chld.data = &d;
	uv_signal_start(&d.sig_chld, on_child, SIGCHLD);
	uv_timer_init(d.loop, &d.checkpoint_timer);
	uv_timer_init(d.loop, &d.sweep_timer);
	d.checkpoint_timer.data = d.sweep_timer.data = &d;
	uint64_t cp_ms = (uint64_t)(d.cfg->daemon.checkpoint_interval / 1000);
	uv_timer_start(&d.checkpoint_timer, on_checkpoint, cp_ms, cp_ms);
	uv_timer_start(&d.sweep_timer, on_sweep, LAZARETD_SWEEP_MS, LAZARETD_SWEEP_MS);
	uv_timer_init(d.loop, &d.maillog_timer);
	uv_idle_init(d.loop, &d.maillog_idle);
	d.maillog_timer.data = d.maillog_idle.data = &d;
	if (d.follower_count > 0) {
		uint64_t ms = (uint64_t)(d.cfg->maillog.poll_interval / 1000);
		uv_timer_start(&d.maillog_timer, on_maillog_poll, 0, ms);
	}
	uv_timer_init(d.loop, &d.lease_timer);
	uv_idle_init(d.loop, &d.lease_idle);
	d.lease_timer.data = d.lease_idle.data = &d;
	if (d.leases != NULL)
		uv_timer_start(&d.lease_timer, on_lease_poll, 0, (uint64_t)(d.cfg->dhcp.poll_interval / 1000));

	/* the loop's lines of a turn go out in one write, before it waits again (log.h) */
	uv_prepare_init(d.loop, &d.log_prepare);
	uv_prepare_start(&d.log_prepare, on_log_prepare);
	log_buffer(true);
	log_info("lazaretd %s started (config %s)", LAZARET_VERSION, d.config_path);
	/* listeners open, store checked, kernel sets rebuilt: systemd may start what needs us */
	notify(sdnotify_send("READY=1"), "READY=1");
	uv_run(d.loop, UV_RUN_DEFAULT);
	log_buffer(false);

	/* the report being read stops between two chunks: the rest is read at the next start */
	report_intake_stop(d.reports);
	/* Everything queued is committed; then the loop delivers the commits' callbacks,
	 * so API requests waiting for their verdict get their answers before we go. */
	store_flush(d.store);
	for (int i = 0; i < 200 && api_waiting(d.api) + portal_waiting(d.portal) > 0; i++) {
		uv_run(d.loop, UV_RUN_NOWAIT);
		if (api_waiting(d.api) + portal_waiting(d.portal) > 0)
			uv_sleep(5);
	}
	uv_run(d.loop, UV_RUN_NOWAIT);
	/* the last verdicts reach the kernel; the rules and sets stay after we go */
	garden_stop(d.garden);
	coa_free(d.coa);              /* what waits for a NAS's answer is dropped: the next start tells it again */
	d.coa = NULL;
	api_stop(d.api);
	portal_stop(d.portal);
	/* the sync thread goes before the store it reads; verdicts still on their way stay in the
	 * outbox and are pushed at the next start */
	judge_set_shared(d.pl.judge, NULL);
	shared_free(d.shared);
	d.shared = NULL;
	store_close(d.store);
	uv_walk(d.loop, close_walk, NULL);
	uv_run(d.loop, UV_RUN_DEFAULT);
	uv_loop_close(d.loop);
	policy_server_free(d.policy);
	for (size_t i = 0; i < d.follower_count; i++)
		logfollow_free(d.followers[i]);
	free(d.followers);
	lease_follow_free(d.leases);
	report_intake_free(d.reports);
	garden_free(d.garden);     /* closes the helper's channel: it exits */
	if (d.helper_pid > 0)
		waitpid(d.helper_pid, NULL, 0);
	while (waitpid(-1, NULL, WNOHANG) > 0)    /* the portal's front, told to go */
		;
	flow_detect_free(d.flow_detect);
	pipeline_close(&d.pl);
	ident_free(d.ident);
	radius_acct_free(d.radius);
	flow_collector_free(d.flows);
	config_unref(d.cfg);
	log_info("stopped");
	return d.exit_status;
}
