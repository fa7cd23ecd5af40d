/* bench/timeto: time from starting CMD (e.g. `credfs mount`) until PATH
 * first reads non-empty bytes containing NEEDLE.
 *
 *   timeto PATH NEEDLE -- CMD [ARGS...]
 *
 * Prints cmd_ns (CMD's run until it exits), total_ns (start of CMD to the
 * end of the first good read), tries, bytes.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char buf[65536];
	pid_t pid;
	int st;

	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: timeto PATH NEEDLE -- CMD...\n");
		return 2;
	}
	uint64_t t0 = bench_ns();
	if (posix_spawnp(&pid, argv[4], NULL, NULL, argv + 4, environ)) {
		perror("timeto: spawn");
		return 1;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	uint64_t t1 = bench_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "timeto: %s failed\n", argv[4]);
		return 1;
	}
	for (long tries = 1; tries < 100000; tries++) {
		size_t got = 0;
		ssize_t k = 0;
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			while ((k = read(fd, buf + got,
					 sizeof(buf) - 1 - got)) > 0)
				got += (size_t)k;
			close(fd);
		}
		buf[got] = 0;
		if (fd >= 0 && k == 0 && strstr(buf, argv[2])) {
			uint64_t t2 = bench_ns();
			printf(
			    "cmd_ns=%llu total_ns=%llu tries=%ld bytes=%zu\n",
			    (unsigned long long)(t1 - t0),
			    (unsigned long long)(t2 - t0), tries, got);
			return 0;
		}
		if (bench_ns() - t0 > 10000000000ull)
			break;
		usleep(200);
	}
	fprintf(stderr, "timeto: %s never served\n", argv[1]);
	return 1;
}
