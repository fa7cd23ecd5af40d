/* bench/httpget: GET over a new loopback TCP connection each time, as an
 * SDK's metadata call does; times connect..last byte..close.
 *
 *   httpget [-n ITER] [-w WARMUP] PORT
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char request[] =
    "GET /latest/meta-data/iam/security-credentials/bench HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n"
    "Connection: close\r\n\r\n";

static long get(int port)
{
	static char buf[65536];
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port)};
	int one = 1;
	long total = 0;
	ssize_t k;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(s, request, sizeof(request) - 1) != sizeof(request) - 1) {
		close(s);
		return -1;
	}
	while ((k = read(s, buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
		total += k;
	close(s);
	buf[total] = 0;
	char *b = strstr(buf, "\r\n\r\n");
	if (!b || strncmp(buf, "HTTP/1.1 200", 12))
		return -1;
	return total - (b + 4 - buf); /* body bytes */
}

static long get_op(void *arg)
{
	return get(*(int *)arg);
}

int main(int argc, char **argv)
{
	long iters = 5000, warm = 200;

	if (bench_opts(argc, argv, &iters, &warm))
		return 2;
	int port = atoi(argv[optind]);
	return bench_loop(warm, iters, get_op, &port, "httpget: GET");
}
