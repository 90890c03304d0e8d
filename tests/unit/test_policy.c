/*
 * test_policy.c — the Postfix policy framer and parser against requests as Postfix
 * 2.1 … 3.12 sends them, every error class, and the size limits to the byte; and
 * policy_frame_parse, the server's one-pass framer and parser, against the two.
 */
#include <sys/mman.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sense/policy.h"

/* What one parsed request must hold. A NULL string means "empty or absent". */
struct want {
	enum policy_state state;
	const char *state_raw;
	const char *protocol_name;
	const char *client_address;
	const char *client_name;
	const char *reverse_client_name;
	const char *helo_name;
	const char *sender;
	const char *recipient;
	const char *queue_id;
	const char *instance;
	const char *sasl_method;
	const char *sasl_username;
	const char *sasl_sender;
	const char *server_address;
	const char *server_port;
	const char *client_port;
	const char *policy_context;
	uint32_t recipient_count;
	uint64_t size;
	unsigned attributes;
};

/*
 * One row: input bytes (len 0: strlen), what policy_frame says about them
 * (frame_len 0: the whole input), what policy_parse says about the whole input,
 * and, when that is POLICY_OK, every field.
 */
struct parse_case {
	const char *name;
	const char *in;
	size_t len;
	int frame;
	size_t frame_len;
	int rc;
	struct want w;
};

#define REQ "request=smtpd_access_policy\n"

/* Postfix 2.2 … 3.12: no client certificate, no TLS. */
#define NO_CCERT \
	"ccert_subject=\nccert_issuer=\nccert_fingerprint=\n"
#define NO_TLS \
	"encryption_protocol=\nencryption_cipher=\nencryption_keysize=0\n"

static const struct parse_case parse_cases[] = {
	/* ---- Real requests, oldest first. ---- */
	{ "postfix-2.1 RCPT",
	  REQ
	  "protocol_state=RCPT\n"
	  "protocol_name=SMTP\n"
	  "helo_name=pc17.dsl.example.net\n"
	  "queue_id=8045F2AB23\n"
	  "sender=alice@example.net\n"
	  "recipient=bob@example.org\n"
	  "client_address=198.51.100.17\n"
	  "client_name=pc17.dsl.example.net\n"
	  "instance=123.456.7\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_RCPT, .state_raw = "RCPT", .protocol_name = "SMTP",
	    .helo_name = "pc17.dsl.example.net", .queue_id = "8045F2AB23",
	    .sender = "alice@example.net", .recipient = "bob@example.org",
	    .client_address = "198.51.100.17", .client_name = "pc17.dsl.example.net",
	    .instance = "123.456.7", .attributes = 10 } },

	{ "postfix-2.11 DATA, SASL, TLS, three recipients",
	  REQ
	  "protocol_state=DATA\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=[192.168.1.20]\n"
	  "queue_id=3C1F2A0B4D\n"
	  "sender=carol@example.net\n"
	  "recipient=\n"
	  "recipient_count=3\n"
	  "client_address=198.51.100.23\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=5c1e.5a0b3c2d.8f1e2.0\n"
	  "sasl_method=PLAIN\n"
	  "sasl_username=carol@example.net\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "encryption_protocol=TLSv1.2\n"
	  "encryption_cipher=ECDHE-RSA-AES256-GCM-SHA384\n"
	  "encryption_keysize=256\n"
	  "etrn_domain=\n"
	  "stress=\n"
	  "ccert_pubkey_fingerprint=\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_DATA, .state_raw = "DATA", .protocol_name = "ESMTP",
	    .helo_name = "[192.168.1.20]", .queue_id = "3C1F2A0B4D",
	    .sender = "carol@example.net", .recipient_count = 3,
	    .client_address = "198.51.100.23", .client_name = "unknown",
	    .reverse_client_name = "unknown", .instance = "5c1e.5a0b3c2d.8f1e2.0",
	    .sasl_method = "PLAIN", .sasl_username = "carol@example.net",
	    .attributes = 25 } },

	{ "postfix-3.7 CONNECT",
	  REQ
	  "protocol_state=CONNECT\n"
	  "protocol_name=SMTP\n"
	  "helo_name=\n"
	  "queue_id=\n"
	  "sender=\n"
	  "recipient=\n"
	  "recipient_count=0\n"
	  "client_address=203.0.113.45\n"
	  "client_name=unknown\n"
	  "reverse_client_name=45.113.0.203.dyn.example.net\n"
	  "instance=2f1a.6502b3c4.1d2e3.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  NO_TLS
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=50123\n"
	  "policy_context=\n"
	  "server_address=192.0.2.25\n"
	  "server_port=25\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_CONNECT, .state_raw = "CONNECT", .protocol_name = "SMTP",
	    .client_address = "203.0.113.45", .client_name = "unknown",
	    .reverse_client_name = "45.113.0.203.dyn.example.net",
	    .instance = "2f1a.6502b3c4.1d2e3.0", .client_port = "50123",
	    .server_address = "192.0.2.25", .server_port = "25", .attributes = 29 } },

	{ "postfix-3.7 HELO (reported as EHLO)",
	  REQ
	  "protocol_state=HELO\n"
	  "protocol_name=SMTP\n"
	  "helo_name=mail.example.com\n"
	  "queue_id=\n"
	  "sender=\n"
	  "recipient=\n"
	  "recipient_count=0\n"
	  "client_address=203.0.113.45\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=2f1a.6502b3c4.1d2e3.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  NO_TLS
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=50123\n"
	  "policy_context=\n"
	  "server_address=192.0.2.25\n"
	  "server_port=25\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_EHLO, .state_raw = "HELO", .protocol_name = "SMTP",
	    .helo_name = "mail.example.com", .client_address = "203.0.113.45",
	    .client_name = "unknown", .reverse_client_name = "unknown",
	    .instance = "2f1a.6502b3c4.1d2e3.0", .client_port = "50123",
	    .server_address = "192.0.2.25", .server_port = "25", .attributes = 29 } },

	{ "postfix-3.7 MAIL, submission, SASL, TLS 1.3, SIZE=",
	  REQ
	  "protocol_state=MAIL\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=[10.0.0.5]\n"
	  "queue_id=\n"
	  "sender=dave@example.net\n"
	  "recipient=\n"
	  "recipient_count=0\n"
	  "client_address=198.51.100.99\n"
	  "client_name=cpe-99.example.net\n"
	  "reverse_client_name=cpe-99.example.net\n"
	  "instance=7d0.6502b3d0.a1b2.0\n"
	  "sasl_method=LOGIN\n"
	  "sasl_username=dave\n"
	  "sasl_sender=\n"
	  "size=48213\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  "encryption_protocol=TLSv1.3\n"
	  "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	  "encryption_keysize=256\n"
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=61002\n"
	  "policy_context=submission\n"
	  "server_address=192.0.2.25\n"
	  "server_port=587\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_MAIL, .state_raw = "MAIL", .protocol_name = "ESMTP",
	    .helo_name = "[10.0.0.5]", .sender = "dave@example.net",
	    .client_address = "198.51.100.99", .client_name = "cpe-99.example.net",
	    .reverse_client_name = "cpe-99.example.net", .instance = "7d0.6502b3d0.a1b2.0",
	    .sasl_method = "LOGIN", .sasl_username = "dave", .size = 48213,
	    .client_port = "61002", .policy_context = "submission",
	    .server_address = "192.0.2.25", .server_port = "587", .attributes = 29 } },

	{ "postfix-3.7 RCPT, port 25, no SASL",
	  REQ
	  "protocol_state=RCPT\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=DESKTOP-4F7Q2JK\n"
	  "queue_id=4F2B81C0A3\n"
	  "sender=invoice@example.com\n"
	  "recipient=bob@example.org\n"
	  "recipient_count=0\n"
	  "client_address=203.0.113.45\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=2f1a.6502b3c4.1d2e3.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  NO_TLS
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=50123\n"
	  "policy_context=\n"
	  "server_address=192.0.2.25\n"
	  "server_port=25\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_RCPT, .state_raw = "RCPT", .protocol_name = "ESMTP",
	    .helo_name = "DESKTOP-4F7Q2JK", .queue_id = "4F2B81C0A3",
	    .sender = "invoice@example.com", .recipient = "bob@example.org",
	    .client_address = "203.0.113.45", .client_name = "unknown",
	    .reverse_client_name = "unknown", .instance = "2f1a.6502b3c4.1d2e3.0",
	    .client_port = "50123", .server_address = "192.0.2.25", .server_port = "25",
	    .attributes = 29 } },

	{ "postfix-3.7 RCPT, SASL, IPv6 client and server",
	  REQ
	  "protocol_state=RCPT\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=laptop.home.example.net\n"
	  "queue_id=9A1C2B3D4E\n"
	  "sender=erin@example.net\n"
	  "recipient=frank@example.org\n"
	  "recipient_count=0\n"
	  "client_address=2001:db8:41:7::1c\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=31c4.6502b400.5e6f.1\n"
	  "sasl_method=PLAIN\n"
	  "sasl_username=erin@example.net\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  "encryption_protocol=TLSv1.3\n"
	  "encryption_cipher=TLS_AES_128_GCM_SHA256\n"
	  "encryption_keysize=128\n"
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=41872\n"
	  "policy_context=\n"
	  "server_address=2001:db8::25\n"
	  "server_port=587\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_RCPT, .state_raw = "RCPT", .protocol_name = "ESMTP",
	    .helo_name = "laptop.home.example.net", .queue_id = "9A1C2B3D4E",
	    .sender = "erin@example.net", .recipient = "frank@example.org",
	    .client_address = "2001:db8:41:7::1c", .client_name = "unknown",
	    .reverse_client_name = "unknown", .instance = "31c4.6502b400.5e6f.1",
	    .sasl_method = "PLAIN", .sasl_username = "erin@example.net",
	    .client_port = "41872", .server_address = "2001:db8::25", .server_port = "587",
	    .attributes = 29 } },

	{ "postfix-3.7 DATA, one recipient",
	  REQ
	  "protocol_state=DATA\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=DESKTOP-4F7Q2JK\n"
	  "queue_id=4F2B81C0A3\n"
	  "sender=invoice@example.com\n"
	  "recipient=bob@example.org\n"
	  "recipient_count=1\n"
	  "client_address=203.0.113.45\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=2f1a.6502b3c4.1d2e3.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  NO_TLS
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=50123\n"
	  "policy_context=\n"
	  "server_address=192.0.2.25\n"
	  "server_port=25\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_DATA, .state_raw = "DATA", .protocol_name = "ESMTP",
	    .helo_name = "DESKTOP-4F7Q2JK", .queue_id = "4F2B81C0A3",
	    .sender = "invoice@example.com", .recipient = "bob@example.org",
	    .recipient_count = 1, .client_address = "203.0.113.45",
	    .client_name = "unknown", .reverse_client_name = "unknown",
	    .instance = "2f1a.6502b3c4.1d2e3.0", .client_port = "50123",
	    .server_address = "192.0.2.25", .server_port = "25", .attributes = 29 } },

	{ "postfix-3.7 END-OF-MESSAGE, two recipients, under stress",
	  REQ
	  "protocol_state=END-OF-MESSAGE\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=DESKTOP-4F7Q2JK\n"
	  "queue_id=4F2B81C0A3\n"
	  "sender=invoice@example.com\n"
	  "recipient=\n"
	  "recipient_count=2\n"
	  "client_address=203.0.113.45\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=2f1a.6502b3c4.1d2e3.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=18342\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  NO_TLS
	  "etrn_domain=\n"
	  "stress=yes\n"
	  "client_port=50123\n"
	  "policy_context=\n"
	  "server_address=192.0.2.25\n"
	  "server_port=25\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_END_OF_MESSAGE, .state_raw = "END-OF-MESSAGE",
	    .protocol_name = "ESMTP", .helo_name = "DESKTOP-4F7Q2JK",
	    .queue_id = "4F2B81C0A3", .sender = "invoice@example.com",
	    .recipient_count = 2, .size = 18342, .client_address = "203.0.113.45",
	    .client_name = "unknown", .reverse_client_name = "unknown",
	    .instance = "2f1a.6502b3c4.1d2e3.0", .client_port = "50123",
	    .server_address = "192.0.2.25", .server_port = "25", .attributes = 29 } },

	{ "postfix-3.7 VRFY",
	  REQ
	  "protocol_state=VRFY\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=scanner.example.com\n"
	  "queue_id=\n"
	  "sender=\n"
	  "recipient=root@example.org\n"
	  "recipient_count=0\n"
	  "client_address=203.0.113.9\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=4b2.6502b500.1.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  NO_TLS
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=33000\n"
	  "policy_context=\n"
	  "server_address=192.0.2.25\n"
	  "server_port=25\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_VRFY, .state_raw = "VRFY", .protocol_name = "ESMTP",
	    .helo_name = "scanner.example.com", .recipient = "root@example.org",
	    .client_address = "203.0.113.9", .client_name = "unknown",
	    .reverse_client_name = "unknown", .instance = "4b2.6502b500.1.0",
	    .client_port = "33000", .server_address = "192.0.2.25", .server_port = "25",
	    .attributes = 29 } },

	{ "postfix-3.7 ETRN",
	  REQ
	  "protocol_state=ETRN\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=backup-mx.example.org\n"
	  "queue_id=\n"
	  "sender=\n"
	  "recipient=\n"
	  "recipient_count=0\n"
	  "client_address=192.0.2.200\n"
	  "client_name=backup-mx.example.org\n"
	  "reverse_client_name=backup-mx.example.org\n"
	  "instance=4b3.6502b501.2.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  NO_TLS
	  "etrn_domain=example.org\n"
	  "stress=\n"
	  "client_port=40001\n"
	  "policy_context=\n"
	  "server_address=192.0.2.25\n"
	  "server_port=25\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_ETRN, .state_raw = "ETRN", .protocol_name = "ESMTP",
	    .helo_name = "backup-mx.example.org", .client_address = "192.0.2.200",
	    .client_name = "backup-mx.example.org",
	    .reverse_client_name = "backup-mx.example.org", .instance = "4b3.6502b501.2.0",
	    .client_port = "40001", .server_address = "192.0.2.25", .server_port = "25",
	    .attributes = 29 } },

	{ "postfix-3.11 DATA, IPv6, SASL, long queue id, SRS sender with '='",
	  REQ
	  "protocol_state=DATA\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=[IPv6:2001:db8:41:7::1c]\n"
	  "queue_id=4Vq3Fk2hQZz3xYw\n"
	  "sender=SRS0=k3Qp=7Y=example.com=alice@fwd.example.net\n"
	  "recipient=\n"
	  "recipient_count=12\n"
	  "client_address=2001:db8:41:7::1c\n"
	  "client_name=unknown\n"
	  "reverse_client_name=unknown\n"
	  "instance=1f2e.67a0c1d2.3b4c5.0\n"
	  "sasl_method=SCRAM-SHA-256\n"
	  "sasl_username=erin@example.net\n"
	  "sasl_sender=\n"
	  "size=0\n"
	  NO_CCERT
	  "ccert_pubkey_fingerprint=\n"
	  "encryption_protocol=TLSv1.3\n"
	  "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	  "encryption_keysize=256\n"
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=41872\n"
	  "policy_context=submission\n"
	  "server_address=2001:db8::25\n"
	  "server_port=587\n"
	  "compatibility_level=3.6\n"
	  "mail_version=3.11.1\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_DATA, .state_raw = "DATA", .protocol_name = "ESMTP",
	    .helo_name = "[IPv6:2001:db8:41:7::1c]", .queue_id = "4Vq3Fk2hQZz3xYw",
	    .sender = "SRS0=k3Qp=7Y=example.com=alice@fwd.example.net",
	    .recipient_count = 12, .client_address = "2001:db8:41:7::1c",
	    .client_name = "unknown", .reverse_client_name = "unknown",
	    .instance = "1f2e.67a0c1d2.3b4c5.0", .sasl_method = "SCRAM-SHA-256",
	    .sasl_username = "erin@example.net", .client_port = "41872",
	    .policy_context = "submission", .server_address = "2001:db8::25",
	    .server_port = "587", .attributes = 31 } },

	{ "postfix-3.12 END-OF-MESSAGE, client certificate, BATV sender, '=' in context",
	  REQ
	  "protocol_state=END-OF-MESSAGE\n"
	  "protocol_name=ESMTP\n"
	  "helo_name=relay.customer.example\n"
	  "queue_id=4Vq3Fm0xRTz3xYx\n"
	  "sender=prvs=1234abcd=news@customer.example\n"
	  "recipient=list@example.org\n"
	  "recipient_count=1\n"
	  "client_address=::ffff:192.0.2.77\n"
	  "client_name=relay.customer.example\n"
	  "reverse_client_name=relay.customer.example\n"
	  "instance=1f30.67a0c1e0.1.0\n"
	  "sasl_method=\n"
	  "sasl_username=\n"
	  "sasl_sender=\n"
	  "size=5242880\n"
	  "ccert_subject=relay.customer.example\n"
	  "ccert_issuer=Example+20Customer+20CA\n"
	  "ccert_fingerprint=\n"
	  "ccert_pubkey_fingerprint=7B:0C:38:83:46:4F:C5:B1:C3:F0:5C:99:0F:21:19:DA:49:C3:A4:9E:17:C1:02:AE:2F:8B:90:1A:36:55:3E:E0\n"
	  "encryption_protocol=TLSv1.3\n"
	  "encryption_cipher=TLS_CHACHA20_POLY1305_SHA256\n"
	  "encryption_keysize=256\n"
	  "etrn_domain=\n"
	  "stress=\n"
	  "client_port=25001\n"
	  "policy_context=tier=business;site=ams1\n"
	  "server_address=::ffff:192.0.2.25\n"
	  "server_port=25\n"
	  "compatibility_level=3.6\n"
	  "mail_version=3.12.0\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_END_OF_MESSAGE, .state_raw = "END-OF-MESSAGE",
	    .protocol_name = "ESMTP", .helo_name = "relay.customer.example",
	    .queue_id = "4Vq3Fm0xRTz3xYx", .sender = "prvs=1234abcd=news@customer.example",
	    .recipient = "list@example.org", .recipient_count = 1, .size = 5242880,
	    .client_address = "::ffff:192.0.2.77", .client_name = "relay.customer.example",
	    .reverse_client_name = "relay.customer.example", .instance = "1f30.67a0c1e0.1.0",
	    .client_port = "25001", .policy_context = "tier=business;site=ams1",
	    .server_address = "::ffff:192.0.2.25", .server_port = "25",
	    .attributes = 31 } },

	/* ---- Syntax that is valid though Postfix may not send it this way. ---- */
	{ "minimal request",
	  REQ "\n", 0, 1, 0, POLICY_OK,
	  { .attributes = 1 } },

	{ "CRLF throughout, CRLF empty line",
	  "request=smtpd_access_policy\r\n"
	  "protocol_state=RCPT\r\n"
	  "client_address=192.0.2.7\r\n"
	  "sasl_username=\r\n"
	  "\r\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_RCPT, .state_raw = "RCPT",
	    .client_address = "192.0.2.7", .attributes = 4 } },

	{ "CRLF mixed with LF, LF empty line",
	  "request=smtpd_access_policy\r\n"
	  "protocol_state=DATA\n"
	  "recipient_count=4\r\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_DATA, .state_raw = "DATA", .recipient_count = 4,
	    .attributes = 3 } },

	{ "only one CR stripped",
	  REQ "helo_name=odd\r\r\n\n", 0, 1, 0, POLICY_OK,
	  { .helo_name = "odd\r", .attributes = 2 } },

	{ "CR inside a value kept",
	  REQ "helo_name=a\rb\n\n", 0, 1, 0, POLICY_OK,
	  { .helo_name = "a\rb", .attributes = 2 } },

	{ "value that is all '='",
	  REQ "sender===\n\n", 0, 1, 0, POLICY_OK,
	  { .sender = "==", .attributes = 2 } },

	{ "request= need not come first",
	  "protocol_state=RCPT\nsender=a@example.net\n" REQ "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_RCPT, .state_raw = "RCPT", .sender = "a@example.net",
	    .attributes = 3 } },

	{ "empty values, numeric ones read as 0",
	  REQ
	  "protocol_state=\n"
	  "client_address=\n"
	  "sasl_username=\n"
	  "recipient_count=\n"
	  "size=\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .attributes = 6 } },

	{ "unknown and future attributes ignored",
	  REQ
	  "x=1\n"
	  "tls_client_chain=deadbeef\n"
	  "protocol_state_extra=RCPT\n"
	  "Client_Address=192.0.2.99\n"
	  "client_address =192.0.2.98\n"
	  "some_attribute_of_postfix_4_0_that_we_cannot_know=yes=no\n"
	  "client_address=192.0.2.7\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .client_address = "192.0.2.7", .attributes = 8 } },

	{ "duplicates: the last one wins",
	  REQ
	  "client_address=192.0.2.1\n"
	  "recipient_count=5\n"
	  "protocol_state=RCPT\n"
	  "client_address=192.0.2.2\n"
	  "recipient_count=7\n"
	  "protocol_state=DATA\n"
	  "sasl_username=first\n"
	  "sasl_username=\n"
	  "\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_DATA, .state_raw = "DATA", .client_address = "192.0.2.2",
	    .recipient_count = 7, .attributes = 9 } },

	{ "duplicate request=, the right one last",
	  "request=junk\n" REQ "\n", 0, 1, 0, POLICY_OK,
	  { .attributes = 2 } },

	{ "unknown protocol state kept raw (BDAT is reported as DATA)",
	  REQ "protocol_state=BDAT\n\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_UNKNOWN, .state_raw = "BDAT", .attributes = 2 } },

	{ "protocol states are upper case",
	  REQ "protocol_state=rcpt\n\n", 0, 1, 0, POLICY_OK,
	  { .state = POLICY_STATE_UNKNOWN, .state_raw = "rcpt", .attributes = 2 } },

	{ "largest recipient_count and size",
	  REQ "recipient_count=4294967295\nsize=18446744073709551615\n\n", 0, 1, 0, POLICY_OK,
	  { .recipient_count = 4294967295u, .size = UINT64_MAX, .attributes = 3 } },

	{ "leading zeros",
	  REQ "recipient_count=0000000000000000000000007\nsize=000\n\n", 0, 1, 0, POLICY_OK,
	  { .recipient_count = 7, .attributes = 3 } },

	{ "two requests: frame the first, parse of both is trailing bytes",
	  REQ "sender=a@example.net\n\n" REQ "sender=b@example.net\n\n", 0,
	  1, sizeof(REQ "sender=a@example.net\n\n") - 1, POLICY_ERR_TRAILING, { 0 } },

	/* ---- Every error class. ---- */
	{ "no '='", REQ "client_address\n\n", 0, 1, 0, POLICY_ERR_NO_EQUALS, { 0 } },
	{ "no '=', first line", "hello\n" REQ "\n", 0, 1, 0, POLICY_ERR_NO_EQUALS, { 0 } },
	{ "no '=', CR only", REQ "\r \r\n\n", 0, 1, 0, POLICY_ERR_NO_EQUALS, { 0 } },
	{ "empty name", REQ "=192.0.2.7\n\n", 0, 1, 0, POLICY_ERR_EMPTY_NAME, { 0 } },
	{ "empty name and value", REQ "=\n\n", 0, 1, 0, POLICY_ERR_EMPTY_NAME, { 0 } },
	{ "first bad line wins", "=x\nfoo\n\n", 0, 1, 0, POLICY_ERR_EMPTY_NAME, { 0 } },
	{ "NUL in a value", REQ "sender=a\0b\n\n", sizeof(REQ "sender=a\0b\n\n") - 1,
	  POLICY_ERR_NUL, 0, POLICY_ERR_NUL, { 0 } },
	{ "NUL in a name", REQ "sen\0der=a\n\n", sizeof(REQ "sen\0der=a\n\n") - 1,
	  POLICY_ERR_NUL, 0, POLICY_ERR_NUL, { 0 } },
	{ "NUL alone", "\0", 1, POLICY_ERR_NUL, 0, POLICY_ERR_UNTERMINATED, { 0 } },
	{ "NUL line", REQ "\0\n\n", sizeof(REQ "\0\n\n") - 1,
	  POLICY_ERR_NUL, 0, POLICY_ERR_NUL, { 0 } },
	{ "NUL in the next request is not this one's",
	  REQ "\n\0", sizeof(REQ "\n\0") - 1, 1, sizeof(REQ "\n") - 1,
	  POLICY_ERR_UNTERMINATED, { 0 } },
	{ "request= missing", "protocol_state=RCPT\n\n", 0, 1, 0, POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= empty", "request=\n\n", 0, 1, 0, POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= other type", "request=junk\n\n", 0, 1, 0, POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= prefix", "request=smtpd_access_polic\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= longer", "request=smtpd_access_policyy\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= trailing space", "request=smtpd_access_policy \n\n", 0, 1, 0,
	  POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= upper case", "request=SMTPD_ACCESS_POLICY\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= name with a space", "request =smtpd_access_policy\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "request= right, then wrong", REQ "request=junk\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_REQUEST, { 0 } },
	{ "recipient_count too large", REQ "recipient_count=4294967296\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_NUMBER, { 0 } },
	{ "recipient_count negative", REQ "recipient_count=-1\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_NUMBER, { 0 } },
	{ "size too large", REQ "size=18446744073709551616\n\n", 0, 1, 0,
	  POLICY_ERR_BAD_NUMBER, { 0 } },
	{ "size not a number", REQ "size=big\n\n", 0, 1, 0, POLICY_ERR_BAD_NUMBER, { 0 } },
	{ "empty request", "\n", 0, 1, 0, POLICY_ERR_EMPTY, { 0 } },
	{ "empty request, CRLF", "\r\n", 0, 1, 0, POLICY_ERR_EMPTY, { 0 } },
	{ "empty request then a request", "\n" REQ "\n", 0, 1, 1, POLICY_ERR_TRAILING, { 0 } },
	{ "nothing at all", "", 0, 0, 0, POLICY_ERR_UNTERMINATED, { 0 } },
	{ "no empty line", REQ, 0, 0, 0, POLICY_ERR_UNTERMINATED, { 0 } },
	{ "no final newline", REQ "\r", 0, 0, 0, POLICY_ERR_UNTERMINATED, { 0 } },
	{ "no newline at all", "request=smtpd_access_policy", 0, 0, 0,
	  POLICY_ERR_UNTERMINATED, { 0 } },
	{ "bytes after the end", REQ "\nx\n", 0, 1, sizeof(REQ "\n") - 1,
	  POLICY_ERR_TRAILING, { 0 } },
	{ "bytes after the end, unterminated", REQ "\nx", 0, 1, sizeof(REQ "\n") - 1,
	  POLICY_ERR_UNTERMINATED, { 0 } },
};

/* ---- helpers ---- */

static void
check_view(const char *casename, const char *field, struct strview got,
    const char *want, const uint8_t *buf, size_t len)
{
	size_t wlen = want != NULL ? strlen(want) : 0;

	if (got.len != wlen || (wlen > 0 && memcmp(got.ptr, want, wlen) != 0)) {
		print_error("%s: %s is \"%.*s\", want \"%s\"\n", casename, field,
		    (int)got.len, got.len > 0 ? got.ptr : "", want != NULL ? want : "");
		fail();
	}
	if (got.len > 0 && ((const uint8_t *)got.ptr < buf ||
	    (const uint8_t *)got.ptr + got.len > buf + len)) {
		print_error("%s: %s points outside the request\n", casename, field);
		fail();
	}
}

static void
check_number(const char *casename, const char *field, uint64_t got, uint64_t want)
{
	if (got != want) {
		print_error("%s: %s is %llu, want %llu\n", casename, field,
		    (unsigned long long)got, (unsigned long long)want);
		fail();
	}
}

static void
check_request(const char *casename, const struct policy_request *r,
    const struct want *w, const uint8_t *buf, size_t len)
{
#define VIEW(f, wf) check_view(casename, #f, r->f, w->wf, buf, len)
	check_number(casename, "protocol_state", r->protocol_state, w->state);
	VIEW(protocol_state_raw, state_raw);
	VIEW(protocol_name, protocol_name);
	VIEW(client_address, client_address);
	VIEW(client_name, client_name);
	VIEW(reverse_client_name, reverse_client_name);
	VIEW(helo_name, helo_name);
	VIEW(sender, sender);
	VIEW(recipient, recipient);
	VIEW(queue_id, queue_id);
	VIEW(instance, instance);
	VIEW(sasl_method, sasl_method);
	VIEW(sasl_username, sasl_username);
	VIEW(sasl_sender, sasl_sender);
	VIEW(server_address, server_address);
	VIEW(server_port, server_port);
	VIEW(client_port, client_port);
	VIEW(policy_context, policy_context);
#undef VIEW
	check_number(casename, "recipient_count", r->recipient_count, w->recipient_count);
	check_number(casename, "size", r->size, w->size);
	check_number(casename, "attributes", r->attributes, w->attributes);
}

static size_t
case_len(const struct parse_case *c)
{
	return c->len != 0 ? c->len : strlen(c->in);
}

/* Frames and parses buf as case c describes; buf[0..len) is the case's input, or a copy. */
static void
run_case(const struct parse_case *c, const char *label, const uint8_t *buf, size_t len,
    size_t frame_len)
{
	struct policy_request r;
	size_t got_len = 0;
	int rc;

	rc = policy_frame(buf, len, &got_len);
	if (rc != c->frame) {
		print_error("%s%s: policy_frame returned %d, want %d\n", c->name, label,
		    rc, c->frame);
		fail();
	}
	if (rc == 1 && got_len != frame_len) {
		print_error("%s%s: framed %zu bytes, want %zu\n", c->name, label, got_len,
		    frame_len);
		fail();
	}
	rc = policy_parse(buf, len, &r);
	if (rc != c->rc) {
		print_error("%s%s: policy_parse returned %d (%s), want %d (%s)\n", c->name,
		    label, rc, policy_strerror(rc), c->rc, policy_strerror(c->rc));
		fail();
	}
	if (rc == POLICY_OK)
		check_request(c->name, &r, &c->w, buf, len);
}

/* ---- tests ---- */

static void
test_parse_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = case_len(c);
		/* An exact-size copy, so that a sanitizer sees reads past the end. */
		uint8_t *buf = malloc(len ? len : 1);

		assert_non_null(buf);
		memcpy(buf, c->in, len);
		run_case(c, "", buf, len, c->frame_len ? c->frame_len : len);
		free(buf);
	}
}

/* Every well-formed case again with each "\n" turned into "\r\n". */
static void
test_parse_table_crlf(void **state)
{
	size_t i, j, n, ran = 0;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = case_len(c);
		uint8_t *buf;

		if (c->rc != POLICY_OK || strstr(c->in, "\r") != NULL)
			continue;
		buf = malloc(2 * len);
		assert_non_null(buf);
		for (j = n = 0; j < len; j++) {
			if (c->in[j] == '\n')
				buf[n++] = '\r';
			buf[n++] = (uint8_t)c->in[j];
		}
		run_case(c, " (CRLF)", buf, n, n);
		free(buf);
		ran++;
	}
	assert_true(ran >= 20);
}

/* Every prefix of every well-formed request is incomplete; the whole is framed. */
static void
test_frame_split_every_byte(void **state)
{
	size_t i, k, got;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = case_len(c);
		uint8_t *buf;

		if (c->frame != 1 || c->frame_len != 0)
			continue;
		for (k = 0; k < len; k++) {
			/* Exact-size copy of the prefix: frame must not look past it. */
			buf = malloc(k ? k : 1);
			assert_non_null(buf);
			memcpy(buf, c->in, k);
			got = 12345;
			if (policy_frame(buf, k, &got) != 0 || got != 12345) {
				print_error("%s: prefix of %zu of %zu bytes not incomplete\n",
				    c->name, k, len);
				fail();
			}
			free(buf);
		}
		assert_int_equal(policy_frame((const uint8_t *)c->in, len, &got), 1);
		assert_int_equal(got, len);
	}
}

/*
 * A stream of requests as one connection delivers it: three whole ones (LF, CRLF, LF),
 * then the start of a fourth. Used whole here and cut into reads by test_frame_parse_stream.
 */
static const char pipeline[] =
    REQ "protocol_state=RCPT\nrecipient=a@example.org\nclient_address=192.0.2.7\n\n"
    "request=smtpd_access_policy\r\nprotocol_state=RCPT\r\nrecipient=b@example.org\r\n"
    "client_address=2001:db8::7\r\n\r\n"
    REQ "protocol_state=DATA\nrecipient_count=2\n\n"
    REQ "protocol_state=END-";

static const struct {
	enum policy_state state;
	const char *recipient, *client_address;
	uint32_t recipient_count;
} pipeline_want[] = {
	{ POLICY_STATE_RCPT, "a@example.org", "192.0.2.7", 0 },
	{ POLICY_STATE_RCPT, "b@example.org", "2001:db8::7", 0 },
	{ POLICY_STATE_DATA, NULL, NULL, 2 },
};

/* The stream framed and parsed one request after the other. */
static void
test_frame_pipelined(void **state)
{
	const uint8_t *p = (const uint8_t *)pipeline;
	size_t left = sizeof(pipeline) - 1, n, i;
	struct policy_request r;

	for (i = 0; i < sizeof(pipeline_want) / sizeof(pipeline_want[0]); i++) {
		assert_int_equal(policy_frame(p, left, &n), 1);
		assert_int_equal(policy_parse(p, n, &r), POLICY_OK);
		assert_int_equal(r.protocol_state, pipeline_want[i].state);
		check_view("pipelined", "recipient", r.recipient, pipeline_want[i].recipient, p, n);
		check_view("pipelined", "client_address", r.client_address,
		    pipeline_want[i].client_address, p, n);
		assert_int_equal(r.recipient_count, pipeline_want[i].recipient_count);
		p += n;
		left -= n;
	}
	/* The fourth has not arrived whole. */
	assert_int_equal(policy_frame(p, left, &n), 0);
	assert_int_equal(left, sizeof(REQ "protocol_state=END-") - 1);

	/* Two requests split at every byte: the first is framed once it is whole. */
	for (n = 0; n < sizeof(pipeline) - 1; n++) {
		size_t first = sizeof(REQ "protocol_state=RCPT\nrecipient=a@example.org\n"
		    "client_address=192.0.2.7\n\n") - 1, got = 0;
		int rc = policy_frame((const uint8_t *)pipeline, n, &got);

		if (n < first)
			assert_int_equal(rc, 0);
		else {
			assert_int_equal(rc, 1);
			assert_int_equal(got, first);
		}
	}
}

/* A good request followed by a bad one: the first still frames and parses. */
static void
test_frame_good_then_bad(void **state)
{
	static const char stream[] = REQ "sender=a@example.net\n\n" "garbage\0\n\n";
	const uint8_t *p = (const uint8_t *)stream;
	size_t left = sizeof(stream) - 1, n;
	struct policy_request r;

	assert_int_equal(policy_frame(p, left, &n), 1);
	assert_int_equal(policy_parse(p, n, &r), POLICY_OK);
	check_view("good-then-bad", "sender", r.sender, "a@example.net", p, n);
	assert_int_equal(policy_frame(p + n, left - n, &n), POLICY_ERR_NUL);
}

/* Each framing error is reported on the very byte that causes it, not later. */
static void
test_frame_errors_at_first_bad_byte(void **state)
{
	static const char nul[] = REQ "sender=ab\0cd\n\n";
	const size_t nul_at = sizeof(REQ "sender=ab") - 1;
	uint8_t *line;
	size_t k, n;

	for (k = 0; k <= sizeof(nul) - 1; k++)
		assert_int_equal(policy_frame((const uint8_t *)nul, k, &n),
		    k <= nul_at ? 0 : POLICY_ERR_NUL);

	/* One line of 'a' with no newline: incomplete up to POLICY_MAX_LINE - 1 bytes. */
	line = malloc(POLICY_MAX_LINE + 1);
	assert_non_null(line);
	memset(line, 'a', POLICY_MAX_LINE + 1);
	assert_int_equal(policy_frame(line, POLICY_MAX_LINE - 1, &n), 0);
	assert_int_equal(policy_frame(line, POLICY_MAX_LINE, &n), POLICY_ERR_LINE_TOO_LONG);
	assert_int_equal(policy_frame(line, POLICY_MAX_LINE + 1, &n), POLICY_ERR_LINE_TOO_LONG);
	/* The newline just in time, and one byte late. */
	line[POLICY_MAX_LINE - 1] = '\n';
	assert_int_equal(policy_frame(line, POLICY_MAX_LINE, &n), 0);
	line[POLICY_MAX_LINE - 1] = 'a';
	line[POLICY_MAX_LINE] = '\n';
	assert_int_equal(policy_frame(line, POLICY_MAX_LINE + 1, &n), POLICY_ERR_LINE_TOO_LONG);
	free(line);
}

/*
 * A writable region of *good bytes (a whole number of pages, at least
 * POLICY_MAX_REQUEST) followed by an inaccessible page: a read past its end crashes.
 * Unmap with munmap(map, *span).
 */
static uint8_t *
guarded_region(size_t *good, size_t *span)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map;

	assert_true(page > 0);
	*good = ((POLICY_MAX_REQUEST + (size_t)page - 1) / (size_t)page) * (size_t)page;
	*span = *good + (size_t)page;
	map = mmap(NULL, *span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + *good, (size_t)page, PROT_NONE), 0);
	return map;
}

/*
 * A 10 MB flood without a newline is refused after reading POLICY_MAX_LINE bytes:
 * the bytes after them are an inaccessible page, so reading further would crash.
 */
static void
test_frame_reads_no_further_than_needed(void **state)
{
	size_t span, good;
	uint8_t *map = guarded_region(&good, &span), *buf;
	size_t n;

	buf = map + good - POLICY_MAX_LINE;
	memset(buf, 'x', POLICY_MAX_LINE);
	assert_int_equal(policy_frame(buf, 10u << 20, &n), POLICY_ERR_LINE_TOO_LONG);

	/* Good lines without an end: refused at POLICY_MAX_REQUEST bytes. */
	buf = map + good - POLICY_MAX_REQUEST;
	memset(buf, 'x', POLICY_MAX_REQUEST);
	for (n = 99; n < POLICY_MAX_REQUEST; n += 100)
		buf[n] = '\n';
	assert_int_equal(policy_frame(buf, 10u << 20, &n), POLICY_ERR_TOO_LARGE);
	assert_int_equal(policy_frame(buf, POLICY_MAX_REQUEST, &n), POLICY_ERR_TOO_LARGE);
	assert_int_equal(policy_frame(buf, POLICY_MAX_REQUEST - 1, &n), 0);

	munmap(map, span);
}

/*
 * Builds REQ, a line "x=aaa…" of line_len bytes (its newline, or CR and newline,
 * included) and the empty line, in an exact-size buffer.
 */
static uint8_t *
make_long_line(size_t line_len, int crlf, size_t *len)
{
	size_t head = sizeof(REQ) - 1;
	uint8_t *buf;

	*len = head + line_len + 1;
	buf = malloc(*len);
	assert_non_null(buf);
	memcpy(buf, REQ, head);
	buf[head] = 'x';
	buf[head + 1] = '=';
	memset(buf + head + 2, 'a', line_len - 2);
	if (crlf)
		buf[head + line_len - 2] = '\r';
	buf[head + line_len - 1] = '\n';
	buf[*len - 1] = '\n';
	return buf;
}

static void
test_boundary_line(void **state)
{
	struct policy_request r;
	uint8_t *buf;
	size_t len, n;

	/* Exactly POLICY_MAX_LINE bytes, newline included: accepted. */
	buf = make_long_line(POLICY_MAX_LINE, 0, &len);
	assert_int_equal(policy_frame(buf, len, &n), 1);
	assert_int_equal(n, len);
	assert_int_equal(policy_parse(buf, len, &r), POLICY_OK);
	assert_int_equal(r.attributes, 2);
	free(buf);

	/* The same with "\r\n" counted in. */
	buf = make_long_line(POLICY_MAX_LINE, 1, &len);
	assert_int_equal(policy_frame(buf, len, &n), 1);
	assert_int_equal(policy_parse(buf, len, &r), POLICY_OK);
	free(buf);

	/* One byte more: refused by both. */
	buf = make_long_line(POLICY_MAX_LINE + 1, 0, &len);
	assert_int_equal(policy_frame(buf, len, &n), POLICY_ERR_LINE_TOO_LONG);
	assert_int_equal(policy_parse(buf, len, &r), POLICY_ERR_LINE_TOO_LONG);
	free(buf);
	buf = make_long_line(POLICY_MAX_LINE + 1, 1, &len);
	assert_int_equal(policy_frame(buf, len, &n), POLICY_ERR_LINE_TOO_LONG);
	assert_int_equal(policy_parse(buf, len, &r), POLICY_ERR_LINE_TOO_LONG);
	free(buf);

	/* A long known attribute is kept whole. */
	buf = make_long_line(POLICY_MAX_LINE, 0, &len);
	memcpy(buf + sizeof(REQ) - 1, "sender=", 7);
	assert_int_equal(policy_parse(buf, len, &r), POLICY_OK);
	assert_int_equal(r.sender.len, POLICY_MAX_LINE - 8);
	free(buf);
}

/*
 * Builds a valid request of exactly total bytes: REQ, lines "f=aaa…" of at most
 * POLICY_MAX_LINE bytes, the empty line. Sets *lines to the attribute count.
 */
static uint8_t *
make_request_of(size_t total, unsigned *lines)
{
	size_t head = sizeof(REQ) - 1, pos, left, l;
	uint8_t *buf = malloc(total);

	assert_non_null(buf);
	memcpy(buf, REQ, head);
	pos = head;
	*lines = 1;
	for (left = total - head - 1; left > 0; left -= l) {
		l = left > POLICY_MAX_LINE ? POLICY_MAX_LINE : left;
		/* Never leave a tail too short for a line of its own. */
		if (left > l && left - l < 3)
			l -= 3;
		buf[pos] = 'f';
		buf[pos + 1] = '=';
		memset(buf + pos + 2, 'a', l - 3);
		buf[pos + l - 1] = '\n';
		pos += l;
		(*lines)++;
	}
	buf[pos++] = '\n';
	assert_int_equal(pos, total);
	return buf;
}

static void
test_boundary_request(void **state)
{
	struct policy_request r;
	unsigned lines;
	uint8_t *buf;
	size_t n;

	buf = make_request_of(POLICY_MAX_REQUEST, &lines);
	assert_int_equal(policy_frame(buf, POLICY_MAX_REQUEST, &n), 1);
	assert_int_equal(n, POLICY_MAX_REQUEST);
	assert_int_equal(policy_parse(buf, POLICY_MAX_REQUEST, &r), POLICY_OK);
	assert_int_equal(r.attributes, lines);
	/* Without its last byte it is merely incomplete. */
	assert_int_equal(policy_frame(buf, POLICY_MAX_REQUEST - 1, &n), 0);
	free(buf);

	buf = make_request_of(POLICY_MAX_REQUEST + 1, &lines);
	assert_int_equal(policy_frame(buf, POLICY_MAX_REQUEST + 1, &n), POLICY_ERR_TOO_LARGE);
	assert_int_equal(policy_frame(buf, POLICY_MAX_REQUEST, &n), POLICY_ERR_TOO_LARGE);
	assert_int_equal(policy_frame(buf, POLICY_MAX_REQUEST - 1, &n), 0);
	assert_int_equal(policy_parse(buf, POLICY_MAX_REQUEST + 1, &r), POLICY_ERR_TOO_LARGE);
	free(buf);
}

static void
test_numbers(void **state)
{
	static const struct {
		const char *value;
		int rc;
		uint32_t recipient_count;
		uint64_t size;
	} cases[] = {
		{ "", POLICY_OK, 0, 0 },
		{ "0", POLICY_OK, 0, 0 },
		{ "1", POLICY_OK, 1, 1 },
		{ "00042", POLICY_OK, 42, 42 },
		{ "4294967295", POLICY_OK, 4294967295u, 4294967295u },
		{ "4294967296", POLICY_ERR_BAD_NUMBER, 0, 4294967296u },
		{ "18446744073709551615", POLICY_ERR_BAD_NUMBER, 0, UINT64_MAX },
		{ "18446744073709551616", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "99999999999999999999", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "-1", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "+1", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ " 1", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "1 ", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "0x10", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "1e3", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "12a", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ "/", POLICY_ERR_BAD_NUMBER, 0, 0 },
		{ ":", POLICY_ERR_BAD_NUMBER, 0, 0 },
	};
	char buf[128];
	struct policy_request r;
	size_t i;
	int n, rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* recipient_count: 32 bits. */
		n = snprintf(buf, sizeof(buf), REQ "recipient_count=%s\n\n", cases[i].value);
		rc = policy_parse((const uint8_t *)buf, (size_t)n, &r);
		if (rc != cases[i].rc) {
			print_error("recipient_count=%s: %d, want %d\n", cases[i].value, rc,
			    cases[i].rc);
			fail();
		}
		if (rc == POLICY_OK)
			check_number(cases[i].value, "recipient_count", r.recipient_count,
			    cases[i].recipient_count);

		/* size: 64 bits; the 32-bit overflows above are fine here. */
		n = snprintf(buf, sizeof(buf), REQ "size=%s\n\n", cases[i].value);
		rc = policy_parse((const uint8_t *)buf, (size_t)n, &r);
		if (cases[i].rc == POLICY_OK || cases[i].size != 0) {
			assert_int_equal(rc, POLICY_OK);
			check_number(cases[i].value, "size", r.size, cases[i].size);
		} else
			assert_int_equal(rc, POLICY_ERR_BAD_NUMBER);
	}
}

static void
test_states(void **state)
{
	static const struct {
		const char *raw;
		enum policy_state state;
		const char *name;
	} cases[] = {
		{ "CONNECT", POLICY_STATE_CONNECT, "CONNECT" },
		{ "EHLO", POLICY_STATE_EHLO, "EHLO" },
		{ "HELO", POLICY_STATE_EHLO, "EHLO" },
		{ "MAIL", POLICY_STATE_MAIL, "MAIL" },
		{ "RCPT", POLICY_STATE_RCPT, "RCPT" },
		{ "DATA", POLICY_STATE_DATA, "DATA" },
		{ "END-OF-MESSAGE", POLICY_STATE_END_OF_MESSAGE, "END-OF-MESSAGE" },
		{ "VRFY", POLICY_STATE_VRFY, "VRFY" },
		{ "ETRN", POLICY_STATE_ETRN, "ETRN" },
		{ "", POLICY_STATE_UNKNOWN, "unknown" },
		{ "DAT", POLICY_STATE_UNKNOWN, "unknown" },
		{ "DATA ", POLICY_STATE_UNKNOWN, "unknown" },
		{ "END_OF_MESSAGE", POLICY_STATE_UNKNOWN, "unknown" },
		{ "unknown", POLICY_STATE_UNKNOWN, "unknown" },
	};
	char buf[128];
	struct policy_request r;
	size_t i;
	int n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = snprintf(buf, sizeof(buf), REQ "protocol_state=%s\n\n", cases[i].raw);
		assert_int_equal(policy_parse((const uint8_t *)buf, (size_t)n, &r), POLICY_OK);
		assert_int_equal(r.protocol_state, cases[i].state);
		check_view(cases[i].raw, "protocol_state_raw", r.protocol_state_raw,
		    cases[i].raw, (const uint8_t *)buf, (size_t)n);
		assert_string_equal(policy_state_name(r.protocol_state), cases[i].name);
	}
	assert_string_equal(policy_state_name(POLICY_STATE_UNKNOWN), "unknown");
	assert_string_equal(policy_state_name(POLICY_STATE_COUNT), "unknown");
	assert_string_equal(policy_state_name((enum policy_state)1000), "unknown");
	assert_string_equal(policy_state_name((enum policy_state)-1), "unknown");
}

static void
test_strerror(void **state)
{
	static const struct {
		int err;
		const char *text;
	} cases[] = {
		{ POLICY_OK, "no error" },
		{ POLICY_ERR_NO_EQUALS, "line without '='" },
		{ POLICY_ERR_LINE_TOO_LONG, "line too long" },
		{ POLICY_ERR_TOO_LARGE, "request too large" },
		{ POLICY_ERR_NUL, "NUL byte in request" },
		{ POLICY_ERR_EMPTY_NAME, "attribute with an empty name" },
		{ POLICY_ERR_BAD_REQUEST, "request= missing or not smtpd_access_policy" },
		{ POLICY_ERR_BAD_NUMBER, "numeric attribute not a decimal number in range" },
		{ POLICY_ERR_EMPTY, "empty request" },
		{ POLICY_ERR_UNTERMINATED, "request not terminated by an empty line" },
		{ POLICY_ERR_TRAILING, "bytes after the end of the request" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(policy_strerror(cases[i].err), cases[i].text);
	assert_string_equal(policy_strerror(-11), "unknown policy error");
	assert_string_equal(policy_strerror(1), "unknown policy error");
	assert_string_equal(policy_strerror(-1000), "unknown policy error");
}

/* policy_parse clears what an earlier request left in the same struct. */
static void
test_parse_resets(void **state)
{
	static const char first[] = REQ "sender=a@example.net\nrecipient_count=9\nsize=7\n"
	    "protocol_state=DATA\n\n";
	static const char second[] = REQ "\n";
	struct policy_request r;

	assert_int_equal(policy_parse((const uint8_t *)first, sizeof(first) - 1, &r),
	    POLICY_OK);
	assert_int_equal(r.recipient_count, 9);
	assert_int_equal(policy_parse((const uint8_t *)second, sizeof(second) - 1, &r),
	    POLICY_OK);
	assert_int_equal(r.sender.len, 0);
	assert_int_equal(r.recipient_count, 0);
	assert_int_equal(r.size, 0);
	assert_int_equal(r.protocol_state, POLICY_STATE_UNKNOWN);
	assert_int_equal(r.protocol_state_raw.len, 0);
	assert_int_equal(r.attributes, 1);
}

/* ---- policy_frame_parse: always what policy_frame then policy_parse say ---- */

/* The reference: policy_frame, then policy_parse on the framed bytes. */
static int
frame_then_parse(const uint8_t *buf, size_t len, size_t *n, struct policy_request *r)
{
	int rc = policy_frame(buf, len, n);

	if (rc != 1)
		return rc;
	rc = policy_parse(buf, *n, r);
	return rc == POLICY_OK ? 1 : rc;
}

/* policy_frame_parse on buf[0..len) agrees with the reference, views included. */
static int
check_frame_parse(const char *label, const uint8_t *buf, size_t len, size_t *n)
{
	struct policy_request got, want;
	size_t got_len = 12345, want_len = 0;
	int rc = policy_frame_parse(buf, len, &got_len, &got);
	int want_rc = frame_then_parse(buf, len, &want_len, &want);

	if (rc != want_rc) {
		print_error("%s: policy_frame_parse returned %d (%s), policy_frame + policy_parse %d (%s)\n",
		    label, rc, policy_strerror(rc), want_rc, policy_strerror(want_rc));
		fail();
	}
	if (rc != 1) {
		if (got_len != 12345) {
			print_error("%s: request length set on %d\n", label, rc);
			fail();
		}
		return rc;
	}
	assert_int_equal(got_len, want_len);
	/* the same views of the same bytes */
#define SAME(f) do { \
		assert_int_equal(got.f.len, want.f.len); \
		assert_true(got.f.len == 0 || got.f.ptr == want.f.ptr); \
	} while (0)
	SAME(protocol_state_raw); SAME(protocol_name); SAME(client_address);
	SAME(client_name); SAME(reverse_client_name); SAME(helo_name); SAME(sender);
	SAME(recipient); SAME(queue_id); SAME(instance); SAME(sasl_method);
	SAME(sasl_username); SAME(sasl_sender); SAME(server_address); SAME(server_port);
	SAME(client_port); SAME(policy_context);
#undef SAME
	assert_int_equal(got.protocol_state, want.protocol_state);
	assert_int_equal(got.recipient_count, want.recipient_count);
	assert_int_equal(got.size, want.size);
	assert_int_equal(got.attributes, want.attributes);
	*n = got_len;
	return rc;
}

/* Every table case, LF and CRLF, whole and cut at every byte, in exact-size copies. */
static void
test_frame_parse_table(void **state)
{
	size_t i, j, k, m, n;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = case_len(c);
		uint8_t *crlf = malloc(2 * len + 1);

		assert_non_null(crlf);
		for (j = m = 0; j < len; j++) {
			if (c->in[j] == '\n')
				crlf[m++] = '\r';
			crlf[m++] = (uint8_t)c->in[j];
		}
		for (k = 0; k <= len; k++) {
			uint8_t *buf = malloc(k ? k : 1);

			assert_non_null(buf);
			memcpy(buf, c->in, k);
			check_frame_parse(c->name, buf, k, &n);
			free(buf);
		}
		for (k = 0; k <= m; k++) {
			uint8_t *buf = malloc(k ? k : 1);

			assert_non_null(buf);
			memcpy(buf, crlf, k);
			check_frame_parse(c->name, buf, k, &n);
			free(buf);
		}
		free(crlf);
		/* and the fields the table wants */
		if (c->rc == POLICY_OK) {
			struct policy_request r;

			assert_int_equal(policy_frame_parse((const uint8_t *)c->in, len, &n, &r), 1);
			assert_int_equal(n, len);
			check_request(c->name, &r, &c->w, (const uint8_t *)c->in, len);
		}
	}
}

/*
 * What a connection sees: pipeline[] (above) arrives in two reads, split at every byte
 * offset, or one byte at a time; the buffer is consumed as the server does. Every
 * split gives the same three requests, then the fourth is incomplete.
 *
 * Feeds pipeline[] in reads of the sizes in cuts (the last read takes the rest),
 * answering whole requests after each read; returns how many were answered.
 */
static size_t
feed_pipeline(const size_t *cuts, size_t ncuts)
{
	uint8_t buf[sizeof(pipeline)];
	size_t have = 0, done = 0, got = 0, total = sizeof(pipeline) - 1, i;

	for (i = 0; i <= ncuts && have < total; i++) {
		size_t more = i < ncuts ? cuts[i] : total - have;
		struct policy_request r;
		size_t n;
		int rc;

		if (more > total - have)
			more = total - have;
		memcpy(buf + have, pipeline + have, more);
		have += more;
		while ((rc = policy_frame_parse(buf + done, have - done, &n, &r)) == 1) {
			assert_true(got < sizeof(pipeline_want) / sizeof(pipeline_want[0]));
			assert_int_equal(r.protocol_state, pipeline_want[got].state);
			check_view("pipeline", "recipient", r.recipient, pipeline_want[got].recipient,
			    buf + done, n);
			check_view("pipeline", "client_address", r.client_address,
			    pipeline_want[got].client_address, buf + done, n);
			assert_int_equal(r.recipient_count, pipeline_want[got].recipient_count);
			done += n;
			got++;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(have - done, sizeof(REQ "protocol_state=END-") - 1);
	return got;
}

static void
test_frame_parse_stream(void **state)
{
	size_t cut, ones[sizeof(pipeline)];

	/* all of it in one read: several requests at once */
	assert_int_equal(feed_pipeline(NULL, 0), 3);
	/* two reads, split at every offset */
	for (cut = 0; cut < sizeof(pipeline); cut++)
		assert_int_equal(feed_pipeline(&cut, 1), 3);
	/* a byte a read */
	for (cut = 0; cut < sizeof(ones) / sizeof(ones[0]); cut++)
		ones[cut] = 1;
	assert_int_equal(feed_pipeline(ones, sizeof(ones) / sizeof(ones[0])), 3);
}

/*
 * A parse error is reported once the request is whole, not before (the prefixes are
 * incomplete, as for policy_frame); a framing error is reported at its byte, even
 * after a parse error.
 */
static void
test_frame_parse_error_timing(void **state)
{
	static const char bad[] = REQ "no equals here\nsender=a@example.net\n\n";
	static const char bad_then_nul[] = REQ "no equals here\nsender=a\0b\n\n";
	static const char number_then_long[] = REQ "size=x\n";
	const size_t nul_at = sizeof(REQ "no equals here\nsender=a") - 1;
	struct policy_request r;
	uint8_t *buf;
	size_t k, n;

	for (k = 0; k < sizeof(bad) - 1; k++)
		assert_int_equal(policy_frame_parse((const uint8_t *)bad, k, &n, &r), 0);
	assert_int_equal(policy_frame_parse((const uint8_t *)bad, sizeof(bad) - 1, &n, &r),
	    POLICY_ERR_NO_EQUALS);

	for (k = 0; k <= sizeof(bad_then_nul) - 1; k++)
		assert_int_equal(policy_frame_parse((const uint8_t *)bad_then_nul, k, &n, &r),
		    k <= nul_at ? 0 : POLICY_ERR_NUL);

	/* a bad number, then a line that grows too long: the framing error */
	buf = malloc(sizeof(number_then_long) - 1 + POLICY_MAX_LINE);
	assert_non_null(buf);
	memcpy(buf, number_then_long, sizeof(number_then_long) - 1);
	memset(buf + sizeof(number_then_long) - 1, 'a', POLICY_MAX_LINE);
	assert_int_equal(policy_frame_parse(buf, sizeof(number_then_long) - 1 + POLICY_MAX_LINE - 1,
	    &n, &r), 0);
	assert_int_equal(policy_frame_parse(buf, sizeof(number_then_long) - 1 + POLICY_MAX_LINE,
	    &n, &r), POLICY_ERR_LINE_TOO_LONG);
	free(buf);

	/* a good request, then a bad one: the first is answered */
	static const char good_then_bad[] = REQ "sender=a@example.net\n\n" "garbage\n\n";
	assert_int_equal(policy_frame_parse((const uint8_t *)good_then_bad,
	    sizeof(good_then_bad) - 1, &n, &r), 1);
	check_view("good-then-bad", "sender", r.sender, "a@example.net",
	    (const uint8_t *)good_then_bad, n);
	assert_int_equal(policy_frame_parse((const uint8_t *)good_then_bad + n,
	    sizeof(good_then_bad) - 1 - n, &n, &r), POLICY_ERR_NO_EQUALS);
	/* a leading empty line is a request of its own, and empty */
	assert_int_equal(policy_frame_parse((const uint8_t *)"\n" REQ "\n", 1 + sizeof(REQ),
	    &n, &r), POLICY_ERR_EMPTY);
}

/* The limits, to the byte, and no reading past what is needed. */
static void
test_frame_parse_limits(void **state)
{
	struct policy_request r;
	unsigned lines;
	size_t len, n, good, span;
	uint8_t *buf, *map;

	buf = make_long_line(POLICY_MAX_LINE, 0, &len);
	assert_int_equal(check_frame_parse("longest line", buf, len, &n), 1);
	assert_int_equal(policy_frame_parse(buf, len, &n, &r), 1);
	assert_int_equal(r.attributes, 2);
	free(buf);
	buf = make_long_line(POLICY_MAX_LINE, 1, &len);
	assert_int_equal(check_frame_parse("longest line, CRLF", buf, len, &n), 1);
	free(buf);
	buf = make_long_line(POLICY_MAX_LINE + 1, 0, &len);
	assert_int_equal(check_frame_parse("line too long", buf, len, &n), POLICY_ERR_LINE_TOO_LONG);
	free(buf);

	buf = make_request_of(POLICY_MAX_REQUEST, &lines);
	assert_int_equal(check_frame_parse("largest request", buf, POLICY_MAX_REQUEST, &n), 1);
	assert_int_equal(n, POLICY_MAX_REQUEST);
	assert_int_equal(policy_frame_parse(buf, POLICY_MAX_REQUEST, &n, &r), 1);
	assert_int_equal(r.attributes, lines);
	assert_int_equal(policy_frame_parse(buf, POLICY_MAX_REQUEST - 1, &n, &r), 0);
	free(buf);
	buf = make_request_of(POLICY_MAX_REQUEST + 1, &lines);
	assert_int_equal(check_frame_parse("request too large", buf, POLICY_MAX_REQUEST + 1, &n),
	    POLICY_ERR_TOO_LARGE);
	assert_int_equal(policy_frame_parse(buf, POLICY_MAX_REQUEST, &n, &r), POLICY_ERR_TOO_LARGE);
	free(buf);

	/* a flood without a newline, and good lines without an end, before a guard page */
	map = guarded_region(&good, &span);
	buf = map + good - POLICY_MAX_LINE;
	memset(buf, 'x', POLICY_MAX_LINE);
	assert_int_equal(policy_frame_parse(buf, 10u << 20, &n, &r), POLICY_ERR_LINE_TOO_LONG);
	buf = map + good - POLICY_MAX_REQUEST;
	memset(buf, 'x', POLICY_MAX_REQUEST);
	for (n = 99; n < POLICY_MAX_REQUEST; n += 100)
		buf[n] = '\n';
	assert_int_equal(policy_frame_parse(buf, 10u << 20, &n, &r), POLICY_ERR_TOO_LARGE);
	assert_int_equal(policy_frame_parse(buf, POLICY_MAX_REQUEST - 1, &n, &r), 0);
	munmap(map, span);
}

/*
 * The fast path reads 64 bytes at a time: every line start, '=', '\r', newline and
 * final empty line at every offset in a block, names and values that cross blocks,
 * a value holding '=', a name longer than a block — all parsed, and agreeing with
 * the reference; a NUL at each byte is refused, one in the next request is not seen.
 */
static void
test_frame_parse_blocks(void **state)
{
	static const char tail[] = "protocol_state=RCPT\nclient_address=192.0.2.1\n"
	    "x_a_name_longer_than_the_sixty_four_bytes_of_a_block_of_the_scanner_0123456789=v\n"
	    "sender=a=b@example.net\nrecipient_count=3\n"
	    "ccert_subject=\nsasl_username=someone\n\n";
	uint8_t buf[1024], crlf[2048];
	struct policy_request r;
	size_t n;

	(void)state;
	for (size_t pad = 0; pad < 130; pad++) {
		size_t len = 0, m = 0;
		memcpy(buf, REQ, strlen(REQ));
		len = strlen(REQ);
		memcpy(buf + len, "x_pad=", 6);
		len += 6;
		memset(buf + len, 'p', pad);
		len += pad;
		buf[len++] = '\n';
		memcpy(buf + len, tail, sizeof(tail) - 1);
		len += sizeof(tail) - 1;
		assert_int_equal(check_frame_parse("blocks", buf, len, &n), 1);
		assert_int_equal(n, len);
		assert_int_equal(policy_frame_parse(buf, len, &n, &r), 1);
		assert_int_equal(r.attributes, 9);
		assert_int_equal(r.recipient_count, 3);
		assert_int_equal(r.protocol_state, POLICY_STATE_RCPT);
		assert_int_equal(r.sender.len, strlen("a=b@example.net"));
		assert_memory_equal(r.client_address.ptr, "192.0.2.1", 9);
		assert_memory_equal(r.sasl_username.ptr, "someone", 7);
		/* the same with CRLF */
		for (size_t j = 0; j < len; j++) {
			if (buf[j] == '\n')
				crlf[m++] = '\r';
			crlf[m++] = buf[j];
		}
		assert_int_equal(check_frame_parse("blocks, CRLF", crlf, m, &n), 1);
		assert_int_equal(n, m);
		/* a NUL in the next request is that request's problem */
		buf[len] = '\0';
		assert_int_equal(check_frame_parse("blocks, NUL after", buf, len + 1, &n), 1);
		assert_int_equal(n, len);
		/* cut anywhere: more bytes needed */
		for (size_t k = 0; k < len; k += 7)
			assert_int_equal(check_frame_parse("blocks, cut", buf, k, &n), 0);
		/* a NUL at any byte of the request */
		for (size_t k = 0; k < len; k++) {
			uint8_t keep = buf[k];
			buf[k] = '\0';
			assert_int_equal(check_frame_parse("blocks, NUL", buf, len, &n), POLICY_ERR_NUL);
			buf[k] = keep;
		}
		/* a line without '=' at any of these offsets */
		memset(buf + strlen(REQ), 'p', 6);
		assert_int_equal(check_frame_parse("blocks, no '='", buf, len, &n), POLICY_ERR_NO_EQUALS);
	}
}

/*
 * A line of nearly POLICY_MAX_LINE bytes, then short ones: the fast path may read no
 * further than POLICY_MAX_LINE from a line's start, so a block is cut short there and
 * the next one must start right after it, not 64 bytes on (found by the fuzzer: the
 * bytes in between were skipped, and two lines parsed as one).
 */
static void
test_frame_parse_long_line_blocks(void **state)
{
	static const char tail[] = "protocol_state=DATA\nclient_address=192.0.2.7\nrecipient_count=2\n\n";
	uint8_t *buf = malloc(POLICY_MAX_LINE + 256);
	struct policy_request r;
	size_t n;

	(void)state;
	assert_non_null(buf);
	for (size_t line = POLICY_MAX_LINE - 130; line <= POLICY_MAX_LINE; line++) {
		size_t len = strlen(REQ);
		memcpy(buf, REQ, len);
		buf[len++] = 'x';
		buf[len++] = '=';
		memset(buf + len, 'a', line - 3);
		len += line - 3;
		buf[len++] = '\n';
		memcpy(buf + len, tail, sizeof(tail) - 1);
		len += sizeof(tail) - 1;
		assert_int_equal(check_frame_parse("long line", buf, len, &n), 1);
		assert_int_equal(policy_frame_parse(buf, len, &n, &r), 1);
		assert_int_equal(r.attributes, 5);
		assert_int_equal(r.protocol_state, POLICY_STATE_DATA);
		assert_int_equal(r.recipient_count, 2);
		assert_int_equal(r.client_address.len, 9);
	}
	free(buf);
}

/* Nothing of an earlier request survives in the struct. */
static void
test_frame_parse_resets(void **state)
{
	static const char first[] = REQ "sender=a@example.net\nrecipient_count=9\nsize=7\n"
	    "protocol_state=DATA\n\n";
	static const char second[] = REQ "\n";
	struct policy_request r;
	size_t n;

	assert_int_equal(policy_frame_parse((const uint8_t *)first, sizeof(first) - 1, &n, &r), 1);
	assert_int_equal(r.recipient_count, 9);
	assert_int_equal(policy_frame_parse((const uint8_t *)second, sizeof(second) - 1, &n, &r), 1);
	assert_int_equal(r.sender.len, 0);
	assert_int_equal(r.recipient_count, 0);
	assert_int_equal(r.size, 0);
	assert_int_equal(r.protocol_state, POLICY_STATE_UNKNOWN);
	assert_int_equal(r.attributes, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_table_crlf),
		cmocka_unit_test(test_frame_split_every_byte),
		cmocka_unit_test(test_frame_pipelined),
		cmocka_unit_test(test_frame_good_then_bad),
		cmocka_unit_test(test_frame_errors_at_first_bad_byte),
		cmocka_unit_test(test_frame_reads_no_further_than_needed),
		cmocka_unit_test(test_boundary_line),
		cmocka_unit_test(test_boundary_request),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_parse_resets),
		cmocka_unit_test(test_frame_parse_table),
		cmocka_unit_test(test_frame_parse_stream),
		cmocka_unit_test(test_frame_parse_error_timing),
		cmocka_unit_test(test_frame_parse_limits),
		cmocka_unit_test(test_frame_parse_blocks),
		cmocka_unit_test(test_frame_parse_long_line_blocks),
		cmocka_unit_test(test_frame_parse_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
