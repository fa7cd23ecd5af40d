/* libFuzzer target for the /proc parsers of caller identification
 * (access/caller.c): PID/stat (comm may hold anything, ')' included),
 * PID/status (Tgid, PPid, TracerPid, Uid, Gid, Groups) and PID/cgroup (the
 * "0::" line).  A process names itself and can make its comm and cgroup
 * path what it likes, so none of it is trusted.  Any bytes give a result
 * within bounds or an error.  The first byte picks the file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/caller_int.h"
#include "fuzz_common.h"

static int dirfd_ = -1;
static char dir[] = "/tmp/credfs-fuzz-proc.XXXXXX";
static char path[4200];

/* The files and their directory go when libFuzzer exits. */
static void cleanup(void)
{
	unlinkat(dirfd_, "stat", 0);
	unlinkat(dirfd_, "status", 0);
	unlinkat(dirfd_, "cgroup", 0);
	rmdir(dir);
}

static int put(const char *name, const uint8_t *data, size_t size)
{
	int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct caller_stat sf;
	struct caller_status st;
	struct caller c;

	if (size < 1)
		return 0;
	if (dirfd_ < 0) {
		if (!mkdtemp(dir) ||
		    (dirfd_ = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
			abort();
		snprintf(path, sizeof(path), "%s/status", dir);
		atexit(cleanup);
	}
	switch (data[0] % 3) {
	case 0:
		if (put("stat", data + 1, size - 1) < 0)
			return 0;
		memset(&sf, 0x55, sizeof(sf));
		if (caller_read_stat(dirfd_, &sf) == 0 &&
		    !memchr(sf.comm, 0, sizeof(sf.comm)))
			__builtin_trap();
		break;
	case 1:
		if (put("status", data + 1, size - 1) < 0)
			return 0;
		memset(&st, 0x55, sizeof(st));
		/* by name under the directory, and by absolute path */
		if (caller_read_status(dirfd_, data[0] & 8 ? path : "status",
				       &st) == 0 &&
		    (st.ngroups > CALLER_MAX_GROUPS ||
		     !memchr(st.name, 0, sizeof(st.name))))
			__builtin_trap();
		break;
	case 2:
		if (put("cgroup", data + 1, size - 1) < 0)
			return 0;
		memset(&c, 0, sizeof(c));
		if (caller_read_cgroup(dirfd_, "cgroup", &c) == 0 &&
		    !memchr(c.cgroup, 0, sizeof(c.cgroup)))
			__builtin_trap();
		break;
	}
	return 0;
}
