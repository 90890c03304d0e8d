/*
 * flowdetect.h — the flow detectors: decoded flow records in, evidence about subscriber
 * hosts out (issue 9 item 2).
 *
 * A record's direction follows from [network] subscribers: source inside is outbound,
 * destination inside is inbound; a record with both or neither side inside says nothing
 * about one host and is only counted. Every outbound record makes (or finds) its host;
 * an inbound one only when hosting reads it, and otherwise counts in the inbound rates
 * of a host that exists (the internet's scanners, which probe every address, make none). The host is the judge's host subject ([limits]
 * host_prefix_v4/v6 of the subscriber's address).
 *
 * Detectors (each an evidence kind of judge/kinds.c):
 *   direct_mx — outbound TCP/25 to anything but the [network] relays, as distinct
 *               destinations per host in a window; a SYN-only flow counts, so it works
 *               whether or not the gateway blocks port 25.
 *   scanning  — Threshold Random Walk (sense/trw.h) over the outcomes of each outbound
 *               TCP first contact (from its record, or from the reply's when the record
 *               does not say and the reply comes from an address it contacted), and the
 *               fan-out: distinct destinations per TCP port
 *               of attempts that never completed a handshake, per host in a window,
 *               and distinct ports per destination of the same attempts (vertical).
 *   outbound_dos — a host's outbound packets/s, bits/s and flows/s (sense/ewma.h) over
 *               absolute thresholds, or its packets/s over a factor of its own usual
 *               rate; [flows] allow_destination is kept out. The inbound side is
 *               measured too, against the same absolute thresholds: a host flooded
 *               from outside is a victim, logged and counted (inbound_floods), never
 *               evidence, and a flood of its own that is mostly replies (RSTs, SYN-ACKs,
 *               ICMP) while it is flooded does not begin.
 *   hosting   — inbound connections served on TCP 80/443/53 or UDP 53 (TCP: ACK in more
 *               than 2 packets) as distinct outside clients per host in a window;
 *               clients in allow_destination are kept out.
 *   cc_contact — outbound records to an address on a [flows] blocklist (sense/
 *               blocklist.h, looked up with common/lpm), loaded at start and again by
 *               flow_detect_configure: a list whose file fails keeps its table before.
 *
 * Memory follows activity: a quiet host costs its struct (at most 256 bytes, asserted);
 * the windows' counters are a block of their own, allocated at its first record and
 * freed by flow_detect_expire once the host has been quiet for its longest window; the
 * host is forgotten after FLOW_DETECT_FORGET of silence. At most [flows] max_hosts hosts
 * are followed; records of a new host past that are counted (hosts_refused) and skipped.
 *
 * Time is the caller's (now, µs since the epoch), so tests inject it. Not thread-safe:
 * lazaretd calls it from its loop.
 */
#ifndef LAZARET_SENSE_FLOWDETECT_H
#define LAZARET_SENSE_FLOWDETECT_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/timeutil.h"
#include "judge/judge.h"
#include "sense/flow.h"

/* A quiet host is forgotten after this, its walk and its usual rates with it: every
 * window has closed by then, and a baseline an hour old says little of the next hour. */
#define FLOW_DETECT_FORGET (3600 * USEC_PER_SEC)

enum flow_detect_kind {
	FLOW_DETECT_DIRECT_MX, FLOW_DETECT_SCANNING, FLOW_DETECT_OUTBOUND_DOS, FLOW_DETECT_HOSTING,
	FLOW_DETECT_CC_CONTACT, FLOW_DETECT_KINDS
};

struct flow_detect_stats {
	uint64_t records;              /* records given to flow_detect_record */
	uint64_t outside;              /* neither side a subscriber: ignored */
	uint64_t internal;             /* both sides subscribers: ignored by the per-host detectors */
	uint64_t hosts_refused;        /* records of a new host past max_hosts, skipped */
	uint64_t inbound_floods;       /* floods a subscriber host received (episodes; not evidence) */
	uint64_t evidence[FLOW_DETECT_KINDS];   /* evidence updates, by detector */
	size_t hosts;                  /* hosts followed now */
};

struct flow_detect;

/* flow_detect_new — detectors feeding judge j, configured from cfg (kept by reference
 * until the next flow_detect_configure). NULL on ENOMEM or when j refuses the kinds. */
struct flow_detect *flow_detect_new(struct judge *j, const struct config *cfg);

/* flow_detect_configure — cfg's [network] and [flows] (SIGHUP), kept by reference, and
 * every blocklist read again from its file (a list that fails keeps what it had, logged).
 * Hosts keep their state; 0 or -ENOMEM (cfg's windows and caps apply, the previous
 * subscribers, relays and lists stay in force). */
int flow_detect_configure(struct flow_detect *fd, const struct config *cfg);

void flow_detect_free(struct flow_detect *fd);

/* flow_detect_record — one decoded record, seen at now. */
void flow_detect_record(struct flow_detect *fd, const struct flow_record *r, usec_t now);

/* flow_detect_expire — visit up to budget hosts (SIZE_MAX: all, once), going on from
 * where the last call stopped: free the counters of hosts quiet for every window, forget
 * hosts quiet for FLOW_DETECT_FORGET. lazaretd calls it each second with a sixtieth of
 * the hosts, so that a million hosts never stall the loop (and the policy service) at once. */
void flow_detect_expire(struct flow_detect *fd, usec_t now, size_t budget);

void flow_detect_stats_get(const struct flow_detect *fd, struct flow_detect_stats *out);

/* flow_detect_bytes — what the hosts cost now, structs and counters (a walk of them all:
 * tests and benchmarks, not the metrics). */
size_t flow_detect_bytes(const struct flow_detect *fd);

/* The name of a detector, its evidence kind ("direct_mx"). */
const char *flow_detect_kind_name(enum flow_detect_kind k);

#endif
