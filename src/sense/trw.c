/*
 * trw.c — Threshold Random Walk per source host. See trw.h.
 */
#include "sense/trw.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>

int
trw_model_init(struct trw_model *m, const struct trw_params *p)
{
	if (!(p->theta1 > 0 && p->theta1 < p->theta0 && p->theta0 < 1) ||
	    !(p->alpha > 0 && p->alpha < p->beta && p->beta < 1) ||
	    p->memory_exact > HLL_EXACT_MAX || p->memory_p < HLL_P_MIN || p->memory_p > HLL_P_MAX)
		return -EINVAL;
	m->step_success = (float)log(p->theta1 / p->theta0);
	m->step_failure = (float)log((1 - p->theta1) / (1 - p->theta0));
	m->log_eta1 = (float)log(p->beta / p->alpha);
	m->log_eta0 = (float)log((1 - p->beta) / (1 - p->alpha));
	m->memory_exact = (uint8_t)p->memory_exact;
	m->memory_p = (uint8_t)p->memory_p;
	return 0;
}

void
trw_host_init(struct trw_host *h, const struct trw_model *m)
{
	memset(h, 0, sizeof(*h));
	(void)hll_init(&h->contacts, m->memory_p, m->memory_exact);   /* checked by trw_model_init */
}

int
trw_observe(const struct trw_model *m, struct trw_host *h, uint64_t dst_hash, enum trw_outcome outcome)
{
	int rc;

	if (h->scanner)
		return TRW_SCANNER;
	if (outcome == TRW_OUTCOME_UNKNOWN)
		return TRW_PENDING;
	if ((rc = hll_add(&h->contacts, dst_hash)) <= 0)
		return rc < 0 ? rc : TRW_PENDING;
	if (outcome == TRW_OUTCOME_SUCCESS) {
		h->llr += m->step_success;
		h->successes += h->successes < UINT16_MAX;
	} else {
		h->llr += m->step_failure;
		h->failures += h->failures < UINT16_MAX;
	}
	if (h->llr >= m->log_eta1) {
		h->scanner = true;
		return TRW_SCANNER;
	}
	if (h->llr <= m->log_eta0) {
		h->llr = 0;
		return TRW_BENIGN;
	}
	return TRW_PENDING;
}

void
trw_host_idle(struct trw_host *h)
{
	hll_reset(&h->contacts);
}

enum trw_outcome
trw_classify_tcp(const struct trw_flow *f)
{
	if (f->proto != IPPROTO_TCP)
		return TRW_OUTCOME_UNKNOWN;
	if (f->reply_seen && (f->reply_flags & (TRW_TCP_SYN | TRW_TCP_ACK)) == (TRW_TCP_SYN | TRW_TCP_ACK))
		return TRW_OUTCOME_SUCCESS;
	if (f->reply_seen && (f->reply_flags & TRW_TCP_RST))
		return TRW_OUTCOME_FAILURE;
	if ((f->tcp_flags & TRW_TCP_ACK) && f->packets > 2)
		return TRW_OUTCOME_SUCCESS;
	if ((f->tcp_flags & (TRW_TCP_SYN | TRW_TCP_ACK | TRW_TCP_RST | TRW_TCP_FIN)) == TRW_TCP_SYN &&
	    !f->reply_seen && !f->sampled)
		return TRW_OUTCOME_FAILURE;
	return TRW_OUTCOME_UNKNOWN;
}
