/*
 * kea_lease.c — see kea_lease.h.
 */
#include "sense/kea_lease.h"

#include <string.h>
#include <sys/socket.h>

#include "common/csv.h"

#define KEA_MAX_FIELDS 64

static const char *const col_names[KC_COUNT] = {
	[KC_ADDRESS] = "address", [KC_HWADDR] = "hwaddr", [KC_CLIENT_ID] = "client_id", [KC_DUID] = "duid",
	[KC_VALID] = "valid_lifetime", [KC_EXPIRE] = "expire", [KC_SUBNET] = "subnet_id", [KC_TYPE] = "lease_type",
	[KC_PREFIX_LEN] = "prefix_len", [KC_HOSTNAME] = "hostname", [KC_STATE] = "state",
	[KC_USER_CONTEXT] = "user_context",
};

void
kea_lease_reader_init(struct kea_lease_reader *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < KC_COUNT; i++)
		r->col[i] = -1;
}

const char *
kea_lease_error_name(int rc)
{
	static const char *const names[KEA_LEASE_ERROR_COUNT] = {
		[KEA_E_NO_HEADER] = "no_header", [KEA_E_HEADER] = "header", [KEA_E_COLUMNS] = "columns",
		[KEA_E_ADDRESS] = "address", [KEA_E_NUMBER] = "number", [KEA_E_PREFIX] = "prefix",
		[KEA_E_TOO_LONG] = "too_long",
	};
	int e = -rc;
	return e > 0 && e < KEA_LEASE_ERROR_COUNT && names[e] != NULL ? names[e] : "unknown";
}

size_t
kea_unescape(struct strview v, char *out, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return 0;
	for (size_t i = 0; i < v.len && o + 1 < size; i++) {
		if (v.len - i >= 5 && memcmp(v.ptr + i, "&#x2c", 5) == 0) {
			out[o++] = ',';
			i += 4;
		} else
			out[o++] = v.ptr[i];
	}
	out[o] = '\0';
	return o;
}

/* The header: DHCPv4 files name client_id, DHCPv6 files duid and lease_type. */
static int
header(struct kea_lease_reader *r, const struct strview *f, int n)
{
	kea_lease_reader_init(r);
	csv_columns(f, n, col_names, KC_COUNT, r->col);
	if (r->col[KC_ADDRESS] < 0 || r->col[KC_VALID] < 0 || r->col[KC_EXPIRE] < 0 || r->col[KC_SUBNET] < 0)
		return -KEA_E_HEADER;
	if (r->col[KC_DUID] >= 0 && r->col[KC_TYPE] >= 0 && r->col[KC_PREFIX_LEN] >= 0)
		r->family = AF_INET6;
	else if (r->col[KC_CLIENT_ID] >= 0 && r->col[KC_DUID] < 0)
		r->family = AF_INET;
	else
		return -KEA_E_HEADER;
	r->ncols = n;
	return 0;
}

static struct strview
field(const struct kea_lease_reader *r, const struct strview *f, enum kea_col c)
{
	return r->col[c] >= 0 ? f[r->col[c]] : (struct strview){ 0 };
}

int
kea_lease_line(struct kea_lease_reader *r, const char *line, size_t len, struct kea_lease *out)
{
	struct strview f[KEA_MAX_FIELDS];
	uint64_t v;
	int n;

	if (len > KEA_LEASE_LINE_MAX)
		return -KEA_E_TOO_LONG;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	n = csv_split(line, len, f, KEA_MAX_FIELDS);
	if (len >= 8 && memcmp(line, "address,", 8) == 0)
		return header(r, f, n);
	if (r->family == 0)
		return -KEA_E_NO_HEADER;
	if (n < r->ncols)
		return -KEA_E_COLUMNS;

	memset(out, 0, sizeof(*out));
	struct strview a = f[r->col[KC_ADDRESS]];
	if (addr_parse(a.ptr, a.len, &out->net.addr) != 0 || out->net.addr.family != r->family)
		return -KEA_E_ADDRESS;
	out->net.prefix = r->family == AF_INET ? 32 : 128;
	if (!csv_number(f[r->col[KC_VALID]], UINT32_MAX, &v))
		return -KEA_E_NUMBER;
	out->valid_lifetime = (uint32_t)v;
	if (!csv_number(f[r->col[KC_EXPIRE]], INT64_MAX, &v))
		return -KEA_E_NUMBER;
	out->expire = (int64_t)v;
	if (!csv_number(f[r->col[KC_SUBNET]], UINT32_MAX, &v))
		return -KEA_E_NUMBER;
	out->subnet_id = (uint32_t)v;
	if (r->col[KC_STATE] >= 0 && f[r->col[KC_STATE]].len > 0) {
		if (!csv_number(f[r->col[KC_STATE]], UINT32_MAX, &v))
			return -KEA_E_NUMBER;
		out->state = (uint32_t)v;
	}
	if (r->family == AF_INET6) {
		if (!csv_number(f[r->col[KC_TYPE]], KEA_LEASE_PD, &v))
			return -KEA_E_NUMBER;
		out->type = (enum kea_lease_type)v;
		if (out->type == KEA_LEASE_PD) {
			struct addr masked;
			if (!csv_number(f[r->col[KC_PREFIX_LEN]], 128, &v) || v == 0)
				return -KEA_E_PREFIX;
			masked = out->net.addr;
			addr_mask(&masked, (unsigned)v);
			if (memcmp(masked.bytes, out->net.addr.bytes, 16) != 0)
				return -KEA_E_PREFIX;        /* not the prefix it says it is */
			out->net.prefix = (unsigned)v;
		}
		out->client_id = field(r, f, KC_DUID);
	} else
		out->client_id = field(r, f, KC_CLIENT_ID);
	out->hwaddr = field(r, f, KC_HWADDR);
	out->hostname = field(r, f, KC_HOSTNAME);
	out->user_context = field(r, f, KC_USER_CONTEXT);
	return 1;
}
