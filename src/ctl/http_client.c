/*
 * http_client.c — lazaretctl's HTTP/1.1 client: API URL parsing, one request
 * per TCP connection, and a pure, bounded response parser (RFC 9112 framing).
 */
#include "ctl/http_client.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HTTP_CHUNK_LINE_MAX	4096

static const uint8_t http_empty[1];

/* RFC 9110 tchar. */
static int
http_is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field-value octets: VCHAR, SP, HTAB and obs-text; no other controls. */
static int
http_is_vchar(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
http_is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/*
 * Finds the line starting at pos: on 0, [pos, *eol) is its content without the
 * CRLF or bare LF, and *next is where the following line starts. Returns
 * HTTP_E_INCOMPLETE when no LF follows within len.
 */
static int
http_line(const uint8_t *buf, size_t len, size_t pos, size_t *eol, size_t *next)
{
	const uint8_t *lf;

	lf = memchr(buf + pos, '\n', len - pos);
	if (lf == NULL)
		return HTTP_E_INCOMPLETE;
	*next = (size_t)(lf - buf) + 1;
	*eol = (size_t)(lf - buf);
	if (*eol > pos && buf[*eol - 1] == '\r')
		(*eol)--;
	return 0;
}

/* True when the case-insensitive name matches [p, p+n). */
static int
http_name_is(const uint8_t *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp((const char *)p, name, n) == 0;
}

/* Status line: "HTTP/1.D SSS[ reason]". */
static int
http_status_line(const uint8_t *p, size_t n, struct http_response *out)
{
	size_t i;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
	    p[8] != ' ')
		return HTTP_E_STATUS;
	for (i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return HTTP_E_STATUS;
	out->minor = p[7] - '0';
	out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (out->status < 100 || out->status > 599)
		return HTTP_E_STATUS;
	if (n == 12) {
		out->reason = (struct strview){ (const char *)p + n, 0 };
		return 0;
	}
	if (p[12] != ' ')
		return HTTP_E_STATUS;
	for (i = 13; i < n; i++)
		if (!http_is_vchar(p[i]))
			return HTTP_E_STATUS;
	out->reason = (struct strview){ (const char *)p + 13, n - 13 };
	return 0;
}

/*
 * Splits a field line into name and trimmed value. Returns 0, or
 * HTTP_E_HEADER for an empty or non-token name, whitespace before the colon,
 * or control bytes in the value.
 */
static int
http_field_line(const uint8_t *p, size_t n, struct strview *name, struct strview *value)
{
	size_t i, vs, ve;

	for (i = 0; i < n && p[i] != ':'; i++)
		if (!http_is_tchar(p[i]))
			return HTTP_E_HEADER;
	if (i == 0 || i == n)
		return HTTP_E_HEADER;
	*name = (struct strview){ (const char *)p, i };
	for (vs = i + 1; vs < n && http_is_ows(p[vs]); vs++)
		;
	for (ve = n; ve > vs && http_is_ows(p[ve - 1]); ve--)
		;
	for (i = vs; i < ve; i++)
		if (!http_is_vchar(p[i]))
			return HTTP_E_HEADER;
	*value = (struct strview){ (const char *)p + vs, ve - vs };
	return 0;
}

/*
 * Content-Length: 1*DIGIT, or a list of identical values ("42, 42") as some
 * intermediaries produce. Merges with a value already seen in *cl (-1 for
 * none); a different value is an error.
 */
static int
http_content_length(struct strview v, int64_t *cl)
{
	size_t i = 0;

	if (v.len == 0)
		return HTTP_E_LENGTH;
	while (i < v.len) {
		int64_t n = 0;
		size_t start = i;

		while (i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9') {
			if (n > HTTP_BODY_MAX)
				return HTTP_E_TOOBIG;
			n = n * 10 + (v.ptr[i++] - '0');
		}
		if (i == start)
			return HTTP_E_LENGTH;
		if (n > HTTP_BODY_MAX)
			return HTTP_E_TOOBIG;
		if (*cl >= 0 && *cl != n)
			return HTTP_E_LENGTH;
		*cl = n;
		while (i < v.len && http_is_ows((uint8_t)v.ptr[i]))
			i++;
		if (i == v.len)
			break;
		if (v.ptr[i++] != ',')
			return HTTP_E_LENGTH;
		while (i < v.len && http_is_ows((uint8_t)v.ptr[i]))
			i++;
	}
	return 0;
}

/*
 * Transfer-Encoding: we only undo "chunked", and it must be the sole coding
 * across all the message's Transfer-Encoding fields. *seen counts chunked
 * codings so far.
 */
static int
http_transfer_encoding(struct strview v, int *seen)
{
	size_t i = 0;

	while (i <= v.len) {
		size_t s, e;

		for (s = i; s < v.len && v.ptr[s] != ','; s++)
			;
		e = s;
		while (i < e && http_is_ows((uint8_t)v.ptr[i]))
			i++;
		while (e > i && http_is_ows((uint8_t)v.ptr[e - 1]))
			e--;
		if (e > i) {
			if (!http_name_is((const uint8_t *)v.ptr + i, e - i, "chunked"))
				return HTTP_E_ENCODING;
			(*seen)++;
		}
		i = s + 1;
	}
	if (*seen > 1)
		return HTTP_E_ENCODING;
	return 0;
}

/*
 * Parses one response head starting at pos: status line and fields up to the
 * blank line. Sets status, reason, content_type, content_length, framing and
 * header_len (the offset just past the blank line).
 */
static int
http_parse_head(const uint8_t *buf, size_t len, size_t pos, struct http_response *out)
{
	size_t start = pos, eol, next, limit;
	int rc, chunked = 0, te = 0;
	enum { FIELD_NONE, FIELD_OTHER, FIELD_READ } prev = FIELD_NONE;	/* the last field */

	limit = len - pos > HTTP_HEADER_MAX ? pos + HTTP_HEADER_MAX : len;
	out->content_length = -1;
	out->content_type = (struct strview){ "", 0 };

	if ((rc = http_line(buf, limit, pos, &eol, &next)) != 0)
		goto incomplete;
	if (memchr(buf + pos, '\r', eol - pos) != NULL ||
	    memchr(buf + pos, '\0', eol - pos) != NULL)
		return HTTP_E_STATUS;
	if ((rc = http_status_line(buf + pos, eol - pos, out)) != 0)
		return rc;
	pos = next;

	for (;;) {
		struct strview name, value;

		if ((rc = http_line(buf, limit, pos, &eol, &next)) != 0)
			goto incomplete;
		if (eol == pos)
			break;
		if (memchr(buf + pos, '\r', eol - pos) != NULL)
			return HTTP_E_HEADER;	/* a bare CR */
		if (http_is_ows(buf[pos])) {
			/*
			 * obs-fold: tolerated on fields we ignore, refused on
			 * those we read (framing, type) and with nothing to fold.
			 */
			if (prev != FIELD_OTHER)
				return HTTP_E_HEADER;
			for (size_t i = pos; i < eol; i++)
				if (!http_is_vchar(buf[i]))
					return HTTP_E_HEADER;
			pos = next;
			continue;
		}
		if ((rc = http_field_line(buf + pos, eol - pos, &name, &value)) != 0)
			return rc;
		prev = FIELD_OTHER;
		if (http_name_is((const uint8_t *)name.ptr, name.len, "content-length")) {
			if ((rc = http_content_length(value, &out->content_length)) != 0)
				return rc;
			prev = FIELD_READ;
		} else if (http_name_is((const uint8_t *)name.ptr, name.len,
		    "transfer-encoding")) {
			te = 1;
			if ((rc = http_transfer_encoding(value, &chunked)) != 0)
				return rc;
			prev = FIELD_READ;
		} else if (http_name_is((const uint8_t *)name.ptr, name.len,
		    "content-type")) {
			out->content_type = value;
			prev = FIELD_READ;
		}
		pos = next;
	}
	out->header_len = next;

	if (te && (!chunked || out->minor == 0))
		return HTTP_E_ENCODING;
	if (out->status < 200 || out->status == 204 || out->status == 304)
		out->framing = HTTP_FRAMING_NONE;
	else if (chunked)
		out->framing = HTTP_FRAMING_CHUNKED;	/* overrides Content-Length */
	else if (out->content_length >= 0)
		out->framing = HTTP_FRAMING_LENGTH;
	else
		out->framing = HTTP_FRAMING_CLOSE;
	return 0;

incomplete:
	return limit - start == HTTP_HEADER_MAX ? HTTP_E_TOOBIG : HTTP_E_INCOMPLETE;
}

/*
 * Checks a chunk line's extensions: *( BWS ";" BWS name [ BWS "=" BWS
 * ( token / quoted-string ) ] ) BWS.
 */
static int
http_chunk_ext(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		while (i < n && http_is_ows(p[i]))
			i++;
		if (i == n)
			return 0;
		if (p[i++] != ';')
			return HTTP_E_CHUNK;
		while (i < n && http_is_ows(p[i]))
			i++;
		if (i == n || !http_is_tchar(p[i]))
			return HTTP_E_CHUNK;
		while (i < n && http_is_tchar(p[i]))
			i++;
		while (i < n && http_is_ows(p[i]))
			i++;
		if (i == n || p[i] != '=')
			continue;
		i++;
		while (i < n && http_is_ows(p[i]))
			i++;
		if (i == n)
			return HTTP_E_CHUNK;
		if (p[i] == '"') {
			for (i++; i < n && p[i] != '"'; i++) {
				if (p[i] == '\\' && ++i == n)
					return HTTP_E_CHUNK;
				if (!http_is_vchar(p[i]))
					return HTTP_E_CHUNK;
			}
			if (i == n)
				return HTTP_E_CHUNK;
			i++;
		} else {
			if (!http_is_tchar(p[i]))
				return HTTP_E_CHUNK;
			while (i < n && http_is_tchar(p[i]))
				i++;
		}
	}
}

/*
 * Walks a chunked body starting at pos. With dst NULL it only validates;
 * otherwise it copies the data (at most *decoded bytes as counted by a
 * previous validating walk). On 0, *decoded is the body size and *end the
 * offset just past the trailer section. HTTP_E_TRUNCATED means the bytes ran
 * out before the last chunk and its trailers.
 */
static int
http_chunked(const uint8_t *buf, size_t len, size_t pos, uint8_t *dst,
    size_t *decoded, size_t *end)
{
	size_t total = 0, eol, next, i;
	int rc;

	for (;;) {
		size_t size = 0;

		if (http_line(buf, len, pos, &eol, &next) != 0)
			return len - pos > HTTP_CHUNK_LINE_MAX ? HTTP_E_CHUNK : HTTP_E_TRUNCATED;
		if (eol - pos > HTTP_CHUNK_LINE_MAX)
			return HTTP_E_CHUNK;
		for (i = pos; i < eol && hex_digit(buf[i]) >= 0; i++) {
			size = size * 16 + (size_t)hex_digit(buf[i]);
			if (size > HTTP_BODY_MAX)
				return HTTP_E_TOOBIG;
		}
		if (i == pos)
			return HTTP_E_CHUNK;
		if ((rc = http_chunk_ext(buf + i, eol - i)) != 0)
			return rc;
		pos = next;
		if (size == 0)
			break;
		if (total + size > HTTP_BODY_MAX)
			return HTTP_E_TOOBIG;
		if (len - pos < size)
			return HTTP_E_TRUNCATED;
		if (dst != NULL)
			memcpy(dst + total, buf + pos, size);
		total += size;
		pos += size;
		if (pos < len && buf[pos] == '\r')
			pos++;
		if (pos == len)
			return HTTP_E_TRUNCATED;
		if (buf[pos++] != '\n')
			return HTTP_E_CHUNK;
	}

	/* Trailer section: field lines up to a blank one, checked, then ignored. */
	for (size_t tstart = pos;;) {
		struct strview name, value;

		if (http_line(buf, len, pos, &eol, &next) != 0)
			return len - tstart > HTTP_HEADER_MAX ? HTTP_E_TOOBIG : HTTP_E_TRUNCATED;
		if (next - tstart > HTTP_HEADER_MAX)
			return HTTP_E_TOOBIG;
		if (eol == pos)
			break;
		if (memchr(buf + pos, '\r', eol - pos) != NULL ||
		    http_field_line(buf + pos, eol - pos, &name, &value) != 0)
			return HTTP_E_CHUNK;
		pos = next;
	}
	*decoded = total;
	*end = next;
	return 0;
}

/*
 * Parses heads until a final (non-1xx) one; leaves its body unexamined.
 * Returns 0 with out's head fields set, or a negative error.
 */
static int
http_parse_final_head(const uint8_t *buf, size_t len, struct http_response *out)
{
	size_t pos = 0;
	int rc;

	for (;;) {
		memset(out, 0, sizeof(*out));
		if ((rc = http_parse_head(buf, len, pos, out)) != 0)
			return rc;
		if (out->status >= 200)
			return 0;
		if (out->status == 101)
			return HTTP_E_STATUS;	/* we never ask to switch protocols */
		pos = out->header_len;
	}
}

int
http_response_parse(const uint8_t *buf, size_t len, struct http_response *out)
{
	size_t decoded, end;
	int rc;

	if ((rc = http_parse_final_head(buf, len, out)) != 0)
		goto fail;

	switch (out->framing) {
	case HTTP_FRAMING_NONE:
		out->body = http_empty;
		out->message_len = out->header_len;
		break;
	case HTTP_FRAMING_LENGTH:
		if ((uint64_t)(len - out->header_len) < (uint64_t)out->content_length) {
			rc = HTTP_E_TRUNCATED;
			goto fail;
		}
		out->body = buf + out->header_len;
		out->body_len = (size_t)out->content_length;
		out->message_len = out->header_len + out->body_len;
		break;
	case HTTP_FRAMING_CHUNKED:
		if ((rc = http_chunked(buf, len, out->header_len, NULL, &decoded, &end)) != 0)
			goto fail;
		if (decoded == 0) {
			out->body = http_empty;
		} else {
			if ((out->owned = malloc(decoded)) == NULL) {
				rc = HTTP_E_NOMEM;
				goto fail;
			}
			rc = http_chunked(buf, len, out->header_len, out->owned, &decoded, &end);
			if (rc != 0)
				goto fail;	/* cannot happen: same walk as above */
			out->body = out->owned;
		}
		out->body_len = decoded;
		out->message_len = end;
		break;
	case HTTP_FRAMING_CLOSE:
		if (len - out->header_len > HTTP_BODY_MAX) {
			rc = HTTP_E_TOOBIG;
			goto fail;
		}
		out->body = buf + out->header_len;
		out->body_len = len - out->header_len;
		out->message_len = len;
		break;
	}
	return 0;

fail:
	free(out->owned);
	memset(out, 0, sizeof(*out));
	return rc;
}

int
http_response_complete(const uint8_t *buf, size_t len)
{
	struct http_response r;
	size_t decoded, end;
	int rc;

	rc = http_parse_final_head(buf, len, &r);
	if (rc == HTTP_E_INCOMPLETE)
		return 0;
	if (rc != 0)
		return rc;
	switch (r.framing) {
	case HTTP_FRAMING_NONE:
		return 1;
	case HTTP_FRAMING_LENGTH:
		return (uint64_t)(len - r.header_len) >= (uint64_t)r.content_length;
	case HTTP_FRAMING_CHUNKED:
		rc = http_chunked(buf, len, r.header_len, NULL, &decoded, &end);
		if (rc == HTTP_E_TRUNCATED)
			return 0;
		return rc == 0 ? 1 : rc;
	case HTTP_FRAMING_CLOSE:
		break;
	}
	return 0;
}

void
http_response_free(struct http_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->owned);
	memset(resp, 0, sizeof(*resp));
}

const char *
http_strerror(int error)
{
	switch (error) {
	case 0:
		return "success";
	case HTTP_E_INCOMPLETE:
		return "response header incomplete";
	case HTTP_E_STATUS:
		return "malformed status line";
	case HTTP_E_HEADER:
		return "malformed header field";
	case HTTP_E_TOOBIG:
		return "response too large";
	case HTTP_E_LENGTH:
		return "invalid Content-Length";
	case HTTP_E_ENCODING:
		return "unsupported Transfer-Encoding";
	case HTTP_E_CHUNK:
		return "malformed chunked body";
	case HTTP_E_TRUNCATED:
		return "response body truncated";
	case HTTP_E_NOMEM:
		return "out of memory";
	case HTTP_E_URL:
		return "invalid URL";
	case HTTP_E_RESOLVE:
		return "cannot resolve host";
	case HTTP_E_CONNECT:
		return "cannot connect";
	case HTTP_E_TIMEOUT:
		return "timed out";
	case HTTP_E_IO:
		return "I/O error";
	}
	return "unknown error";
}

/* URLs ---------------------------------------------------------------- */

static int
http_is_unreserved(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_' || c == '~';
}

static int
http_url_fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return HTTP_E_URL;
}

int
http_url_parse(const char *text, struct http_url *out, const char **why)
{
	const char *p, *auth, *auth_end, *host, *host_end, *port = NULL;
	size_t n;
	int v6 = 0;

	memset(out, 0, sizeof(*out));
	if (text == NULL || *text == '\0')
		return http_url_fail(why, "empty URL");
	if (strncasecmp(text, "https://", 8) == 0)
		return http_url_fail(why, "https is not supported; use http:// on a trusted path");
	if (strncasecmp(text, "http://", 7) != 0)
		return http_url_fail(why, "URL must start with http://");
	auth = text + 7;
	for (p = auth; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return http_url_fail(why, "URL contains spaces or control characters");
	if (strpbrk(auth, "?#") != NULL)
		return http_url_fail(why, "URL must not have a query or fragment");
	auth_end = auth + strcspn(auth, "/");
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
		return http_url_fail(why, "URL must not contain user information");

	if (*auth == '[') {
		char addr[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;
		const char *zone;

		v6 = 1;
		host = auth + 1;
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (host_end == NULL)
			return http_url_fail(why, "unterminated [IPv6] address");
		zone = memchr(host, '%', (size_t)(host_end - host));
		n = (size_t)((zone ? zone : host_end) - host);
		if (n == 0 || n >= sizeof(addr))
			return http_url_fail(why, "invalid IPv6 address");
		memcpy(addr, host, n);
		addr[n] = '\0';
		if (inet_pton(AF_INET6, addr, &a6) != 1)
			return http_url_fail(why, "invalid IPv6 address");
		memcpy(out->host, addr, n + 1);
		if (zone != NULL) {
			/* RFC 6874 writes the '%' as "%25"; accept a bare one too. */
			if (strncmp(zone, "%25", 3) == 0 && zone + 3 < host_end)
				zone += 3;
			else
				zone += 1;
			if (zone == host_end)
				return http_url_fail(why, "empty IPv6 zone");
			for (p = zone; p < host_end; p++)
				if (!http_is_unreserved((uint8_t)*p))
					return http_url_fail(why, "invalid IPv6 zone");
			if (n + 1 + (size_t)(host_end - zone) >= sizeof(out->host))
				return http_url_fail(why, "host name too long");
			out->host[n] = '%';
			memcpy(out->host + n + 1, zone, (size_t)(host_end - zone));
			out->host[n + 1 + (size_t)(host_end - zone)] = '\0';
		}
		p = host_end + 1;
		if (p != auth_end && *p != ':')
			return http_url_fail(why, "junk after ]");
		if (p != auth_end)
			port = p + 1;
	} else {
		host = auth;
		host_end = memchr(auth, ':', (size_t)(auth_end - auth));
		if (host_end == NULL)
			host_end = auth_end;
		else
			port = host_end + 1;
		n = (size_t)(host_end - host);
		if (n == 0)
			return http_url_fail(why, "URL has no host");
		if (n >= sizeof(out->host))
			return http_url_fail(why, "host name too long");
		for (p = host; p < host_end; p++)
			if (!(http_is_unreserved((uint8_t)*p) && *p != '~'))
				return http_url_fail(why, "invalid character in host name");
		memcpy(out->host, host, n);
		out->host[n] = '\0';
	}

	if (port != NULL) {
		unsigned long v = 0;

		n = (size_t)(auth_end - port);
		if (n == 0 || n > 5)
			return http_url_fail(why, "invalid port");
		for (p = port; p < auth_end; p++) {
			if (*p < '0' || *p > '9')
				return http_url_fail(why, "invalid port");
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v == 0 || v > 65535)
			return http_url_fail(why, "port out of range");
		snprintf(out->port, sizeof(out->port), "%lu", v);
	} else
		snprintf(out->port, sizeof(out->port), "80");

	if (v6) {
		/* The Host field carries the zone percent-encoded (RFC 6874). */
		char *z = strchr(out->host, '%');
		if (z != NULL)
			snprintf(out->authority, sizeof(out->authority), "[%.*s%%25%s]:%s",
			    (int)(z - out->host), out->host, z + 1, out->port);
		else
			snprintf(out->authority, sizeof(out->authority), "[%s]:%s",
			    out->host, out->port);
	} else
		snprintf(out->authority, sizeof(out->authority), "%s:%s", out->host, out->port);

	n = strlen(auth_end);
	while (n > 0 && auth_end[n - 1] == '/')
		n--;
	if (n >= sizeof(out->prefix))
		return http_url_fail(why, "URL path too long");
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)auth_end[i];

		if (c == '%') {
			if (i + 2 >= n || hex_digit((uint8_t)auth_end[i + 1]) < 0 ||
			    hex_digit((uint8_t)auth_end[i + 2]) < 0)
				return http_url_fail(why, "invalid percent-encoding in URL path");
			i += 2;
		} else if (!http_is_unreserved(c) && strchr("/!$&'()*+,;=:@", c) == NULL)
			return http_url_fail(why, "invalid character in URL path");
	}
	memcpy(out->prefix, auth_end, n);
	out->prefix[n] = '\0';
	return 0;
}

char *
http_path_escape(const char *segment)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(segment);
	char *out, *q;

	if (n > (SIZE_MAX - 1) / 3 || (out = malloc(n * 3 + 1)) == NULL)
		return NULL;
	for (q = out; *segment != '\0'; segment++) {
		uint8_t c = (uint8_t)*segment;

		if (http_is_unreserved(c)) {
			*q++ = (char)c;
		} else {
			*q++ = '%';
			*q++ = hex[c >> 4];
			*q++ = hex[c & 15];
		}
	}
	*q = '\0';
	return out;
}

/* Transport ------------------------------------------------------------ */

static int64_t
http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
http_remaining(int64_t deadline)
{
	int64_t left = deadline - http_now_ms();

	return left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* Waits for events on fd until the deadline; 1 ready, 0 timed out, -1 errno. */
static int
http_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int rc;

	for (;;) {
		rc = poll(&pfd, 1, http_remaining(deadline));
		if (rc >= 0)
			return rc > 0;
		if (errno != EINTR)
			return -1;
	}
}

/*
 * Connects to the first address that accepts, in getaddrinfo order, within
 * the deadline. Returns the socket, or a negative error with err set.
 */
static int
http_connect(const struct http_url *url, int64_t deadline, int timeout_ms,
    char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res, *ai;
	int fd = -1, gai, saved = 0, timedout = 0;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(url->host, url->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", url->host,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return HTTP_E_RESOLVE;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t sl = sizeof(saved);
		int rc;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			saved = errno;
			goto next;
		}
		rc = http_wait(fd, POLLOUT, deadline);
		if (rc == 0) {
			timedout = 1;
			saved = ETIMEDOUT;
			goto next;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &saved, &sl) == -1)
			saved = errno;
		if (saved == 0)
			break;
next:
		close(fd);
		fd = -1;
		if (timedout)
			break;
	}
	freeaddrinfo(res);
	if (fd != -1)
		return fd;
	if (timedout)
		snprintf(err, errlen, "cannot connect to %s: no answer within %gs",
		    url->authority, timeout_ms / 1000.0);
	else
		snprintf(err, errlen, "cannot connect to %s: %s%s", url->authority,
		    strerror(saved), saved == ECONNREFUSED ? " \u2014 is lazaretd running?" : "");
	return timedout ? HTTP_E_TIMEOUT : HTTP_E_CONNECT;
}

/* Sends all of buf; 0 or -errno (ETIMEDOUT past the deadline). */
static int
http_send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w >= 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		switch (http_wait(fd, POLLOUT, deadline)) {
		case 0:
			return -ETIMEDOUT;
		case -1:
			return -errno;
		}
	}
	return 0;
}

/* Checks that s has only printable ASCII, no spaces unless allowed. */
static int
http_safe(const char *s, int spaces)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ||
		    (*s == ' ' && !spaces))
			return 0;
	return 1;
}

/* The request head and body in one malloc'd buffer; NULL when out of memory. */
static char *
http_format_request(const struct http_url *url, const char *method, const char *path,
    const char *token, const char *body, size_t body_len, size_t *outlen)
{
	char *req, *grown, length[48] = "";
	int n;

	/* RFC 9110 8.6: no Content-Length on a GET without content. */
	if (body != NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		snprintf(length, sizeof(length), "Content-Length: %zu\r\n", body ? body_len : 0);
	n = asprintf(&req,
	    "%s %s%s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: lazaretctl\r\n"
	    "Accept: application/json\r\n"
	    "%s%s%s"
	    "%s%s"
	    "Connection: close\r\n"
	    "\r\n",
	    method, url->prefix, path, url->authority,
	    token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "",
	    body ? "Content-Type: application/json\r\n" : "", length);
	if (n < 0)
		return NULL;
	*outlen = (size_t)n;
	if (body == NULL || body_len == 0)
		return req;
	if ((size_t)n > SIZE_MAX - body_len || (grown = realloc(req, (size_t)n + body_len)) == NULL) {
		free(req);
		return NULL;
	}
	memcpy(grown + n, body, body_len);
	*outlen += body_len;
	return grown;
}

int
http_request(const struct http_url *url, const char *method, const char *path,
    const char *token, const char *body, size_t body_len, int timeout_ms,
    struct http_exchange *ex, char *err, size_t errlen)
{
	int64_t deadline = http_now_ms() + timeout_ms;
	size_t reqlen, cap = 0;
	char *req = NULL;
	int fd = -1, rc, send_err;

	memset(ex, 0, sizeof(*ex));
	if (!http_safe(method, 0) || !http_safe(path, 0) || *path != '/' ||
	    (token != NULL && !http_safe(token, 0))) {
		snprintf(err, errlen, "refusing to send a request with control characters");
		return HTTP_E_URL;
	}
	if ((req = http_format_request(url, method, path, token, body, body_len, &reqlen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return HTTP_E_NOMEM;
	}
	if ((fd = http_connect(url, deadline, timeout_ms, err, errlen)) < 0) {
		rc = fd;
		goto fail;
	}

	/*
	 * A daemon may answer and close before reading all of a body it
	 * refuses; read whatever it said before reporting a send error.
	 */
	send_err = http_send_all(fd, req, reqlen, deadline);

	for (;;) {
		ssize_t r;

		if (ex->len == cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			uint8_t *nbuf;

			if (cap >= HTTP_RESPONSE_MAX) {
				snprintf(err, errlen, "response from %s is larger than %d MiB",
				    url->authority, HTTP_BODY_MAX / (1024 * 1024));
				rc = HTTP_E_TOOBIG;
				goto fail;
			}
			if (ncap > HTTP_RESPONSE_MAX)
				ncap = HTTP_RESPONSE_MAX;
			if ((nbuf = realloc(ex->buf, ncap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				rc = HTTP_E_NOMEM;
				goto fail;
			}
			ex->buf = nbuf;
			cap = ncap;
		}
		r = recv(fd, ex->buf + ex->len, cap - ex->len, 0);
		if (r > 0) {
			ex->len += (size_t)r;
			if (http_response_complete(ex->buf, ex->len) != 0)
				break;	/* whole, or broken beyond repair */
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int w = http_wait(fd, POLLIN, deadline);

			if (w == 1)
				continue;
			if (w == 0) {
				snprintf(err, errlen, "%s did not answer within %gs",
				    url->authority, timeout_ms / 1000.0);
				rc = HTTP_E_TIMEOUT;
				goto fail;
			}
		}
		if (send_err != 0 && ex->len == 0)
			snprintf(err, errlen, "sending to %s: %s", url->authority,
			    strerror(-send_err));
		else
			snprintf(err, errlen, "reading from %s: %s", url->authority,
			    strerror(errno));
		rc = HTTP_E_IO;
		goto fail;
	}
	if (ex->len == 0) {
		if (send_err != 0)
			snprintf(err, errlen, "sending to %s: %s", url->authority,
			    strerror(-send_err));
		else
			snprintf(err, errlen, "%s closed the connection without answering",
			    url->authority);
		rc = HTTP_E_IO;
		goto fail;
	}
	if ((rc = http_response_parse(ex->buf, ex->len, &ex->resp)) != 0) {
		if (rc == HTTP_E_TOOBIG)
			snprintf(err, errlen, "response from %s is too large (over %d MiB, "
			    "or over %d KiB of header)", url->authority,
			    HTTP_BODY_MAX / (1024 * 1024), HTTP_HEADER_MAX / 1024);
		else
			snprintf(err, errlen, "malformed response from %s: %s", url->authority,
			    http_strerror(rc));
		goto fail;
	}
	close(fd);
	free(req);
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	free(req);
	return rc;
}

void
http_exchange_free(struct http_exchange *ex)
{
	if (ex == NULL)
		return;
	http_response_free(&ex->resp);
	free(ex->buf);
	memset(ex, 0, sizeof(*ex));
}
