/*
 * wire.c — the front/desk protocol and its channel; see wire.h.
 */
#include "portal/wire.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORTAL_WIRE_QUEUE_MAX (64u << 20)
#define PORTAL_WIRE_MSG_MAX sizeof(struct portal_answer)

static bool
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int
portal_wire_query_check(const void *msg, size_t len, char *why, size_t whylen)
{
	struct portal_query q;
	struct addr a;

	if (len != sizeof(q)) {
		snprintf(why, whylen, "a query of %zu bytes", len);
		return -EINVAL;
	}
	memcpy(&q, msg, sizeof(q));
	if (q.magic != PORTAL_WIRE_MAGIC || q.type != PORTAL_WIRE_QUERY) {
		snprintf(why, whylen, "not a query");
		return -EINVAL;
	}
	if (q.method < PORTAL_METHOD_GET || q.method > PORTAL_METHOD_OTHER || q.release > 1 || q.has_token > 1) {
		snprintf(why, whylen, "a method or flag out of range");
		return -EINVAL;
	}
	if (!terminated(q.address, sizeof(q.address)) || addr_parse(q.address, strlen(q.address), &a) != 0) {
		snprintf(why, whylen, "a visitor address that is not one");
		return -EINVAL;
	}
	if (!terminated(q.token, sizeof(q.token))) {
		snprintf(why, whylen, "a token not terminated");
		return -EINVAL;
	}
	return 0;
}

int
portal_wire_answer_check(const void *msg, size_t len, char *why, size_t whylen)
{
	const struct portal_answer *a = msg;

	if (len < PORTAL_ANSWER_LEN(0) || a->magic != PORTAL_WIRE_MAGIC || a->type != PORTAL_WIRE_ANSWER ||
	    a->evidence_count > PORTAL_EVIDENCE_MAX || len != PORTAL_ANSWER_LEN(a->evidence_count)) {
		snprintf(why, whylen, "not an answer");
		return -EINVAL;
	}
	if (a->page >= PAGE_COUNT || a->code < 100 || a->code > 599 ||
	    !terminated(a->address, sizeof(a->address)) || !terminated(a->subject, sizeof(a->subject)) ||
	    !terminated(a->token, sizeof(a->token)) || !terminated(a->case_id, sizeof(a->case_id)) ||
	    !terminated(a->error, sizeof(a->error))) {
		snprintf(why, whylen, "a field out of range or not terminated");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < a->evidence_count; i++)
		if (!terminated(a->ev[i].kind, sizeof(a->ev[i].kind)) ||
		    !terminated(a->ev[i].summary, sizeof(a->ev[i].summary)) ||
		    !terminated(a->ev[i].advice, sizeof(a->ev[i].advice))) {
			snprintf(why, whylen, "evidence %u not terminated", i);
			return -EINVAL;
		}
	return 0;
}

void
portal_wire_page_info(const struct portal_answer *a, struct page_info *in, struct page_evidence *ev)
{
	memset(in, 0, sizeof(*in));
	in->now = a->now;
	in->address = a->address;
	in->subject = a->subject;
	in->level = a->level;
	in->since = a->since;
	for (uint32_t i = 0; i < a->evidence_count; i++)
		ev[i] = (struct page_evidence){ .kind = a->ev[i].kind, .summary = a->ev[i].summary,
		    .advice = a->ev[i].advice[0] != '\0' ? a->ev[i].advice : NULL, .count = a->ev[i].count, .first_seen = a->ev[i].first_seen, .last_seen = a->ev[i].last_seen };
	in->evidence = ev;
	in->evidence_count = a->evidence_count;
	in->token = a->has_token ? a->token : NULL;
	in->token_expires = a->token_expires;
	in->releases_used = a->releases_used;
	in->release_limit = a->release_limit;
	in->release_window = a->release_window;
	in->grace = a->grace;
	in->case_id = a->has_case ? a->case_id : NULL;
	in->by_operator = a->by_operator;
	in->release_later = a->release_later;
	in->release_at = a->release_at;
	in->min_quarantine = a->min_quarantine;
	in->error = a->has_error ? a->error : NULL;
}

struct portal_wire_out {
	struct portal_wire_out *next;
	size_t len;
	unsigned char data[];
};

static void chan_poll_cb(uv_poll_t *h, int status, int events);

static void
chan_closed(uv_handle_t *h)
{
	struct portal_chan *c = h->data;

	c->closing = false;
	if (c->on_closed != NULL)
		c->on_closed(c->arg);
}

static void
chan_watch(struct portal_chan *c)
{
	uv_poll_start(&c->poll, UV_READABLE | (c->head != NULL ? UV_WRITABLE : 0), chan_poll_cb);
}

/* Sends what waits; 0, or -errno when the peer is gone. */
static int
chan_flush(struct portal_chan *c)
{
	while (c->head != NULL) {
		struct portal_wire_out *o = c->head;
		ssize_t w = send(c->fd, o->data, o->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		c->head = o->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->queued -= o->len;
		free(o);
	}
	return 0;
}

static void
chan_gone(struct portal_chan *c)
{
	void (*cb)(void *, const void *, size_t) = c->on_message;

	portal_chan_close(c);
	cb(c->arg, NULL, 0);
}

static void
chan_poll_cb(uv_poll_t *h, int status, int events)
{
	struct portal_chan *c = h->data;
	_Alignas(16) unsigned char buf[PORTAL_WIRE_MSG_MAX + 1];

	if (status < 0) {
		chan_gone(c);
		return;
	}
	if ((events & UV_WRITABLE) && chan_flush(c) != 0) {
		chan_gone(c);
		return;
	}
	if (events & UV_READABLE)
		for (int i = 0; i < 64 && c->open; i++) {
			/* one message per packet; a longer one than any message is cut and refused */
			ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				chan_gone(c);
				return;
			}
			if (r == 0) {
				chan_gone(c);
				return;
			}
			c->on_message(c->arg, buf, (size_t)r);
		}
	if (c->open)
		chan_watch(c);
}

int
portal_chan_open(struct portal_chan *c, uv_loop_t *loop, int fd,
                 void (*on_message)(void *arg, const void *msg, size_t len), void *arg)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->on_message = on_message;
	c->arg = arg;
	if ((rc = uv_poll_init(loop, &c->poll, fd)) != 0)
		return rc;
	c->poll.data = c;
	c->open = true;
	c->closing = false;
	chan_watch(c);
	return 0;
}

int
portal_chan_send(struct portal_chan *c, const void *msg, size_t len)
{
	struct portal_wire_out *o;

	if (!c->open)
		return -EPIPE;
	if (c->head == NULL) {
		for (;;) {
			ssize_t w = send(c->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w >= 0)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			break;
		}
	}
	if (c->queued + len > PORTAL_WIRE_QUEUE_MAX)
		return -ENOBUFS;
	if ((o = malloc(sizeof(*o) + len)) == NULL)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	memcpy(o->data, msg, len);
	if (c->tail != NULL)
		c->tail->next = o;
	else
		c->head = o;
	c->tail = o;
	c->queued += len;
	chan_watch(c);
	return 0;
}

void
portal_chan_close(struct portal_chan *c)
{
	if (!c->open)
		return;
	c->open = false;
	c->closing = true;
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, chan_closed);
	close(c->fd);
	while (c->head != NULL) {
		struct portal_wire_out *o = c->head;
		c->head = o->next;
		free(o);
	}
	c->tail = NULL;
	c->queued = 0;
}
