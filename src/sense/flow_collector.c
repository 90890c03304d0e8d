/*
 * flow_collector.c — see flow_collector.h.
 */
#include "sense/flow_collector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* an exporter's records per second, by the order the decoder first saw it */
struct exporter_rate {
	uint64_t records;                /* at the last tick */
	double per_s;
};

struct flow_collector {
	struct flow_decoder *dec;
	flow_record_fn fn;
	void *arg;
	struct listen_addr listen[CONFIG_MAX_FLOW_LISTEN];
	int fds[CONFIG_MAX_FLOW_LISTEN];
	struct udprecv *recv[CONFIG_MAX_FLOW_LISTEN];
	size_t listen_count;
	int rcvbuf;                            /* [flows] receive_buffer */
	struct flow_sampling_conf *sampling;   /* what is set in the decoder now */
	size_t sampling_count;
	struct exporter_rate *rates;
	size_t rate_count, rate_cap;
	usec_t last_tick, tick_now;
	size_t tick_seen;                      /* exporters known at the last tick */
	struct log_limit refused_log;          /* datagrams refused: exporters choose how many */
	usec_t now;                            /* the datagram being decoded was read then */
};

static void
collector_record(void *arg, const struct flow_record *r)
{
	struct flow_collector *c = arg;

	c->fn(c->arg, r, c->now);
}

static void
collector_datagram(void *arg, const struct udprecv_peer *peer, const uint8_t *buf, size_t len, usec_t now)
{
	struct flow_collector *c = arg;
	const struct addr *from = &peer->addr;

	c->now = now;
	int rc = flow_decode(c->dec, from, buf, len, now, collector_record, c);

	if (rc < 0) {
		char who[ADDR_TEXT_MAX];
		log_limited(&c->refused_log, LOG_LEVEL_WARN, "flows: datagram from %s refused reason=%s (%zu bytes; "
		    "counted per exporter)", addr_format(from, who, sizeof(who)), flow_error_name(rc), len);
	}
}

/* The decoder's configured sampling becomes cfg's: prefixes gone are removed first. */
static int
collector_sampling(struct flow_collector *c, const struct config *cfg)
{
	const struct config_flows *f = &cfg->flows;
	struct flow_sampling_conf *copy = NULL;

	if (f->sampling_count > 0 && (copy = malloc(f->sampling_count * sizeof(*copy))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->sampling_count; i++)
		(void)flow_decoder_set_sampling(c->dec, &c->sampling[i].net, 0);
	for (size_t i = 0; i < f->sampling_count; i++) {
		int rc = flow_decoder_set_sampling(c->dec, &f->sampling[i].net, f->sampling[i].rate);
		if (rc != 0) {
			char net[ADDR_TEXT_MAX];
			log_warnx("flows: sampling %s %u not applied: %s", cidr_format(&f->sampling[i].net, net,
			    sizeof(net)), f->sampling[i].rate, strerror(-rc));
		}
		copy[i] = f->sampling[i];
	}
	free(c->sampling);
	c->sampling = copy;
	c->sampling_count = f->sampling_count;
	return 0;
}

struct flow_collector *
flow_collector_new(const struct config *cfg, flow_record_fn fn, void *arg, char *err, size_t errlen)
{
	struct flow_collector *c = calloc(1, sizeof(*c));
	struct flow_decoder_limits limits = { .max_exporters = cfg->flows.max_exporters,
	    .max_templates = cfg->flows.max_templates };

	if (c == NULL || (c->dec = flow_decoder_new(&limits)) == NULL || collector_sampling(c, cfg) != 0) {
		snprintf(err, errlen, "flows: out of memory");
		flow_collector_free(c);
		return NULL;
	}
	c->fn = fn;
	c->arg = arg;
	c->refused_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	c->rcvbuf = (int)cfg->flows.receive_buffer;
	c->listen_count = cfg->flows.listen_count;
	for (size_t i = 0; i < c->listen_count; i++) {
		c->listen[i] = cfg->flows.listen[i];
		c->fds[i] = -1;
	}
	return c;
}

int
flow_collector_bind(struct flow_collector *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->listen_count; i++)
		if (c->fds[i] < 0 && (c->fds[i] = udprecv_open(&c->listen[i], c->rcvbuf, err, errlen)) < 0)
			return -1;
	return 0;
}

int
flow_collector_start(struct flow_collector *c, uv_loop_t *loop, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->listen_count; i++) {
		char name[128];
		if (c->fds[i] < 0) {
			snprintf(err, errlen, "flows: listen %s is not bound", listen_addr_format(&c->listen[i], name,
			    sizeof(name)));
			return -1;
		}
		if ((c->recv[i] = udprecv_start(loop, c->fds[i], collector_datagram, c, err, errlen)) == NULL)
			return -1;
		c->fds[i] = -1;                  /* the receiver's now */
		const struct udprecv_stats *st = udprecv_stats(c->recv[i]);
		log_info("flows: listening on %s (UDP), receive buffer %d bytes%s", listen_addr_format(&c->listen[i],
		    name, sizeof(name)), st->rcvbuf, st->rcvbuf < c->rcvbuf ?
		    " (less than receive_buffer: raise net.core.rmem_max or start as root)" : "");
	}
	return 0;
}

void
flow_collector_configure(struct flow_collector *c, const struct config *cfg)
{
	if (collector_sampling(c, cfg) != 0)
		log_warnx("flows: out of memory: the exporters' configured sampling is unchanged");
}

/* The decoder's exporters, one at a time, for the tick. */
static void
tick_exporter(void *arg, const struct flow_exporter_stats *s)
{
	struct flow_collector *c = arg;
	size_t i = c->rate_count;

	if (i == c->rate_cap) {
		size_t cap = c->rate_cap ? c->rate_cap * 2 : 16;
		struct exporter_rate *grown = realloc(c->rates, cap * sizeof(*grown));
		if (grown == NULL)
			return;
		c->rates = grown;
		c->rate_cap = cap;
	}
	c->rate_count++;
	if (i >= c->tick_seen) {             /* new since the last tick: its rate starts now */
		c->rates[i] = (struct exporter_rate){ .records = s->records, .per_s = 0 };
		return;
	}
	double dt = (double)(c->tick_now - c->last_tick) / 1e6;
	double now_rate = dt > 0 ? (double)(s->records - c->rates[i].records) / dt : 0;
	double keep = dt > 0 ? exp(-dt / 10.0) : 1;          /* ~10 s of smoothing */
	c->rates[i].per_s = keep * c->rates[i].per_s + (1 - keep) * now_rate;
	c->rates[i].records = s->records;
}

void
flow_collector_tick(struct flow_collector *c, usec_t now)
{
	c->tick_seen = c->rate_count;
	c->rate_count = 0;
	c->tick_now = now;
	flow_decoder_foreach_exporter(c->dec, tick_exporter, c);
	c->last_tick = now;
}

void
flow_collector_stop(struct flow_collector *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->listen_count; i++) {
		udprecv_stop(c->recv[i]);
		c->recv[i] = NULL;
		if (c->fds[i] >= 0)
			close(c->fds[i]);
		c->fds[i] = -1;
	}
}

void
flow_collector_free(struct flow_collector *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->listen_count; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	flow_decoder_free(c->dec);
	free(c->sampling);
	free(c->rates);
	free(c);
}

int
flow_collector_save(const struct flow_collector *c, uint8_t **out, size_t *len)
{
	return flow_decoder_save(c->dec, out, len);
}

int
flow_collector_restore(struct flow_collector *c, const uint8_t *buf, size_t len)
{
	return flow_decoder_restore(c->dec, buf, len);
}

bool
flow_collector_listener(const struct flow_collector *c, size_t i, struct listen_addr *la, struct udprecv_stats *st)
{
	if (i >= c->listen_count)
		return false;
	*la = c->listen[i];
	if (c->recv[i] != NULL)
		*st = *udprecv_stats(c->recv[i]);
	else
		memset(st, 0, sizeof(*st));
	return true;
}

struct foreach_ctx {
	const struct flow_collector *c;
	size_t i;
	void (*fn)(void *arg, const struct flow_exporter_stats *s, double records_per_s);
	void *arg;
};

static void
foreach_exporter(void *arg, const struct flow_exporter_stats *s)
{
	struct foreach_ctx *x = arg;
	double rate = x->i < x->c->rate_count ? x->c->rates[x->i].per_s : 0;

	x->i++;
	x->fn(x->arg, s, rate);
}

void
flow_collector_foreach_exporter(const struct flow_collector *c,
    void (*fn)(void *arg, const struct flow_exporter_stats *s, double records_per_s), void *arg)
{
	struct foreach_ctx x = { .c = c, .fn = fn, .arg = arg };

	flow_decoder_foreach_exporter(c->dec, foreach_exporter, &x);
}

uint64_t
flow_collector_exporters_refused(const struct flow_collector *c)
{
	return flow_decoder_exporters_refused(c->dec);
}
