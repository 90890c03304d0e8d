/*
 * fuzz_delivery_snapshot.c — libFuzzer target for delivery_restore, the reader of the
 * delivery sensor's state that lazaretd saves in its store and reads at start: a
 * damaged or foreign value must be refused whole (nothing restored) and never read
 * out of bounds. A snapshot that is taken must work: its state goes through the rules
 * (log lines for its subjects and queue IDs, an expiry), is saved again, and that
 * save restores too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"
#include "sense/delivery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config fuzz_cfg;
static bool fuzz_ready;

static struct delivery *
fuzz_delivery(struct judge **j)
{
	char err[256];
	struct delivery *d;

	if ((*j = judge_new(&fuzz_cfg, NULL)) == NULL || judge_configure(*j, &fuzz_cfg, err, sizeof(err)) != 0)
		abort();
	if ((d = delivery_new(*j, &fuzz_cfg)) == NULL)
		abort();
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lines[] = {
		"2026-11-27T06:00:00.000000Z relay postfix/smtpd[1]: 6D0000010: client=unknown[192.0.2.97]",
		"2026-11-27T06:00:01.000000Z relay postfix/smtp[2]: 6D0000010: to=<a@example.org>, "
		    "relay=mx.example.org[203.0.113.9]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced "
		    "(host mx.example.org[203.0.113.9] said: 550 5.1.1 no such user (in reply to RCPT TO command))",
		"2026-11-27T06:00:02.000000Z relay postfix/submission/smtpd[3]: 6D0000011: "
		    "client=pc.example.net[198.51.100.7], sasl_method=PLAIN, sasl_username=kim@example.net",
		"2026-11-27T06:00:03.000000Z relay postfix/qmgr[4]: 6D0000010: removed",
		/* a content filter's hop and re-injection: the link is saved like any queue ID */
		"2026-11-27T06:00:04.000000Z relay postfix/smtp[5]: 6D0000011: to=<b@example.org>, "
		    "relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent "
		    "(250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 6D0000012)",
		"2026-11-27T06:00:04.000000Z relay postfix/smtpd[6]: 6D0000012: client=localhost[127.0.0.1], "
		    "orig_queue_id=6D0000011, orig_client=pc.example.net[198.51.100.7]",
		/* account_addresses and account_sessions: a second session of kim's opens, the
		 * first ends; a saved session may end after the restore */
		"2026-11-27T06:00:05.000000Z relay postfix/submission/smtpd[7]: connect from pc2.example.net[198.51.100.8]",
		"2026-11-27T06:00:05.000000Z relay postfix/submission/smtpd[7]: 6D0000013: "
		    "client=pc2.example.net[198.51.100.8], sasl_method=PLAIN, sasl_username=kim@example.net",
		"2026-11-27T06:00:06.000000Z relay postfix/submission/smtpd[3]: disconnect from "
		    "pc.example.net[198.51.100.7] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6",
		"2026-11-27T06:00:06.000000Z relay postfix/submission/smtpd[8]: disconnect from "
		    "pc3.example.net[198.51.100.9] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6",
	};
	const usec_t now = (usec_t)1795759200 * USEC_PER_SEC;
	struct judge *j, *j2;
	struct delivery *d, *d2;
	uint8_t *saved;
	size_t len;
	int rc;

	if (!fuzz_ready) {
		config_defaults(&fuzz_cfg);
		log_init("fuzz", 0, LOG_LEVEL_ERROR);
		fuzz_ready = true;
	}
	d = fuzz_delivery(&j);
	rc = delivery_restore(d, data, size);
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (rc != 0 && (delivery_stats(d)->queue_ids_open != 0))
		abort();              /* refused: nothing may have stayed */
	if (rc == 0) {
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
			delivery_line(d, lines[i], strlen(lines[i]), now);
		delivery_expire(d, now);
		if (delivery_save(d, now, &saved, &len) != 0)
			abort();
		d2 = fuzz_delivery(&j2);
		if (delivery_restore(d2, saved, len) != 0)
			abort();
		free(saved);
		delivery_free(d2);
		judge_free(j2);
	} else {
		/* what a refused restore leaves is an empty delivery: its save is the empty one */
		uint8_t *empty;
		size_t elen;
		d2 = fuzz_delivery(&j2);
		if (delivery_save(d, now, &saved, &len) != 0 || delivery_save(d2, now, &empty, &elen) != 0)
			abort();
		if (len != elen || memcmp(saved, empty, len) != 0)
			abort();
		free(saved);
		free(empty);
		delivery_free(d2);
		judge_free(j2);
	}
	delivery_free(d);
	judge_free(j);
	return 0;
}
