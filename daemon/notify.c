/* notify: the sd_notify(3) protocol by hand (see notify.h). */
#include "daemon/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = path ? strlen(path) : 0, len = strlen(msg);
	socklen_t salen;
	ssize_t w;
	int fd, r = 1;

	if (!n)
		return 0;
	/* An absolute path, or '@' for the abstract namespace: its name is
	 * the bytes after a leading NUL, exactly n - 1 of them. */
	if ((path[0] != '/' && path[0] != '@') || n < 2 ||
	    n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			    (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		w = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   salen);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		r = -errno;
	else if ((size_t)w != len)
		r = -EIO;
	close(fd);
	return r;
}

int notify_ready(void)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\nSTATUS=serving\n",
		 (long)getpid());
	return notify_send(msg);
}

int notify_stopping(void)
{
	return notify_send("STOPPING=1\nSTATUS=unmounting\n");
}
