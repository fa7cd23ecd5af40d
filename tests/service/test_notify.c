/* notify: the datagrams systemd would receive, on a socket of our own bound
 * to a temporary path and to an abstract name, with the sender's pid from
 * SCM_CREDENTIALS as systemd reads it. */
#include "daemon/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int n, failed;

static void ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n, what);
	failed |= !cond;
}

/* A datagram socket bound to name (a path, or "@name"), with SO_PASSCRED. */
static int listener(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = 0;
	else
		len++;
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) <
		0) {
		perror("listener");
		exit(1);
	}
	return fd;
}

/* The next datagram into buf, and the sender's pid; -1 if none waits. */
static int receive(int fd, char *buf, size_t len, pid_t *pid)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} c;
	struct iovec iov = {buf, len - 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = &c,
			   .msg_controllen = sizeof(c)};
	ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);

	*pid = 0;
	if (r < 0)
		return -1;
	buf[r] = 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET &&
		    h->cmsg_type == SCM_CREDENTIALS) {
			struct ucred u;
			memcpy(&u, CMSG_DATA(h), sizeof(u));
			*pid = u.pid;
		}
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/credfs-notify-XXXXXX", path[200], abs[64], buf[512];
	char want[64];
	pid_t pid;
	int fd;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(want, sizeof(want), "MAINPID=%ld\n", (long)getpid());

	unsetenv("NOTIFY_SOCKET");
	ok(notify_ready() == 0, "no NOTIFY_SOCKET: nothing sent, 0");
	setenv("NOTIFY_SOCKET", "", 1);
	ok(notify_stopping() == 0, "an empty NOTIFY_SOCKET: 0");

	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ok(notify_ready() == 1, "a socket path: notify_ready sends (1)");
	ok(receive(fd, buf, sizeof(buf), &pid) == 0 &&
	       !strncmp(buf, "READY=1\n", 8) && strstr(buf, want),
	   "the datagram is READY=1 with MAINPID, one VAR=VALUE a line");
	ok(pid == getpid(), "systemd sees our pid (SCM_CREDENTIALS)");
	ok(notify_stopping() == 1 && receive(fd, buf, sizeof(buf), &pid) == 0 &&
	       !strncmp(buf, "STOPPING=1\n", 11),
	   "notify_stopping sends STOPPING=1");
	ok(receive(fd, buf, sizeof(buf), &pid) < 0, "one datagram per call");
	close(fd);
	unlink(path);
	ok(notify_ready() < 0, "a socket nobody listens on: -errno");

	snprintf(abs, sizeof(abs), "@credfs-test-notify-%ld", (long)getpid());
	fd = listener(abs);
	setenv("NOTIFY_SOCKET", abs, 1);
	ok(notify_ready() == 1 && receive(fd, buf, sizeof(buf), &pid) == 0 &&
	       !strncmp(buf, "READY=1\n", 8) && pid == getpid(),
	   "an abstract '@' name: received on the abstract socket");
	close(fd);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ok(notify_ready() == -EINVAL, "a relative path: -EINVAL, nothing sent");
	memset(buf, 'x', 200);
	buf[0] = '/';
	buf[200] = 0;
	setenv("NOTIFY_SOCKET", buf, 1);
	ok(notify_ready() == -EINVAL, "a path longer than sun_path: -EINVAL");
	rmdir(dir);
	printf("1..%d\n", n);
	return failed;
}
