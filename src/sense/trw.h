/*
 * trw.h — Threshold Random Walk (Jung, Paxson, Berger, Balakrishnan, "Fast Portscan
 * Detection Using Sequential Hypothesis Testing", IEEE S&P 2004) per source host.
 *
 * Each FIRST contact of a host with a destination address is a trial Y: success (the
 * destination accepted the connection) or failure. H0 is "benign", H1 "scanner":
 * P(success | H0) = theta0, P(success | H1) = theta1. The likelihood ratio
 * L = P(Y | H1) / P(Y | H0) is multiplied by theta1/theta0 on a success and by
 * (1 - theta1)/(1 - theta0) on a failure (with the paper's 0.8 and 0.2: x0.25 and x4).
 * At L >= eta1 = beta/alpha (99) the host is a SCANNER; at L <= eta0 = (1-beta)/(1-alpha)
 * (0.0101) it is BENIGN for now and the walk starts again at L = 1. With the defaults a
 * host whose first contacts all fail is flagged at the 4th (4^4 = 256 >= 99 > 4^3), one
 * whose first contacts all succeed is found benign at the 4th (0.25^4 <= 0.0101 < 0.25^3).
 *
 * The memory of destinations contacted is a common/hll counter per host: exact for the
 * first exact_max distinct destinations, then a sketch of 2^p registers. Past exact_max
 * a destination counts as new only when it grows a register: a destination contacted
 * before never counts again (repeated connections to one server cannot wash out
 * failures), and new ones are thinned to a hash-chosen sample, the same for successes
 * and failures, so the walk slows down but keeps its direction. trw_host_idle frees it.
 */
#ifndef LAZARET_SENSE_TRW_H
#define LAZARET_SENSE_TRW_H

#include <stdbool.h>
#include <stdint.h>

#include "common/hll.h"

/* The parameters, as the operator would give them (the configuration fills them). */
struct trw_params {
	double theta0;          /* P(success) of a benign host: 0.8 */
	double theta1;          /* P(success) of a scanner: 0.2 */
	double alpha;           /* the false-positive bound: 0.01 */
	double beta;            /* the detection probability: 0.99 */
	unsigned memory_exact;  /* destinations remembered exactly per host: 32 */
	unsigned memory_p;      /* then a sketch of 2^p one-byte registers: 10 */
};

#define TRW_PARAMS_DEFAULT { .theta0 = 0.8, .theta1 = 0.2, .alpha = 0.01, .beta = 0.99, \
                             .memory_exact = 32, .memory_p = 10 }

/* The parameters turned into steps of the log likelihood ratio, once. */
struct trw_model {
	float step_success, step_failure;   /* log(theta1/theta0), log((1-theta1)/(1-theta0)) */
	float log_eta1, log_eta0;
	uint8_t memory_exact, memory_p;
};

enum trw_outcome { TRW_OUTCOME_UNKNOWN, TRW_OUTCOME_SUCCESS, TRW_OUTCOME_FAILURE };
enum trw_decision { TRW_PENDING, TRW_BENIGN, TRW_SCANNER };

/* One source host's walk: 32 bytes, with no heap until its first contact. */
struct trw_host {
	struct hll contacts;    /* destinations contacted (their keyed hashes) */
	float llr;              /* log L since the last reset */
	uint16_t failures;      /* first contacts that failed / succeeded since init, saturating */
	uint16_t successes;
	bool scanner;           /* decided: stays until trw_host_init again */
};

/* trw_model_init — steps and thresholds from p. 0, or -EINVAL unless
 * 0 < theta1 < theta0 < 1, 0 < alpha < beta < 1 and the memory fits common/hll. */
int trw_model_init(struct trw_model *m, const struct trw_params *p);

/* trw_host_init — a fresh walk (allocates nothing). */
void trw_host_init(struct trw_host *h, const struct trw_model *m);

/*
 * trw_observe — a contact of host h with the destination whose keyed hash is dst_hash
 * (common/hash.h over its address), with its outcome. An unknown outcome, or a
 * destination contacted before, leaves the walk as it is. Returns TRW_SCANNER (this
 * contact decided it, or it was decided before), TRW_BENIGN (this contact took L down
 * to eta0; the walk restarted), TRW_PENDING, or -ENOMEM (nothing changed).
 */
int trw_observe(const struct trw_model *m, struct trw_host *h, uint64_t dst_hash, enum trw_outcome outcome);

/* trw_host_idle — the host went idle: its memory of destinations is freed (a later
 * contact with one of them is a first contact again); the walk and decision stay. */
void trw_host_idle(struct trw_host *h);

/* What one flow record (or a record and its reverse) says about a TCP first contact. */
struct trw_flow {
	uint8_t proto;          /* IP protocol number */
	uint8_t tcp_flags;      /* the OR of the host's packets' flags (NetFlow/IPFIX field 6) */
	uint64_t packets;       /* the host's packets in the record, before sampling scaling */
	bool sampled;           /* the exporter samples packets (rate > 1) */
	bool reply_seen;        /* the reverse record (destination to host) was seen */
	uint8_t reply_flags;    /* the OR of its flags */
};

#define TRW_TCP_FIN 0x01
#define TRW_TCP_SYN 0x02
#define TRW_TCP_RST 0x04
#define TRW_TCP_ACK 0x10

/*
 * trw_classify_tcp — the outcome of a TCP connection from its records, first rule that
 * applies:
 *   1. not TCP: unknown;
 *   2. the reply carried SYN and ACK: success (the destination accepted);
 *   3. the reply carried RST: failure (refused);
 *   4. the host sent ACK in more than 2 packets: success (the handshake completed and
 *      data moved; also the later records of a long connection, which carry no SYN);
 *   5. the host sent SYN and nothing else (retries included), no reply was seen and
 *      the exporter does not sample: failure (nobody answered);
 *   6. anything else: unknown (a sampled SYN may belong to a working connection; a lone
 *      ACK or SYN+RST is a probe whose fate the record does not say).
 */
enum trw_outcome trw_classify_tcp(const struct trw_flow *f);

#endif
