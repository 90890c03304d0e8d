/*
 * udp_dump.c — writes every UDP datagram that reaches ADDR:PORT to FILE, each as a
 * 2-byte big-endian length and its bytes, keeping the datagram boundaries a flow
 * decoder needs (tests/unit/data/flows/README.md: how the captures were made).
 *
 * usage: udp_dump ADDR PORT FILE SECONDS   (stops after SECONDS without a datagram)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	static uint8_t buf[65536];
	unsigned count = 0;
	socklen_t sl;
	FILE *fp;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: udp_dump ADDR PORT FILE SECONDS\n");
		return 2;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)atoi(argv[2]));
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[1], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)atoi(argv[2]));
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "udp_dump: bad address %s\n", argv[1]);
		return 2;
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) == -1 || bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		perror("udp_dump: socket");
		return 1;
	}
	if ((fp = fopen(argv[3], "wb")) == NULL) {
		perror(argv[3]);
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, atoi(argv[4]) * 1000) == 1) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint8_t hdr[2];

		if (n < 0 || n > 65535)
			continue;
		hdr[0] = (uint8_t)(n >> 8);
		hdr[1] = (uint8_t)n;
		if (fwrite(hdr, 1, 2, fp) != 2 || fwrite(buf, 1, (size_t)n, fp) != (size_t)n) {
			perror(argv[3]);
			return 1;
		}
		fflush(fp);
		count++;
	}
	fclose(fp);
	printf("udp_dump: %u datagrams\n", count);
	return 0;
}
