/*
 * coa_send.c — one CoA-Request or Disconnect-Request through lazaret's client
 * (act/radius_coa.h) on a libuv loop, as lazaretd's enforcement will send it; prints the
 * outcome and the NAS's counts (tests/integration/test_radius_coa.sh).
 *
 * usage: coa_send [-d DICTIONARY] [-r RETRIES] [-t TIMEOUT_MS] [-m] [-i IDENT,...]
 *            ADDRESS PORT SECRET coa|disconnect ACCT-SESSION-ID USER-NAME FRAMED-IP ['Attr = value'...]
 *   IDENT: acct-session-id, user-name, framed-ip, nas-ip (192.0.2.1 here); default the first three.
 *   Prints "outcome=ack|nak|timeout|send_error code=... sends=N [error_cause=N name=...]" and
 *   "stats sent=... acked=... naked=... timed_out=... retransmitted=... dropped=...".
 *   Exit status: 0 ACK, 1 NAK, 2 timeout, 3 send error, 64 usage or set-up error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act/radius_coa.h"
#include "act/radius_dict.h"
#include "common/log.h"

static int status = 64;

static void
done(void *arg, const struct radius_coa_result *r)
{
	static const char *const names[] = { "ack", "nak", "timeout", "send_error", "cancelled" };
	const char *cause = r->has_error_cause ? radius_error_cause_name(r->error_cause) : NULL;

	(void)arg;
	printf("outcome=%s code=%s sends=%u", names[r->outcome], radius_coa_code_name(r->code), r->sends);
	if (r->has_error_cause)
		printf(" error_cause=%u name=%s", r->error_cause, cause != NULL ? cause : "-");
	printf("\n");
	status = r->outcome == RADIUS_COA_OUTCOME_ACK ? 0 : r->outcome == RADIUS_COA_OUTCOME_NAK ? 1 :
	    r->outcome == RADIUS_COA_OUTCOME_TIMEOUT ? 2 : 3;
}

static int
usage(void)
{
	fprintf(stderr, "usage: coa_send [-d DICTIONARY] [-r RETRIES] [-t TIMEOUT_MS] [-m] [-i IDENT,...] ADDRESS PORT "
	    "SECRET coa|disconnect ACCT-SESSION-ID USER-NAME FRAMED-IP ['Attr = value'...]\n");
	return 64;
}

int
main(int argc, char **argv)
{
	struct radius_coa_conf conf = { .retries = 3, .timeout = 1000 * 1000 };
	struct radius_nas_conf nas = { .ident = RADIUS_IDENT_ACCT_SESSION_ID | RADIUS_IDENT_USER_NAME |
		RADIUS_IDENT_FRAMED_IP };
	struct radius_avp avps[RADIUS_COA_AVPS_MAX];
	struct radius_session s = { .nas_ip = { .family = AF_INET, .bytes = { 192, 0, 2, 1 } } };
	struct radius_dict *dict = radius_dict_new();
	const struct radius_coa_nas_stats *st;
	struct radius_coa_client *c;
	const char *name;
	char err[512];
	size_t navps = 0;
	uv_loop_t loop;
	int opt;

	log_init("coa_send", 0, LOG_LEVEL_INFO);
	if (dict == NULL)
		return 64;
	while ((opt = getopt(argc, argv, "d:r:t:mi:")) != -1) {
		switch (opt) {
		case 'd':
			if (radius_dict_load(dict, optarg, err, sizeof(err)) != 0) {
				fprintf(stderr, "coa_send: %s\n", err);
				return 64;
			}
			break;
		case 'r': conf.retries = (unsigned)atoi(optarg); break;
		case 't': conf.timeout = (usec_t)atoi(optarg) * 1000; break;
		case 'm': nas.message_authenticator = true; break;
		case 'i': {
			char *save = NULL;
			nas.ident = 0;
			for (char *t = strtok_r(optarg, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
				if (strcmp(t, "acct-session-id") == 0)
					nas.ident |= RADIUS_IDENT_ACCT_SESSION_ID;
				else if (strcmp(t, "user-name") == 0)
					nas.ident |= RADIUS_IDENT_USER_NAME;
				else if (strcmp(t, "framed-ip") == 0)
					nas.ident |= RADIUS_IDENT_FRAMED_IP;
				else if (strcmp(t, "nas-ip") == 0)
					nas.ident |= RADIUS_IDENT_NAS_IP;
				else
					return usage();
			}
			break;
		}
		default:
			return usage();
		}
	}
	if (argc - optind < 7)
		return usage();
	char **a = argv + optind;
	snprintf(nas.name, sizeof(nas.name), "nas");
	nas.port = (uint16_t)atoi(a[1]);
	if (addr_parse(a[0], strlen(a[0]), &nas.addr) != 0 || strlen(a[2]) > sizeof(nas.secret) ||
	    addr_parse(a[6], strlen(a[6]), &s.framed_ip) != 0)
		return usage();
	memcpy(nas.secret, a[2], strlen(a[2]));
	nas.secret_len = strlen(a[2]);
	s.acct_session_id = (struct strview){ a[4], strlen(a[4]) };
	s.user_name = (struct strview){ a[5], strlen(a[5]) };
	for (int i = 7; i < argc - optind; i++) {
		if (navps == RADIUS_COA_AVPS_MAX || radius_dict_avp_parse(dict, a[i], &avps[navps], err, sizeof(err)) != 0) {
			fprintf(stderr, "coa_send: %s\n", navps == RADIUS_COA_AVPS_MAX ? "too many attributes" : err);
			return 64;
		}
		navps++;
	}
	uv_loop_init(&loop);
	if ((c = radius_coa_client_new(&loop, &conf, &nas, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "coa_send: %s\n", err);
		return 64;
	}
	int rc = radius_coa_send(c, 0, strcmp(a[3], "disconnect") == 0 ? RADIUS_DISCONNECT_REQUEST : RADIUS_COA_REQUEST,
	    &s, avps, navps, done, NULL);
	if (rc != 0) {
		fprintf(stderr, "coa_send: %s\n", strerror(-rc));
		return 64;
	}
	/* the loop runs until the request is done; then the client's handles close and it ends */
	while (status == 64)
		uv_run(&loop, UV_RUN_ONCE);
	radius_coa_nas(c, 0, &name, &st);
	uint64_t dropped = 0;
	for (int i = 0; i < RADIUS_COA_ERROR_COUNT; i++)
		dropped += st->dropped[i];
	printf("stats sent=%llu acked=%llu naked=%llu timed_out=%llu retransmitted=%llu dropped=%llu\n",
	    (unsigned long long)st->sent, (unsigned long long)st->acked, (unsigned long long)st->naked,
	    (unsigned long long)st->timed_out, (unsigned long long)st->retransmitted, (unsigned long long)dropped);
	radius_coa_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	radius_dict_free(dict);
	return status;
}
