/*
 * dunno_server.c — the loopback ceiling for the policy benchmark.
 *
 * A Postfix policy server that does no work: one libuv loop on one thread
 * (the I/O model of lazaretd), it frames each request by scanning for the
 * empty line that ends it and answers "action=DUNNO\n\n". Whatever lazaretd
 * achieves is measured against what this achieves on the same machine.
 *
 * usage: dunno_server [-q] LISTEN
 *	LISTEN is HOST:PORT, [V6ADDR]:PORT or unix:/PATH.
 * SIGINT/SIGTERM stop it; it then prints what it served on stderr.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#define READ_BUF_SIZE	8192
#define MAX_REQUEST	(64 * 1024)	/* a longer request is a bad client */
#define BACKLOG		1024

static const char dunno_reply[] = "action=DUNNO\n\n";
#define DUNNO_LEN	(sizeof(dunno_reply) - 1)

struct client {
	union {
		uv_tcp_t	 tcp;
		uv_pipe_t	 pipe;
		uv_stream_t	 stream;
		uv_handle_t	 handle;
	} h;
	int		 prev_nl;	/* last byte seen was '\n' */
	size_t		 reqlen;	/* bytes of the request being framed */
	char		 buf[READ_BUF_SIZE];
};

struct reply_write {
	uv_write_t	 req;
	uv_buf_t	 buf;
	char		 data[];
};

static union {
	uv_tcp_t	 tcp;
	uv_pipe_t	 pipe;
	uv_stream_t	 stream;
	uv_handle_t	 handle;
} listener;

static uv_loop_t	*loop;
static uv_signal_t	 sigint_h, sigterm_h;
static int		 is_unix;
static int		 quiet;
static const char	*unix_path;
static uint64_t		 n_requests, n_connections, n_bad;

static void	usage(void) __attribute__((noreturn));
static void	on_connection(uv_stream_t *, int);
static void	on_alloc(uv_handle_t *, size_t, uv_buf_t *);
static void	on_read(uv_stream_t *, ssize_t, const uv_buf_t *);
static void	on_write(uv_write_t *, int);
static void	on_close(uv_handle_t *);
static void	on_signal(uv_signal_t *, int);
static void	send_replies(struct client *, size_t);
static int	listen_on(const char *);

static void
usage(void)
{
	fprintf(stderr, "usage: dunno_server [-q] HOST:PORT|[V6]:PORT|unix:PATH\n");
	exit(2);
}

static void
on_close(uv_handle_t *h)
{
	free(h->data);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct client *c = h->data;

	(void)suggested;
	buf->base = c->buf;
	buf->len = sizeof(c->buf);
}

static void
on_write(uv_write_t *req, int status)
{
	struct reply_write *w = req->data;

	(void)status;		/* a failed write shows up as a read error */
	free(w);
}

/*
 * Answer n framed requests: try the write at once, queue what is left.
 */
static void
send_replies(struct client *c, size_t n)
{
	static char	 many[DUNNO_LEN * 64];
	struct reply_write *w;
	uv_buf_t	 b;
	size_t		 len, i, off;
	int		 r;

	if (many[0] == '\0')
		for (i = 0; i < 64; i++)
			memcpy(many + i * DUNNO_LEN, dunno_reply, DUNNO_LEN);

	while (n > 0) {
		i = n > 64 ? 64 : n;
		n -= i;
		len = i * DUNNO_LEN;
		b = uv_buf_init(many, len);
		r = uv_try_write(&c->h.stream, &b, 1);
		off = r > 0 ? (size_t)r : 0;
		if (r < 0 && r != UV_EAGAIN && r != UV_ENOSYS) {
			uv_close(&c->h.handle, on_close);
			return;
		}
		if (off == len)
			continue;
		if ((w = malloc(sizeof(*w) + len - off)) == NULL) {
			uv_close(&c->h.handle, on_close);
			return;
		}
		memcpy(w->data, many + off, len - off);
		w->buf = uv_buf_init(w->data, len - off);
		w->req.data = w;
		if (uv_write(&w->req, &c->h.stream, &w->buf, 1, on_write) != 0) {
			free(w);
			uv_close(&c->h.handle, on_close);
			return;
		}
	}
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client	*c = s->data;
	const char	*p, *end, *nl;
	size_t		 done = 0;

	if (nread < 0) {
		if (!uv_is_closing(&c->h.handle))
			uv_close(&c->h.handle, on_close);
		return;
	}
	p = buf->base;
	end = p + nread;
	/* Frame: a request ends where a '\n' follows a '\n'. */
	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			c->reqlen += end - p;
			c->prev_nl = 0;
			break;
		}
		c->reqlen += nl + 1 - p;
		if (nl == p && c->prev_nl) {
			done++;
			c->reqlen = 0;
			c->prev_nl = 0;
		} else
			c->prev_nl = 1;
		p = nl + 1;
	}
	if (c->reqlen > MAX_REQUEST) {
		n_bad++;
		uv_close(&c->h.handle, on_close);
		return;
	}
	if (done > 0) {
		n_requests += done;
		send_replies(c, done);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct client	*c;
	int		 r;

	if (status < 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	if (is_unix)
		r = uv_pipe_init(loop, &c->h.pipe, 0);
	else
		r = uv_tcp_init(loop, &c->h.tcp);
	if (r != 0) {
		free(c);
		return;
	}
	c->h.handle.data = c;
	if (uv_accept(server, &c->h.stream) != 0) {
		uv_close(&c->h.handle, on_close);
		return;
	}
	if (!is_unix)
		uv_tcp_nodelay(&c->h.tcp, 1);
	n_connections++;
	if (uv_read_start(&c->h.stream, on_alloc, on_read) != 0)
		uv_close(&c->h.handle, on_close);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	(void)signum;
	uv_stop(loop);
}

/*
 * Bind and listen on LISTEN; 0 or a libuv error code.
 */
static int
listen_on(const char *spec)
{
	struct sockaddr_storage ss;
	char		 host[256];
	const char	*colon;
	char		*ep;
	long		 port;
	size_t		 hlen;
	int		 r;

	if (strncmp(spec, "unix:", 5) == 0) {
		is_unix = 1;
		unix_path = spec + 5;
		unlink(unix_path);
		if ((r = uv_pipe_init(loop, &listener.pipe, 0)) != 0)
			return r;
		if ((r = uv_pipe_bind(&listener.pipe, unix_path)) != 0)
			return r;
		return uv_listen(&listener.stream, BACKLOG, on_connection);
	}
	if ((colon = strrchr(spec, ':')) == NULL)
		return UV_EINVAL;
	hlen = colon - spec;
	if (spec[0] == '[') {
		if (hlen < 2 || spec[hlen - 1] != ']')
			return UV_EINVAL;
		spec++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return UV_EINVAL;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &ep, 10);
	if (*ep != '\0' || errno != 0 || port < 0 || port > 65535)
		return UV_EINVAL;
	if (strchr(host, ':') != NULL)
		r = uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&ss);
	else
		r = uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&ss);
	if (r != 0)
		return r;
	if ((r = uv_tcp_init(loop, &listener.tcp)) != 0)
		return r;
	if ((r = uv_tcp_bind(&listener.tcp, (struct sockaddr *)&ss, 0)) != 0)
		return r;
	return uv_listen(&listener.stream, BACKLOG, on_connection);
}

int
main(int argc, char *argv[])
{
	int	 ch, r;

	while ((ch = getopt(argc, argv, "q")) != -1) {
		switch (ch) {
		case 'q':
			quiet = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	loop = uv_default_loop();
	if ((r = listen_on(argv[0])) != 0) {
		fprintf(stderr, "dunno_server: %s: %s\n", argv[0], uv_strerror(r));
		return 1;
	}
	uv_signal_init(loop, &sigint_h);
	uv_signal_start(&sigint_h, on_signal, SIGINT);
	uv_signal_init(loop, &sigterm_h);
	uv_signal_start(&sigterm_h, on_signal, SIGTERM);
	if (!quiet)
		fprintf(stderr, "dunno_server: listening on %s\n", argv[0]);

	uv_run(loop, UV_RUN_DEFAULT);

	if (is_unix)
		unlink(unix_path);
	if (!quiet)
		fprintf(stderr, "dunno_server: %llu requests, %llu connections, "
		    "%llu bad\n", (unsigned long long)n_requests,
		    (unsigned long long)n_connections,
		    (unsigned long long)n_bad);
	return 0;
}
