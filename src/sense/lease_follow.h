/*
 * lease_follow.h — ISC Kea's memfile lease files followed as they grow (issue 10's DHCP
 * identity source): each lease line becomes a binding event — this address or delegated
 * prefix, this subscriber, from when until when, or its end.
 *
 * One follower holds every configured file (DHCPv4 and DHCPv6 alike: the header line
 * tells them apart, sense/kea_lease.h). Each file is followed with sense/logfollow.h.
 *
 * Kea's lease-file cleanup (LFC, Kea 2.2 memfile_lease_mgr.cc and kea-lfc): the server
 * renames PATH to PATH.1 and starts a new PATH with a header; kea-lfc merges PATH.2 (the
 * last cleanup's result) and PATH.1 into PATH.output, renames it PATH.completed, removes
 * PATH.2 and PATH.1 and renames PATH.completed to PATH.2. For a follower that is a
 * rotation by rename+create: the rest of PATH.1 is read, then the new PATH from its start,
 * no line twice and none lost. PATH.2 holds nothing that was not appended to a PATH first.
 *
 * At the first start (no saved position), and after a restart whose saved file is gone
 * (its lines merged into PATH.2 meanwhile), the leases from before are read as Kea itself
 * loads them: PATH.completed if there is one, else PATH.2 then PATH.1, then PATH from its
 * start. Those events carry replay = true, and so do PATH's up to the end it had when
 * first read that way: what Kea wrote before, not news. Reading a file again gives the same events in
 * the same order (oldest first, the latest line about an address last), so a consumer
 * keyed by (net, start) that lets the latest event per address win ends in the same state
 * however often a file is read.
 */
#ifndef LAZARET_SENSE_LEASE_FOLLOW_H
#define LAZARET_SENSE_LEASE_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "sense/kea_lease.h"
#include "sense/logfollow.h"

/* What names the subscriber: [dhcp] subscriber_id. Order as in the configuration's names. */
enum lease_id_kind {
	LEASE_ID_CLIENT_ID,       /* DHCPv4 client identifier (option 61); DHCPv6: the DUID */
	LEASE_ID_HWADDR,          /* the client's hardware address */
	LEASE_ID_DUID,            /* the DUID (DHCPv6); DHCPv4: the client identifier, which RFC 4361 makes one */
	LEASE_ID_CIRCUIT_ID,      /* the relay's circuit id (option 82.1; DHCPv6: interface-id, option 18) */
	LEASE_ID_REMOTE_ID,       /* the relay's remote id (option 82.2; DHCPv6: remote-id, option 37) */
	LEASE_ID_COUNT,
	LEASE_ID_NONE = LEASE_ID_COUNT,   /* a lease with none of them */
};

enum lease_event {
	LEASE_EVENT_LEASE,        /* given or renewed: held from start until `until` */
	LEASE_EVENT_RELEASE,      /* released (valid_lifetime 0, state released) or declined */
	LEASE_EVENT_EXPIRED,      /* expired: reclaimed by Kea (state 2), or its expiry is past */
	LEASE_EVENT_COUNT,
};

/* Longest subscriber id handed over, NUL included: an option of 255 bytes written as hex. */
#define LEASE_SUBSCRIBER_MAX (255 * 3 + 1)

/*
 * A binding event. The texts are untrusted (a client chooses its client id and hostname,
 * a relay its circuit id): log them through common/subject_text or the logger's escaping
 * only. They live until the callback returns.
 */
struct lease_binding {
	struct cidr net;              /* an IPv4 /32, an IPv6 /128 or a delegated prefix */
	enum lease_event event;
	enum lease_id_kind id_kind;   /* which id is in subscriber; LEASE_ID_NONE: none at all */
	bool fallback;                /* not the configured kind: that one was missing */
	const char *subscriber;       /* NUL-terminated; "" with LEASE_ID_NONE */
	size_t subscriber_len;
	const char *hostname;         /* Kea's escaping undone; may be "" */
	size_t hostname_len;
	int64_t start;                /* seconds since the epoch: expire - valid_lifetime */
	int64_t until;                /* the lease's expiry; a release: when it was read (Kea writes no time) */
	uint32_t subnet_id;
	bool replay;                  /* read at start from what Kea wrote before (see above), not appended now */
	const char *path;             /* the configured lease file */
};

/* Where binding events go: lazaretd hands them to the address history (ident_apply). */
typedef void (*lease_binding_cb)(void *arg, const struct lease_binding *b);

struct lease_follow_stats {
	uint64_t files;                               /* configured */
	uint64_t lines;                               /* lease lines, headers and blanks included */
	uint64_t events[LEASE_EVENT_COUNT];
	uint64_t malformed[KEA_LEASE_ERROR_COUNT];    /* by kea_lease_error */
	uint64_t no_subscriber;                       /* leases without any id */
	uint64_t fallback;                            /* leases named by another id than the configured */
	uint64_t replayed_files;                      /* Kea's earlier files read again at start */
	uint64_t flushed;                             /* reclaimed leases Kea deleted: no event */
};

struct lease_follow;

/* An empty follower: events go to cb(arg, event); ids by `kind` (enum lease_id_kind). */
struct lease_follow *lease_follow_new(enum lease_id_kind kind, lease_binding_cb cb, void *arg);
void lease_follow_free(struct lease_follow *lf);

/* [dhcp] subscriber_id changed (SIGHUP): events from now on name that one. */
void lease_follow_set_id_kind(struct lease_follow *lf, enum lease_id_kind kind);

/*
 * lease_follow_add — follow path, resuming at (inode, offset) when have_position (a saved
 * lease_follow_position). Without one, or when neither PATH nor PATH.1 is that inode any
 * more, Kea's earlier files are read first (see above). 0 or -ENOMEM.
 */
int lease_follow_add(struct lease_follow *lf, const char *path, bool have_position, uint64_t inode,
    uint64_t offset);

/*
 * lease_follow_poll — read what is new in every file, at most max_bytes of each; now
 * (seconds since the epoch) decides which leases are past their expiry. Returns true
 * while some file is behind (call again soon, as lazaretd does for the mail log).
 */
bool lease_follow_poll(struct lease_follow *lf, size_t max_bytes, int64_t now);

size_t lease_follow_count(const struct lease_follow *lf);
const char *lease_follow_path(const struct lease_follow *lf, size_t i);
const struct logfollow *lease_follow_file(const struct lease_follow *lf, size_t i);

/*
 * Where file i is, to be saved: 0, or -EAGAIN while Kea's earlier files are still being
 * read at start (a position saved then would skip them after a crash: keep the old one).
 */
int lease_follow_position(const struct lease_follow *lf, size_t i, uint64_t *inode, uint64_t *offset);

const struct lease_follow_stats *lease_follow_stats(const struct lease_follow *lf);

/* "client-id", "hwaddr", ... "none"; "lease", "release", "expired". */
const char *lease_id_kind_name(enum lease_id_kind k);
const char *lease_event_name(enum lease_event e);

/*
 * lease_relay_id — the circuit id or remote id in a lease's user context as Kea writes it
 * (escaped: "&#x2c" for ','), family AF_INET or AF_INET6, into out (NUL-terminated, printable
 * ASCII as it is, anything else as lowercase colon-separated hex). The length, or 0 when
 * there is none. Kea 2.2: {"ISC":{"relay-agent-info":"0x<sub-options>"}} (DHCPv4),
 * {"ISC":{"relays":[{"options":"0x<options>",...}]}} (DHCPv6); Kea 2.4 and later:
 * "relay-agent-info":{"sub-options":"0x..",...} and "relay-info":[...], read too.
 */
size_t lease_relay_id(const char *user_context, size_t len, int family, enum lease_id_kind which, char *out,
    size_t size);

#endif
