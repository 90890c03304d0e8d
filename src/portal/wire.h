/*
 * wire.h — the narrow protocol between the portal's front (the process that every
 * quarantined PC reaches: HTTP, forms, page rendering; no store, no judge, no secret)
 * and its desk in the main process (who is quarantined, what the page says, tokens,
 * releases).
 *
 * The front asks one question per HTTP request — "what does this address see, for
 * this method and path, with this token if any" — and the desk answers with the page
 * to render and its facts. Messages are fixed-size structs on a SOCK_SEQPACKET
 * socketpair (one message per packet, both ends the same binary). The desk checks
 * every query (the front parses the network and may be taken over); the front checks
 * every answer before it renders it. Sends that find the socket full wait in a queue,
 * flushed when it drains.
 */
#ifndef LAZARET_PORTAL_WIRE_H
#define LAZARET_PORTAL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/httpd.h"
#include "portal/page.h"
#include "portal/token.h"
#include "store/store.h"

#define PORTAL_WIRE_MAGIC 0x4c5a5750u     /* "LZWP" */
#define PORTAL_EVIDENCE_MAX 32
#define PORTAL_ERROR_MAX 400

enum portal_wire_type { PORTAL_WIRE_QUERY = 1, PORTAL_WIRE_ANSWER, PORTAL_WIRE_STATS, PORTAL_WIRE_FLUSH };
enum portal_method { PORTAL_METHOD_GET = 1, PORTAL_METHOD_POST, PORTAL_METHOD_OTHER };

/* front → desk: one HTTP request to decide */
struct portal_query {
	uint32_t magic, type;
	uint64_t id;
	uint8_t method;                     /* enum portal_method (GET covers HEAD) */
	uint8_t release;                    /* the path is the release form's */
	uint8_t has_token;                  /* a form with a token field came */
	char address[ADDR_TEXT_MAX];        /* the visitor, as the front's socket saw it */
	char token[TOKEN_TEXT_MAX];
};

#define PORTAL_ADVICE_MAX 512

struct portal_wire_evidence {
	char kind[STORE_KIND_MAX];
	char summary[STORE_SUMMARY_MAX];
	char advice[PORTAL_ADVICE_MAX];
	uint64_t count;
	usec_t first_seen, last_seen;
};

/* desk → front: the page for one query, every fact of struct page_info that changes
 * from visitor to visitor, by value */
struct portal_answer {
	uint32_t magic, type;
	uint64_t id;
	uint16_t code;                      /* HTTP status */
	uint8_t page;                       /* enum page_kind */
	uint8_t by_operator, release_later, has_token, has_case, has_error;
	int32_t level;
	usec_t now, since, token_expires, release_at, release_window, grace, min_quarantine;
	uint32_t releases_used, release_limit, evidence_count;
	char address[ADDR_TEXT_MAX];
	char subject[STORE_SUBJECT_MAX];
	char token[TOKEN_TEXT_MAX];
	char case_id[32];
	char error[PORTAL_ERROR_MAX];
	struct portal_wire_evidence ev[PORTAL_EVIDENCE_MAX];   /* last: only evidence_count of them go */
};

/* The bytes of an answer with n evidence items: what goes over the channel. The front
 * takes the portal's URL and contacts from its own copy of the settings. */
#define PORTAL_ANSWER_LEN(n) (offsetof(struct portal_answer, ev) + (size_t)(n) * sizeof(struct portal_wire_evidence))

/* front → desk, every second while they change: the front's HTTP counters */
struct portal_wire_stats {
	uint32_t magic, type;
	struct httpd_stats http;
};

/* desk → front: a subject's level changed: forget the answers kept for a second */
struct portal_wire_flush {
	uint32_t magic, type;
};

/* portal_wire_query_check — a query as the desk may act on it; 0 or -EINVAL with why. */
int portal_wire_query_check(const void *msg, size_t len, char *why, size_t whylen);

/* portal_wire_answer_check — an answer as the front may render it; 0 or -EINVAL with why. */
int portal_wire_answer_check(const void *msg, size_t len, char *why, size_t whylen);

/* portal_wire_page_info — the page_info an answer describes (pointers into a and ev);
 * the caller sets portal_url and the contacts. */
void portal_wire_page_info(const struct portal_answer *a, struct page_info *in, struct page_evidence *ev);

/* ---- the channel: a SOCK_SEQPACKET end on a libuv loop ---- */

struct portal_wire_out;

struct portal_chan {
	int fd;
	uv_poll_t poll;
	bool open;
	bool closing;                          /* closed, the poll handle not yet released */
	struct portal_wire_out *head, *tail;    /* sends that found the socket full */
	size_t queued;
	/* each message received (len bytes at msg, valid during the call); len 0: the peer is gone */
	void (*on_message)(void *arg, const void *msg, size_t len);
	void (*on_closed)(void *arg);          /* optional: after portal_chan_close, the memory is free */
	void *arg;
};

/* Drive fd (non-blocking SEQPACKET, owned from now on) from loop. 0 or -errno. */
int portal_chan_open(struct portal_chan *c, uv_loop_t *loop, int fd,
                     void (*on_message)(void *arg, const void *msg, size_t len), void *arg);

/* Send one message now, or queue it (at most 64 MiB queued; beyond, -ENOBUFS). 0 or -errno. */
int portal_chan_send(struct portal_chan *c, const void *msg, size_t len);

/* Close the channel (the peer reads the end); queued messages are dropped. */
void portal_chan_close(struct portal_chan *c);

#endif
