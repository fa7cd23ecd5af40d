/* bench/httpd: a minimal loopback HTTP/1.1 server, one request per
 * connection (like an instance metadata endpoint), serving one file's
 * bytes for any GET.
 *
 *   httpd BODY_FILE PORT_FILE
 *
 * Binds 127.0.0.1 on an ephemeral port, writes the port to PORT_FILE, and
 * serves until killed.  Single-threaded: accept, read the request head,
 * write head+body in one writev, close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char body[65536], req[8192];
	char head[256];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: httpd BODY_FILE PORT_FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	ssize_t blen = fd < 0 ? -1 : read(fd, body, sizeof(body));
	if (blen < 0) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	int hlen = snprintf(head, sizeof(head),
			    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			    "Content-Length: %zd\r\nConnection: close\r\n\r\n",
			    blen);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 128) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		perror("httpd: bind");
		return 1;
	}
	FILE *pf = fopen(argv[2], "w");
	if (!pf)
		return 1;
	fprintf(pf, "%d\n", ntohs(sa.sin_port));
	fclose(pf);
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return 1;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		size_t got = 0;
		while (got < sizeof(req) - 1) {
			ssize_t k = read(c, req + got, sizeof(req) - 1 - got);
			if (k <= 0)
				break;
			got += (size_t)k;
			req[got] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		struct iovec iov[2] = {{head, (size_t)hlen},
				       {body, (size_t)blen}};
		if (writev(c, iov, 2) < 0) {
			/* client gone */
		}
		close(c);
	}
}
