/*
 * pipeline.h — the judge with the sensors that feed it and the actors that read it,
 * assembled once for lazaretd and for lazaretctl analyze (which must judge a log as
 * the daemon would): the relay's policy decisions (act/relay_policy) and the delivery
 * log's rules (sense/delivery) on one judge, configured together.
 */
#ifndef LAZARET_PIPELINE_H
#define LAZARET_PIPELINE_H

#include <stddef.h>

#include "act/relay_policy.h"
#include "common/config.h"
#include "judge/judge.h"
#include "sense/delivery.h"
#include "store/store.h"

struct pipeline {
	struct judge *judge;
	struct relay *relay;
	struct delivery *delivery;
};

/*
 * pipeline_open — a judge on cfg writing to st (NULL: no store, as analyze runs), the
 * relay and the delivery sensor on it, and cfg applied. 0; -ENOMEM; -EINVAL with
 * "file:line: ..." in err when the judge refuses cfg. On error nothing is left open.
 */
int pipeline_open(struct pipeline *p, const struct config *cfg, struct store *st, char *err, size_t errlen);

/*
 * pipeline_configure — cfg for all three (SIGHUP). The judge checks it first: on -EINVAL
 * (err says why) nothing changed.
 */
int pipeline_configure(struct pipeline *p, const struct config *cfg, char *err, size_t errlen);

void pipeline_close(struct pipeline *p);

#endif
