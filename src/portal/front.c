/*
 * front.c — the portal's front: the HTTP server every quarantined PC reaches. It
 * parses requests and forms and renders pages, and knows nothing else: each request
 * becomes one query to the desk (wire.h) and waits, suspended, for its answer. In
 * lazaretd it runs in a process of its own with no store, no judge, no secret and a
 * seccomp filter that allows no open(); in tests and benchmarks on the caller's loop.
 */
#include "portal/front.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"
#include "common/log.h"
#include "portal/form.h"
#include "portal/page.h"
#include "portal/wire.h"

#define FRONT_BODY_MAX      4096
#define FRONT_RELEASE_PATH  "/release"
#define FRONT_STATS_MS      1000
#define FRONT_CACHE_SLOTS   256

/* Belt and braces: even a template that slipped a script past html_check runs nothing. */
#define FRONT_CSP "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; " \
	"base-uri 'none'; frame-ancestors 'none'"

struct front_request {
	struct portal_front *f;
	struct MHD_Connection *conn;
	struct front_request *prev, *next;   /* waiting for the desk, by id */
	uint64_t id;
	char *body;
	size_t body_len;
	bool too_large;
	bool suspended;
	bool asked;                          /* the query went: the next call is the answer's */
	bool cacheable;                      /* a GET of any page but the release form's */
	char address[ADDR_TEXT_MAX];
	struct portal_answer *answer;        /* the desk's, once here */
	size_t answer_len;
};

/*
 * The desk's last answer to a GET from an address, kept for at most a second: a
 * quarantined PC's browser and operating system ask for pages many times a minute
 * (captive-portal probes, retries, every tab), and each question is a round trip to
 * the main process. The desk tells the front to forget them all whenever a subject's
 * level changes (PORTAL_WIRE_FLUSH), a POST from the address forgets its own, and a
 * reload starts a new front: what may be a second old is only the page's clock.
 */
struct front_cached {
	char address[ADDR_TEXT_MAX];
	usec_t until;                        /* monotonic */
	struct portal_answer *answer;
	size_t len;
};

struct portal_front {
	uv_loop_t *loop;
	const struct pages *pages;
	struct portal_settings set;          /* the URL and contacts every page shows */
	struct portal_chan chan;
	struct httpd http;
	struct httpd_stats stats;
	struct httpd_stats stats_sent;
	uv_timer_t stats_timer;
	struct front_request *waiting;
	struct front_cached cache[FRONT_CACHE_SLOTS];
	uint64_t next_id;
	bool stopping;
	bool http_open, chan_open, timer_open;
	void (*gone)(void *arg);             /* the desk closed the channel */
	void *gone_arg;
	struct log_limit log;
};

static enum MHD_Result
front_send(struct front_request *r, unsigned code, struct tbuf *b)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if (b->failed || b->data == NULL) {
		tbuf_free(b);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		tbuf_free(b);
		return MHD_NO;
	}
	memset(b, 0, sizeof(*b));    /* the response owns the data now */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", FRONT_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
	rc = MHD_queue_response(r->conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* The answer's page, rendered; a code of 0 or a failed rendering closes the connection. */
static enum MHD_Result
front_answer(struct front_request *r)
{
	struct page_evidence ev[PORTAL_EVIDENCE_MAX];
	struct page_info in;
	struct tbuf b = { 0 };
	const struct portal_answer *a = r->answer;

	if (a->code == 0)
		return MHD_NO;
	portal_wire_page_info(a, &in, ev);
	in.portal_url = r->f->set.url;
	in.support_contact = r->f->set.support_contact;
	in.abuse_contact = r->f->set.abuse_contact;
	if (page_render(r->f->pages, (enum page_kind)a->page, &in, &b) != 0) {
		tbuf_free(&b);
		return MHD_NO;
	}
	return front_send(r, a->code, &b);
}

/* The visitor's address as text, IPv4-mapped IPv6 as plain IPv4. 0 or -1. */
static int
front_visitor(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct addr a = { 0 };

	if (ci == NULL || ci->client_addr == NULL)
		return -1;
	if (addr_from_sockaddr(ci->client_addr, &a) != 0)
		return -1;
	addr_format(&a, out, size);
	return out[0] != '\0' ? 0 : -1;
}

static void
front_unwait(struct portal_front *f, struct front_request *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else if (f->waiting == r)
		f->waiting = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static struct front_cached *
front_cache_slot(struct portal_front *f, const char *address)
{
	return &f->cache[hash_bytes(address, strlen(address)) % FRONT_CACHE_SLOTS];
}

/* r's answer from the cache, if a fresh one is there. */
static bool
front_cache_get(struct portal_front *f, struct front_request *r)
{
	struct front_cached *c = front_cache_slot(f, r->address);

	if (c->answer == NULL || c->until <= time_mono() || strcmp(c->address, r->address) != 0)
		return false;
	if ((r->answer = calloc(1, sizeof(*r->answer))) == NULL)
		return false;
	memcpy(r->answer, c->answer, c->len);
	r->answer_len = c->len;
	return true;
}

static void
front_cache_drop(struct front_cached *c)
{
	free(c->answer);
	c->answer = NULL;
}

static void
front_cache_put(struct portal_front *f, const struct front_request *r)
{
	struct front_cached *c = front_cache_slot(f, r->address);
	struct portal_answer *copy;

	/* pages, not the closing of a connection */
	if (f->set.answer_cache == 0 || r->answer->code == 0 || (copy = malloc(r->answer_len)) == NULL)
		return;
	memcpy(copy, r->answer, r->answer_len);
	free(c->answer);
	snprintf(c->address, sizeof(c->address), "%s", r->address);
	c->answer = copy;
	c->len = r->answer_len;
	c->until = time_mono() + f->set.answer_cache;
}

/* Asks the desk about r and suspends it until the answer comes (or answers it from the cache). */
static enum MHD_Result
front_ask(struct portal_front *f, struct front_request *r, const char *url, const char *method)
{
	struct portal_query q;

	memset(&q, 0, sizeof(q));
	q.magic = PORTAL_WIRE_MAGIC;
	q.type = PORTAL_WIRE_QUERY;
	q.id = r->id = ++f->next_id;
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		q.method = PORTAL_METHOD_GET;
	else if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
		q.method = PORTAL_METHOD_POST;
	else
		q.method = PORTAL_METHOD_OTHER;
	q.release = strcmp(url, FRONT_RELEASE_PATH) == 0;
	if (front_visitor(r->conn, q.address, sizeof(q.address)) != 0)
		return MHD_NO;
	snprintf(r->address, sizeof(r->address), "%s", q.address);
	r->cacheable = q.method == PORTAL_METHOD_GET && !q.release;
	if (!r->cacheable) {
		/* a release may follow: no page from before it */
		struct front_cached *c = front_cache_slot(f, r->address);
		if (strcmp(c->address, r->address) == 0)
			front_cache_drop(c);
	} else if (front_cache_get(f, r)) {
		r->asked = true;
		return front_answer(r);
	}
	if (q.release && !r->too_large && r->body != NULL &&
	    form_field(r->body, r->body_len, "token", q.token, sizeof(q.token)))
		q.has_token = 1;
	if (portal_chan_send(&f->chan, &q, sizeof(q)) != 0) {
		log_limited(&f->log, LOG_LEVEL_WARN, "portal: cannot ask the main process; connection closed");
		return MHD_NO;
	}
	r->asked = true;
	r->next = f->waiting;
	if (r->next != NULL)
		r->next->prev = r;
	f->waiting = r;
	r->suspended = true;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}

static enum MHD_Result
front_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct portal_front *f = cls;
	struct front_request *r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->f = f;
		r->conn = conn;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* only the release form has a body worth keeping; the rest is read and dropped */
		if (strcmp(url, FRONT_RELEASE_PATH) == 0 &&
		    httpd_body_append(&r->body, &r->body_len, upload, *upload_size, FRONT_BODY_MAX, &r->too_large) != 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->asked)                   /* resumed: the desk answered (or we stop) */
		return r->answer != NULL ? front_answer(r) : MHD_NO;
	httpd_request_received(&f->http, conn);
	return front_ask(f, r, url, method);
}

static void
front_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct portal_front *f = cls;
	struct front_request *r = *con_cls;

	(void)toe;
	httpd_request_done(&f->http, conn);
	if (r == NULL)
		return;
	front_unwait(f, r);
	free(r->body);
	free(r->answer);
	free(r);
	*con_cls = NULL;
}

static void front_maybe_done(struct portal_front *f);

/* An answer from the desk: resume its request (gone already: dropped). */
static void
front_on_message(void *arg, const void *msg, size_t len)
{
	struct portal_front *f = arg;
	char why[128];

	if (len == 0) {                 /* the desk is gone: so are we */
		f->chan_open = false;
		if (!f->stopping && f->gone != NULL)
			f->gone(f->gone_arg);
		return;
	}
	if (len == sizeof(struct portal_wire_flush) &&
	    ((const struct portal_wire_flush *)msg)->magic == PORTAL_WIRE_MAGIC &&
	    ((const struct portal_wire_flush *)msg)->type == PORTAL_WIRE_FLUSH) {
		for (size_t i = 0; i < FRONT_CACHE_SLOTS; i++)
			front_cache_drop(&f->cache[i]);
		return;
	}
	if (portal_wire_answer_check(msg, len, why, sizeof(why)) != 0) {
		log_limited(&f->log, LOG_LEVEL_WARN, "portal: refused a message from the main process: %s", why);
		return;
	}
	const struct portal_answer *a = msg;
	for (struct front_request *r = f->waiting; r != NULL; r = r->next)
		if (r->id == a->id) {
			front_unwait(f, r);
			/* without memory for it, the resumed request closes its connection */
			if ((r->answer = calloc(1, sizeof(*a))) != NULL) {
				memcpy(r->answer, a, len);
				r->answer_len = len;
				if (r->cacheable)
					front_cache_put(f, r);
			}
			if (r->suspended) {
				r->suspended = false;
				MHD_resume_connection(r->conn);
				httpd_kick(&f->http);
			}
			break;
		}
}

static void
front_send_stats(uv_timer_t *t)
{
	struct portal_front *f = t->data;

	if (memcmp(&f->stats, &f->stats_sent, sizeof(f->stats)) == 0 || !f->chan.open)
		return;
	struct portal_wire_stats m = { .magic = PORTAL_WIRE_MAGIC, .type = PORTAL_WIRE_STATS, .http = f->stats };
	if (portal_chan_send(&f->chan, &m, sizeof(m)) == 0)
		f->stats_sent = f->stats;
}

struct portal_front *
portal_front_start(uv_loop_t *loop, int listen_fd, int chan_fd, const struct portal_settings *ps,
                   const struct pages *pages, void (*gone)(void *arg), void *arg, char *err, size_t errlen)
{
	struct portal_front *f = calloc(1, sizeof(*f));
	struct MHD_Daemon *mhd;
	char why[128];

	if (f == NULL) {
		snprintf(err, errlen, "portal: out of memory");
		return NULL;
	}
	f->loop = loop;
	f->pages = pages;
	f->set = *ps;
	f->gone = gone;
	f->gone_arg = arg;
	f->log = (struct log_limit)LOG_LIMIT_INIT(20, 10 * USEC_PER_SEC);
	if (portal_chan_open(&f->chan, loop, chan_fd, front_on_message, f) != 0) {
		snprintf(err, errlen, "portal: cannot watch the channel to the main process");
		free(f);
		return NULL;
	}
	f->chan_open = true;
	httpd_init(&f->http, "portal", ps->request_timeout, &f->stats);
	mhd = MHD_start_daemon(HTTPD_FLAGS, 0, NULL, NULL, front_handler, f,
	    HTTPD_OPTIONS(&f->http),
	    MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, ps->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, ps->per_ip_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, ps->timeout_seconds,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, ps->memory_per_connection,
	    MHD_OPTION_NOTIFY_COMPLETED, front_completed, f,
	    MHD_OPTION_END);
	if (mhd == NULL || httpd_attach(&f->http, loop, mhd, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "portal: %s", mhd == NULL ? "cannot start the HTTP server" : why);
		portal_chan_close(&f->chan);
		/* the channel's handle closes with the loop's next turn; f stays for it */
		return NULL;
	}
	f->http_open = true;
	uv_timer_init(loop, &f->stats_timer);
	f->stats_timer.data = f;
	f->timer_open = true;
	uv_timer_start(&f->stats_timer, front_send_stats, FRONT_STATS_MS, FRONT_STATS_MS);
	return f;
}

static void
front_maybe_done(struct portal_front *f)
{
	if (f->stopping && !f->http_open && !f->chan.closing && !f->timer_open) {
		for (size_t i = 0; i < FRONT_CACHE_SLOTS; i++)
			front_cache_drop(&f->cache[i]);
		free(f);
	}
}

static void
front_http_closed(void *arg)
{
	struct portal_front *f = arg;

	f->http_open = false;
	front_maybe_done(f);
}

static void
front_chan_closed(void *arg)
{
	front_maybe_done(arg);
}

static void
front_timer_closed(uv_handle_t *h)
{
	struct portal_front *f = h->data;

	f->timer_open = false;
	front_maybe_done(f);
}

void
portal_front_stop(struct portal_front *f)
{
	if (f == NULL || f->stopping)
		return;
	f->stopping = true;
	/* MHD may not stop with suspended connections: wake them to be closed */
	while (f->waiting != NULL) {
		struct front_request *r = f->waiting;
		front_unwait(f, r);
		if (r->suspended) {
			r->suspended = false;
			MHD_resume_connection(r->conn);
		}
	}
	f->chan.on_closed = front_chan_closed;
	portal_chan_close(&f->chan);
	uv_timer_stop(&f->stats_timer);
	uv_close((uv_handle_t *)&f->stats_timer, front_timer_closed);
	httpd_close(&f->http, front_http_closed, f);
}
