/*
 * enforce_priv.h — the only process that keeps CAP_NET_ADMIN, and the backend through
 * which the unprivileged main process asks it for nftables batches.
 *
 * lazaretd forks the helper first, before it reads a log line or a request: the helper
 * becomes [daemon] user keeping only CAP_NET_ADMIN, opens its libnftables context and
 * then only answers the main process over a socketpair. A request is one enforcer
 * call (setup, apply, reconcile, list) carrying binary element lists — never text: the
 * helper checks every field (families, prefixes, counts, an identifier for a table name,
 * bounded timeouts) and builds the nft script itself from what it checked, so a main
 * process taken over by a hostile log line or request can still only quarantine and
 * release hosts. It ignores SIGTERM, SIGINT and SIGHUP (the main process applies the
 * last batch as it stops) and exits when the main process closes its end.
 *
 * Frames, both ways: struct enforce_priv_request / _response, then the payload
 * (setup: one struct enforce_config; then nadd struct enforce_entry, then ndel struct
 * cidr; a response: n struct cidr, for list). Both ends are the same binary, so the
 * structs go as they are.
 */
#ifndef LAZARET_ACT_ENFORCE_PRIV_H
#define LAZARET_ACT_ENFORCE_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "act/enforce.h"
#include "common/sandbox.h"

#define ENFORCE_PRIV_MAGIC 0x4c5a5031u        /* "LZP1" */
#define ENFORCE_PRIV_MAX_ELEMENTS (1u << 22)   /* 4 M hosts in one call */

enum enforce_priv_op { ENFORCE_PRIV_SETUP = 1, ENFORCE_PRIV_APPLY, ENFORCE_PRIV_RECONCILE, ENFORCE_PRIV_LIST };

struct enforce_priv_request {
	uint32_t magic;
	uint32_t op;
	uint32_t nadd;      /* entries to set up, add or keep */
	uint32_t ndel;      /* cidrs to remove (apply) */
};

struct enforce_priv_response {
	uint32_t magic;
	int32_t rc;         /* the backend's result; the hello after start: 0 = nftables usable */
	uint32_t n;         /* cidrs following (list) */
	char err[256];
};

/*
 * enforce_priv_spawn — fork the helper (call before any thread exists). The helper
 * takes user u with CAP_NET_ADMIN only, opens libnftables and says whether it can use
 * it. *fd receives the main process's end of the channel, *pid the helper's pid.
 * 0; -1 with a message in err when the fork or the helper's start failed; 1 when the
 * helper runs but nftables is unusable (the reason in err: no privilege, no kernel
 * support) — the caller then logs quarantines only, as without the helper.
 */
int enforce_priv_spawn(const struct sandbox_user *u, int *fd, pid_t *pid, char *err, size_t errlen);

/* The backend on the main process's side: every call is one request to the helper. */
extern const struct enforcer_ops enforce_priv_ops;
void *enforce_priv_new(int fd);

/*
 * enforce_priv_check — whether a request's header and payload are well-formed and
 * every value in them within bounds; the helper runs nothing else. 0, or -EINVAL with
 * what is wrong in why. Pure; the fuzz target and the unit tests call it.
 */
int enforce_priv_check(const struct enforce_priv_request *rq, const void *payload, size_t len,
                       char *why, size_t whylen);

/* The helper's loop: answers requests on fd with backend be until fd closes. For tests. */
int enforce_priv_serve(int fd, const struct enforcer_ops *ops, void *be);

#endif
