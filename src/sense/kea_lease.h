/*
 * kea_lease.h — ISC Kea's memfile lease files (kea-leases4.csv, kea-leases6.csv), line by
 * line, for issue 10's DHCP identity source: which client held which address or
 * delegated prefix, from when to when.
 *
 * The header line names the columns and tells DHCPv4 from DHCPv6; the reader finds what
 * it needs by name, so Kea versions that add columns (pool_id in 2.4) still read. Kea
 * appends a line for every change of a lease — a later line about the same address
 * replaces the earlier one; valid_lifetime 0 is a release — and rewrites the whole file
 * when its lease-file cleanup runs. Kea writes a comma inside a value as "&#x2c"
 * (kea_unescape). Every text field is untrusted: a client chooses its hostname, its
 * client id and much of what a relay records.
 */
#ifndef LAZARET_SENSE_KEA_LEASE_H
#define LAZARET_SENSE_KEA_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/strview.h"

enum kea_lease_error {
	KEA_E_NO_HEADER = 1,          /* a lease before the column names */
	KEA_E_HEADER,                 /* a header without the columns we need */
	KEA_E_COLUMNS,                /* fewer fields than the header named */
	KEA_E_ADDRESS,                /* not an address of the file's family */
	KEA_E_NUMBER,                 /* a lifetime, expiry, subnet, type, length or state out of range */
	KEA_E_PREFIX,                 /* a DHCPv6 prefix length outside 1-128, or bits past it set */
	KEA_E_TOO_LONG,               /* longer than KEA_LEASE_LINE_MAX */
};
#define KEA_LEASE_ERROR_COUNT 8       /* one more than the last */
#define KEA_LEASE_LINE_MAX 8192

enum kea_col { KC_ADDRESS, KC_HWADDR, KC_CLIENT_ID, KC_DUID, KC_VALID, KC_EXPIRE, KC_SUBNET, KC_TYPE,
	KC_PREFIX_LEN, KC_HOSTNAME, KC_STATE, KC_USER_CONTEXT, KC_COUNT };

struct kea_lease_reader {
	int col[KC_COUNT];            /* each column's position; -1: absent */
	int ncols;
	int family;                   /* AF_INET or AF_INET6 from the header; 0 before it */
};

/* Kea's lease_type: 0 an address (IA_NA), 1 a temporary one (IA_TA), 2 a prefix (IA_PD). */
enum kea_lease_type { KEA_LEASE_NA = 0, KEA_LEASE_TA = 1, KEA_LEASE_PD = 2 };

struct kea_lease {
	struct cidr net;              /* an IPv4 address /32, an IPv6 address /128 or a delegated prefix */
	enum kea_lease_type type;     /* DHCPv4: KEA_LEASE_NA */
	struct strview hwaddr;        /* "02:00:00:00:00:01", or empty */
	struct strview client_id;     /* DHCPv4 client id, DHCPv6 DUID; may be empty */
	struct strview hostname;      /* escaped as Kea wrote it */
	struct strview user_context;  /* JSON, escaped as Kea wrote it; relay information lives here */
	uint32_t valid_lifetime;      /* seconds; 0: released */
	int64_t expire;               /* seconds since the epoch */
	uint32_t subnet_id;
	uint32_t state;               /* 0 default, 1 declined, 2 expired-reclaimed, 3 released */
};

void kea_lease_reader_init(struct kea_lease_reader *r);

/*
 * kea_lease_line — one line (no newline). 1: a lease in *out (views into line); 0: no
 * lease (the header, a blank line); -KEA_E_x: skipped for that reason.
 */
int kea_lease_line(struct kea_lease_reader *r, const char *line, size_t len, struct kea_lease *out);

/* A value with Kea's "&#x2c" back to ','; the length written (out NUL-terminated, cut
 * to size - 1). */
size_t kea_unescape(struct strview v, char *out, size_t size);

/* "no_header", "address", ...; "unknown" otherwise. */
const char *kea_lease_error_name(int rc);

#endif
