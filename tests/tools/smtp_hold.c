/*
 * smtp_hold.c — an authenticated SMTP session kept open, for account_sessions' integration
 * test: from SOURCE (an IPv4 address, 127.0.0.N) to 127.0.0.1:PORT, EHLO, AUTH PLAIN as
 * USER, one message to RCPT (so that smtpd logs its client= line with sasl_username=),
 * then "held" on stdout; the session stays open until FILE no longer exists, then QUIT.
 * swaks ends its session as soon as its message is sent, and sessions open at the same
 * time are what the rule counts. Exit 0; 1 when a reply is not the one expected (written
 * to stderr) or after 60 s without FILE going away; 2 on usage errors.
 *
 * usage: smtp_hold SOURCE PORT USER PASSWORD RCPT FILE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd = -1;
static char buf[8192];
static size_t have;

/* Reads one whole reply (the last line has no '-' after its code); its code, or -1. */
static int
reply(const char *what)
{
	for (;;) {
		char *start = buf, *nl;

		while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
			if (nl - start >= 4 && start[3] != '-') {
				int code = atoi(start);
				size_t used = (size_t)(nl + 1 - buf);

				if (code < 200 || code >= 400)
					fprintf(stderr, "smtp_hold: %s: %.*s\n", what, (int)(nl - start), start);
				memmove(buf, nl + 1, have - used);
				have -= used;
				return code;
			}
			start = nl + 1;
		}
		if (have == sizeof(buf))
			return -1;
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0) {
			fprintf(stderr, "smtp_hold: %s: the server closed the connection\n", what);
			return -1;
		}
		have += (size_t)n;
	}
}

/* Sends a command line and reads its reply; true when the reply's code is want's class. */
static int
say(const char *line, int want)
{
	size_t n = strlen(line);

	if (write(fd, line, n) != (ssize_t)n || write(fd, "\r\n", 2) != 2)
		return 0;
	return reply(line) / 100 == want / 100;
}

static void
base64(const unsigned char *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < len ? in[i + 2] : 0);

		*out++ = a[v >> 18 & 63];
		*out++ = a[v >> 12 & 63];
		*out++ = i + 1 < len ? a[v >> 6 & 63] : '=';
		*out++ = i + 2 < len ? a[v & 63] : '=';
	}
	*out = '\0';
}

int
main(int argc, char **argv)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	unsigned char plain[512];
	char line[1024], b64[700];
	size_t ul, pl;

	if (argc != 7 || inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 || atoi(argv[2]) <= 0 ||
	    (ul = strlen(argv[3])) + (pl = strlen(argv[4])) + 2 > sizeof(plain)) {
		fprintf(stderr, "usage: smtp_hold SOURCE PORT USER PASSWORD RCPT FILE\n");
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		perror("smtp_hold: connect");
		return 1;
	}
	/* AUTH PLAIN: NUL USER NUL PASSWORD */
	plain[0] = '\0';
	memcpy(plain + 1, argv[3], ul);
	plain[1 + ul] = '\0';
	memcpy(plain + 2 + ul, argv[4], pl);
	base64(plain, 2 + ul + pl, b64);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", b64);
	if (reply("greeting") != 220 || !say("EHLO hold.lazaret-it.test", 250) || !say(line, 235))
		return 1;
	snprintf(line, sizeof(line), "MAIL FROM:<%s>", argv[3]);
	if (!say(line, 250))
		return 1;
	snprintf(line, sizeof(line), "RCPT TO:<%s>", argv[5]);
	if (!say(line, 250) || !say("DATA", 354) ||
	    !say("Subject: lazaret-it smtp_hold\r\nX-Lazaret-It: hold\r\n\r\nheld open\r\n.", 250))
		return 1;
	printf("held\n");
	fflush(stdout);
	for (int i = 0; i < 600 && access(argv[6], F_OK) == 0; i++)
		poll(NULL, 0, 100);
	if (access(argv[6], F_OK) == 0) {
		fprintf(stderr, "smtp_hold: %s still there after 60 s\n", argv[6]);
		return 1;
	}
	say("QUIT", 221);
	close(fd);
	return 0;
}
