/* bench/cproc: what an SDK does for credential_process, timed per call:
 * spawn the helper with a stdout pipe, read all of it, reap it.
 *
 *   cproc [-n ITER] [-w WARMUP] HELPER [ARGS...]
 *
 * Uses posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK)), the cheapest way
 * to fork+exec, so the baseline is as fast as credential_process gets.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static long call(char **argv)
{
	posix_spawn_file_actions_t fa;
	char buf[4096];
	long total = 0;
	ssize_t k;
	pid_t pid;
	int p[2], st;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		return -1;
	}
	while ((k = read(p[0], buf, sizeof(buf))) > 0)
		total += k;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) ||
	    !memmem(buf, total > 0 ? (size_t)total : 0, "AccessKeyId", 11))
		return -1;
	return total;
}

static long call_op(void *arg)
{
	return call(arg);
}

int main(int argc, char **argv)
{
	long iters = 1000, warm = 50;

	if (bench_opts(argc, argv, &iters, &warm))
		return 2;
	return bench_loop(warm, iters, call_op, argv + optind,
			  "cproc: the helper");
}
