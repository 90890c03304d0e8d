/*
 * http_client.h — a small HTTP/1.1 client for lazaretctl talking to lazaretd's
 * operator API: one request per connection, a pure response parser, bounded reads.
 */
#ifndef LAZARET_CTL_HTTP_CLIENT_H
#define LAZARET_CTL_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strview.h"

#define HTTP_HEADER_MAX		(64 * 1024)		/* status line + fields */
#define HTTP_BODY_MAX		(16 * 1024 * 1024)	/* decoded body */
#define HTTP_RESPONSE_MAX	(HTTP_HEADER_MAX + HTTP_BODY_MAX + 64 * 1024)

/* Negative error codes; http_strerror() names them. */
enum http_error {
	HTTP_E_INCOMPLETE = -1,	/* header section not terminated */
	HTTP_E_STATUS = -2,	/* malformed status line */
	HTTP_E_HEADER = -3,	/* malformed header field */
	HTTP_E_TOOBIG = -4,	/* header section or body over its cap */
	HTTP_E_LENGTH = -5,	/* bad or conflicting Content-Length */
	HTTP_E_ENCODING = -6,	/* Transfer-Encoding other than chunked */
	HTTP_E_CHUNK = -7,	/* malformed chunked framing */
	HTTP_E_TRUNCATED = -8,	/* body shorter than its framing says */
	HTTP_E_NOMEM = -9,
	HTTP_E_URL = -10,	/* bad API URL */
	HTTP_E_RESOLVE = -11,	/* host name lookup failed */
	HTTP_E_CONNECT = -12,	/* no address accepted the connection */
	HTTP_E_TIMEOUT = -13,
	HTTP_E_IO = -14,	/* send/recv failed or peer reset */
};

/* How the body of a response is delimited. */
enum http_framing {
	HTTP_FRAMING_NONE = 0,	/* 1xx/204/304: no body at all */
	HTTP_FRAMING_LENGTH,	/* Content-Length */
	HTTP_FRAMING_CHUNKED,	/* Transfer-Encoding: chunked */
	HTTP_FRAMING_CLOSE,	/* neither: the body runs to end of connection */
};

struct http_response {
	int			 status;	/* 100..999 */
	int			 minor;		/* HTTP/1.minor */
	struct strview		 reason;	/* into the parsed buffer */
	struct strview		 content_type;	/* empty when absent */
	enum http_framing	 framing;
	int64_t			 content_length; /* -1 when absent */
	size_t			 header_len;	/* bytes up to and including the blank line */
	size_t			 message_len;	/* bytes of the buffer the message used */
	const uint8_t		*body;		/* never NULL after success */
	size_t			 body_len;
	uint8_t			*owned;		/* decoded chunked body, or NULL */
};

/* A parsed http://HOST[:PORT][/prefix] API URL. */
struct http_url {
	char	host[256];	/* for getaddrinfo: no brackets, zone as "%eth0" */
	char	port[6];	/* decimal, "80" when omitted */
	char	authority[280];	/* for the Host field and messages: "[::1]:9345" */
	char	prefix[1024];	/* path prefix without trailing '/', "" for none */
};

/*
 * Parses a complete response held in buf[0..len), as read up to the end of the
 * connection. Interim 1xx responses are skipped. Accepts bare-LF line ends,
 * decodes chunked bodies (extensions and trailers are checked and ignored) and
 * treats a body with neither length nor chunking as running to len. On success
 * returns 0 and fills *out; out->body points into buf, or into out->owned for
 * a chunked body, so free it with http_response_free(). On failure returns a
 * negative enum http_error and *out owns nothing. No I/O, no globals.
 */
int http_response_parse(const uint8_t *buf, size_t len, struct http_response *out);

/*
 * Tells whether buf[0..len) already holds a whole response whose end is known
 * from its framing (length, chunked or none): 1 if so, 0 if more bytes are
 * needed or the body runs to end of connection, negative on a framing error.
 * Allocates nothing; lets the reader stop before the peer closes.
 */
int http_response_complete(const uint8_t *buf, size_t len);

void http_response_free(struct http_response *resp);

/*
 * Parses an API URL. "http://" is required (case-insensitive); userinfo,
 * query and fragment are refused. Returns 0 or HTTP_E_URL, with a reason in
 * why (may be NULL) for the caller's error message.
 */
int http_url_parse(const char *text, struct http_url *out, const char **why);

/* Percent-encodes every byte but RFC 3986 unreserved ones; returns a malloc'd string or NULL. */
char *http_path_escape(const char *segment);

const char *http_strerror(int error);

/* One request/response exchange; the raw bytes live in buf. */
struct http_exchange {
	uint8_t			*buf;
	size_t			 len;
	struct http_response	 resp;
};

/*
 * Sends METHOD url->prefix + path (path starts with '/', already escaped) with
 * Connection: close, an optional bearer token and an optional JSON body, then
 * reads and parses the answer, all within timeout_ms. Returns 0 with ex
 * filled (whatever the status), or a negative enum http_error with a
 * human message in err. Free ex with http_exchange_free() either way.
 */
int http_request(const struct http_url *url, const char *method, const char *path,
    const char *token, const char *body, size_t body_len, int timeout_ms,
    struct http_exchange *ex, char *err, size_t errlen);

void http_exchange_free(struct http_exchange *ex);

#endif
