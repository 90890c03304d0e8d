/*
 * flowdetect_int.h — what the flow detectors' files share: the host, its active part,
 * the detector state, and each detector's entry (flowdetect_rules.c). flowdetect.c holds
 * the hosts, the configuration and the dispatch of a record; see flowdetect.h.
 */
#ifndef LAZARET_SENSE_FLOWDETECT_INT_H
#define LAZARET_SENSE_FLOWDETECT_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/hll.h"
#include "common/htable.h"
#include "common/log.h"
#include "common/lpm.h"
#include "sense/blocklist.h"
#include "sense/ewma.h"
#include "sense/flowdetect.h"
#include "sense/trw.h"

/* Distinct addresses are held exactly up to this many (the array grows with them, 2 KiB
 * at most), then in a 1 KiB sketch (3 % error): every threshold up to 255 is met exactly,
 * the same in every run, and only counts far past one are estimates. */
#define FD_EXACT_MAX HLL_EXACT_MAX
#define FD_HLL_P 10

/* scanning's fan-out follows this many TCP ports per host and window. A further port
 * takes the slot with the fewest destinations when that one has fewer than
 * FD_PORT_KEEP; otherwise it is not counted in this window: a scanner of many ports at
 * once is caught on the ones it began with, and a host's few stray failures never keep
 * a slot from a scan. */
#define FD_PORT_SLOTS 4
#define FD_PORT_KEEP 8

/* scanning's vertical fan-out follows this many destinations per host and window, with
 * the same rule: a further destination takes the slot with the fewest ports when that one
 * has fewer than FD_PORT_KEEP. A vertical scan puts every probe on its target, so the
 * target holds its slot from its 8th port on, whatever else fails beside it; the slots
 * leave room for a scanner that works through a few targets at once (nmap's host
 * groups). Exact per destination, unlike one sketch over (destination, port) pairs
 * beside one over destinations, which says how many ports on average but not whose,
 * and the summary must name the target. */
#define FD_TARGET_SLOTS 4

/* The walk remembers this many of a host's last first contacts whose records did not
 * say how they went (a sampled SYN, a SYN+RST probe, a short exchange), by the low 32 bits
 * of the destination's hash, to read the outcome from the reply when its record comes:
 * only a reply from an address the host did contact counts (a SYN flood's backscatter,
 * resets from hosts someone spoofed the subscriber's address to, must not). */
#define FD_WALK_PENDING 8

/* hosting's services (flowdetect_rules.c's fd_services): what a fast-flux node or a proxy
 * bot answers on. */
#define FD_SERVICES 4

struct fd_port {
	struct hll dst;                /* distinct destinations of attempts on this port */
	uint32_t reported;             /* the count last reported in the window; 0: none */
	uint16_t port;
	bool used;
};

/* A destination of the vertical fan-out. Its first port is lo (= hi) alone: the counter
 * is filled from the second distinct port on, so that the slots a horizontal scanner
 * churns through (one port each) never allocate. */
struct fd_target {
	struct addr dst;               /* family 0: free */
	uint16_t lo, hi;               /* the lowest and highest port of its attempts */
	uint32_t n;                    /* distinct ports: 1 (lo), then ports' estimate */
	uint32_t reported;             /* the count last reported in the window; 0: none */
	struct hll ports;              /* distinct ports, once there are two */
};

/* What a host keeps only while it sends: the windows' counters. Allocated at its first
 * record after a quiet spell, freed by flow_detect_expire once every window has closed. */
struct fd_active {
	/* outbound_dos, read by every outbound record: first, in the block's first cache
	 * lines. The top target (Misra-Gries with one counter, by packets: a target that gets
	 * most of the packets holds it), and flows, SYN-only flows, packets and the packets
	 * of replies (is_reply) in this minute and the last */
	struct addr top;
	uint16_t top_port;
	uint8_t top_proto;
	uint64_t top_weight;
	int64_t minute;
	uint32_t flows[2], syn_only[2];  /* [0] this minute, [1] the last */
	uint64_t packets[2], replies[2];
	/* inbound floods, read by every inbound record: what the host receives (a victim's
	 * rates: never evidence), the top source as the top target above, since when it is
	 * flooded (0: not now) */
	struct ewma_host in;
	struct addr in_top;
	uint64_t in_top_weight;
	usec_t in_since;
	usec_t in_checked;             /* the fold of in last compared with the thresholds */
	/* scanning, the walk: first contacts waiting for their reply (FD_WALK_PENDING) */
	uint32_t walk_pending[FD_WALK_PENDING];
	uint8_t walk_pending_count, walk_pending_next;
	/* direct_mx */
	int64_t mx_window;             /* the window mx counts in (now / window) */
	struct hll mx;                 /* distinct TCP/25 destinations in it */
	uint32_t mx_reported;          /* the count last reported in it; 0: none yet */
	/* scanning: the targets last, only failed attempts read them */
	int64_t scan_window;           /* the window the port and target slots count in */
	struct fd_port ports[FD_PORT_SLOTS];
	bool vertical_unit;            /* a target gave this window's unit */
	struct fd_target targets[FD_TARGET_SLOTS];
	/* hosting */
	int64_t host_window;           /* the window clients count in */
	struct hll clients;            /* distinct outside addresses served in it */
	uint32_t host_reported;        /* the count last reported in it; 0: none */
	uint32_t served[FD_SERVICES];  /* their records by service (fd_services), for the summary */
};

/* One subscriber host: what stays while it is quiet (the walk's decision, the rates and
 * their baselines, when it last flooded or called a C&C), and its active part while it
 * sends. */
struct fd_host {
	struct htable_node node;
	struct addr key;               /* the judge's host subject: the address under host_prefix */
	uint32_t cc_contacts;          /* cc_contact: records to listed addresses since cc_told (in
	                                * the padding before last: a quiet host costs no more) */
	usec_t last;                   /* last record */
	struct fd_active *act;         /* NULL while quiet */
	struct trw_host trw;           /* scanning: the walk over first contacts (its memory freed when quiet) */
	struct ewma_host out;          /* outbound_dos: the rates and their baselines */
	usec_t dos_since;              /* outbound_dos: the flood began (0: none now) */
	usec_t dos_told;               /* ... its summary was last brought up to date */
	usec_t dos_unit;               /* ... its last unit of evidence */
	usec_t cc_told;                /* cc_contact: the last unit */
};

static_assert(sizeof(struct fd_host) <= 256, "an idle flow host must cost at most 256 bytes (issue 9)");

/* A cc_contact list as loaded: the table stays when a reload of its file fails. */
struct fd_list {
	char name[32];
	struct lpm table;              /* values: port and family (sense/blocklist.h) */
	struct blocklist_families families;
};

#define FD_LISTS 16                /* [flows] blocklist's max_count */
#define FD_CC_EVERY (600 * USEC_PER_SEC)   /* a host's contacts give a unit at most this often */

struct flow_detect {
	struct judge *judge;
	struct fd_list lists[FD_LISTS];
	size_t list_count;
	const struct config *cfg;
	struct lpm subscribers;        /* [network] subscribers */
	struct lpm relays;             /* [network] relay, as /32 and /128 */
	struct lpm allowed;            /* [flows] allow_destination */
	struct ewma_params ewma;
	struct htable hosts;
	struct flow_detect_stats stats;
	struct log_limit log;          /* any subscriber can make lines: bounded */
	size_t expire_at;              /* the bucket flow_detect_expire goes on from */
	struct trw_model trw;          /* [flows] scan_theta0 ... scan_beta */
	int kind[FLOW_DETECT_KINDS];   /* judge kind ids */
};

/*
 * The detectors, each on one record of host x (flowdetect.c picks who reads what): their
 * windows in x->act, evidence to fd->judge, a log line through fd->log when they flag.
 */
void flow_detect_direct_mx(struct flow_detect *fd, struct fd_host *x, uint64_t dst_hash, usec_t now);
void flow_detect_scan_walk(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, uint64_t dst_hash,
                           usec_t now);
/* scanning, the walk's replies: r is an inbound TCP record to active host x. */
void flow_detect_scan_reply(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now);
void flow_detect_scan_fanout(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, uint64_t dst_hash,
                             usec_t now);
void flow_detect_outbound_dos(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now);
void flow_detect_inbound(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now);
/* The index in fd_services of the service an inbound record is a served connection to, or -1. */
int flow_detect_hosting_service(const struct flow_record *r);
void flow_detect_hosting(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, int svc, usec_t now);
void flow_detect_cc_contact(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r,
                            const struct fd_list *l, uint32_t value, usec_t now);

#endif
