/*
 * test_http_client.c — tables of HTTP responses and API URLs for
 * ctl/http_client.c, plus a few real exchanges over loopback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/http_client.h"

#define OK	"HTTP/1.1 200 OK\r\n"

struct resp_case {
	const char	*name;
	const char	*raw;
	int		 rc;		/* from http_response_parse */
	int		 status;
	const char	*body;		/* expected body when rc == 0 */
	int		 framing;
	int		 complete;	/* from http_response_complete */
};

static const struct resp_case resp_cases[] = {
	/* Content-Length */
	{ "length", OK "Content-Length: 5\r\n\r\nhello", 0, 200, "hello", HTTP_FRAMING_LENGTH, 1 },
	{ "length zero", OK "Content-Length: 0\r\n\r\n", 0, 200, "", HTTP_FRAMING_LENGTH, 1 },
	{ "length, extra bytes ignored", OK "Content-Length: 2\r\n\r\nhello", 0, 200, "he",
	  HTTP_FRAMING_LENGTH, 1 },
	{ "length name case", OK "content-LENGTH:3\r\n\r\nabc", 0, 200, "abc", HTTP_FRAMING_LENGTH, 1 },
	{ "length OWS", OK "Content-Length: \t3 \t\r\n\r\nabc", 0, 200, "abc", HTTP_FRAMING_LENGTH, 1 },
	{ "length list of equal values", OK "Content-Length: 3, 3\r\n\r\nabc", 0, 200, "abc",
	  HTTP_FRAMING_LENGTH, 1 },
	{ "length repeated equal", OK "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 0, 200,
	  "abc", HTTP_FRAMING_LENGTH, 1 },
	{ "length conflicting", OK "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	  HTTP_E_LENGTH, 0, NULL, 0, HTTP_E_LENGTH },
	{ "length list conflicting", OK "Content-Length: 3, 4\r\n\r\nabcd", HTTP_E_LENGTH, 0, NULL, 0,
	  HTTP_E_LENGTH },
	{ "length empty", OK "Content-Length:\r\n\r\n", HTTP_E_LENGTH, 0, NULL, 0, HTTP_E_LENGTH },
	{ "length negative", OK "Content-Length: -1\r\n\r\n", HTTP_E_LENGTH, 0, NULL, 0, HTTP_E_LENGTH },
	{ "length plus sign", OK "Content-Length: +1\r\n\r\nx", HTTP_E_LENGTH, 0, NULL, 0,
	  HTTP_E_LENGTH },
	{ "length junk", OK "Content-Length: 1x\r\n\r\nx", HTTP_E_LENGTH, 0, NULL, 0, HTTP_E_LENGTH },
	{ "length two numbers", OK "Content-Length: 1 2\r\n\r\nx", HTTP_E_LENGTH, 0, NULL, 0,
	  HTTP_E_LENGTH },
	{ "length overflow", OK "Content-Length: 99999999999999999999999\r\n\r\n", HTTP_E_TOOBIG, 0,
	  NULL, 0, HTTP_E_TOOBIG },
	{ "length over cap", OK "Content-Length: 16777217\r\n\r\n", HTTP_E_TOOBIG, 0, NULL, 0,
	  HTTP_E_TOOBIG },
	{ "length truncated body", OK "Content-Length: 10\r\n\r\nhello", HTTP_E_TRUNCATED, 0, NULL, 0, 0 },
	{ "length, no body yet", OK "Content-Length: 10\r\n\r\n", HTTP_E_TRUNCATED, 0, NULL, 0, 0 },

	/* chunked */
	{ "chunked", OK "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	  0, 200, "hello world", HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked empty", OK "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 200, "",
	  HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked hex sizes", OK "Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n"
	  "0a\r\nabcdefghij\r\n000\r\n\r\n", 0, 200, "0123456789abcdefghij", HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked extensions", OK "Transfer-Encoding: chunked\r\n\r\n"
	  "5;name=value\r\nhello\r\n1 ; a ; b = \"q \\\" ;x\"\r\n!\r\n0;last\r\n\r\n",
	  0, 200, "hello!", HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked trailers", OK "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
	  "X-Checksum: abc\r\nX-Other:\r\n\r\n", 0, 200, "hi", HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked name case", OK "transfer-encoding: CHUNKED\r\n\r\n2\r\nhi\r\n0\r\n\r\n", 0, 200,
	  "hi", HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked over two fields", OK "Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n"
	  "2\r\nhi\r\n0\r\n\r\n", 0, 200, "hi", HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked beats Content-Length", OK "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "2\r\nhi\r\n0\r\n\r\n", 0, 200, "hi", HTTP_FRAMING_CHUNKED, 1 },
	{ "chunked no last chunk", OK "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
	  HTTP_E_TRUNCATED, 0, NULL, 0, 0 },
	{ "chunked short data", OK "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", HTTP_E_TRUNCATED, 0,
	  NULL, 0, 0 },
	{ "chunked data, no CRLF yet", OK "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r",
	  HTTP_E_TRUNCATED, 0, NULL, 0, 0 },
	{ "chunked size line cut", OK "Transfer-Encoding: chunked\r\n\r\n5", HTTP_E_TRUNCATED, 0, NULL,
	  0, 0 },
	{ "chunked no trailer end", OK "Transfer-Encoding: chunked\r\n\r\n0\r\n", HTTP_E_TRUNCATED, 0,
	  NULL, 0, 0 },
	{ "chunked trailer cut", OK "Transfer-Encoding: chunked\r\n\r\n0\r\nX-A: b\r\n",
	  HTTP_E_TRUNCATED, 0, NULL, 0, 0 },
	{ "chunked data overruns size", OK "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
	  HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },
	{ "chunked bad size", OK "Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", HTTP_E_CHUNK, 0, NULL, 0,
	  HTTP_E_CHUNK },
	{ "chunked empty size", OK "Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n",
	  HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },
	{ "chunked signed size", OK "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
	  HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },
	{ "chunked 0x prefix", OK "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
	  HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },
	{ "chunked size overflow", OK "Transfer-Encoding: chunked\r\n\r\n"
	  "ffffffffffffffffffffffff\r\n", HTTP_E_TOOBIG, 0, NULL, 0, HTTP_E_TOOBIG },
	{ "chunked over cap", OK "Transfer-Encoding: chunked\r\n\r\n1000001\r\n", HTTP_E_TOOBIG, 0,
	  NULL, 0, HTTP_E_TOOBIG },
	{ "chunked bad extension", OK "Transfer-Encoding: chunked\r\n\r\n5 junk\r\nhello\r\n0\r\n\r\n",
	  HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },
	{ "chunked unterminated quote", OK "Transfer-Encoding: chunked\r\n\r\n5;a=\"x\r\nhello\r\n"
	  "0\r\n\r\n", HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },
	{ "chunked extension without name", OK "Transfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n"
	  "0\r\n\r\n", HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },
	{ "chunked bad trailer", OK "Transfer-Encoding: chunked\r\n\r\n0\r\nno colon here\r\n\r\n",
	  HTTP_E_CHUNK, 0, NULL, 0, HTTP_E_CHUNK },

	/* Transfer-Encoding we cannot undo */
	{ "gzip", OK "Transfer-Encoding: gzip\r\n\r\nxx", HTTP_E_ENCODING, 0, NULL, 0, HTTP_E_ENCODING },
	{ "gzip, chunked", OK "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", HTTP_E_ENCODING, 0,
	  NULL, 0, HTTP_E_ENCODING },
	{ "chunked twice", OK "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", HTTP_E_ENCODING, 0,
	  NULL, 0, HTTP_E_ENCODING },
	{ "chunked then identity", OK "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
	  HTTP_E_ENCODING, 0, NULL, 0, HTTP_E_ENCODING },
	{ "chunked in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	  HTTP_E_ENCODING, 0, NULL, 0, HTTP_E_ENCODING },

	/* no length: the body runs to the end of the connection */
	{ "Connection: close, no length", OK "Connection: close\r\n\r\n{\"a\":1}", 0, 200, "{\"a\":1}",
	  HTTP_FRAMING_CLOSE, 0 },
	{ "HTTP/1.0, no length", "HTTP/1.0 200 OK\r\n\r\nbody", 0, 200, "body", HTTP_FRAMING_CLOSE, 0 },
	{ "no length, empty body", OK "\r\n", 0, 200, "", HTTP_FRAMING_CLOSE, 0 },

	/* status lines */
	{ "no reason", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 0, 404, "", HTTP_FRAMING_LENGTH, 1 },
	{ "empty reason", "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", 0, 500, "",
	  HTTP_FRAMING_LENGTH, 1 },
	{ "reason with spaces", "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}", 0, 400, "{}",
	  HTTP_FRAMING_LENGTH, 1 },
	{ "HTTP/2", "HTTP/2 200 OK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "lowercase http", "http/1.1 200 OK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "two-digit status", "HTTP/1.1 20 OK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "status glued to reason", "HTTP/1.1 200OK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "double space", "HTTP/1.1  200 OK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "status 099", "HTTP/1.1 099 Odd\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "status 600", "HTTP/1.1 600 Odd\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "bare CR in status", "HTTP/1.1 200 O\rK\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "leading blank line", "\r\n" OK "\r\n", HTTP_E_STATUS, 0, NULL, 0, HTTP_E_STATUS },
	{ "empty", "", HTTP_E_INCOMPLETE, 0, NULL, 0, 0 },
	{ "status line only", "HTTP/1.1 200 OK", HTTP_E_INCOMPLETE, 0, NULL, 0, 0 },
	{ "head not terminated", OK "Content-Length: 5\r\n", HTTP_E_INCOMPLETE, 0, NULL, 0, 0 },

	/* interim and bodiless responses */
	{ "100 Continue first", "HTTP/1.1 100 Continue\r\n\r\n" OK "Content-Length: 2\r\n\r\nok", 0, 200,
	  "ok", HTTP_FRAMING_LENGTH, 1 },
	{ "two interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </>\r\n\r\n"
	  OK "Content-Length: 0\r\n\r\n", 0, 200, "", HTTP_FRAMING_LENGTH, 1 },
	{ "interim only", "HTTP/1.1 100 Continue\r\n\r\n", HTTP_E_INCOMPLETE, 0, NULL, 0, 0 },
	{ "101 refused", "HTTP/1.1 101 Switching Protocols\r\n\r\n", HTTP_E_STATUS, 0, NULL, 0,
	  HTTP_E_STATUS },
	{ "204 ignores length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 0, 204, "",
	  HTTP_FRAMING_NONE, 1 },
	{ "304", "HTTP/1.1 304 Not Modified\r\n\r\n", 0, 304, "", HTTP_FRAMING_NONE, 1 },

	/* line ends */
	{ "LF only", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 0, 200, "hi", HTTP_FRAMING_LENGTH, 1 },
	{ "LF only chunked", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n1;x=y\n!\n0\nT: v\n\n",
	  0, 200, "hi!", HTTP_FRAMING_CHUNKED, 1 },
	{ "mixed line ends", "HTTP/1.1 200 OK\nContent-Length: 2\r\n\nhi", 0, 200, "hi",
	  HTTP_FRAMING_LENGTH, 1 },
	{ "CRLF kept in body", OK "Content-Length: 4\r\n\r\n\r\n\r\n", 0, 200, "\r\n\r\n",
	  HTTP_FRAMING_LENGTH, 1 },

	/* header fields */
	{ "folded other field", OK "X-Long: a\r\n  continued\r\n\tand more\r\nContent-Length: 1\r\n\r\nx",
	  0, 200, "x", HTTP_FRAMING_LENGTH, 1 },
	{ "folded Content-Length", OK "Content-Length:\r\n 5\r\n\r\nhello", HTTP_E_LENGTH, 0, NULL, 0,
	  HTTP_E_LENGTH },
	{ "folding Content-Length", OK "Content-Length: 5\r\n 5\r\n\r\nhello", HTTP_E_HEADER, 0, NULL, 0,
	  HTTP_E_HEADER },
	{ "folding Transfer-Encoding", OK "Transfer-Encoding: gzip,\r\n chunked\r\n\r\n0\r\n\r\n",
	  HTTP_E_ENCODING, 0, NULL, 0, HTTP_E_ENCODING },
	{ "folding Transfer-Encoding 2", OK "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
	  HTTP_E_HEADER, 0, NULL, 0, HTTP_E_HEADER },
	{ "fold with nothing to fold", OK " X: y\r\n\r\n", HTTP_E_HEADER, 0, NULL, 0, HTTP_E_HEADER },
	{ "space before colon", OK "Content-Length : 5\r\n\r\nhello", HTTP_E_HEADER, 0, NULL, 0,
	  HTTP_E_HEADER },
	{ "no colon", OK "Content-Length 5\r\n\r\nhello", HTTP_E_HEADER, 0, NULL, 0, HTTP_E_HEADER },
	{ "empty name", OK ": 5\r\n\r\n", HTTP_E_HEADER, 0, NULL, 0, HTTP_E_HEADER },
	{ "bad name", OK "X(Y): 5\r\n\r\n", HTTP_E_HEADER, 0, NULL, 0, HTTP_E_HEADER },
	{ "bare CR in field", OK "X-A: b\rc\r\n\r\n", HTTP_E_HEADER, 0, NULL, 0, HTTP_E_HEADER },
	{ "control in value", OK "X-A: b\x1b[31m\r\n\r\n", HTTP_E_HEADER, 0, NULL, 0, HTTP_E_HEADER },
	{ "obs-text in value", OK "X-A: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", 0, 200, "",
	  HTTP_FRAMING_LENGTH, 1 },
	{ "empty value", OK "X-A:\r\nContent-Length: 0\r\n\r\n", 0, 200, "", HTTP_FRAMING_LENGTH, 1 },
};

static void
test_response_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
		const struct resp_case *c = &resp_cases[i];
		const uint8_t *raw = (const uint8_t *)c->raw;
		size_t len = strlen(c->raw);
		struct http_response r;
		int rc, done;

		rc = http_response_parse(raw, len, &r);
		done = http_response_complete(raw, len);
		if (rc != c->rc || done != c->complete)
			fail_msg("case '%s': parse %d (want %d), complete %d (want %d)", c->name, rc,
			    c->rc, done, c->complete);
		if (rc != 0) {
			assert_null(r.owned);
			continue;
		}
		if (r.status != c->status || (int)r.framing != c->framing)
			fail_msg("case '%s': status %d framing %d", c->name, r.status, r.framing);
		assert_non_null(r.body);
		if (r.body_len != strlen(c->body) || memcmp(r.body, c->body, r.body_len) != 0)
			fail_msg("case '%s': body '%.*s'", c->name, (int)r.body_len,
			    (const char *)r.body);
		assert_true(r.message_len <= len);
		assert_true(r.header_len <= r.message_len);
		http_response_free(&r);
	}
}

/* Views point into the buffer: reason, content type, unchunked body. */
static void
test_response_views(void **state)
{
	static const char raw[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
	    "Content-Length: 27\r\n\r\n{\"error\":\"unknown subject\"}trailing";
	struct http_response r;

	(void)state;
	assert_int_equal(http_response_parse((const uint8_t *)raw, sizeof(raw) - 1, &r), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.minor, 1);
	assert_true(strview_eq(r.reason, "Not Found"));
	assert_true(strview_eq(r.content_type, "application/json"));
	assert_int_equal(r.content_length, 27);
	assert_ptr_equal(r.body, (const uint8_t *)raw + r.header_len);
	assert_int_equal(r.message_len, sizeof(raw) - 1 - strlen("trailing"));
	assert_null(r.owned);
	http_response_free(&r);
}

/* Every prefix of a good response is incomplete, never wrong, never complete. */
static void
test_response_prefixes(void **state)
{
	static const char *raws[] = {
		OK "Content-Length: 11\r\n\r\nhello world",
		OK "Transfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n",
		"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1\na\n0\n\n",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(raws) / sizeof(raws[0]); k++) {
		size_t len = strlen(raws[k]);
		struct http_response r;

		for (size_t n = 0; n < len; n++) {
			int rc = http_response_parse((const uint8_t *)raws[k], n, &r);

			if (rc != HTTP_E_INCOMPLETE && rc != HTTP_E_TRUNCATED)
				fail_msg("raw %zu prefix %zu: %d", k, n, rc);
			if (http_response_complete((const uint8_t *)raws[k], n) != 0)
				fail_msg("raw %zu prefix %zu complete", k, n);
		}
		assert_int_equal(http_response_parse((const uint8_t *)raws[k], len, &r), 0);
		assert_int_equal(http_response_complete((const uint8_t *)raws[k], len), 1);
		http_response_free(&r);
	}
}

/* Builds "HTTP/1.1 200 OK", fields of total size about fill, and a tiny body. */
static char *
big_head(size_t fill, size_t *len)
{
	size_t cap = fill + 256, n;
	char *buf = malloc(cap);

	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, OK);
	while (n + 100 < fill + strlen(OK))
		n += (size_t)snprintf(buf + n, cap - n, "X-Pad: %090d\r\n", 0);
	n += (size_t)snprintf(buf + n, cap - n, "Content-Length: 2\r\n\r\nok");
	*len = n;
	return buf;
}

static void
test_response_oversized_head(void **state)
{
	struct http_response r;
	size_t len;
	char *buf;

	(void)state;
	buf = big_head(HTTP_HEADER_MAX - 200, &len);
	assert_int_equal(http_response_parse((const uint8_t *)buf, len, &r), 0);
	assert_int_equal(r.body_len, 2);
	http_response_free(&r);
	free(buf);

	buf = big_head(HTTP_HEADER_MAX + 200, &len);
	assert_int_equal(http_response_parse((const uint8_t *)buf, len, &r), HTTP_E_TOOBIG);
	assert_int_equal(http_response_complete((const uint8_t *)buf, len), HTTP_E_TOOBIG);
	free(buf);

	/* One endless line, no LF at all. */
	len = HTTP_HEADER_MAX + 10;
	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, OK, strlen(OK));
	memset(buf + strlen(OK), 'a', len - strlen(OK));
	assert_int_equal(http_response_parse((const uint8_t *)buf, len, &r), HTTP_E_TOOBIG);
	free(buf);
}

/* A large chunked body decodes across many chunks; the cap holds. */
static void
test_response_many_chunks(void **state)
{
	size_t cap = 1 << 20, n, want = 0;
	struct http_response r;
	char *buf = malloc(cap);

	(void)state;
	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, OK "Transfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 1000; i++) {
		n += (size_t)snprintf(buf + n, cap - n, "%x\r\n%0*d\r\n", i % 50 + 1, i % 50 + 1, 0);
		want += (size_t)(i % 50 + 1);
	}
	n += (size_t)snprintf(buf + n, cap - n, "0\r\n\r\n");
	assert_int_equal(http_response_parse((const uint8_t *)buf, n, &r), 0);
	assert_int_equal(r.body_len, want);
	assert_non_null(r.owned);
	for (size_t i = 0; i < r.body_len; i++)
		assert_int_equal(r.body[i], '0');
	http_response_free(&r);
	assert_null(r.owned);

	free(buf);

	/* Two chunks that each fit but together exceed the cap. */
	cap = HTTP_BODY_MAX + 4096;
	buf = malloc(cap);
	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, OK "Transfer-Encoding: chunked\r\n\r\n%x\r\n",
	    HTTP_BODY_MAX / 2 + 1);
	memset(buf + n, 'a', HTTP_BODY_MAX / 2 + 1);
	n += HTTP_BODY_MAX / 2 + 1;
	n += (size_t)snprintf(buf + n, cap - n, "\r\n%x\r\n", HTTP_BODY_MAX / 2);
	assert_int_equal(http_response_parse((const uint8_t *)buf, n, &r), HTTP_E_TOOBIG);
	assert_int_equal(http_response_complete((const uint8_t *)buf, n), HTTP_E_TOOBIG);
	/* Exactly the cap is fine. */
	n -= strlen("\r\n800000\r\n");
	n += (size_t)snprintf(buf + n, cap - n, "\r\n%x\r\n", HTTP_BODY_MAX / 2 - 1);
	memset(buf + n, 'b', HTTP_BODY_MAX / 2 - 1);
	n += HTTP_BODY_MAX / 2 - 1;
	n += (size_t)snprintf(buf + n, cap - n, "\r\n0\r\n\r\n");
	assert_int_equal(http_response_parse((const uint8_t *)buf, n, &r), 0);
	assert_int_equal(r.body_len, HTTP_BODY_MAX);
	assert_int_equal(r.body[HTTP_BODY_MAX - 1], 'b');
	http_response_free(&r);
	free(buf);
}

struct url_case {
	const char	*text;
	int		 rc;
	const char	*host;
	const char	*port;
	const char	*authority;
	const char	*prefix;
};

static const struct url_case url_cases[] = {
	{ "http://127.0.0.1:9345", 0, "127.0.0.1", "9345", "127.0.0.1:9345", "" },
	{ "HTTP://127.0.0.1:9345/", 0, "127.0.0.1", "9345", "127.0.0.1:9345", "" },
	{ "http://localhost", 0, "localhost", "80", "localhost:80", "" },
	{ "http://api.example.net:8080/lazaret/", 0, "api.example.net", "8080",
	  "api.example.net:8080", "/lazaret" },
	{ "http://h:1/a/b//", 0, "h", "1", "h:1", "/a/b" },
	{ "http://h:65535/x%20y", 0, "h", "65535", "h:65535", "/x%20y" },
	{ "http://h:00080", 0, "h", "80", "h:80", "" },
	{ "http://[::1]:9345", 0, "::1", "9345", "[::1]:9345", "" },
	{ "http://[2001:db8::1]/api", 0, "2001:db8::1", "80", "[2001:db8::1]:80", "/api" },
	{ "http://[::ffff:192.0.2.1]:1", 0, "::ffff:192.0.2.1", "1", "[::ffff:192.0.2.1]:1", "" },
	{ "http://[fe80::1%25eth0]:9345", 0, "fe80::1%eth0", "9345", "[fe80::1%25eth0]:9345", "" },
	{ "http://[fe80::1%eth0]:9345", 0, "fe80::1%eth0", "9345", "[fe80::1%25eth0]:9345", "" },
	{ "", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "https://127.0.0.1:9345", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "ftp://h", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "127.0.0.1:9345", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http:///v1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://:9345", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h:", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h:0", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h:65536", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h:123456", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h:12a", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h:-1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://[::1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://[::1]x", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://[::1]:", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://[]:1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://[zz::1]:1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://[192.0.2.1]:1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://[fe80::1%]:1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://::1:9345", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://user:pw@h:1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h/?q=1", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h/#top", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h h", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h/a b", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h/a\r\nX: y", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h/%zz", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h/%2", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h/a\"b", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "http://h\xc3\xa9/", HTTP_E_URL, NULL, NULL, NULL, NULL },
};

static void
test_url_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		const char *why = NULL;
		struct http_url u;
		int rc;

		rc = http_url_parse(c->text, &u, &why);
		if (rc != c->rc)
			fail_msg("url '%s': %d (want %d)", c->text, rc, c->rc);
		if (rc != 0) {
			assert_non_null(why);
			continue;
		}
		if (strcmp(u.host, c->host) != 0 || strcmp(u.port, c->port) != 0 ||
		    strcmp(u.authority, c->authority) != 0 || strcmp(u.prefix, c->prefix) != 0)
			fail_msg("url '%s': host '%s' port '%s' authority '%s' prefix '%s'", c->text,
			    u.host, u.port, u.authority, u.prefix);
	}
}

static void
test_path_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "192.0.2.7", "192.0.2.7" },
		{ "2001:db8:1:2::/64", "2001%3Adb8%3A1%3A2%3A%3A%2F64" },
		{ "account:bob@example.net", "account%3Abob%40example.net" },
		{ "a b%+?#&=", "a%20b%25%2B%3F%23%26%3D" },
		{ "caf\xc3\xa9", "caf%C3%A9" },
		{ "-._~", "-._~" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = http_path_escape(cases[i].in);

		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

static void
test_strerror(void **state)
{
	(void)state;
	for (int e = HTTP_E_IO; e <= 0; e++)
		assert_string_not_equal(http_strerror(e), "unknown error");
	assert_string_equal(http_strerror(1), "unknown error");
}

/* Loopback exchanges ---------------------------------------------------- */

/* Listens on 127.0.0.1 on a free port; returns the socket and the URL. */
static int
listen_loopback(struct http_url *url)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	char text[64];
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(text, sizeof(text), "http://127.0.0.1:%u/pre/", ntohs(sin.sin_port));
	assert_int_equal(http_url_parse(text, url, NULL), 0);
	return fd;
}

/*
 * Child: accepts one connection, reads the request head, and answers with
 * the request echoed as a chunked body written in pieces; with silent set,
 * it answers nothing and waits to be killed.
 */
static pid_t
serve_once(int lfd, int silent)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char req[8192], out[16384];
		size_t n = 0;
		int c = accept(lfd, NULL, NULL);
		int len;

		if (c < 0)
			_exit(1);
		while (n < sizeof(req) - 1) {
			ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL &&
			    (strstr(req, "Content-Length") == NULL || strstr(req, "}") != NULL))
				break;
		}
		if (silent) {
			pause();
			_exit(0);
		}
		len = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "%zx\r\n%.*s\r\n0\r\n\r\n", n, (int)n, req);
		for (int off = 0; off < len; off += 7) {
			if (write(c, out + off, (size_t)(len - off < 7 ? len - off : 7)) < 0)
				_exit(1);
			usleep(1000);
		}
		/* Keep the connection open: the client must stop on the framing. */
		usleep(500000);
		close(c);
		_exit(0);
	}
	return pid;
}

static void
test_request_roundtrip(void **state)
{
	struct http_exchange ex;
	struct http_url url;
	char err[256], *body;
	int lfd, status;
	pid_t pid;

	(void)state;
	lfd = listen_loopback(&url);
	pid = serve_once(lfd, 0);
	assert_int_equal(http_request(&url, "POST", "/v1/subjects/192.0.2.7/quarantine", "tok",
	    "{\"reason\":\"x\"}", 14, 5000, &ex, err, sizeof(err)), 0);
	assert_int_equal(ex.resp.status, 200);
	assert_int_equal(ex.resp.framing, HTTP_FRAMING_CHUNKED);
	body = strndup((const char *)ex.resp.body, ex.resp.body_len);
	assert_non_null(body);
	assert_non_null(strstr(body, "POST /pre/v1/subjects/192.0.2.7/quarantine HTTP/1.1\r\n"));
	assert_non_null(strstr(body, "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(body, "\r\nAuthorization: Bearer tok\r\n"));
	assert_non_null(strstr(body, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(body, "\r\nContent-Length: 14\r\n"));
	assert_non_null(strstr(body, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(body, "\r\n\r\n{\"reason\":\"x\"}"));
	free(body);
	http_exchange_free(&ex);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);

	/* A GET carries neither body nor Content-Length. */
	pid = serve_once(lfd, 0);
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, 5000, &ex, err,
	    sizeof(err)), 0);
	body = strndup((const char *)ex.resp.body, ex.resp.body_len);
	assert_non_null(body);
	assert_non_null(strstr(body, "GET /pre/v1/stats HTTP/1.1\r\n"));
	assert_null(strstr(body, "Content-Length"));
	assert_null(strstr(body, "Authorization"));
	free(body);
	http_exchange_free(&ex);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(lfd);
}

static void
test_request_timeout(void **state)
{
	struct http_exchange ex;
	struct http_url url;
	char err[256];
	int lfd, status;
	pid_t pid;

	(void)state;
	lfd = listen_loopback(&url);
	pid = serve_once(lfd, 1);
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, 300, &ex, err,
	    sizeof(err)), HTTP_E_TIMEOUT);
	assert_non_null(strstr(err, "did not answer within 0.3s"));
	http_exchange_free(&ex);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(lfd);
}

static void
test_request_refused(void **state)
{
	struct http_exchange ex;
	struct http_url url;
	char err[256];
	int lfd;

	(void)state;
	lfd = listen_loopback(&url);
	close(lfd);	/* the port is now (almost certainly) closed */
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, 2000, &ex, err,
	    sizeof(err)), HTTP_E_CONNECT);
	assert_non_null(strstr(err, "cannot connect to 127.0.0.1:"));
	assert_non_null(strstr(err, "Connection refused"));
	assert_non_null(strstr(err, "is lazaretd running?"));
	http_exchange_free(&ex);

	/* Header injection through the token is refused before connecting. */
	assert_int_equal(http_request(&url, "GET", "/v1/stats", "a\r\nX: y", NULL, 0, 2000, &ex,
	    err, sizeof(err)), HTTP_E_URL);
	http_exchange_free(&ex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_table),
		cmocka_unit_test(test_response_views),
		cmocka_unit_test(test_response_prefixes),
		cmocka_unit_test(test_response_oversized_head),
		cmocka_unit_test(test_response_many_chunks),
		cmocka_unit_test(test_url_table),
		cmocka_unit_test(test_path_escape),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_request_refused),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
