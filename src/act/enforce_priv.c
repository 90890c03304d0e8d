/*
 * enforce_priv.c — the privileged helper and the backend that talks to it; see
 * enforce_priv.h.
 */
#include "act/enforce_priv.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "common/log.h"

/* A quarantine may be long, but a timeout beyond this is a corrupted request. */
#define PRIV_MAX_TIMEOUT ((usec_t)400 * 24 * 3600 * USEC_PER_SEC)

/* Reads exactly n bytes: 1, 0 at end of file before the first byte, -1 on error or a cut frame. */
static int
read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			return got == 0 ? 0 : -1;
		else if (errno != EINTR)
			return -1;
	}
	return 1;
}

/* Writes every iov whole (MSG_NOSIGNAL: a gone peer is an error, not a signal). 0 or -1. */
static int
write_full(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* The payload's length for a header already known sane (op and counts in range). */
static size_t
payload_len(const struct enforce_priv_request *rq)
{
	return (rq->op == ENFORCE_PRIV_SETUP ? sizeof(struct enforce_config) : 0) +
	    (size_t)rq->nadd * sizeof(struct enforce_entry) + (size_t)rq->ndel * sizeof(struct cidr);
}

static int
header_check(const struct enforce_priv_request *rq, char *why, size_t whylen)
{
	if (rq->magic != ENFORCE_PRIV_MAGIC) {
		snprintf(why, whylen, "bad magic 0x%08x", rq->magic);
		return -EINVAL;
	}
	if (rq->op < ENFORCE_PRIV_SETUP || rq->op > ENFORCE_PRIV_LIST) {
		snprintf(why, whylen, "unknown operation %u", rq->op);
		return -EINVAL;
	}
	if (rq->nadd > ENFORCE_PRIV_MAX_ELEMENTS || rq->ndel > ENFORCE_PRIV_MAX_ELEMENTS) {
		snprintf(why, whylen, "%u + %u elements, more than %u", rq->nadd, rq->ndel, ENFORCE_PRIV_MAX_ELEMENTS);
		return -EINVAL;
	}
	if ((rq->op != ENFORCE_PRIV_APPLY && rq->ndel != 0) || (rq->op == ENFORCE_PRIV_LIST && rq->nadd != 0)) {
		snprintf(why, whylen, "operation %u carries elements it does not take", rq->op);
		return -EINVAL;
	}
	return 0;
}

/* An address lazaret could have parsed: IPv4 with nothing after its 4 bytes, or IPv6. */
static bool
addr_ok(const struct addr *a)
{
	static const uint8_t zero[12];

	if (a->family == AF_INET)
		return memcmp(a->bytes + 4, zero, sizeof(zero)) == 0;
	return a->family == AF_INET6;
}

/* A network as cidr_parse makes it: a valid address, a prefix within its family, masked. */
static bool
cidr_ok(const struct cidr *c)
{
	struct addr masked;

	if (!addr_ok(&c->addr) || c->prefix > (c->addr.family == AF_INET ? 32u : 128u))
		return false;
	masked = c->addr;
	addr_mask(&masked, c->prefix);
	return memcmp(&masked, &c->addr, sizeof(masked)) == 0;
}

static int
config_check(const struct enforce_config *c, char *why, size_t whylen)
{
	const char *end = memchr(c->table, '\0', sizeof(c->table));

	if (end == NULL || end == c->table) {
		snprintf(why, whylen, "a table name that is empty or not terminated");
		return -EINVAL;
	}
	for (const char *p = c->table; p < end; p++)       /* an identifier: a letter, then [A-Za-z0-9_] */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (p > c->table && ((*p >= '0' && *p <= '9') || *p == '_')))) {
			snprintf(why, whylen, "a table name with a byte 0x%02x", (unsigned char)*p);
			return -EINVAL;
		}
	if (c->subscriber_count > ENFORCE_MAX_LIST || c->relay_count > ENFORCE_MAX_LIST ||
	    c->resolver_count > ENFORCE_MAX_LIST || c->remediation_count > ENFORCE_MAX_LIST) {
		snprintf(why, whylen, "a list longer than %d", ENFORCE_MAX_LIST);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->subscriber_count; i++)
		if (!cidr_ok(&c->subscribers[i]))
			goto bad;
	for (size_t i = 0; i < c->relay_count; i++)
		if (!addr_ok(&c->relays[i]))
			goto bad;
	for (size_t i = 0; i < c->resolver_count; i++)
		if (!addr_ok(&c->resolvers[i]))
			goto bad;
	for (size_t i = 0; i < c->remediation_count; i++)
		if (!cidr_ok(&c->remediation[i].net) || (c->remediation[i].proto != 0 &&
		    c->remediation[i].proto != IPPROTO_TCP && c->remediation[i].proto != IPPROTO_UDP))
			goto bad;
	if ((c->portal_v4.family != 0 && (c->portal_v4.family != AF_INET || !addr_ok(&c->portal_v4))) ||
	    (c->portal_v6.family != 0 && c->portal_v6.family != AF_INET6))
		goto bad;
	if (c->element_timeout > PRIV_MAX_TIMEOUT) {
		snprintf(why, whylen, "an element timeout of %llu µs", (unsigned long long)c->element_timeout);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(why, whylen, "an address, network or protocol out of range in the configuration");
	return -EINVAL;
}

int
enforce_priv_check(const struct enforce_priv_request *rq, const void *payload, size_t len, char *why, size_t whylen)
{
	const char *p = payload;
	int rc;

	if ((rc = header_check(rq, why, whylen)) != 0)
		return rc;
	if (len != payload_len(rq)) {
		snprintf(why, whylen, "a payload of %zu bytes where %zu were due", len, payload_len(rq));
		return -EINVAL;
	}
	if (rq->op == ENFORCE_PRIV_SETUP) {
		struct enforce_config c;
		memcpy(&c, p, sizeof(c));
		if ((rc = config_check(&c, why, whylen)) != 0)
			return rc;
		p += sizeof(c);
	}
	for (uint32_t i = 0; i < rq->nadd; i++, p += sizeof(struct enforce_entry)) {
		struct enforce_entry e;
		unsigned char fresh;
		/* a bool holding anything but 0 or 1 may not even be read */
		memcpy(&fresh, p + offsetof(struct enforce_entry, fresh), 1);
		memcpy(&e.net, p + offsetof(struct enforce_entry, net), sizeof(e.net));
		memcpy(&e.timeout, p + offsetof(struct enforce_entry, timeout), sizeof(e.timeout));
		if (fresh > 1 || !cidr_ok(&e.net) || e.net.prefix != (e.net.addr.family == AF_INET ? 32u : 64u) ||
		    e.timeout > PRIV_MAX_TIMEOUT) {
			snprintf(why, whylen, "entry %u is not an IPv4 /32 or IPv6 /64 with a sane timeout", i);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < rq->ndel; i++, p += sizeof(struct cidr)) {
		struct cidr c;
		memcpy(&c, p, sizeof(c));
		if (!cidr_ok(&c) || c.prefix != (c.addr.family == AF_INET ? 32u : 64u)) {
			snprintf(why, whylen, "removal %u is not an IPv4 /32 or IPv6 /64", i);
			return -EINVAL;
		}
	}
	return 0;
}

static int
respond(int fd, int rc, const char *err, const struct cidr *list, size_t n)
{
	struct enforce_priv_response rs = { .magic = ENFORCE_PRIV_MAGIC, .rc = rc, .n = (uint32_t)n };
	struct iovec iov[2] = { { &rs, sizeof(rs) }, { (void *)(uintptr_t)list, n * sizeof(*list) } };

	snprintf(rs.err, sizeof(rs.err), "%s", err ? err : "");
	return write_full(fd, iov, n ? 2 : 1);
}

int
enforce_priv_serve(int fd, const struct enforcer_ops *ops, void *be)
{
	for (;;) {
		struct enforce_priv_request rq;
		char why[256], err[256] = "";
		struct cidr *list = NULL;
		size_t nlist = 0;
		int r = read_full(fd, &rq, sizeof(rq)), rc;

		if (r == 0)
			return 0;                  /* the main process closed its end: done */
		if (r < 0)
			return -1;
		if (header_check(&rq, why, sizeof(why)) != 0) {
			/* the frames cannot be followed any more */
			log_warnx("enforce helper: refused a request from the main process: %s; closing", why);
			return -1;
		}
		size_t len = payload_len(&rq);
		char *payload = malloc(len ? len : 1);
		if (payload == NULL || (len > 0 && read_full(fd, payload, len) != 1)) {
			free(payload);
			return -1;
		}
		const char *p = payload;
		const struct enforce_config *cfg = NULL;
		if ((rc = enforce_priv_check(&rq, payload, len, why, sizeof(why))) != 0) {
			log_warnx("enforce helper: refused a request from the main process: %s", why);
			snprintf(err, sizeof(err), "the privileged helper refused the request: %s", why);
			rc = -1;
		} else {
			if (rq.op == ENFORCE_PRIV_SETUP) {
				cfg = (const struct enforce_config *)(const void *)p;
				p += sizeof(*cfg);
			}
			const struct enforce_entry *add = (const struct enforce_entry *)(const void *)p;
			const struct cidr *del = (const struct cidr *)(const void *)(p + rq.nadd * sizeof(*add));
			switch (rq.op) {
			case ENFORCE_PRIV_SETUP:
				rc = ops->setup(be, cfg, add, rq.nadd, err, sizeof(err));
				break;
			case ENFORCE_PRIV_APPLY:
				rc = ops->apply(be, add, rq.nadd, del, rq.ndel, err, sizeof(err));
				break;
			case ENFORCE_PRIV_RECONCILE:
				rc = ops->reconcile(be, add, rq.nadd, err, sizeof(err));
				break;
			default:
				rc = ops->list(be, &list, &nlist, err, sizeof(err));
				break;
			}
		}
		free(payload);
		r = respond(fd, rc, err, rc == 0 ? list : NULL, rc == 0 ? nlist : 0);
		free(list);
		if (r != 0)
			return -1;
	}
}

/* The helper's life after the fork: less privilege, libnftables, then only requests. */
static void __attribute__((noreturn))
helper_main(int fd, const struct sandbox_user *u)
{
	static const int keep[] = { CAP_NET_ADMIN };
	char err[256];
	void *be;

	/* nothing of the main process's but the channel and stdio */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0u, 0);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "lazaretd-priv", 0, 0, 0);
	if (sandbox_drop(u, keep, sizeof(keep) / sizeof(keep[0]), err, sizeof(err)) != 0) {
		respond(fd, -1, err, NULL, 0);
		_exit(1);
	}
	if ((be = enforce_nft_new(err, sizeof(err))) == NULL) {
		respond(fd, 1, err, NULL, 0);
		_exit(0);
	}
	if (respond(fd, 0, "", NULL, 0) != 0)
		_exit(1);
	int rc = enforce_priv_serve(fd, &enforce_nft_ops, be);
	enforce_nft_ops.free(be);
	_exit(rc == 0 ? 0 : 1);
}

int
enforce_priv_spawn(const struct sandbox_user *u, int *fd, pid_t *pid, char *err, size_t errlen)
{
	struct enforce_priv_response hello;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "enforce helper: socketpair: %s", strerror(errno));
		return -1;
	}
	log_flush();
	fflush(NULL);
	if ((*pid = fork()) < 0) {
		snprintf(err, errlen, "enforce helper: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		log_buffer(false);       /* the parent's lines are its own */
		close(sv[0]);
		helper_main(sv[1], u);
	}
	close(sv[1]);
	if (read_full(sv[0], &hello, sizeof(hello)) != 1 || hello.magic != ENFORCE_PRIV_MAGIC) {
		snprintf(err, errlen, "enforce helper: died at start");
		goto fail;
	}
	hello.err[sizeof(hello.err) - 1] = '\0';
	if (hello.rc != 0) {
		snprintf(err, errlen, "%s", hello.err);
		if (hello.rc < 0)
			goto fail;
		close(sv[0]);
		waitpid(*pid, NULL, 0);
		*pid = -1;
		return 1;
	}
	*fd = sv[0];
	return 0;
fail:
	close(sv[0]);
	waitpid(*pid, NULL, 0);
	*pid = -1;
	return -1;
}

/* ---- the main process's side ---- */

struct enforce_priv {
	int fd;
};

void *
enforce_priv_new(int fd)
{
	struct enforce_priv *b = calloc(1, sizeof(*b));

	if (b != NULL)
		b->fd = fd;
	return b;
}

/* One request and its answer; *list (list only) receives the cidrs. */
static int
priv_call(struct enforce_priv *b, uint32_t op, const struct enforce_config *cfg, const struct enforce_entry *add,
          size_t nadd, const struct cidr *del, size_t ndel, struct cidr **list, size_t *nlist, char *err, size_t errlen)
{
	struct enforce_priv_request rq = { .magic = ENFORCE_PRIV_MAGIC, .op = op, .nadd = (uint32_t)nadd,
	    .ndel = (uint32_t)ndel };
	struct enforce_priv_response rs;
	struct iovec iov[4];
	int n = 0;

	if (nadd > ENFORCE_PRIV_MAX_ELEMENTS || ndel > ENFORCE_PRIV_MAX_ELEMENTS) {
		snprintf(err, errlen, "more than %u hosts in one batch", ENFORCE_PRIV_MAX_ELEMENTS);
		return -1;
	}
	iov[n++] = (struct iovec){ &rq, sizeof(rq) };
	if (cfg != NULL)
		iov[n++] = (struct iovec){ (void *)(uintptr_t)cfg, sizeof(*cfg) };
	if (nadd > 0)
		iov[n++] = (struct iovec){ (void *)(uintptr_t)add, nadd * sizeof(*add) };
	if (ndel > 0)
		iov[n++] = (struct iovec){ (void *)(uintptr_t)del, ndel * sizeof(*del) };
	errno = 0;
	if (write_full(b->fd, iov, n) != 0 || read_full(b->fd, &rs, sizeof(rs)) != 1 ||
	    rs.magic != ENFORCE_PRIV_MAGIC || rs.n > ENFORCE_PRIV_MAX_ELEMENTS) {
		snprintf(err, errlen, "the privileged helper is gone (%s)", errno ? strerror(errno) : "closed");
		return -1;
	}
	rs.err[sizeof(rs.err) - 1] = '\0';
	if (rs.n > 0) {
		struct cidr *l = malloc(rs.n * sizeof(*l));
		if (l == NULL || read_full(b->fd, l, rs.n * sizeof(*l)) != 1) {
			free(l);
			snprintf(err, errlen, "the privileged helper is gone");
			return -1;
		}
		if (list != NULL) {
			*list = l;
			*nlist = rs.n;
		} else
			free(l);
	} else if (list != NULL) {
		*list = NULL;
		*nlist = 0;
	}
	if (rs.rc != 0)
		snprintf(err, errlen, "%s", rs.err);
	return rs.rc == 0 ? 0 : -1;
}

static int
priv_setup(void *be, const struct enforce_config *cfg, const struct enforce_entry *all, size_t n, char *err,
           size_t errlen)
{
	return priv_call(be, ENFORCE_PRIV_SETUP, cfg, all, n, NULL, 0, NULL, NULL, err, errlen);
}

static int
priv_apply(void *be, const struct enforce_entry *add, size_t nadd, const struct cidr *del, size_t ndel, char *err,
           size_t errlen)
{
	return priv_call(be, ENFORCE_PRIV_APPLY, NULL, add, nadd, del, ndel, NULL, NULL, err, errlen);
}

static int
priv_reconcile(void *be, const struct enforce_entry *all, size_t n, char *err, size_t errlen)
{
	return priv_call(be, ENFORCE_PRIV_RECONCILE, NULL, all, n, NULL, 0, NULL, NULL, err, errlen);
}

static int
priv_list(void *be, struct cidr **out, size_t *n, char *err, size_t errlen)
{
	return priv_call(be, ENFORCE_PRIV_LIST, NULL, NULL, 0, NULL, 0, out, n, err, errlen);
}

/* Closing our end tells the helper to exit. */
static void
priv_free(void *be)
{
	struct enforce_priv *b = be;

	if (b == NULL)
		return;
	close(b->fd);
	free(b);
}

const struct enforcer_ops enforce_priv_ops = {
	.name = "nftables",
	.setup = priv_setup,
	.apply = priv_apply,
	.reconcile = priv_reconcile,
	.list = priv_list,
	.free = priv_free,
};
