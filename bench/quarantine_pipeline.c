/*
 * quarantine_pipeline — how long N quarantines take from the judge's decision to the
 * kernel, through the daemon's own path: judge_set_manual (or evidence, with -a) →
 * the store's writer thread commits subject + history (group commit, synchronous=FULL)
 * → the commit callbacks on the loop → the garden batches → libnftables on a worker.
 *
 *   quarantine_pipeline [-a] [-b none|nftables] [-c CHUNK] [-p] [-w] -n N -d DIR
 *
 * The decisions are made CHUNK at a time (1000) with a turn of the event loop between
 * chunks, as verdicts arrive in the daemon (from policy requests, log lines, the API),
 * so commits and batches flow while decisions are still being made; -c N makes them
 * all in one go first. With -w the hosts are already tracked with evidence (at watch:
 * they were seen sending before they earned quarantine, as in a real outbreak), so the
 * measured decisions do not include allocating their evidence for the first time.
 *
 * With -p the batches go as lazaretd sends them: over the socketpair to the privileged
 * helper (enforce_priv_spawn, forked before any thread, staying root here), which checks
 * every element and runs libnftables; without it libnftables runs in this process
 * (GARDEN_IN_PROCESS), as before privilege separation.
 *
 * Run it in a scratch network namespace (bench/quarantine.sh does): it sets up table
 * inet lazaret there. Prints one line:
 *   n=100000 decided_s=.. committed_s=.. enforced_s=.. in_kernel=.. batches=.. applies=.. backend_s=.. applies_timed=.. store_txns=..
 * where each time is from the first decision: the last decision made (the loop thread's
 * own work), the last commit reported, the last batch applied. batches counts the
 * setup too, applies the change batches; backend_s is the time the garden's worker spent
 * in the backend's apply calls, summed over the applies_timed of them it saw (all, in
 * practice): with -p the hop to the helper and back included.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "act/enforce_priv.h"
#include "act/garden.h"
#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"
#include "store/store.h"

struct bench {
	uv_loop_t *loop;
	struct garden *g;
	size_t n, committed;
	usec_t t0, t_committed;
	uint64_t applies_seen, applies_timed;
	double backend_s;
};

/*
 * After each turn of the loop: the change batches finished since the last look. The
 * garden has one batch in flight at a time and reports it on a turn of its own, so one
 * new change batch (latency_count counts them, not setups or rebuilds) means that
 * last_batch_seconds is its own; a batch the look missed is left out of backend_s, and
 * applies_timed below applies says so.
 */
static void
tally(struct bench *b)
{
	struct garden_stats gs;

	garden_stats_get(b->g, &gs);
	if (gs.latency_count == b->applies_seen + 1) {
		b->backend_s += gs.last_batch_seconds;
		b->applies_timed++;
	}
	b->applies_seen = gs.latency_count;
}

static void
observe(void *arg, const struct subject *s, int old_level, int new_level, const char *actor)
{
	struct bench *b = arg;

	(void)actor;
	garden_level_changed(b->g, s, old_level, new_level);
	if (new_level >= LEVEL_QUARANTINE && ++b->committed == b->n)
		b->t_committed = time_mono();
}

static void
usage(void)
{
	fprintf(stderr, "usage: quarantine_pipeline [-a] [-b none|nftables] [-c CHUNK] [-p] [-w] -n N -d DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct bench b = { 0 };
	const char *dir = NULL, *backend = "nftables";
	bool automatic = false, warm = false, priv = false;
	int helper_fd = GARDEN_IN_PROCESS;
	pid_t helper_pid = -1;
	size_t chunk = 1000;
	char path[4096], err[512], key[64];
	int ch;

	while ((ch = getopt(argc, argv, "ab:c:n:d:pw")) != -1) {
		switch (ch) {
		case 'a': automatic = true; break;
		case 'w': warm = true; break;
		case 'c': chunk = strtoul(optarg, NULL, 10); break;
		case 'b': backend = optarg; break;
		case 'n': b.n = strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'p': priv = true; break;
		default: usage();
		}
	}
	if (b.n == 0 || b.n > 4000000 || dir == NULL || chunk == 0)
		usage();
	log_init("quarantine_pipeline", false, LOG_LEVEL_WARN);
	config_defaults(&cfg);
	snprintf(cfg.path, sizeof(cfg.path), "bench");
	cfg.enforce.mode = strcmp(backend, "nftables") == 0 ? ENFORCE_MODE_NFTABLES : ENFORCE_MODE_NONE;
	cfg.judge.quarantine_cap = 0;          /* a bench of the path, not of the mass-infection brake */
	snprintf(path, sizeof(path), "%s/bench.db", dir);

	if (priv && cfg.enforce.mode == ENFORCE_MODE_NFTABLES) {
		/* as lazaretd does: the helper first, before the store's thread exists */
		struct sandbox_user same = { .change = false };
		if (enforce_priv_spawn(&same, &helper_fd, &helper_pid, err, sizeof(err)) != 0) {
			fprintf(stderr, "helper: %s\n", err);
			return 1;
		}
	}

	b.loop = uv_default_loop();
	struct store *st = store_open(path, b.loop, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "store: %s\n", err);
		return 1;
	}
	struct judge *j = judge_new(&cfg, st);
	int kind = j ? judge_register_kind(j, "bench", 1.0, 3600 * USEC_PER_SEC, "bench") : -1;
	if (kind < 0 || judge_configure(j, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "judge: %s\n", err);
		return 1;
	}
	if ((b.g = garden_new(b.loop, &cfg, j, helper_fd, err, sizeof(err))) == NULL || garden_start(b.g, err, sizeof(err)) != 0) {
		fprintf(stderr, "garden: %s\n", err);
		return 1;
	}
	judge_set_observer(j, observe, &b);

	/* the subjects exist beforehand, as they would (they were seen sending) */
	struct subject **subs = calloc(b.n, sizeof(*subs));
	usec_t now = time_now();
	for (size_t i = 0; i < b.n; i++) {
		snprintf(key, sizeof(key), "100.%zu.%zu.%zu", 64 + i / 65536, (i / 256) % 256, i % 256);
		if (subs == NULL || (subs[i] = judge_lookup_or_create(j, key, now)) == NULL) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
	}

	if (warm) {
		for (size_t i = 0; i < b.n; i++)
			judge_add_evidence(j, subs[i], kind, 1.5, 1, now, "bench: seen before");
		/* committed, and the commits' callbacks run: nothing of it is left for the measured part */
		store_flush(st);
		uv_run(b.loop, UV_RUN_NOWAIT);
		uv_run(b.loop, UV_RUN_NOWAIT);
	}

	b.t0 = time_mono();
	for (size_t i = 0; i < b.n; i++) {
		if (automatic)
			judge_add_evidence(j, subs[i], kind, 100, 1, now, "bench: infected");
		else if (judge_set_manual(j, subs[i], LEVEL_QUARANTINE, 0, "bench", "operator", NULL, NULL) != 0) {
			fprintf(stderr, "judge_set_manual failed\n");
			return 1;
		}
		if ((i + 1) % chunk == 0) {
			uv_run(b.loop, UV_RUN_NOWAIT);
			tally(&b);
		}
	}
	usec_t t_decided = time_mono();

	struct garden_stats gs;
	usec_t deadline = time_mono() + 120 * USEC_PER_SEC;
	for (;;) {
		uv_run(b.loop, UV_RUN_ONCE);
		tally(&b);
		garden_stats_get(b.g, &gs);
		if (b.committed == b.n && gs.pending == 0 && gs.elements_added >= b.n)
			break;
		if (time_mono() > deadline) {
			fprintf(stderr, "timeout: committed %zu, added %llu\n", b.committed,
			    (unsigned long long)gs.elements_added);
			return 1;
		}
	}
	usec_t t_enforced = time_mono();
	struct store_stats ss;
	store_stats_get(st, &ss);
	printf("n=%zu chunk=%zu mode=%s%s backend=%s decided_s=%.3f committed_s=%.3f enforced_s=%.3f in_kernel=%zu "
	    "batches=%llu applies=%llu backend_s=%.4f applies_timed=%llu failures=%llu store_txns=%llu\n", b.n, chunk,
	    automatic ? "automatic" : "manual", warm ? "+tracked" : "", helper_fd >= 0 ? "helper" : "in-process",
	    (double)(t_decided - b.t0) / 1e6, (double)(b.t_committed - b.t0) / 1e6,
	    (double)(t_enforced - b.t0) / 1e6, gs.elements, (unsigned long long)gs.batches,
	    (unsigned long long)gs.latency_count, b.backend_s,
	    (unsigned long long)b.applies_timed, (unsigned long long)gs.failures, (unsigned long long)ss.transactions);
	fflush(stdout);
	/* what follows is not measured: a quick exit without freeing 100 000 subjects; the
	 * helper exits when its end of the channel closes with ours */
	if (helper_pid > 0) {
		close(helper_fd);
		waitpid(helper_pid, NULL, 0);
	}
	_exit(gs.failures ? 1 : 0);
}
