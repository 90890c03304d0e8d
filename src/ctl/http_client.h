/*
 * http_client.h — lazaretctl's HTTP client for lazaretd's operator API: API URL
 * parsing and one request per connection through libcurl, with the answer's size
 * and the whole exchange's time bounded.
 */
#ifndef LAZARET_CTL_HTTP_CLIENT_H
#define LAZARET_CTL_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_BODY_MAX		(16 * 1024 * 1024)	/* decoded body */

/* Negative error codes. */
enum http_error {
	HTTP_E_TOOBIG = -4,	/* body over its cap */
	HTTP_E_PROTOCOL = -7,	/* the answer is not HTTP lazaretctl can read */
	HTTP_E_NOMEM = -9,
	HTTP_E_URL = -10,	/* bad API URL */
	HTTP_E_RESOLVE = -11,	/* host name lookup failed */
	HTTP_E_CONNECT = -12,	/* no address accepted the connection */
	HTTP_E_TIMEOUT = -13,
	HTTP_E_IO = -14,	/* send/recv failed or peer reset */
	HTTP_E_TLS = -15,	/* handshake failed or the certificate is not trusted */
};

/* A parsed http[s]://HOST[:PORT][/prefix] or unix:PATH API URL. */
struct http_url {
	char	host[256];	/* no brackets, zone as "%eth0"; "localhost" for a socket */
	char	port[6];	/* decimal, "80" or "443" when omitted */
	char	authority[280];	/* for URLs: "[::1]:9345" */
	char	prefix[1024];	/* path prefix without trailing '/', "" for none */
	char	unix_path[108];	/* the Unix socket, "" for TCP */
	bool	tls;		/* https:// */
	char	name[400];	/* for messages: "[::1]:9345", "unix:/run/lazaret/api.sock" */
};

/*
 * Parses an API URL: "http://" or "https://" (case-insensitive), userinfo,
 * query and fragment refused; or "unix:PATH" for lazaretd's Unix socket.
 * Returns 0 or HTTP_E_URL, with a reason in why (may be NULL) for the
 * caller's error message.
 */
int http_url_parse(const char *text, struct http_url *out, const char **why);

/* Percent-encodes every byte but RFC 3986 unreserved ones; returns a malloc'd string or NULL. */
char *http_path_escape(const char *segment);

/* libcurl's process-wide set-up and tear-down, once each around all requests. */
int http_client_init(void);
void http_client_cleanup(void);

/* One request's answer. */
struct http_exchange {
	int		 status;	/* of the final answer, 100..999 */
	char		 reason[128];	/* its reason phrase, "" when none */
	uint8_t		*body;		/* NUL-terminated; never NULL after success */
	size_t		 body_len;
	size_t		 cap;
	bool		 too_big;
};

/*
 * Sends METHOD url->prefix + path (path starts with '/', already escaped) with
 * an optional bearer token and an optional JSON body, then reads the answer,
 * all within timeout_ms; no proxy, no redirect. Over https the server's
 * certificate is always verified, against cacert (a PEM file) when not NULL,
 * else the system's CAs. Returns 0 with ex filled (whatever the status), or a
 * negative enum http_error with a human message in err. Free ex with
 * http_exchange_free() either way.
 */
int http_request(const struct http_url *url, const char *method, const char *path,
    const char *token, const char *body, size_t body_len, const char *cacert, int timeout_ms,
    struct http_exchange *ex, char *err, size_t errlen);

void http_exchange_free(struct http_exchange *ex);

#endif
