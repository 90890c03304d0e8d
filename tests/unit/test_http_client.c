/*
 * test_http_client.c — a table of API URLs for ctl/http_client.c, plus real
 * exchanges over loopback through libcurl: framing, headers, limits, failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/http_client.h"

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
	{ "https://api.example.net:9345/x/", 0, "api.example.net", "9345", "api.example.net:9345", "/x" },
	{ "HTTPS://[::1]", 0, "::1", "443", "[::1]:443", "" },
	{ "unix:/run/lazaret/api.sock", 0, "localhost", "80", "localhost", "" },
	{ "unix:var/api.sock", 0, "localhost", "80", "localhost", "" },
	{ "", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "unix:", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "unix:/run/lazaret/0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234.sock", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "unix:/run/a\nb", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "UNIX:/run/lazaret/api.sock", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "https://", HTTP_E_URL, NULL, NULL, NULL, NULL },
	{ "https://u@h", HTTP_E_URL, NULL, NULL, NULL, NULL },
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
	    "{\"reason\":\"x\"}", 14, NULL, 5000, &ex, err, sizeof(err)), 0);
	assert_int_equal(ex.status, 200);
	assert_string_equal(ex.reason, "OK");
	body = strndup((const char *)ex.body, ex.body_len);
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
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, NULL, 5000, &ex, err,
	    sizeof(err)), 0);
	body = strndup((const char *)ex.body, ex.body_len);
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
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, NULL, 300, &ex, err,
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
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, NULL, 2000, &ex, err,
	    sizeof(err)), HTTP_E_CONNECT);
	assert_non_null(strstr(err, "cannot connect to 127.0.0.1:"));
	assert_non_null(strstr(err, "Connection refused"));
	assert_non_null(strstr(err, "is lazaretd running?"));
	http_exchange_free(&ex);

	/* Header injection through the token is refused before connecting. */
	assert_int_equal(http_request(&url, "GET", "/v1/stats", "a\r\nX: y", NULL, 0, NULL, 2000, &ex,
	    err, sizeof(err)), HTTP_E_URL);
	http_exchange_free(&ex);
}

/* lazaretd's usual listener: the API's Unix socket (curl's CURLOPT_UNIX_SOCKET_PATH). */
static void
test_request_unix_socket(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct http_exchange ex;
	struct http_url url;
	char err[256], text[160], *body;
	int lfd, status;
	pid_t pid;

	(void)state;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/lazaret-test-http-%d.sock", (int)getpid());
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	snprintf(text, sizeof(text), "unix:%s", sun.sun_path);
	assert_int_equal(http_url_parse(text, &url, NULL), 0);
	assert_string_equal(url.name, text);

	pid = serve_once(lfd, 0);
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, NULL, 5000, &ex, err,
	    sizeof(err)), 0);
	assert_int_equal(ex.status, 200);
	body = strndup((const char *)ex.body, ex.body_len);
	assert_non_null(body);
	assert_non_null(strstr(body, "GET /v1/stats HTTP/1.1\r\n"));
	assert_non_null(strstr(body, "\r\nHost: localhost\r\n"));
	free(body);
	http_exchange_free(&ex);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(lfd);

	/* No daemon there: the socket's own name and the system's reason. */
	unlink(sun.sun_path);
	assert_int_equal(http_request(&url, "GET", "/v1/stats", NULL, NULL, 0, NULL, 2000, &ex, err,
	    sizeof(err)), HTTP_E_CONNECT);
	snprintf(text, sizeof(text), "cannot connect to unix:%s: No such file or directory", sun.sun_path);
	assert_string_equal(err, text);
	http_exchange_free(&ex);
}

/*
 * Child: accepts one connection, reads the request head and answers 200 with
 * a chunked body of HTTP_BODY_MAX + 1 bytes (no length to refuse up front).
 */
static pid_t
serve_huge(int lfd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		static char chunk[65536];
		char req[8192], head[32];
		size_t sent = 0;
		int c = accept(lfd, NULL, NULL);

		if (c < 0 || read(c, req, sizeof(req)) <= 0)
			_exit(1);
		memset(chunk, 'x', sizeof(chunk));
		static const char ok[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

		if (write(c, ok, sizeof(ok) - 1) != (ssize_t)sizeof(ok) - 1)
			_exit(1);
		while (sent <= HTTP_BODY_MAX) {
			int n = snprintf(head, sizeof(head), "%zx\r\n", sizeof(chunk));

			if (write(c, head, (size_t)n) != n || write(c, chunk, sizeof(chunk)) < 0 ||
			    write(c, "\r\n", 2) != 2)
				_exit(0);	/* the client hung up: what it should do */
			sent += sizeof(chunk);
		}
		(void)!write(c, "0\r\n\r\n", 5);
		close(c);
		_exit(0);
	}
	return pid;
}

static void
test_request_too_big(void **state)
{
	struct http_exchange ex;
	struct http_url url;
	char err[256];
	int lfd, status, rc;
	pid_t pid;

	(void)state;
	lfd = listen_loopback(&url);
	pid = serve_huge(lfd);
	rc = http_request(&url, "GET", "/v1/subjects", NULL, NULL, 0, NULL, 10000, &ex, err, sizeof(err));
	if (rc != HTTP_E_TOOBIG)
		fail_msg("%d: %s", rc, err);
	assert_non_null(strstr(err, "is larger than 16 MiB"));
	http_exchange_free(&ex);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_table),
		cmocka_unit_test(test_path_escape),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_too_big),
		cmocka_unit_test(test_request_unix_socket),
	};

	int rc;

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(http_client_init(), 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	http_client_cleanup();
	return rc;
}
