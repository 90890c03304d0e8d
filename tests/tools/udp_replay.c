/*
 * udp_replay.c — sends the datagrams of a capture written by udp_dump (each a 2-byte
 * big-endian length and its bytes) to a UDP address, as an exporter would: the
 * integration tests replay real NetFlow/IPFIX/sFlow exports into lazaretd with it.
 *
 *   udp_replay [-n TIMES] [-s SOURCE_ADDRESS] FILE HOST PORT
 *
 * -n sends the whole file that many times; -s binds the sending socket to an address
 * (so the datagrams come from a chosen exporter). Prints how many datagrams it sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
sockaddr_of(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *source = NULL;
	long times = 1;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			times = strtol(optarg, NULL, 10);
		else if (opt == 's')
			source = optarg;
		else
			goto usage;
	}
	if (argc - optind != 3 || times < 1)
		goto usage;
	FILE *fp = fopen(argv[optind], "rb");
	if (fp == NULL) {
		fprintf(stderr, "udp_replay: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	static unsigned char data[1 << 22];
	size_t size = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	if (sockaddr_of(argv[optind + 1], atoi(argv[optind + 2]), &to, &tolen) != 0) {
		fprintf(stderr, "udp_replay: bad address %s\n", argv[optind + 1]);
		return 1;
	}
	int fd = socket(to.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || (source != NULL && (sockaddr_of(source, 0, &from, &fromlen) != 0 ||
	    bind(fd, (struct sockaddr *)&from, fromlen) != 0))) {
		fprintf(stderr, "udp_replay: socket or source %s: %s\n", source ? source : "", strerror(errno));
		return 1;
	}
	long sent = 0;
	for (long t = 0; t < times; t++)
		for (size_t off = 0; off + 2 <= size;) {
			size_t n = (size_t)data[off] << 8 | data[off + 1];
			if (off + 2 + n > size) {
				fprintf(stderr, "udp_replay: %s is cut short\n", argv[optind]);
				return 1;
			}
			if (sendto(fd, data + off + 2, n, 0, (struct sockaddr *)&to, tolen) != (ssize_t)n) {
				fprintf(stderr, "udp_replay: sendto: %s\n", strerror(errno));
				return 1;
			}
			sent++;
			off += 2 + n;
		}
	printf("%ld\n", sent);
	return 0;
usage:
	fprintf(stderr, "usage: udp_replay [-n TIMES] [-s SOURCE_ADDRESS] FILE HOST PORT\n");
	return 2;
}
