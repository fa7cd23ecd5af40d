/* caller_env: the loader variables in a caller's environment
 * (deny_preload).
 *
 * /proc/PID/environ is the environment the process was started with, as
 * its memory holds it now: read through the pinned /proc/PID directory.
 * It is read only as far as it must be and never kept: only the name of
 * the first loader variable found is.
 */
#include "access/caller_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What ld.so takes from the environment to run code of the caller's
 * choosing inside an unmodified binary.  Set but empty loads nothing. */
static const char *const loader_vars[] = {"LD_PRELOAD", "LD_AUDIT",
					  "LD_LIBRARY_PATH", NULL};

/* An environment larger than this is not read to its end: refused. */
#define ENVIRON_MAX (16u << 20)

/* head: the start of one NAME=VALUE entry (truncated); full: not cut. */
static const char *loader_var(const char *head, size_t len)
{
	for (size_t i = 0; loader_vars[i]; i++) {
		size_t n = strlen(loader_vars[i]);
		if (len > n + 1 && !strncmp(head, loader_vars[i], n) &&
		    head[n] == '=')
			return loader_vars[i];
	}
	return NULL;
}

int caller_read_environ(int dirfd, struct caller *c)
{
	char buf[4096], head[32];
	size_t hl = 0, total = 0;
	const char *found = NULL;
	ssize_t n;
	int fd, r = 0;

	c->preload[0] = '\0';
	fd = openat(dirfd, "environ", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!found) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == ENOENT ? -ESRCH : -errno;
			break;
		}
		if (n == 0)
			break;
		if ((total += (size_t)n) > ENVIRON_MAX) {
			r = -E2BIG;
			break;
		}
		for (ssize_t i = 0; i < n && !found; i++) {
			if (buf[i]) {
				if (hl < sizeof(head))
					head[hl++] = buf[i];
				continue;
			}
			found = loader_var(head, hl);
			hl = 0;
		}
	}
	if (!found && r == 0)
		found = loader_var(head, hl); /* a last entry without NUL */
	close(fd);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(head, sizeof(head));
	if (r < 0)
		return r;
	if (found)
		snprintf(c->preload, sizeof(c->preload), "%s", found);
	return 0;
}
