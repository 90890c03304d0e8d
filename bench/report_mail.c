/*
 * report_mail — the mail report reader alone (src/sense/report_mail.h), in process, one
 * core: ARF messages of about 3 KB (RFC 5965 B.2's report with a longer spam body) read
 * for a few seconds, messages/s; then one ARF with a 50 MB base64 attachment, the time it
 * takes and the peak RSS it adds beyond the message's own 50 MB (what copying or decoding
 * the attachment would cost). Not in make test.
 *   report_mail [SECONDS]
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "sense/report_mail.h"

static const char head[] =
	"From: <abusedesk@example.com>\r\n"
	"Date: Thu, 8 Mar 2005 17:40:36 EDT\r\n"
	"Subject: FW: Earn money\r\n"
	"To: <abuse@example.net>\r\n"
	"Message-ID: <arf-%06u@example.com>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=feedback-report;\r\n"
	"     boundary=\"part1_13d.2e68ed54_boundary\"\r\n"
	"\r\n"
	"--part1_13d.2e68ed54_boundary\r\n"
	"Content-Type: text/plain; charset=\"US-ASCII\"\r\n"
	"Content-Transfer-Encoding: 7bit\r\n"
	"\r\n"
	"This is an email abuse report for an email message received from IP\r\n"
	"192.0.2.%u on Thu, 8 Mar 2005 14:00:00 EDT.  For more information\r\n"
	"about this format please see http://www.mipassoc.org/arf/.\r\n"
	"\r\n"
	"--part1_13d.2e68ed54_boundary\r\n"
	"Content-Type: message/feedback-report\r\n"
	"\r\n"
	"Feedback-Type: abuse\r\n"
	"User-Agent: SomeGenerator/1.0\r\n"
	"Version: 1\r\n"
	"Original-Mail-From: <somespammer@example.net>\r\n"
	"Original-Rcpt-To: <user@example.com>\r\n"
	"Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n"
	"Reporting-MTA: dns; mail.example.com\r\n"
	"Source-IP: 192.0.2.%u\r\n"
	"Authentication-Results: mail.example.com;\r\n"
	"               spf=fail smtp.mail=somespammer@example.com\r\n"
	"Reported-Domain: example.net\r\n"
	"Reported-Uri: http://example.net/earn_money.html\r\n"
	"Removal-Recipient: user@example.com\r\n"
	"\r\n"
	"--part1_13d.2e68ed54_boundary\r\n"
	"Content-Type: message/rfc822\r\n"
	"Content-Disposition: inline\r\n"
	"\r\n"
	"Received: from mailserver.example.net (mailserver.example.net\r\n"
	"        [192.0.2.1]) by example.com with ESMTP id M63d4137594e46;\r\n"
	"        Thu, 08 Mar 2005 14:00:00 -0400\r\n"
	"From: <somespammer@example.net>\r\n"
	"To: <Undisclosed Recipients>\r\n"
	"Subject: Earn money\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-type: text/plain\r\n"
	"Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.net\r\n"
	"Date: Thu, 02 Sep 2004 12:31:03 -0500\r\n"
	"\r\n";

static int
count(void *arg, const struct report_event *ev)
{
	(void)ev;
	(*(unsigned long *)arg)++;
	return 0;
}

static long
maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int
main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	struct report_mail_options opt = { 0 };
	enum { NMSG = 256 };
	static char msgs[NMSG][4096];
	size_t lens[NMSG];
	unsigned long events = 0, n = 0;
	usec_t start, el;

	for (unsigned i = 0; i < NMSG; i++) {
		int l = snprintf(msgs[i], sizeof(msgs[i]), head, i, i % 250 + 1, i % 250 + 1);
		while (l < 3000 - 20)
			l += snprintf(msgs[i] + l, sizeof(msgs[i]) - (size_t)l, "Spam Spam Spam Spam Spam Spam Spam Spam\r\n");
		l += snprintf(msgs[i] + l, sizeof(msgs[i]) - (size_t)l, "--part1_13d.2e68ed54_boundary--\r\n");
		lens[i] = (size_t)l;
	}
	/* warm up GMime's one-time set-up */
	report_mail_read(msgs[0], lens[0], &opt, count, &events, NULL);
	events = 0;
	start = time_mono();
	do {
		for (unsigned i = 0; i < 1000; i++, n++)
			if (report_mail_read(msgs[n % NMSG], lens[n % NMSG], &opt, count, &events, NULL) != 1)
				return fprintf(stderr, "report_mail: message %lu gave no event\n", n), 1;
		el = time_mono() - start;
	} while (el < (usec_t)(seconds * 1e6));
	printf("arf: %lu messages of %zu bytes in %.2f s: %.0f messages/s, %lu events\n", n, lens[0],
		(double)el / 1e6, (double)n / ((double)el / 1e6), events);

	/* one ARF with a 50 MB attachment after the report */
	{
		static const char big_head[] = "From: fbl@mailbox.example\r\nMIME-Version: 1.0\r\n"
			"Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n"
			"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nSource-IP: 192.0.2.1\r\n"
			"\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n";
		size_t body = 50u << 20, len = strlen(big_head) + body + 9;
		char *m = malloc(len);
		long before, after;
		if (m == NULL)
			return 1;
		memcpy(m, big_head, strlen(big_head));
		for (size_t i = 0; i < body; i++)
			m[strlen(big_head) + i] = i % 77 == 76 ? '\n' : (char)('A' + i % 26);
		memcpy(m + strlen(big_head) + body, "\r\n--b--\r\n", 9);
		before = maxrss_kb();
		start = time_mono();
		events = 0;
		int rc = report_mail_read(m, len, &opt, count, &events, NULL);
		el = time_mono() - start;
		after = maxrss_kb();
		printf("50 MB attachment: rc %d, %.1f ms, peak RSS %ld -> %ld kB (+%ld kB beyond the message)\n", rc,
			(double)el / 1e3, before, after, after - before);
		free(m);
	}
	return 0;
}
