/* fault_shim: an LD_PRELOAD library for the fault-injection tests only
 * (never installed).  It reads the file named by $CREDFS_FAULT at each
 * call it wraps (the test rewrites it to change faults at run time):
 *
 *	write ERRNO SUBSTRING	write/pwrite/fdatasync/fsync on a file whose
 *				path contains SUBSTRING fail with ERRNO
 *				(ENOSPC or EIO)
 *	clock SECONDS		CLOCK_REALTIME and time() are shifted
 *
 * An absent or empty file: no fault. */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

struct fault {
	int err;
	char sub[256];
	long clock;
};

static void load(struct fault *f)
{
	static int (*real_open)(const char *, int, ...);
	static ssize_t (*real_read)(int, void *, size_t);
	const char *p = getenv("CREDFS_FAULT");
	char buf[512], word[32], arg[256];
	ssize_t n;
	int fd;

	memset(f, 0, sizeof(*f));
	if (!p)
		return;
	if (!real_open) {
		real_open = dlsym(RTLD_NEXT, "open");
		real_read = dlsym(RTLD_NEXT, "read");
	}
	if ((fd = real_open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = real_read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "write %31s %255s", word, arg) == 2) {
			f->err = !strcmp(word, "ENOSPC") ? ENOSPC
				 : !strcmp(word, "EIO")  ? EIO
							 : 0;
			snprintf(f->sub, sizeof(f->sub), "%s", arg);
		} else if (sscanf(line, "clock %ld", &f->clock) == 1) {
		}
	}
}

static int faulty(int fd)
{
	struct fault f;
	char link[64], path[4096];
	ssize_t n;
	int saved = errno;

	load(&f);
	if (!f.err)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	errno = saved;
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, f.sub) ? f.err : 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	int e = fd > 2 ? faulty(fd) : 0;

	if (!real)
		real = dlsym(RTLD_NEXT, "write");
	if (e) {
		errno = e;
		return -1;
	}
	return real(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	int e = faulty(fd);

	if (!real)
		real = dlsym(RTLD_NEXT, "pwrite");
	if (e) {
		errno = e;
		return -1;
	}
	return real(fd, buf, len, off);
}

int fdatasync(int fd)
{
	static int (*real)(int);
	int e = faulty(fd);

	if (!real)
		real = dlsym(RTLD_NEXT, "fdatasync");
	if (e) {
		errno = e;
		return -1;
	}
	return real(fd);
}

int fsync(int fd)
{
	static int (*real)(int);
	int e = faulty(fd);

	if (!real)
		real = dlsym(RTLD_NEXT, "fsync");
	if (e) {
		errno = e;
		return -1;
	}
	return real(fd);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	struct fault f;
	int r;

	if (!real)
		real = dlsym(RTLD_NEXT, "clock_gettime");
	r = real(id, ts);
	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		load(&f);
		ts->tv_sec += f.clock;
	}
	return r;
}

time_t time(time_t *out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (out)
		*out = ts.tv_sec;
	return ts.tv_sec;
}
