/*
 * pipeline.c — see pipeline.h.
 */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
pipeline_open(struct pipeline *p, const struct config *cfg, struct store *st, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if ((p->judge = judge_new(cfg, st)) == NULL || (p->relay = relay_new(p->judge, cfg)) == NULL ||
	    (p->delivery = delivery_new(p->judge, cfg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		pipeline_close(p);
		return -ENOMEM;
	}
	if (judge_configure(p->judge, cfg, err, errlen) != 0) {
		pipeline_close(p);
		return -EINVAL;
	}
	return 0;
}

int
pipeline_configure(struct pipeline *p, const struct config *cfg, char *err, size_t errlen)
{
	if (judge_configure(p->judge, cfg, err, errlen) != 0)
		return -EINVAL;
	relay_configure(p->relay, cfg);
	delivery_configure(p->delivery, cfg);
	return 0;
}

void
pipeline_close(struct pipeline *p)
{
	delivery_free(p->delivery);
	relay_free(p->relay);
	judge_free(p->judge);
	memset(p, 0, sizeof(*p));
}
