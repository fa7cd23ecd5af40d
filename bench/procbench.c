/* bench/procbench: what each /proc read of caller identification costs,
 * against a live process (a child sleeping), as the daemon does per open.
 *
 *   procbench [-n ITER]
 *
 * Prints one line: the median ns of each step, and their sum.
 */
#include "common.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[65536];

static void rd(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

int main(int argc, char **argv)
{
	long n = 2000;
	int o;
	while ((o = getopt(argc, argv, "n:")) != -1)
		if (o == 'n')
			n = atol(optarg);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	usleep(50000);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	uint64_t *lat = calloc((size_t)n, sizeof(*lat)), total = 0;
	const char *steps[] = {"open_dir",     "pidfd_open", "status", "stat",
			       "readlink_exe", "cmdline",    "cgroup", NULL};
	for (int s = 0; steps[s]; s++) {
		int dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		for (long i = 0; i < n; i++) {
			uint64_t t0 = bench_ns();
			switch (s) {
			case 0:
				close(open(path,
					   O_PATH | O_DIRECTORY | O_CLOEXEC));
				break;
			case 1:
				close((int)syscall(SYS_pidfd_open, pid, 0));
				break;
			case 2:
				rd(dirfd, "status");
				break;
			case 3:
				rd(dirfd, "stat");
				break;
			case 4:
				if (readlinkat(dirfd, "exe", buf, sizeof(buf)) <
				    0)
					return 1;
				break;
			case 5:
				rd(dirfd, "cmdline");
				break;
			case 6:
				rd(dirfd, "cgroup");
				break;
			}
			lat[i] = bench_ns() - t0;
		}
		close(dirfd);
		qsort(lat, (size_t)n, sizeof(*lat), bench_cmp_u64);
		total += lat[n / 2];
		printf("%s=%llu ", steps[s], (unsigned long long)lat[n / 2]);
	}
	printf("sum_ns=%llu\n", (unsigned long long)total);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}
