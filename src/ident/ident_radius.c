/*
 * ident_radius.c — RADIUS accounting into the address history (ident.h, ident_radius).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ident/ident.h"
#include "sense/radius.h"

#define EVENT_AHEAD_MAX (300 * USEC_PER_SEC)

/* "client" or "client/NAS": printable ASCII only (a NAS-Identifier is the NAS's text). */
static void
nas_origin(const char *client, const struct radius_packet *p, char *out, size_t size)
{
	char nas[STORE_ORIGIN_MAX] = "";
	size_t n = 0;

	if (p->nas_identifier.len > 0) {
		for (size_t i = 0; i < p->nas_identifier.len && n + 1 < sizeof(nas); i++) {
			unsigned char c = (unsigned char)p->nas_identifier.ptr[i];
			nas[n++] = c > 0x20 && c < 0x7f && c != '/' ? (char)c : '_';
		}
		nas[n] = '\0';
	} else if (p->nas_ip.family != 0)
		addr_format(&p->nas_ip, nas, sizeof(nas));
	if (nas[0] != '\0')
		snprintf(out, size, "%.31s/%s", client, nas);
	else
		snprintf(out, size, "%s", client);
}

/* The networks a request names: Framed-IP-Address (unless "the NAS or the user chooses"),
 * Framed-IPv6-Prefix, Delegated-IPv6-Prefix. */
static size_t
request_nets(const struct radius_packet *p, struct cidr nets[3])
{
	size_t n = 0;

	if (p->framed_ip.family == AF_INET) {
		/* 255.255.255.254 and .255 mean "the NAS or the user chooses" (RFC 2865 §5.8): no address */
		static const uint8_t choose[3] = { 255, 255, 255 };
		if (memcmp(p->framed_ip.bytes, choose, 3) != 0 || p->framed_ip.bytes[3] < 254)
			nets[n++] = (struct cidr){ .addr = p->framed_ip, .prefix = 32 };
	}
	if (p->framed_ipv6_prefix.set)
		nets[n++] = p->framed_ipv6_prefix.net;
	if (p->delegated_ipv6_prefix.set)
		nets[n++] = p->delegated_ipv6_prefix.net;
	return n;
}

void
ident_radius_prefetch(const struct ident *id, const uint8_t *const *bufs, const size_t *lens, unsigned n)
{
	struct cidr nets[64 * 3];
	struct radius_packet p;
	size_t k = 0;

	for (unsigned i = 0; i < n && k + 3 <= sizeof(nets) / sizeof(nets[0]); i++)
		if (radius_parse(bufs[i], lens[i], &p) == 0 && p.code == RADIUS_ACCOUNTING_REQUEST)
			k += request_nets(&p, nets + k);
	ident_prefetch(id, nets, k);
}

int
ident_radius(struct ident *id, enum radius_subscriber_id which, const char *client, const struct radius_packet *p,
    usec_t now)
{
	char origin[STORE_ORIGIN_MAX];
	const struct strview *sid = which == RADIUS_ID_CALLING_STATION_ID ? &p->calling_station_id :
	    which == RADIUS_ID_NAS_PORT_ID ? &p->nas_port_id : &p->user_name;
	usec_t at = now;

	nas_origin(client, p, origin, sizeof(origin));
	if (p->has_event_timestamp) {
		usec_t t = (usec_t)p->event_timestamp * USEC_PER_SEC;
		if (t <= now + EVENT_AHEAD_MAX)
			at = t;
	}
	if (p->acct_status_type == RADIUS_STATUS_ON || p->acct_status_type == RADIUS_STATUS_OFF)
		return (int)ident_end_origin(id, origin, at);
	if (p->acct_status_type != RADIUS_STATUS_START && p->acct_status_type != RADIUS_STATUS_INTERIM &&
	    p->acct_status_type != RADIUS_STATUS_STOP)
		return 0;
	if (sid->len == 0 || sid->len > IDENT_ID_MAX)
		return -EINVAL;

	struct ident_event e = { .start = p->acct_status_type != RADIUS_STATUS_STOP, .subscriber = sid->ptr,
		.subscriber_len = sid->len, .session = p->acct_session_id.ptr, .session_len = p->acct_session_id.len,
		.origin = origin, .source = IDENT_RADIUS, .at = at, .nas = p->nas_ip };
	struct cidr nets[3];
	size_t n = request_nets(p, nets);
	int changed = 0;
	for (size_t i = 0; i < n; i++) {
		e.net = nets[i];
		int rc = ident_apply(id, &e);
		if (rc == -EINVAL)
			return rc;
		changed++;
	}
	return changed;
}
