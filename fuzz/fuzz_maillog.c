/*
 * fuzz_maillog.c — libFuzzer target for the Postfix log line parser.
 *
 * Splits the input at '\n' as the log follower does, copies each line into a
 * buffer of exactly its length (so AddressSanitizer sees any read past it),
 * parses it, and reads every byte of every view the parser returned, checking
 * that each lies inside that line, and that no client or account is read from text
 * a client chose (after sasl_sender=, in cleanup's header/body rejects). Also runs
 * the classifier on the parsed DSN and reply under every status, and the name
 * functions on every result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sense/maillog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char fuzz_maillog_sink;

/* Reads every byte of v and checks that it lies inside buf[0..len). */
static void
fuzz_maillog_touch(struct strview v, const uint8_t *buf, size_t len)
{
	unsigned char acc = 0;
	size_t i;

	if (v.len == 0)
		return;
	if ((const uint8_t *)v.ptr < buf || v.len > len ||
	    (size_t)((const uint8_t *)v.ptr - buf) > len - v.len)
		abort();
	for (i = 0; i < v.len; i++) {
		if (v.ptr[i] == '\0' || v.ptr[i] == '\n')
			abort();
		acc ^= (unsigned char)v.ptr[i];
	}
	fuzz_maillog_sink ^= acc;
}

/* True when v reaches past o (a view ending at o does not). */
static int
fuzz_maillog_after(struct strview v, const char *o)
{
	return v.len > 0 && v.ptr + v.len > o;
}

static void
fuzz_maillog_check(int kind, const struct maillog_line *l, const uint8_t *buf, size_t len)
{
	const struct strview views[] = {
		l->host, l->program, l->syslog_name, l->service, l->queue_id,
		l->client_name, l->client_addr, l->sasl_method, l->sasl_username, l->login_user,
		l->orig_queue_id, l->from, l->to, l->orig_to, l->relay, l->dsn, l->reply,
		l->reject_code, l->action, l->reject_stage,
	};
	const struct maillog_time *t = &l->time;
	int s;
	size_t i;

	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		fuzz_maillog_touch(views[i], buf, len);
	if (kind >= MAILLOG_KIND_COUNT)
		abort();
	if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > 31 ||
	    t->hour < 0 || t->hour > 23 || t->minute < 0 || t->minute > 59 ||
	    t->second < 0 || t->second > 60 || t->usec < 0 || t->usec > 999999 ||
	    t->tz_minutes < -1439 || t->tz_minutes > 1439)
		abort();
	if (kind == MAILLOG_LOGIN || kind == MAILLOG_LOGIN_FAILED) {
		/* Dovecot's: a "*-login" service; a login's user never holds the ">, " that
		 * ends it (a name smuggling fields refuses the line), and it has a rip */
		if (l->service.len < 6 || memcmp(l->service.ptr + l->service.len - 6, "-login", 6) != 0)
			abort();
		if (kind == MAILLOG_LOGIN && (l->login_user.len == 0 || l->client_addr.len == 0 ||
		    memmem(l->login_user.ptr, l->login_user.len, ">, ", 3) != NULL))
			abort();
	} else if (l->program.len == 0 || l->service.len == 0 ||
	    l->program.len < 7 || memcmp(l->program.ptr, "postfix", 7) != 0 || l->login_user.len != 0)
		abort();
	if ((unsigned)l->status > MAILLOG_STATUS_OTHER ||
	    (unsigned)l->outcome >= MAILLOG_OUTCOME_COUNT)
		abort();
	if (kind == MAILLOG_DELIVERY && (l->to.ptr == NULL || l->status == MAILLOG_STATUS_NONE))
		abort();
	if (kind == MAILLOG_REJECT && (l->action.len == 0 || l->reject_stage.len == 0))
		abort();
	if (kind == MAILLOG_CLIENT && l->client_addr.len == 0)
		abort();
	/*
	 * Whom a line names comes from what Postfix wrote, never from text a client chose:
	 * nothing at or after the first ", sasl_sender=" of a client= line (the MAIL FROM
	 * AUTH= parameter), and no client at all from cleanup's header/body rejects. The
	 * message starts at its queue ID: an RFC 5424 line's structured data before it is
	 * the syslog sender's, not Postfix's message.
	 */
	if (kind == MAILLOG_CLIENT) {
		static const char opaque[] = ", sasl_sender=";
		const char *msg = l->queue_id.ptr != NULL ? l->queue_id.ptr : (const char *)buf;
		const char *o = memmem(msg, (size_t)((const char *)buf + len - msg), opaque,
		    sizeof(opaque) - 1);

		if (o != NULL && (fuzz_maillog_after(l->client_addr, o) ||
		    fuzz_maillog_after(l->client_name, o) || fuzz_maillog_after(l->sasl_username, o) ||
		    fuzz_maillog_after(l->sasl_method, o) || fuzz_maillog_after(l->orig_queue_id, o)))
			abort();
	}
	if (kind == MAILLOG_REJECT && (strview_eq(l->reject_stage, "header") ||
	    strview_eq(l->reject_stage, "body") || strview_eq(l->reject_stage, "content")) &&
	    (l->client_addr.len != 0 || l->client_name.len != 0 || l->queue_id.len == 0))
		abort();
	/* A queue ID is never longer than Postfix makes one. */
	if (l->queue_id.len > 24 || l->orig_queue_id.len > 24)
		abort();
	for (s = MAILLOG_STATUS_NONE; s <= MAILLOG_STATUS_OTHER; s++)
		if ((unsigned)maillog_classify(l->dsn, l->reply, (enum maillog_status)s) >=
		    MAILLOG_OUTCOME_COUNT)
			abort();
	if (maillog_kind_name(kind) == NULL || maillog_outcome_name(l->outcome) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off <= size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl != NULL ? (size_t)(nl - (data + off)) : size - off;
		struct maillog_line l;
		uint8_t *copy;
		int rc;

		/* malloc(0) may return NULL; keep a real allocation of n bytes. */
		if ((copy = malloc(n ? n : 1)) == NULL)
			abort();
		if (n > 0)
			memcpy(copy, data + off, n);
		rc = maillog_parse_line(copy, n, &l);
		if (rc >= 0)
			fuzz_maillog_check(rc, &l, copy, n);
		else if (rc < -MAILLOG_ERROR_COUNT || maillog_error_name(rc) == NULL)
			abort();
		free(copy);
		if (nl == NULL)
			break;
		off += n + 1;
	}
	/* Arbitrary bytes as a DSN and a reply. */
	{
		struct strview dsn = { (const char *)data, size < 8 ? size : 8 };
		struct strview reply = { (const char *)data, size };
		int s;

		for (s = MAILLOG_STATUS_NONE; s <= MAILLOG_STATUS_OTHER; s++)
			if ((unsigned)maillog_classify(dsn, reply, (enum maillog_status)s) >=
			    MAILLOG_OUTCOME_COUNT)
				abort();
	}
	return 0;
}
