/*
 * portal_harness.c — the portal with a real judge and store, for the integration test
 * and the benchmark: no policy service, no API, nothing else of lazaretd.
 *
 *   portal_harness -d DIR -l 127.0.0.1:PORT -T TEMPLATES [-q ADDR]... [-e SUMMARY]
 *                  [-t TOKEN_TTL] [-L LIMIT] [-W WINDOW] [-g GRACE] [-m MIN_QUARANTINE]
 *                  [-u URL] [-s SECRET_FILE] [-P PER_IP] [-C MAX_CONNECTIONS] [-v] [-N]
 *
 * -N: no answer kept by the front (every page a question to the desk: the benchmark's
 * cost of the message passing itself).
 *
 * Opens the store DIR/lazaret.db, quarantines each -q address through evidence (two
 * items, the first with SUMMARY), starts the portal and prints "ready" once those
 * verdicts are committed. Then reads commands on stdin, one per line, and answers each
 * with one line starting "ok SEQ" or "err SEQ" (after the verdict is durable):
 *   quarantine ADDR [self-release]    an operator's quarantine (that the subscriber may release)
 *   suspend ADDR                      an operator's suspension
 *   evidence ADDR [SUMMARY]           enough evidence to quarantine (unless in grace)
 *   minq DURATION                     [portal] min_quarantine from now on, as a reload would
 *   token ADDR                        ok SEQ token=T: a genuine token for ADDR's quarantine now
 *                                     (needs -s: what a script that kept a page would hold)
 *   show ADDR                         ok SEQ level=L target=T grace=0|1
 *   history ADDR                      "history ACTOR OLD NEW REASON" lines, then ok SEQ N
 *   stats                             ok SEQ notices=N ok=N releases=N refused=N
 *   failnext [N]                      the store's next N commits fail (-EIO)
 *   failreads [N]                     the store's next N reads fail (-EIO)
 * Stops on SIGTERM, SIGINT or end of input after "quit".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"
#include "portal/portal.h"
#include "portal/settings.h"
#include "portal/token.h"
#include "store/store.h"
#include "store/store_test.h"

#define HARNESS_MAX_QUARANTINE 16

struct harness {
	uv_loop_t *loop;
	struct config cfg;
	struct store *st;
	struct judge *j;
	struct portal *portal;
	struct portal_settings ps;
	int kind_a, kind_b;
	const char *summary;
	uv_pipe_t in;
	char line[4096];
	size_t line_len;
	unsigned seq;
	uv_signal_t sig_term, sig_int;
	bool stopping;
};

struct harness_reply {
	struct harness *h;
	unsigned seq;
	char subject[STORE_SUBJECT_MAX];
	uv_timer_t timer;
};

static void harness_stop(struct harness *h);

static void
harness_level_changed(void *arg, const struct subject *s, int old_level, int new_level, const char *actor)
{
	struct harness *h = arg;

	(void)s;
	(void)old_level;
	(void)new_level;
	(void)actor;
	portal_level_changed(h->portal);
}

static void
harness_reply_done(void *arg, int status)
{
	struct harness_reply *r = arg;
	struct subject *s = subjects_find(judge_subjects(r->h->j), r->subject, strlen(r->subject));

	if (status == 0)
		printf("ok %u level=%s\n", r->seq, s ? level_name(s->level) : "gone");
	else
		printf("err %u store error %d\n", r->seq, status);
	fflush(stdout);
	free(r);
}

/* Evidence worth a quarantine (score 10 against a threshold of 6), in two items. */
static void
harness_evidence(struct harness *h, struct subject *s, const char *summary)
{
	usec_t now = time_now();
	judge_add_evidence(h->j, s, h->kind_b, 4, 12, now - 60 * USEC_PER_SEC,
	    "Reported by an abuse feed: \"bot\" contacted a known C&C server <b>twice</b>");
	judge_add_evidence(h->j, s, h->kind_a, 6, 1234, now, summary);
}

static void
harness_timer_closed(uv_handle_t *handle)
{
	free(handle->data);
}

/* Replies once the subject has no verdict in flight. */
static void
harness_poll_commit(uv_timer_t *t)
{
	struct harness_reply *r = t->data;
	struct subject *s = subjects_find(judge_subjects(r->h->j), r->subject, strlen(r->subject));

	if (s != NULL && s->pending > 0)
		return;
	printf("ok %u level=%s\n", r->seq, s ? level_name(s->level) : "gone");
	fflush(stdout);
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, harness_timer_closed);
}

static int
harness_episode_each(void *arg, const struct store_history *e)
{
	*(uint64_t *)arg = (uint64_t)e->time;
	return 0;
}

/* A token as the portal would make it for addr now, from the same secret file. */
static int
harness_token(struct harness *h, const char *addr, char out[TOKEN_TEXT_MAX])
{
	struct token_key key;
	struct subject *s = judge_lookup(h->j, addr);
	uint64_t episode = 0;
	char key_text[STORE_SUBJECT_MAX], err[256];

	if (s == NULL || h->ps.secret_file[0] == '\0' ||
	    token_key_from_file(&key, h->ps.secret_file, err, sizeof(err)) != 0)
		return -1;
	memcpy(key_text, s->key, s->key_len);
	key_text[s->key_len] = '\0';
	if (store_history_read(h->st, key_text, 1000, harness_episode_each, &episode) < 0)
		return -1;
	token_make(&key, addr, episode, time_now() + h->ps.token_ttl, out);
	return 0;
}

static int
harness_history_each(void *arg, const struct store_history *e)
{
	unsigned *n = arg;
	printf("history %s %s %s %s\n", e->actor, level_name(e->old_level), level_name(e->new_level), e->reason);
	(*n)++;
	return 0;
}

static void
harness_command(struct harness *h, char *line)
{
	unsigned seq = ++h->seq;
	char *save = NULL;
	char *cmd = strtok_r(line, " ", &save);
	char *arg = cmd ? strtok_r(NULL, " ", &save) : NULL;
	char *rest = save && *save ? save : NULL;
	struct subject *s;

	if (cmd == NULL) {
		printf("err %u empty command\n", seq);
	} else if (!strcmp(cmd, "quit")) {
		printf("ok %u bye\n", seq);
		harness_stop(h);
	} else if (!strcmp(cmd, "stats")) {
		const struct portal_stats *ps = portal_stats(h->portal);
		printf("ok %u notices=%llu ok=%llu releases=%llu refused=%llu\n", seq,
		    (unsigned long long)ps->notices, (unsigned long long)ps->not_quarantined,
		    (unsigned long long)ps->self_releases, (unsigned long long)ps->refused_releases);
	} else if (!strcmp(cmd, "failnext")) {
		unsigned n = arg ? (unsigned)strtoul(arg, NULL, 10) : 1;
		store_test_fail_next(h->st, n);
		printf("ok %u the next %u commits fail\n", seq, n);
	} else if (!strcmp(cmd, "failreads")) {
		unsigned n = arg ? (unsigned)strtoul(arg, NULL, 10) : 1;
		store_test_fail_reads(h->st, n);
		printf("ok %u the next %u reads fail\n", seq, n);
	} else if (arg == NULL) {
		printf("err %u %s needs an address\n", seq, cmd);
	} else if (!strcmp(cmd, "minq")) {
		char err[1024];
		if (duration_parse(arg, &h->ps.min_quarantine) != 0 ||
		    portal_configure_with(h->portal, &h->cfg, &h->ps, err, sizeof(err)) != 0)
			printf("err %u bad duration or reload failed\n", seq);
		else
			printf("ok %u min_quarantine=%s\n", seq, arg);
	} else if (!strcmp(cmd, "token")) {
		char token[TOKEN_TEXT_MAX];
		if (harness_token(h, arg, token) != 0)
			printf("err %u no token (unknown address, or no -s)\n", seq);
		else
			printf("ok %u token=%s\n", seq, token);
	} else if (!strcmp(cmd, "show")) {
		if ((s = judge_lookup(h->j, arg)) == NULL)
			printf("ok %u level=unknown\n", seq);
		else
			printf("ok %u level=%s target=%s grace=%d\n", seq, level_name(s->level),
			    level_name(s->target_level),
			    s->detail != NULL && s->detail->grace_until > time_now());
	} else if (!strcmp(cmd, "history")) {
		char key[STORE_SUBJECT_MAX];
		enum subject_kind kind;
		unsigned n = 0;
		if (judge_normalize(h->j, arg, key, sizeof(key), &kind) != 0)
			printf("err %u not a subject\n", seq);
		else if (store_history_read(h->st, key, 1000, harness_history_each, &n) < 0)
			printf("err %u history failed\n", seq);
		else
			printf("ok %u %u\n", seq, n);
	} else if (!strcmp(cmd, "quarantine") || !strcmp(cmd, "suspend") || !strcmp(cmd, "evidence")) {
		struct harness_reply *r = calloc(1, sizeof(*r));
		if (r == NULL || (s = judge_lookup_or_create(h->j, arg, time_now())) == NULL) {
			printf("err %u bad address or out of memory\n", seq);
			free(r);
		} else {
			r->h = h;
			r->seq = seq;
			memcpy(r->subject, s->key, s->key_len);
			r->subject[s->key_len] = '\0';
			if (!strcmp(cmd, "evidence")) {
				harness_evidence(h, s, rest ? rest : h->summary);
				/* the judge's own change has no callback: watch for its commit */
				uv_timer_init(h->loop, &r->timer);
				r->timer.data = r;
				uv_timer_start(&r->timer, harness_poll_commit, 0, 5);
				return;
			}
			int level = !strcmp(cmd, "suspend") ? LEVEL_SUSPEND : LEVEL_QUARANTINE;
			unsigned flags = rest != NULL && !strcmp(rest, "self-release") ? SUBJECT_MANUAL_SELF_RELEASE : 0;
			if (judge_set_manual_flags(h->j, s, level, 0, flags, "harness: test quarantine", "operator",
			    harness_reply_done, r) != 0) {
				printf("err %u judge_set_manual failed\n", seq);
				free(r);
			}
			return;
		}
	} else {
		printf("err %u unknown command %s\n", seq, cmd);
	}
	fflush(stdout);
}

static void
harness_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	static char chunk[4096];
	(void)handle;
	(void)suggested;
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

static void
harness_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct harness *h = stream->data;

	if (n < 0) {
		uv_read_stop(stream);
		return;           /* end of input: keep serving until a signal */
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = buf->base[i];
		if (c == '\n') {
			h->line[h->line_len] = '\0';
			h->line_len = 0;
			harness_command(h, h->line);
			if (h->stopping)
				return;
		} else if (h->line_len + 1 < sizeof(h->line))
			h->line[h->line_len++] = c;
	}
}

static void
harness_stop(struct harness *h)
{
	if (h->stopping)
		return;
	h->stopping = true;
	uv_signal_stop(&h->sig_term);
	uv_signal_stop(&h->sig_int);
	uv_read_stop((uv_stream_t *)&h->in);
	uv_stop(h->loop);
}

static void
harness_signal(uv_signal_t *sig, int signum)
{
	(void)signum;
	harness_stop(sig->data);
}

static void
harness_close_walk(uv_handle_t *handle, void *arg)
{
	(void)arg;
	if (!uv_is_closing(handle))
		uv_close(handle, NULL);
}

static int
duration_arg(const char *text, usec_t *out)
{
	if (duration_parse(text, out) != 0) {
		fprintf(stderr, "portal_harness: bad duration %s\n", text);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct harness h;
	const char *dir = NULL, *quarantine[HARNESS_MAX_QUARANTINE];
	size_t nq = 0;
	bool verbose = false;
	char path[4096], err[1024];
	int ch;

	portal_settings_defaults(&h.ps);
	config_defaults(&h.cfg);
	h.summary = "Mail from your connection bounced";
	while ((ch = getopt(argc, argv, "d:l:T:q:e:t:L:W:g:m:u:s:P:C:vN")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'l':
			if (listen_addr_parse(optarg, &h.ps.listen) != 0) {
				fprintf(stderr, "portal_harness: bad listen address %s\n", optarg);
				return 2;
			}
			break;
		case 'T': snprintf(h.ps.templates, sizeof(h.ps.templates), "%s", optarg); break;
		case 'q':
			if (nq == HARNESS_MAX_QUARANTINE)
				return 2;
			quarantine[nq++] = optarg;
			break;
		case 'e': h.summary = optarg; break;
		case 't': if (duration_arg(optarg, &h.ps.token_ttl)) return 2; break;
		case 'W': if (duration_arg(optarg, &h.ps.self_release_window)) return 2; break;
		case 'g': if (duration_arg(optarg, &h.ps.grace)) return 2; break;
		case 'm': if (duration_arg(optarg, &h.ps.min_quarantine)) return 2; break;
		case 'L': h.ps.self_release_limit = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'u':
			snprintf(h.ps.url, sizeof(h.ps.url), "%s", optarg);
			snprintf(h.cfg.portal.url, sizeof(h.cfg.portal.url), "%s", optarg);
			break;
		case 's': snprintf(h.ps.secret_file, sizeof(h.ps.secret_file), "%s", optarg); break;
		case 'P': h.ps.per_ip_connections = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'C': h.ps.max_connections = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'v': verbose = true; break;
		case 'N': h.ps.answer_cache = 0; break;     /* every page a question to the desk */
		default:
			fprintf(stderr, "usage: see the comment at the top of tests/tools/portal_harness.c\n");
			return 2;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "portal_harness: -d DIR is required\n");
		return 2;
	}
	log_init("portal_harness", 0, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	h.loop = uv_default_loop();
	snprintf(path, sizeof(path), "%s/lazaret.db", dir);
	if ((h.st = store_open(path, h.loop, err, sizeof(err))) == NULL) {
		fprintf(stderr, "portal_harness: store %s: %s\n", path, err);
		return 1;
	}
	if ((h.j = judge_new(&h.cfg, h.st)) == NULL)
		return 1;
	h.kind_a = judge_register_kind(h.j, "bounce_ratio", 1.0, 86400 * USEC_PER_SEC, "test: bounces");
	h.kind_b = judge_register_kind(h.j, "abuse_report", 1.0, 86400 * USEC_PER_SEC, "test: reports");
	if (judge_configure(h.j, &h.cfg, err, sizeof(err)) != 0 || judge_load(h.j) != 0) {
		fprintf(stderr, "portal_harness: judge: %s\n", err);
		return 1;
	}
	struct portal_context ctx = { .judge = h.j, .store = h.st, .cfg = &h.cfg };
	if ((h.portal = portal_start_with(h.loop, &ctx, &h.ps, err, sizeof(err))) == NULL) {
		fprintf(stderr, "portal_harness: %s\n", err);
		return 1;
	}
	judge_set_observer(h.j, harness_level_changed, &h);     /* as lazaretd wires it */
	for (size_t i = 0; i < nq; i++) {
		struct subject *s = judge_lookup_or_create(h.j, quarantine[i], time_now());
		if (s == NULL) {
			fprintf(stderr, "portal_harness: not an address: %s\n", quarantine[i]);
			return 2;
		}
		harness_evidence(&h, s, h.summary);
	}
	/* the judge's changes have no callback of their own: flush, then let the loop deliver
	 * the commits until no verdict is in flight */
	store_flush(h.st);
	for (int tries = 0; tries < 1000; tries++) {
		bool pending = false;
		uv_run(h.loop, UV_RUN_NOWAIT);
		for (size_t i = 0; i < nq; i++) {
			struct subject *s = judge_lookup(h.j, quarantine[i]);
			pending |= s != NULL && s->pending > 0;
		}
		if (!pending)
			break;
		uv_sleep(1);
	}
	printf("ready\n");

	uv_signal_init(h.loop, &h.sig_term);
	uv_signal_init(h.loop, &h.sig_int);
	h.sig_term.data = h.sig_int.data = &h;
	uv_signal_start(&h.sig_term, harness_signal, SIGTERM);
	uv_signal_start(&h.sig_int, harness_signal, SIGINT);
	/* commands come through a pipe or FIFO; anything else on stdin (/dev/null) is ignored */
	uv_pipe_init(h.loop, &h.in, 0);
	h.in.data = &h;
	if (uv_guess_handle(0) == UV_NAMED_PIPE && uv_pipe_open(&h.in, 0) == 0)
		uv_read_start((uv_stream_t *)&h.in, harness_alloc, harness_read);

	uv_run(h.loop, UV_RUN_DEFAULT);

	store_flush(h.st);
	for (int i = 0; i < 200 && portal_waiting(h.portal) > 0; i++) {
		uv_run(h.loop, UV_RUN_NOWAIT);
		if (portal_waiting(h.portal) > 0)
			uv_sleep(5);
	}
	uv_run(h.loop, UV_RUN_NOWAIT);
	portal_stop(h.portal);
	store_close(h.st);
	uv_walk(h.loop, harness_close_walk, NULL);
	uv_run(h.loop, UV_RUN_DEFAULT);
	judge_free(h.j);
	config_free(&h.cfg);
	uv_loop_close(h.loop);
	return 0;
}
