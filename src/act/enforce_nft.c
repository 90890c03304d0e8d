/*
 * enforce_nft.c — the nftables backend: each call is one nft script run with one
 * nft_run_cmd_from_buffer, which libnftables sends as one netlink batch, so it is
 * applied whole or not at all. Scripts come from enforce_rules.c.
 *
 * A libnftables context is not thread-safe: one backend belongs to one thread.
 */
#include "act/enforce.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <nftables/libnftables.h>

struct enforce_nft {
	struct nft_ctx *nft;
	struct enforce_config cfg;      /* from setup (or attach): the table and the default timeout */
};

/*
 * Copies nft's error into err: its first line ("Error: what") and the start of the
 * second, the offending command, which may be a thousand elements long.
 */
static void
nft_error(struct enforce_nft *b, const char *what, char *err, size_t errlen)
{
	const char *e = nft_ctx_get_error_buffer(b->nft);
	size_t n, m = 0;
	const char *cmd = "";

	(void)nft_ctx_get_output_buffer(b->nft);
	if (errlen == 0)
		return;
	if (e == NULL || *e == '\0') {
		snprintf(err, errlen, "%s: nft failed without a message", what);
		return;
	}
	n = strcspn(e, "\n");
	if (e[n] == '\n') {
		cmd = e + n + 1;
		m = strcspn(cmd, "\n");
	}
	snprintf(err, errlen, "%s: %.*s%s%.*s%s%s", what, (int)(n > 300 ? 300 : n), e, m ? " (in: " : "",
	         (int)(m > 100 ? 100 : m), cmd, m > 100 ? "..." : "", m ? ")" : "");
}

/* Runs script as one transaction. 0, or -1 with nft's first error line in err. */
static int
nft_run(struct enforce_nft *b, const char *what, const char *script, char *err, size_t errlen)
{
	if (nft_run_cmd_from_buffer(b->nft, script) != 0) {
		nft_error(b, what, err, errlen);
		return -1;
	}
	/* Drain both buffers: they would otherwise carry over into the next call. */
	(void)nft_ctx_get_output_buffer(b->nft);
	(void)nft_ctx_get_error_buffer(b->nft);
	return 0;
}

static void
batch_error(const char *what, int rc, char *err, size_t errlen)
{
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s: an IPv4 entry that is not a /32, an IPv6 entry "
		         "that is not a /64, or a bad table name", what);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-rc));
}

/*
 * enforce_nft_new — a backend with its own libnftables context, checked by listing
 * the chains: NULL with the reason in err when that fails (no CAP_NET_ADMIN, no
 * nf_tables in the kernel).
 */
void *
enforce_nft_new(char *err, size_t errlen)
{
	struct enforce_nft *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((b->nft = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		snprintf(err, errlen, "nft_ctx_new failed");
		free(b);
		return NULL;
	}
	if (nft_ctx_buffer_output(b->nft) != 0 || nft_ctx_buffer_error(b->nft) != 0) {
		snprintf(err, errlen, "libnftables cannot buffer its output");
		goto fail;
	}
	/* Cheap whatever the ruleset holds: "list tables" would fetch every set element. */
	if (nft_run(b, "nftables unusable", "list chains", err, errlen) != 0)
		goto fail;
	snprintf(b->cfg.table, sizeof(b->cfg.table), "lazaret");
	return b;
fail:
	nft_ctx_free(b->nft);
	free(b);
	return NULL;
}

/*
 * enforce_nft_attach — adopt cfg (table name, element timeout) without touching the
 * kernel, for a process that works on a table another one set up (enforce_tool). A
 * backend that neither set up nor attached uses table "lazaret" and no default timeout.
 */
int
enforce_nft_attach(void *be, const struct enforce_config *cfg)
{
	struct enforce_nft *b = be;
	char *probe;

	if (enforce_batch(cfg, NULL, 0, NULL, 0, &probe) < 0)
		return -1;      /* a bad table name */
	free(probe);
	b->cfg = *cfg;
	if (b->cfg.table[0] == '\0')
		snprintf(b->cfg.table, sizeof(b->cfg.table), "lazaret");
	return 0;
}

static int
nft_setup(void *be, const struct enforce_config *cfg, const struct enforce_entry *all, size_t n_all,
          char *err, size_t errlen)
{
	struct enforce_nft *b = be;
	size_t size = 64 * 1024;
	char *buf = NULL, *elements = NULL;
	int n, m, rc = -1;

	for (;;) {
		char *nb = realloc(buf, size);
		if (nb == NULL) {
			snprintf(err, errlen, "setup: out of memory");
			goto out;
		}
		buf = nb;
		if ((n = enforce_ruleset(cfg, buf, size)) >= 0)
			break;
		if (errno != ENOSPC || size >= 16 * 1024 * 1024) {
			snprintf(err, errlen, "setup: bad enforcement configuration (table name, remediation protocol, portal family)");
			goto out;
		}
		size *= 2;
	}
	/* the quarantines go into the new sets in the same transaction */
	if (n_all > 0) {
		if ((m = enforce_reconcile_batch(cfg, all, n_all, &elements)) < 0) {
			batch_error("setup", m, err, errlen);
			goto out;
		}
		char *nb = realloc(buf, (size_t)n + (size_t)m + 1);
		if (nb == NULL) {
			snprintf(err, errlen, "setup: out of memory");
			goto out;
		}
		buf = nb;
		memcpy(buf + n, elements, (size_t)m + 1);
	}
	if ((rc = nft_run(b, "setup", buf, err, errlen)) == 0)
		(void)enforce_nft_attach(b, cfg);
out:
	free(elements);
	free(buf);
	return rc;
}

static int
nft_apply(void *be, const struct enforce_entry *add, size_t nadd, const struct cidr *del, size_t ndel,
          char *err, size_t errlen)
{
	struct enforce_nft *b = be;
	char *script;
	int n, rc;

	if ((n = enforce_batch(&b->cfg, add, nadd, del, ndel, &script)) < 0) {
		batch_error("apply", n, err, errlen);
		return -1;
	}
	rc = n == 0 ? 0 : nft_run(b, "apply", script, err, errlen);
	free(script);
	return rc;
}

static int
nft_reconcile(void *be, const struct enforce_entry *all, size_t n, char *err, size_t errlen)
{
	struct enforce_nft *b = be;
	char *script;
	int len, rc;

	if ((len = enforce_reconcile_batch(&b->cfg, all, n, &script)) < 0) {
		batch_error("reconcile", len, err, errlen);
		return -1;
	}
	rc = nft_run(b, "reconcile", script, err, errlen);
	free(script);
	return rc;
}

/*
 * Two commands, not one batch: nft 1.0.6 fetches only the last named set into its
 * cache when one buffer lists two ("No such file or directory" for the first).
 */
static int
nft_list(void *be, struct cidr **out, size_t *n, char *err, size_t errlen)
{
	struct enforce_nft *b = be;
	static const char *const sets[] = { "quarantine_v4", "quarantine_v6" };
	struct cidr *all = NULL;
	size_t nall = 0;

	*out = NULL;
	*n = 0;
	for (size_t s = 0; s < 2; s++) {
		char cmd[128];
		const char *text;
		struct cidr *v;
		size_t nv;
		int rc;

		snprintf(cmd, sizeof(cmd), "list set inet %s %s", b->cfg.table, sets[s]);
		if (nft_run_cmd_from_buffer(b->nft, cmd) != 0) {
			nft_error(b, "list", err, errlen);
			goto fail;
		}
		/* The buffer is libnftables' until the next call: parse it now. */
		text = nft_ctx_get_output_buffer(b->nft);
		if ((rc = enforce_parse_elements(text != NULL ? text : "", &v, &nv)) != 0) {
			snprintf(err, errlen, "list: %s", rc == -ENOMEM ? "out of memory" : "unexpected element in nft's output");
			goto fail;
		}
		/* quarantine_v6 holds the /64 network addresses */
		for (size_t i = 0; s == 1 && i < nv; i++) {
			if (v[i].addr.family == AF_INET6 && v[i].prefix == 128) {
				v[i].prefix = 64;
				addr_mask(&v[i].addr, 64);
			}
		}
		if (nall == 0) {
			free(all);
			all = v;
			nall = nv;
		} else if (nv > 0) {
			struct cidr *m = realloc(all, (nall + nv) * sizeof(*m));
			if (m == NULL) {
				free(v);
				snprintf(err, errlen, "list: out of memory");
				goto fail;
			}
			memcpy(m + nall, v, nv * sizeof(*m));
			free(v);
			all = m;
			nall += nv;
		}
	}
	*out = all;
	*n = nall;
	return 0;
fail:
	free(all);
	return -1;
}

static void
nft_free(void *be)
{
	struct enforce_nft *b = be;

	if (b == NULL)
		return;
	nft_ctx_free(b->nft);
	free(b);
}

const struct enforcer_ops enforce_nft_ops = {
	.name = "nft",
	.setup = nft_setup,
	.apply = nft_apply,
	.reconcile = nft_reconcile,
	.list = nft_list,
	.free = nft_free,
};
