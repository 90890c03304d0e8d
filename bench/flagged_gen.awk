# flagged_gen.awk — a Postfix log of CLIENTS distinct subscriber hosts, every EVERY-th
# of them a bot that the default rules flag, on stdout:
#   awk -v clients=CLIENTS -v every=EVERY [-v step=STEP_US] -f bench/flagged_gen.awk
#
# For the scale of lazaretctl analyze's output (issue 14 item 9: 2 M distinct clients,
# 100 000 of them flagged; bench/analyze_scale.sh, test_analyze_order): maillog_gen
# plants at most 100 000 bots and sees a few hundred thousand distinct clients in 10 M
# lines; this writes only what makes a client distinct or flagged. Client i is 10.x.y.z
# (i's three low bytes) and sends one message STEP_US (1500; 0: all at once)
# microseconds after client i-1: a plain one (client=, one to= sent, removed), or, for
# a bot, 20 to 42 recipients at distinct domains, all but i % 7 of them refused as
# unknown users. Peaks and scores differ from bot to bot (and decay with their time),
# so the ranking has something to sort. The same arguments give the same bytes (mawk
# or gawk).
function ts(us,   s) {
	s = int(us / 1000000)
	return sprintf("2026-11-23T%02d:%02d:%02d.%06d+00:00", 6 + int(s / 3600), int(s / 60) % 60, s % 60, us % 1000000)
}
BEGIN {
	if (step == "")
		step = 1500
	for (i = 0; i < clients; i++) {
		t = ts(i * step)
		qid = sprintf("%05X%05X", 1 + int(i / 1048576), i % 1048576)
		ip = sprintf("10.%d.%d.%d", int(i / 65536) % 256, int(i / 256) % 256, i % 256)
		printf "%s relay1 postfix/smtpd[%d]: %s: client=dyn-%d.isp.example[%s]\n", t, 1000 + i % 500, qid, i, ip
		if (i % every == 0) {
			r = 20 + i % 23
			b = r - i % 7
			for (k = 0; k < r; k++) {
				d = sprintf("d%d-%d.example", i % 9973, k)
				if (k < b)
					printf "%s relay1 postfix/smtp[%d]: %s: to=<u%d@%s>, relay=mx.%s[198.51.100.7]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=5.1.1, status=bounced (host mx.%s[198.51.100.7] said: 550 5.1.1 <u%d@%s>: Recipient address rejected: User unknown (in reply to RCPT TO command))\n", t, 2000 + i % 300, qid, k, d, d, d, k, d
				else
					printf "%s relay1 postfix/smtp[%d]: %s: to=<u%d@%s>, relay=mx.%s[198.51.100.7]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XYZ)\n", t, 2000 + i % 300, qid, k, d, d
			}
		} else
			printf "%s relay1 postfix/smtp[%d]: %s: to=<friend@mail.example>, relay=mx.mail.example[198.51.100.9]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XYZ)\n", t, 2000 + i % 300, qid
		printf "%s relay1 postfix/qmgr[1187]: %s: removed\n", t, qid
	}
}
