/*
 * http_client.c — lazaretctl's HTTP client: API URL parsing here, the exchange
 * itself through libcurl (framing, chunked bodies, time-outs), with lazaretctl's
 * own bounds and messages around it.
 */
#include "ctl/http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/strview.h"

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
	if (strncmp(text, "unix:", 5) == 0) {
		n = strlen(text + 5);
		if (n == 0)
			return http_url_fail(why, "unix: needs the socket's path");
		if (n >= sizeof(out->unix_path))
			return http_url_fail(why, "socket path longer than 107 bytes");
		for (p = text + 5; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				return http_url_fail(why, "socket path contains control characters");
		memcpy(out->unix_path, text + 5, n + 1);
		snprintf(out->host, sizeof(out->host), "localhost");
		snprintf(out->port, sizeof(out->port), "80");
		snprintf(out->authority, sizeof(out->authority), "localhost");
		snprintf(out->name, sizeof(out->name), "unix:%s", out->unix_path);
		return 0;
	}
	if (strncasecmp(text, "https://", 8) == 0) {
		out->tls = true;
		auth = text + 8;
	} else if (strncasecmp(text, "http://", 7) == 0)
		auth = text + 7;
	else
		return http_url_fail(why, "URL must start with http://, https:// or unix:");
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
		snprintf(out->port, sizeof(out->port), "%s", out->tls ? "443" : "80");

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
	snprintf(out->name, sizeof(out->name), "%s%s", out->tls ? "https://" : "", out->authority);
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

int
http_client_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : HTTP_E_NOMEM;
}

void
http_client_cleanup(void)
{
	curl_global_cleanup();
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

/* Keeps the body, refusing (and so ending the transfer) past HTTP_BODY_MAX. */
static size_t
http_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_exchange *ex = arg;
	size_t n = size * nmemb;

	if (n > HTTP_BODY_MAX - ex->body_len) {
		ex->too_big = true;
		return 0;
	}
	if (ex->body_len + n + 1 > ex->cap) {
		size_t ncap = ex->cap ? ex->cap : 16384;
		uint8_t *nbuf;

		while (ncap < ex->body_len + n + 1)
			ncap *= 2;
		if ((nbuf = realloc(ex->body, ncap)) == NULL)
			return 0;
		ex->body = nbuf;
		ex->cap = ncap;
	}
	memcpy(ex->body + ex->body_len, data, n);
	ex->body_len += n;
	ex->body[ex->body_len] = '\0';
	return n;
}

/*
 * Takes the reason phrase of each status line: the last one, after any interim
 * 1xx answer, is the final answer's. libcurl checks the line; this only copies it.
 */
static size_t
http_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_exchange *ex = arg;
	size_t n = size * nmemb, i;
	const char *sp;

	if (n < 12 || strncmp(data, "HTTP/", 5) != 0)
		return n;
	ex->reason[0] = '\0';
	if ((sp = memchr(data, ' ', n)) == NULL)
		return n;
	i = (size_t)(sp - data) + 1;
	if (i + 3 < n && data[i + 3] == ' ') {
		size_t len = n - (i + 4);

		while (len > 0 && (data[i + 4 + len - 1] == '\n' || data[i + 4 + len - 1] == '\r'))
			len--;
		if (len >= sizeof(ex->reason))
			len = sizeof(ex->reason) - 1;
		memcpy(ex->reason, data + i + 4, len);
		ex->reason[len] = '\0';
	}
	return n;
}

/* Turns a failed transfer into lazaretctl's message and error code. */
static int
http_failure(CURL *h, CURLcode cc, const struct http_url *url, const struct http_exchange *ex,
    int timeout_ms, const char *detail, char *err, size_t errlen)
{
	long oserr = 0, connected = 0;
	const char *what = *detail ? detail : curl_easy_strerror(cc);

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "cannot resolve %s: name lookup failed", url->host);
		return HTTP_E_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		if (oserr != 0)
			snprintf(err, errlen, "cannot connect to %s: %s%s", url->name,
			    strerror((int)oserr),
			    oserr == ECONNREFUSED ? " \u2014 is lazaretd running?" : "");
		else
			snprintf(err, errlen, "cannot connect to %s: %s", url->name, what);
		return HTTP_E_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		/* CURLINFO_CONNECT_TIME stays 0 until a connection is made. */
		{
			double t = 0;

			curl_easy_getinfo(h, CURLINFO_CONNECT_TIME, &t);
			connected = t > 0;
		}
		if (!connected)
			snprintf(err, errlen, "cannot connect to %s: no answer within %gs",
			    url->name, timeout_ms / 1000.0);
		else
			snprintf(err, errlen, "%s did not answer within %gs",
			    url->name, timeout_ms / 1000.0);
		return HTTP_E_TIMEOUT;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (ex->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(err, errlen, "response from %s is larger than %d MiB",
			    url->name, HTTP_BODY_MAX / (1024 * 1024));
			return HTTP_E_TOOBIG;
		}
		snprintf(err, errlen, "out of memory");
		return HTTP_E_NOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(err, errlen, "%s: the server's certificate is not trusted (%s); give the CA that "
		    "signed it with --cacert FILE or LAZARET_CACERT", url->name, what);
		return HTTP_E_TLS;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(err, errlen, "%s: cannot use the CA file: %s", url->name, what);
		return HTTP_E_TLS;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(err, errlen, "%s: TLS handshake failed: %s", url->name, what);
		return HTTP_E_TLS;
	case CURLE_OUT_OF_MEMORY:
		snprintf(err, errlen, "out of memory");
		return HTTP_E_NOMEM;
	case CURLE_GOT_NOTHING:
		snprintf(err, errlen, "%s closed the connection without answering", url->name);
		return HTTP_E_IO;
	case CURLE_SEND_ERROR:
		snprintf(err, errlen, "sending to %s: %s", url->name,
		    oserr ? strerror((int)oserr) : what);
		return HTTP_E_IO;
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		snprintf(err, errlen, "reading from %s: %s", url->name,
		    oserr ? strerror((int)oserr) : what);
		return HTTP_E_IO;
	default:
		snprintf(err, errlen, "malformed response from %s: %s", url->name, what);
		return HTTP_E_PROTOCOL;
	}
}

int
http_request(const struct http_url *url, const char *method, const char *path,
    const char *token, const char *body, size_t body_len, const char *cacert, int timeout_ms,
    struct http_exchange *ex, char *err, size_t errlen)
{
	char curl_err[CURL_ERROR_SIZE] = "", *target = NULL, *auth = NULL;
	struct curl_slist *headers = NULL, *more;
	const char *fields[] = {
		"Accept: application/json",
		/* One request per connection: the daemon frees the slot as soon as it has answered. */
		"Connection: close",
		/* The API answers at once; no need to wait for a go-ahead. */
		"Expect:",
		body ? "Content-Type: application/json" : "Content-Type:",
	};
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	int rc;

	memset(ex, 0, sizeof(*ex));
	if (!http_safe(method, 0) || !http_safe(path, 0) || *path != '/' ||
	    (token != NULL && !http_safe(token, 0))) {
		snprintf(err, errlen, "refusing to send a request with control characters");
		return HTTP_E_URL;
	}
	if (asprintf(&target, "%s://%s%s%s", url->tls ? "https" : "http", url->authority, url->prefix,
	    path) < 0) {
		target = NULL;
		goto nomem;
	}
	if (token != NULL && asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
		auth = NULL;
		goto nomem;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if ((more = curl_slist_append(headers, fields[i])) == NULL)
			goto nomem;
		headers = more;
	}
	if (auth != NULL) {
		if ((more = curl_slist_append(headers, auth)) == NULL)
			goto nomem;
		headers = more;
	}
	if ((h = curl_easy_init()) == NULL)
		goto nomem;

	curl_easy_setopt(h, CURLOPT_URL, target);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, url->tls ? "https" : "http");
	if (url->unix_path[0] != '\0')
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, url->unix_path);
	if (url->tls) {
		/* libcurl's defaults, said out loud: nothing here turns verification off. */
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (cacert != NULL)
			curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
	}
	/* The API is local to the operator's network: no proxy from the environment. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "lazaretctl");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ex);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, ex);
	/* RFC 9110 8.6: no Content-Length on a GET without content. */
	if (body != NULL || strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = http_failure(h, cc, url, ex, timeout_ms, curl_err, err, errlen);
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	ex->status = (int)status;
	if (ex->body == NULL && (ex->body = calloc(1, 1)) == NULL)
		goto nomem;
	rc = 0;
	goto done;

nomem:
	snprintf(err, errlen, "out of memory");
	rc = HTTP_E_NOMEM;
done:
	curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	free(auth);
	free(target);
	return rc;
}

void
http_exchange_free(struct http_exchange *ex)
{
	if (ex == NULL)
		return;
	free(ex->body);
	memset(ex, 0, sizeof(*ex));
}
