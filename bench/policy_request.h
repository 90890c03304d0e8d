/*
 * policy_request.h — the requests the policy benchmarks send: what Postfix 3.7
 * sends from smtpd_data_restrictions, varied per request. Shared by policy_load
 * (over the network) and policy_path (in process), so both measure the same bytes.
 */
#ifndef LAZARET_BENCH_POLICY_REQUEST_H
#define LAZARET_BENCH_POLICY_REQUEST_H

#include <stdint.h>
#include <string.h>

#define POLICY_REQUEST_BUF 2048    /* every request policy_request_build makes fits */

struct policy_mix {
	unsigned long hosts;        /* client_address walks over this many, in 10.0.0.0/8 */
	unsigned long accounts;     /* 0: no SASL logins */
	unsigned sasl_percent;      /* of the requests, when accounts > 0 */
	uint64_t sasl_seq;          /* authenticated requests so far */
};

static char *
put_str(char *p, const char *s)
{
	size_t	 n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *
put_uint(char *p, unsigned long long v)
{
	char	 tmp[24];
	int	 i = 0;

	do {
		tmp[i++] = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	while (i > 0)
		*p++ = tmp[--i];
	return p;
}

static char *
put_hex(char *p, unsigned long long v, int digits)
{
	static const char hexd[] = "0123456789ABCDEF";
	int	 i;

	for (i = digits - 1; i >= 0; i--)
		p[i] = hexd[v & 15], v >>= 4;
	return p + digits;
}

/*
 * Postfix 3.7's request from smtpd_data_restrictions, attribute for
 * attribute, in its order. Varies per request: client (address, name,
 * port), queue id, sender, recipient count (the recipient itself is only
 * sent when there is exactly one), size, and the SASL login.
 */
static size_t
policy_request_build(struct policy_mix *mix, char *buf, uint64_t n)
{
	unsigned long	 host, acct = 0;
	unsigned	 a, b, d, rcpts;
	int		 sasl;
	char		*p = buf;

	/* scatter the hosts: a stride coprime with most H walks them all */
	host = 1 + (unsigned long)((n * 7919ULL) % mix->hosts);
	a = (host >> 16) & 255;
	b = (host >> 8) & 255;
	d = host & 255;
	rcpts = 1 + (unsigned)(n % 3);
	sasl = mix->accounts > 0 && (n * 37 % 100) < mix->sasl_percent;
	if (sasl)
		acct = (unsigned long)((mix->sasl_seq++ * 104729ULL) % mix->accounts);

	p = put_str(p, "request=smtpd_access_policy\n"
	    "protocol_state=DATA\n"
	    "protocol_name=ESMTP\n"
	    "client_address=10.");
	p = put_uint(p, a); *p++ = '.';
	p = put_uint(p, b); *p++ = '.';
	p = put_uint(p, d);
	p = put_str(p, "\nclient_name=host-10-");
	p = put_uint(p, a); *p++ = '-';
	p = put_uint(p, b); *p++ = '-';
	p = put_uint(p, d);
	p = put_str(p, ".dsl.example.net\nclient_port=");
	p = put_uint(p, 1024 + n % 64000);
	p = put_str(p, "\nreverse_client_name=host-10-");
	p = put_uint(p, a); *p++ = '-';
	p = put_uint(p, b); *p++ = '-';
	p = put_uint(p, d);
	p = put_str(p, ".dsl.example.net\n"
	    "server_address=192.0.2.25\n"
	    "server_port=");
	p = put_str(p, sasl ? "587" : "25");
	p = put_str(p, "\nhelo_name=");
	p = put_str(p, sasl ? "[192.168.1.20]" : "DESKTOP-7F3K2Q");
	p = put_str(p, "\nsender=");
	if (sasl) {
		p = put_str(p, "user");
		p = put_uint(p, acct);
	} else {
		p = put_str(p, "s");
		p = put_uint(p, n % 100000);
	}
	p = put_str(p, "@example.net\nrecipient=");
	if (rcpts == 1) {
		p = put_str(p, "r");
		p = put_uint(p, n % 1000003);
		p = put_str(p, "@example.org");
	}
	p = put_str(p, "\nrecipient_count=");
	p = put_uint(p, rcpts);
	p = put_str(p, "\nqueue_id=");
	p = put_hex(p, n * 2654435761ULL, 10);
	p = put_str(p, "\ninstance=");
	p = put_hex(p, n & 0xffff, 4);
	*p++ = '.';
	p = put_hex(p, 0x6546b3a0ULL + n / 1000, 8);
	*p++ = '.';
	p = put_hex(p, n % 1000000, 5);
	p = put_str(p, ".0\nsize=");
	p = put_uint(p, 1000 + n * 131 % 200000);
	p = put_str(p, "\netrn_domain=\nstress=\nsasl_method=");
	if (sasl)
		p = put_str(p, "PLAIN");
	p = put_str(p, "\nsasl_username=");
	if (sasl) {
		p = put_str(p, "user");
		p = put_uint(p, acct);
	}
	p = put_str(p, "\nsasl_sender=\n"
	    "ccert_subject=\nccert_issuer=\nccert_fingerprint=\n"
	    "ccert_pubkey_fingerprint=\n"
	    "encryption_protocol=");
	if (sasl)
		p = put_str(p, "TLSv1.3");
	p = put_str(p, "\nencryption_cipher=");
	if (sasl)
		p = put_str(p, "TLS_AES_256_GCM_SHA384");
	p = put_str(p, "\nencryption_keysize=");
	p = put_str(p, sasl ? "256" : "0");
	p = put_str(p, "\npolicy_context=\n\n");
	return (size_t)(p - buf);
}

#endif
