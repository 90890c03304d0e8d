/*
 * udprecv.h — a UDP receiver on the libuv loop for the sensors that listen for datagrams
 * (flow exporters, RADIUS accounting): batched reads with recvmmsg, a socket buffer as
 * large as the kernel allows, and the datagrams the kernel dropped for want of room
 * counted (SO_RXQ_OVFL), since a collector that cannot say what it lost misleads.
 *
 * The socket is made with udprecv_open before lazaretd gives up its privileges (a
 * buffer beyond net.core.rmem_max needs CAP_NET_ADMIN: SO_RCVBUFFORCE), then read on the
 * loop by udprecv_start. Each datagram goes to the caller's function with its sender and
 * the time it was read; it is the caller's to parse, and is not kept after the call.
 * One turn of the loop reads at most UDPRECV_BUDGET datagrams, so a flood cannot starve
 * the policy service: the rest wait in the kernel's buffer (and overflow it, counted).
 */
#ifndef LAZARET_COMMON_UDPRECV_H
#define LAZARET_COMMON_UDPRECV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/addr.h"
#include "common/timeutil.h"

#define UDPRECV_BATCH    64          /* datagrams one recvmmsg asks for */
#define UDPRECV_BUDGET   1024        /* datagrams read in one turn of the loop at most */
#define UDPRECV_MAX_SIZE 9216        /* the largest datagram read whole (a jumbo frame) */

struct udprecv_stats {
	uint64_t datagrams;              /* read and handed on */
	uint64_t bytes;
	uint64_t truncated;              /* longer than UDPRECV_MAX_SIZE: dropped, counted */
	uint64_t kernel_drops;           /* dropped by the kernel, its buffer full (SO_RXQ_OVFL) */
	uint64_t errors;                 /* failed reads other than "nothing to read" */
	uint64_t send_errors;            /* answers the socket refused (udprecv_send) */
	uint64_t segmented;              /* answers sent in runs of one size to one peer (UDP_SEGMENT) */
	int rcvbuf;                      /* the receive buffer the kernel granted for data, bytes */
};

/* Who sent a datagram: its address, and the socket address to answer it at. */
struct udprecv_peer {
	struct addr addr;                /* an IPv4-mapped IPv6 sender as IPv4 */
	uint16_t port;
	struct sockaddr_storage sa;
	socklen_t salen;
};

/* One datagram from `from`, read at `now` (wall clock). */
typedef void (*udprecv_fn)(void *arg, const struct udprecv_peer *from, const uint8_t *buf, size_t len, usec_t now);

/*
 * udprecv_open — a non-blocking UDP socket bound to la (an IPv6 "::" takes IPv4 too),
 * with a receive buffer of rcvbuf bytes (forced past rmem_max when privileged, else what
 * rmem_max allows) and the kernel's drop counter on. The descriptor, or -1 with err set.
 */
int udprecv_open(const struct listen_addr *la, int rcvbuf, char *err, size_t errlen);

struct udprecv;

/* udprecv_start — reads fd (from udprecv_open) on loop; fd is then the receiver's, closed
 * by udprecv_stop. NULL with err (fd still the caller's). */
struct udprecv *udprecv_start(uv_loop_t *loop, int fd, udprecv_fn fn, void *arg, char *err, size_t errlen);

/*
 * udprecv_set_batch — fn(arg, bufs, lens, n) is called with each batch's datagrams before
 * any of them goes to the receiver's function, for a receiver that looks ahead (the RADIUS
 * accounting asks the CPU for the identity table's entries of a whole batch at once). It
 * must not keep the buffers or change anything a datagram's handling depends on.
 */
typedef void (*udprecv_batch_fn)(void *arg, const uint8_t *const *bufs, const size_t *lens, unsigned n);
void udprecv_set_batch(struct udprecv *u, udprecv_batch_fn fn, void *arg);

/* udprecv_read — reads what waits now, at most budget datagrams; how many it read. The
 * loop calls it; tests and benchmarks may too. */
size_t udprecv_read(struct udprecv *u, size_t budget);

/* udprecv_send — a datagram back to to (a RADIUS answer) from the receiver's socket, at
 * once and without waiting: 0, or -errno (a full socket buffer: -EAGAIN, counted). */
int udprecv_send(struct udprecv *u, const struct udprecv_peer *to, const void *buf, size_t len);

#define UDPRECV_REPLY_MAX 64         /* bytes of a reply udprecv_reply queues */
#define UDPRECV_GSO_MAX   64         /* replies in one segmented message at most (the kernel's UDP_MAX_SEGMENTS) */

/*
 * udprecv_reply — udprecv_send for the answer to a datagram, from inside the fn called for
 * it: buf (up to UDPRECV_REPLY_MAX bytes) is copied and sent with the batch's other replies
 * in one sendmmsg once every datagram of the batch has been handed on (a RADIUS server
 * answering a burst makes one system call, not one per answer); consecutive replies of one
 * size to one peer go as one segmented message (UDP_SEGMENT), still a datagram each. A longer reply, or one
 * outside a batch, goes at once. 0 when queued or sent; a reply the kernel refuses at the
 * flush is counted in send_errors.
 */
int udprecv_reply(struct udprecv *u, const struct udprecv_peer *to, const void *buf, size_t len);

/* udprecv_stop — the handle closes on the loop's next turn and frees the receiver. */
void udprecv_stop(struct udprecv *u);

const struct udprecv_stats *udprecv_stats(const struct udprecv *u);

#endif
