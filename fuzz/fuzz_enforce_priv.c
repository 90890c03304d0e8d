/*
 * fuzz_enforce_priv.c — what the privileged helper accepts from the main process: a
 * request header and its payload as a main process taken over by hostile input could
 * send them. enforce_priv_check must stay within the bytes given, and whatever it
 * accepts the nft script builders must accept too (the helper never runs a request the
 * rules would refuse half-way, nor formats anything unchecked into a script).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "act/enforce_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enforce_priv_request rq;
	char why[256], *script = NULL;

	if (size < sizeof(rq) || size > (1u << 20))
		return 0;
	memcpy(&rq, data, sizeof(rq));
	size_t len = size - sizeof(rq);
	/* aligned, and exactly len bytes long so that ASan sees any read beyond them */
	char *payload = malloc(len ? len : 1);
	if (payload == NULL)
		return 0;
	memcpy(payload, data + sizeof(rq), len);
	if (enforce_priv_check(&rq, payload, len, why, sizeof(why)) == 0) {
		struct enforce_config cfg;
		const char *p = payload;
		memset(&cfg, 0, sizeof(cfg));
		if (rq.op == ENFORCE_PRIV_SETUP) {
			memcpy(&cfg, p, sizeof(cfg));
			p += sizeof(cfg);
			size_t cap = 1u << 20;
			char *buf = malloc(cap);
			if (buf != NULL && enforce_ruleset(&cfg, buf, cap) < 0)
				abort();         /* checked, yet the ruleset builder refuses it */
			free(buf);
		} else
			strcpy(cfg.table, "lazaret");
		const struct enforce_entry *add = (const struct enforce_entry *)(const void *)p;
		const struct cidr *del = (const struct cidr *)(const void *)(p + rq.nadd * sizeof(*add));
		if (rq.op != ENFORCE_PRIV_LIST && enforce_batch(&cfg, add, rq.nadd, del, rq.ndel, &script) < 0)
			abort();         /* checked, yet the batch builder refuses it */
		free(script);
	}
	free(payload);
	return 0;
}
