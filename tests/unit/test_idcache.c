/* caller identity cache: reused for the same task and executable only. */
#include "tests/tap.h"
#include "access/caller.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct caller c;

int main(void)
{
	pid_t me = getpid();
	int r;

	prctl(PR_SET_NAME, "idcache-a");
	r = caller_identify_cached(me, getuid(), getgid(), CALLER_NEED_CMDLINE,
				   0, &c);
	ok(r == 0, "identified (%d)", r);
	is_str(c.comm, "idcache-a", "comm read");
	prctl(PR_SET_NAME, "idcache-b");
	r = caller_identify_cached(me, getuid(), getgid(), CALLER_NEED_CMDLINE,
				   0, &c);
	ok(r == 0, "identified again");
	bool pidfs = c.pidfs_ino != 0;
	if (pidfs)
		is_str(c.comm, "idcache-a", "within a second: from the cache");
	else
		ok(1, "# no pidfs on this kernel: no cache");
	r = caller_identify_cached(me, getuid(), getgid(), CALLER_NEED_CMDLINE,
				   CALLER_NEED_STATUS, &c);
	ok(r == 0 && c.pid == me, "fresh status keeps the identity");
	usleep(1100 * 1000);
	r = caller_identify_cached(me, getuid(), getgid(), CALLER_NEED_CMDLINE,
				   0, &c);
	is_str(c.comm, "idcache-b", "after the TTL: read again");

	/* A task that execs another binary is not the cached identity. */
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char b;
		close(p[1]);
		if (read(p[0], &b, 1) != 1)
			_exit(1);
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	r = caller_identify_cached(child, getuid(), getgid(),
				   CALLER_NEED_CMDLINE, 0, &c);
	char before[PATH_MAX];
	snprintf(before, sizeof(before), "%s", c.exe);
	ok(r == 0 && strstr(before, "test-unit-idcache"),
	   "child identified as the test binary: %s", before);
	if (write(p[1], "x", 1) != 1)
		return 1;
	usleep(200 * 1000);
	r = caller_identify_cached(child, getuid(), getgid(),
				   CALLER_NEED_CMDLINE, 0, &c);
	ok(r == 0 && strstr(c.exe, "sleep"),
	   "after execve the new executable is seen: %s", c.exe);
	ok(strstr(c.cmdline, "sleep 5") != NULL, "and its cmdline: %s",
	   c.cmdline);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* a different uid in the request never hits */
	r = caller_identify_cached(me, getuid() + 1, getgid(),
				   CALLER_NEED_CMDLINE, 0, &c);
	ok(r < 0, "a request uid that is not the task's fails (%d)", r);
	return tap_done();
}
