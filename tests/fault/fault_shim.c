/* fault_shim: an LD_PRELOAD library for the fault-injection tests only
 * (never installed).  It reads the file named by $CREDFS_FAULT at each
 * call it wraps (the test rewrites it to change faults at run time):
 *
 *	write ERRNO SUBSTRING	write/pwrite/fdatasync/fsync on a file whose
 *				path contains SUBSTRING fail with ERRNO
 *				(ENOSPC or EIO)
 *	clock SECONDS		CLOCK_REALTIME and time() are shifted
 *
 * An absent or empty file: no fault.
 *
 * Allocation failure: with $CREDFS_FAULT_ALLOC=BASE set, SIGUSR2 reads a
 * number N from the file BASE and arms a countdown (0 disarms), then
 * writes BASE.ack.  The N-th allocation after arming (malloc, calloc,
 * realloc, posix_memalign, aligned_alloc, or an anonymous mmap: the path
 * of core/secmem.c's slabs and large blocks), or secmem_alloc (through
 * credfs_fault_secmem below, which core/secmem.c looks up) fails with ENOMEM, once, and
 * writes BASE.fired with the caller (object+offset, for addr2line).
 * Startup allocations are not counted; a forked child starts disarmed. */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

/* ---- allocation failure ---- */

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);

static atomic_long alloc_countdown;
static char alloc_base[512];

static void put_file(const char *suffix, const char *text)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s.%s", alloc_base, suffix);
	fd = (int)syscall(SYS_openat, AT_FDCWD, path,
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)syscall(SYS_write, fd, text, strlen(text));
	(void)syscall(SYS_close, fd);
}

static void on_arm(int sig)
{
	char buf[32];
	long n = 0;
	ssize_t r;
	int fd, saved = errno;

	(void)sig;
	fd = (int)syscall(SYS_openat, AT_FDCWD, alloc_base,
			  O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = (ssize_t)syscall(SYS_read, fd, buf, sizeof(buf) - 1);
		(void)syscall(SYS_close, fd);
		for (ssize_t i = 0; i < r && buf[i] >= '0' && buf[i] <= '9'; i++)
			n = n * 10 + (buf[i] - '0');
	}
	atomic_store(&alloc_countdown, n);
	put_file("ack", n ? "armed\n" : "disarmed\n");
	errno = saved;
}

static void child_disarm(void)
{
	atomic_store(&alloc_countdown, 0);
}

static __attribute__((constructor)) void alloc_init(void)
{
	const char *p = getenv("CREDFS_FAULT_ALLOC");
	struct sigaction sa;

	if (!p || !*p || strlen(p) >= sizeof(alloc_base))
		return;
	memcpy(alloc_base, p, strlen(p) + 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_arm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_atfork(NULL, NULL, child_disarm);
}

/* True when this allocation is the one to fail. */
static int alloc_fails(const void *caller)
{
	long c = atomic_load(&alloc_countdown);
	char text[700];
	Dl_info di;

	while (c > 0 && !atomic_compare_exchange_weak(&alloc_countdown, &c,
						      c - 1))
		;
	if (c != 1)
		return 0;
	if (dladdr(caller, &di) && di.dli_fname)
		snprintf(text, sizeof(text), "%s+0x%lx\n", di.dli_fname,
			 (unsigned long)((const char *)caller -
					 (const char *)di.dli_fbase));
	else
		snprintf(text, sizeof(text), "%p\n", caller);
	put_file("fired", text);
	errno = ENOMEM;
	return 1;
}

#define CALLER __builtin_extract_return_addr(__builtin_return_address(0))

void *malloc(size_t n)
{
	return alloc_fails(CALLER) ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return alloc_fails(CALLER) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (n && alloc_fails(CALLER))
		return NULL;
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	return alloc_fails(CALLER) ? NULL : __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align % sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (alloc_fails(CALLER))
		return ENOMEM;
	if (!(p = __libc_memalign(align, n)))
		return ENOMEM;
	*out = p;
	return 0;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);

	if ((flags & MAP_ANONYMOUS) && alloc_fails(CALLER)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))
			dlsym(RTLD_NEXT, "mmap");
	return real(addr, len, prot, flags, fd, off);
}

/* core/secmem.c asks this before each secmem_alloc. */
int credfs_fault_secmem(const void *caller);
int credfs_fault_secmem(const void *caller)
{
	return alloc_fails(caller);
}
