/*
 * lease_relay.c — the relay agent's circuit id and remote id in a Kea lease's user context
 * (lease_relay_id in lease_follow.h): JSON from a lease file, hex from a relay, both
 * untrusted; apart from the follower so that its fuzz target needs no daemon.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/strview.h"
#include "sense/lease_follow.h"

#define LEASE_OPTIONS_MAX 1024        /* relay options decoded from a user context, bytes */

/* "0x0104..." to bytes; the count, or -1 when it is not hex or longer than size. */
static int
hex_decode(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0, len;

	if (hex == NULL)
		return -1;
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	len = strlen(hex);
	if (len % 2 != 0 || len / 2 > size)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)n;
}

/* An id's bytes as text: printable ASCII as it is, anything else as "0a:1b:..". */
static size_t
id_format(const uint8_t *b, size_t n, char *out, size_t size)
{
	bool printable = n > 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		printable &= b[i] > 0x20 && b[i] < 0x7f;
	for (size_t i = 0; i < n; i++) {
		int w = printable ? snprintf(out + o, size - o, "%c", b[i]) :
		    snprintf(out + o, size - o, i ? ":%02x" : "%02x", b[i]);
		if (w < 0 || (size_t)w >= size - o) {
			out[o] = '\0';
			return o;               /* cut at a whole byte */
		}
		o += (size_t)w;
	}
	if (size > 0)
		out[o] = '\0';
	return o;
}

/*
 * The value of option `code` among the options in b[0..n): DHCPv4 sub-options (code and
 * length one byte each) or DHCPv6 options (two each). NULL when absent or cut short.
 */
static const uint8_t *
option_find(const uint8_t *b, size_t n, bool v6, unsigned code, size_t *len)
{
	size_t hdr = v6 ? 4 : 2;

	for (size_t i = 0; i + hdr <= n;) {
		unsigned c = v6 ? (unsigned)(b[i] << 8 | b[i + 1]) : b[i];
		size_t l = v6 ? (size_t)(b[i + 2] << 8 | b[i + 3]) : b[i + 1];
		if (l > n - i - hdr)
			return NULL;            /* longer than what is left: nothing after it is trusted */
		if (c == code) {
			*len = l;
			return b + i + hdr;
		}
		i += hdr + l;
	}
	return NULL;
}

size_t
lease_relay_id(const char *user_context, size_t len, int family, enum lease_id_kind which, char *out, size_t size)
{
	char text[KEA_LEASE_LINE_MAX + 1];
	uint8_t opts[LEASE_OPTIONS_MAX];
	const uint8_t *v = NULL;
	size_t vlen = 0, n;
	json_t *root, *isc;

	if (size > 0)
		out[0] = '\0';
	if (len == 0 || size == 0 || (which != LEASE_ID_CIRCUIT_ID && which != LEASE_ID_REMOTE_ID))
		return 0;
	n = kea_unescape((struct strview){ user_context, len }, text, sizeof(text));
	if ((root = json_loadb(text, n, 0, NULL)) == NULL)
		return 0;
	isc = json_object_get(root, "ISC");
	if (family == AF_INET) {
		json_t *rai = json_object_get(isc, "relay-agent-info");
		const char *hex = json_is_string(rai) ? json_string_value(rai) :
		    json_string_value(json_object_get(rai, "sub-options"));
		int m = hex_decode(hex, opts, sizeof(opts));
		if (m > 0)
			v = option_find(opts, (size_t)m, false, which == LEASE_ID_CIRCUIT_ID ? 1 : 2, &vlen);
	} else {
		json_t *relays = json_object_get(isc, "relays");
		if (relays == NULL)
			relays = json_object_get(isc, "relay-info");
		/* the last relay is the one nearest the client: the access node that knows the line */
		for (size_t i = json_array_size(relays); i-- > 0 && v == NULL;) {
			int m = hex_decode(json_string_value(json_object_get(json_array_get(relays, i), "options")), opts,
			    sizeof(opts));
			if (m > 0)
				v = option_find(opts, (size_t)m, true, which == LEASE_ID_CIRCUIT_ID ? 18 : 37, &vlen);
		}
	}
	n = v != NULL && vlen > 0 ? id_format(v, vlen, out, size) : 0;
	json_decref(root);
	return n;
}
