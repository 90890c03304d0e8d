/*
 * flow_collector.h — lazaretd's flow collector: the [flows] listeners (UDP, read in
 * batches by common/udprecv), the decoders for NetFlow v5/v9, IPFIX and sFlow v5
 * (sense/flow.h), and what an operator reads of them: per listener what came and what
 * the kernel dropped, per exporter what was decoded, lost and refused.
 *
 * Sockets are bound by flow_collector_bind while lazaretd may still force a large
 * receive buffer, then read on the loop after flow_collector_start. Each decoded record
 * goes to the function given to flow_collector_new. The decoders' templates are saved
 * and restored by the caller (flow_collector_save/_restore) so that a restart does not
 * drop v9/IPFIX records while the exporters send their templates again.
 */
#ifndef LAZARET_SENSE_FLOW_COLLECTOR_H
#define LAZARET_SENSE_FLOW_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/udprecv.h"
#include "sense/flow.h"

/* One decoded record, with the time its datagram was read (one clock read a datagram, not
 * one a record: 30 records a datagram at millions a second). */
typedef void (*flow_record_fn)(void *arg, const struct flow_record *r, usec_t now);

struct flow_collector;

/* A collector for cfg's [flows] (its decoder's caps and exporters' sampling); no socket
 * yet. NULL with err on ENOMEM. */
struct flow_collector *flow_collector_new(const struct config *cfg, flow_record_fn fn, void *arg, char *err,
    size_t errlen);

/* Binds every [flows] listen address (UDP). 0, or -1 with err naming the address. */
int flow_collector_bind(struct flow_collector *c, char *err, size_t errlen);

/* Reads the bound sockets on loop from now on. 0, or -1 with err. */
int flow_collector_start(struct flow_collector *c, uv_loop_t *loop, char *err, size_t errlen);

/* A reload: the exporters' configured sampling (the listeners and caps stay). */
void flow_collector_configure(struct flow_collector *c, const struct config *cfg);

/* Every second or so: each exporter's records per second, smoothed over about 10 s. */
void flow_collector_tick(struct flow_collector *c, usec_t now);

/* The sockets close on the loop's next turn; the decoder stays until _free. */
void flow_collector_stop(struct flow_collector *c);
void flow_collector_free(struct flow_collector *c);

/* The decoders' templates and announced sampling rates (flow_decoder_save/_restore). */
int flow_collector_save(const struct flow_collector *c, uint8_t **out, size_t *len);
int flow_collector_restore(struct flow_collector *c, const uint8_t *buf, size_t len);

/* One listener: its address and what its socket saw; false past the last. */
bool flow_collector_listener(const struct flow_collector *c, size_t i, struct listen_addr *la,
    struct udprecv_stats *st);

/* Calls fn for each exporter with its counts and its records per second now. */
void flow_collector_foreach_exporter(const struct flow_collector *c,
    void (*fn)(void *arg, const struct flow_exporter_stats *s, double records_per_s), void *arg);

/* Datagrams refused because [flows] max_exporters was reached. */
uint64_t flow_collector_exporters_refused(const struct flow_collector *c);

#endif
