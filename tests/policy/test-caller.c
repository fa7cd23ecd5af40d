/* caller: identification of real processes from /proc. */
#include "access/caller.h"
#include "access/policy.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct caller c; /* large: keep off the stack */

static void sha_of_file(const char *path, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536];
	unsigned int len;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
}

static void cgroup_line(pid_t pid, char *out, size_t len)
{
	char path[64], line[1024];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			size_t l;

			line[strcspn(line, "\n")] = '\0';
			l = strlen(line + 3);
			if (l >= len)
				l = len - 1;
			memcpy(out, line + 3, l);
			out[l] = '\0';
		}
	}
	if (f)
		fclose(f);
}

static void test_self(const char *argv0)
{
	char exe[PATH_MAX], cg[512], pexe[PATH_MAX], path[64];
	ssize_t n;
	int r;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	prctl(PR_SET_NAME, "caller-test");
	r = caller_identify(gettid(), geteuid(), getegid(), &c);
	ok(r == 0, "identify self: %d", r);
	ok(c.pid == getpid() && c.tid == gettid(), "pid %d tid %d", c.pid,
	   c.tid);
	is_str(c.exe, exe, "exe is /proc/self/exe");
	ok(!c.exe_deleted, "exe not deleted");
	is_str(c.comm, "caller-test", "comm");
	ok(strstr(c.cmdline, argv0) && strstr(c.cmdline, "--flag value"),
	   "cmdline has argv, NULs as spaces: '%s'", c.cmdline);
	cgroup_line(getpid(), cg, sizeof(cg));
	is_str(c.cgroup, cg, "cgroup v2 path");
	ok(c.starttime > 0, "start time %llu", c.starttime);
	ok(c.tracer == 0, "not traced");
	ok(c.uid == geteuid() && c.gid == getegid(), "uid/gid from request");
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)getppid());
	n = readlink(path, pexe, sizeof(pexe) - 1);
	pexe[n > 0 ? n : 0] = '\0';
	ok(c.nancestors >= 1 && (!strcmp(c.ancestors[0], pexe) ||
				 (n < 0 && !strcmp(c.ancestors[0], "?"))),
	   "ancestor 0 is the parent's exe (%s)",
	   c.nancestors ? c.ancestors[0] : "none");
	ok(c.have == (CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP |
		      CALLER_NEED_ANCESTORS),
	   "have flags 0x%x", c.have);
	ok(caller_in_group(&c, getegid()), "in own gid");

	r = caller_identify(gettid(), geteuid() + 1, getegid(), &c);
	ok(r < 0, "request uid not the thread's fsuid: refused (%d)", r);
	ok(c.exe[0] == '\0' && c.tid == gettid() && c.uid == geteuid() + 1,
	   "  failure leaves tid/uid set, exe empty");
}

static void test_lazy(void)
{
	int r;

	r = caller_identify_need(gettid(), geteuid(), getegid(), 0, &c);
	ok(r == 0 && c.have == 0 && c.cgroup[0] == '\0' && c.nancestors == 0,
	   "need 0: no optional parts read");
	r = caller_complete(&c, CALLER_NEED_CGROUP | CALLER_NEED_ANCESTORS);
	ok(r == 0 && (c.have & CALLER_NEED_CGROUP) &&
	       (c.have & CALLER_NEED_ANCESTORS) && c.nancestors >= 1,
	   "caller_complete fills cgroup and ancestors later");
	/* Pretend the identity was another process's. */
	if (c.pidfs_ino)
		c.pidfs_ino++;
	else
		c.starttime++;
	c.have = 0;
	r = caller_complete(&c, CALLER_NEED_CGROUP);
	ok(r == -ESRCH, "caller_complete refuses another start time (%d)", r);
	r = caller_exe_sha256(&c);
	ok(r == -ESRCH, "sha256 refuses another start time (%d)", r);
}

static pthread_barrier_t bar;
static pid_t thread_tid;

static void *thread_main(void *arg)
{
	thread_tid = gettid();
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return NULL;
}

static void test_thread(void)
{
	pthread_t th;
	int r;

	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&th, NULL, thread_main, NULL);
	pthread_barrier_wait(&bar);
	r = caller_identify(thread_tid, geteuid(), getegid(), &c);
	ok(r == 0 && thread_tid != getpid(), "identify second thread: %d", r);
	ok(c.tid == thread_tid && c.pid == getpid(),
	   "thread tid %d resolves to tgid %d", c.tid, c.pid);
	pthread_barrier_wait(&bar);
	pthread_join(th, NULL);
}

static void test_gone(void)
{
	pid_t pid;
	int r, st;

	r = caller_identify(0, 0, 0, &c);
	ok(r == -ESRCH, "pid 0 (other pid namespace): %d", r);
	r = caller_identify(-5, 0, 0, &c);
	ok(r < 0, "negative pid: %d", r);
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, &st, 0);
	r = caller_identify(pid, geteuid(), getegid(), &c);
	ok(r < 0, "vanished pid %d: %d", pid, r);
}

/* A child running a copy of sleep that is then deleted (or replaced). */
static pid_t spawn_copy(const char *path)
{
	char cmd[PATH_MAX + 64];
	int sync[2];
	char ch;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "cp /bin/sleep '%s'", path);
	if (system(cmd) != 0)
		return -1;
	if (pipe(sync) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sync[0]);
		fcntl(sync[1], F_SETFD, FD_CLOEXEC);
		execl(path, path, "30", (char *)NULL);
		_exit(127);
	}
	close(sync[1]);
	/* EOF once exec closed the CLOEXEC end. */
	(void)!read(sync[0], &ch, 1);
	close(sync[0]);
	return pid;
}

static void test_deleted_replaced(void)
{
	char dir[] = "/tmp/credfs-caller-XXXXXX", path[PATH_MAX];
	struct rules *p;
	struct policy_decision d;
	uint8_t orig[32], other[32];
	char err[256], spec[3 * PATH_MAX + 64];
	pid_t pid;
	int r;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/mysleep", dir);
	sha_of_file("/bin/sleep", orig);
	pid = spawn_copy(path);
	ok(pid > 0, "spawned copy of sleep");
	if (pid <= 0)
		return;
	unlink(path);
	r = caller_identify(pid, geteuid(), getegid(), &c);
	ok(r == 0 && c.exe_deleted, "deleted exe flagged (%d)", r);
	is_str(c.exe, path, "exe path without ' (deleted)'");
	p = rules_new(geteuid());
	snprintf(spec, sizeof(spec), "exe:%s", path);
	r = rules_add(p, true, spec, 1, err, sizeof(err));
	policy_decide(p, &c, &d);
	ok(r == 0 && !d.allow, "deleted exe does not match allow exe: (%s)",
	   d.rule);
	rules_free(p);
	r = caller_exe_sha256(&c);
	ok(r == 0 && c.have_sha256 && !memcmp(c.exe_sha256, orig, 32),
	   "sha256 of a deleted running binary is its content");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* Replaced on disk: the hash is of what runs, not what the path
	 * names now. */
	pid = spawn_copy(path);
	ok(pid > 0, "spawned second copy");
	if (pid <= 0)
		return;
	snprintf(spec, sizeof(spec),
		 "cp /bin/true '%s.new' && mv '%s.new' '%s'", path, path, path);
	r = system(spec);
	sha_of_file(path, other);
	ok(r == 0 && memcmp(orig, other, 32), "path now names another file");
	r = caller_identify_need(pid, geteuid(), getegid(), CALLER_NEED_SHA256,
				 &c);
	ok(r == 0 && c.have_sha256 && !memcmp(c.exe_sha256, orig, 32),
	   "sha256 is of the running binary, not the replacement");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(path);
	rmdir(dir);
}

static void test_traced(void)
{
	int go[2];
	char ch;
	pid_t pid;
	int r;

	if (pipe(go) < 0) {
		ok(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		(void)!write(STDOUT_FILENO, "", 0);
		(void)!read(go[0], &ch, 1);
		_exit(0);
	}
	close(go[0]);
	/* Wait until the child is traced. */
	for (int i = 0; i < 200; i++) {
		r = caller_identify_need(pid, geteuid(), getegid(), 0, &c);
		if (r == 0 && c.tracer)
			break;
		usleep(5000);
	}
	ok(r == 0 && c.tracer == getpid(), "TracerPid read: %d", c.tracer);
	close(go[1]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* deny_preload's input: the loader variables of a child's environment. */
static void test_environ(void)
{
	static const struct {
		const char *var; /* NAME=VALUE set in the child, or NULL */
		const char *want;
	} cases[] = {
	    {NULL, ""},
	    {"LD_PRELOAD=/nonexistent.so", "LD_PRELOAD"},
	    {"LD_LIBRARY_PATH=/nonexistent", "LD_LIBRARY_PATH"},
	    {"LD_AUDIT=/x.so", "LD_AUDIT"},
	    {"LD_PRELOAD=", ""},	    /* empty: loads nothing */
	    {"XLD_PRELOAD=/x.so", ""},	    /* another name */
	    {"LD_PRELOADX=/x.so", ""},	    /* another name */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int go[2], rd[2];
		char ch;
		pid_t pid;
		int r;

		if (pipe(go) < 0 || pipe(rd) < 0) {
			ok(0, "pipe");
			return;
		}
		pid = fork();
		if (pid == 0) {
			/* A large environment (20 entries of 600 bytes
			 * before the one looked for): entries cross the
			 * reader's chunks. */
			static char fill[20][620];
			char *envp[22];
			int k;
			close(go[1]);
			close(rd[0]);
			for (k = 0; k < 20; k++) {
				int o = snprintf(fill[k], sizeof(fill[k]),
						 "FILL%d=", k + k % 3);
				memset(fill[k] + o, 'f', 600);
				fill[k][o + 600] = 0;
				envp[k] = fill[k];
			}
			envp[k++] = cases[i].var ? (char *)cases[i].var
						 : "PLAIN=1";
			envp[k] = NULL;
			dup2(go[0], 0);
			dup2(rd[1], 1);
			execle("/bin/sh", "sh", "-c", "echo x; read a", NULL,
			       envp);
			_exit(127);
		}
		close(go[0]);
		close(rd[1]);
		(void)!read(rd[0], &ch, 1); /* the child has exec'd */
		r = caller_identify_need(pid, geteuid(), getegid(),
					 CALLER_NEED_ENVIRON, &c);
		ok(r == 0 && (c.have & CALLER_NEED_ENVIRON) &&
		       !strcmp(c.preload, cases[i].want),
		   "environ %s -> '%s' (got r %d '%s')",
		   cases[i].var ? cases[i].var : "(none)", cases[i].want, r,
		   c.preload);
		(void)!write(go[1], "\n", 1);
		close(go[1]);
		close(rd[0]);
		waitpid(pid, NULL, 0);
	}
}

static void test_ancestor_chain(void)
{
	char exe[PATH_MAX];
	int up[2], go[2];
	pid_t child;
	pid_t grandchild = 0;
	ssize_t n;
	int r;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (pipe(up) < 0 || pipe(go) < 0) {
		ok(0, "pipe");
		return;
	}
	child = fork();
	if (child == 0) {
		pid_t g = fork();

		if (g == 0) {
			char ch;

			(void)!read(go[0], &ch, 1);
			_exit(0);
		}
		(void)!write(up[1], &g, sizeof(g));
		waitpid(g, NULL, 0);
		_exit(0);
	}
	(void)!read(up[0], &grandchild, sizeof(grandchild));
	r = caller_identify(grandchild, geteuid(), getegid(), &c);
	ok(r == 0 && c.nancestors >= 2, "grandchild identified, %zu ancestors",
	   c.nancestors);
	ok(c.nancestors >= 2 && !strcmp(c.ancestors[0], exe) &&
	       !strcmp(c.ancestors[1], exe),
	   "ancestors: child, then this test");
	(void)!write(go[1], "x", 1);
	waitpid(child, NULL, 0);
	close(up[0]);
	close(up[1]);
	close(go[0]);
	close(go[1]);
}

/* A child that waits to be killed; with want > 0, at that exact pid
 * (clone3 set_tid: needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). */
static pid_t spawn_at(pid_t want)
{
	struct clone_args ca;
	long pid;

	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	if (want > 0) {
		ca.set_tid = (uint64_t)(uintptr_t)&want;
		ca.set_tid_size = 1;
	}
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		for (;;)
			pause();
	}
	return (pid_t)pid;
}

/* The pid of an identified process is recycled: nothing read later may
 * describe the new process. */
static void test_pid_reuse(void)
{
	static struct caller old;
	char path[64];
	pid_t a, b;
	int dirfd, fd, r;

	a = spawn_at(0);
	if (a < 0) {
		ok(0, "clone3: %s", strerror(errno));
		return;
	}
	r = caller_identify_need(a, geteuid(), getegid(), 0, &old);
	ok(r == 0, "identified child %d", a);
	diag("pin: %s", old.pidfs_ino ? "pidfs inode" : "start time");
	/* Without pidfs the start time (10 ms ticks) is the pin: a pid
	 * recycled within the same tick is not told apart. */
	if (!old.pidfs_ino)
		usleep(30000);
	snprintf(path, sizeof(path), "/proc/%d", (int)a);
	dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	b = spawn_at(a);
	if (b < 0) {
		const char *why = strerror(errno);

		close(dirfd);
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			ok(0, "pid reuse test needs clone3 set_tid: %s", why);
		else
			printf("ok %d # SKIP pid reuse (clone3 set_tid: %s)\n",
			       ++tap_n, why);
		return;
	}
	ok(b == a, "pid %d recycled for a new process", b);
	/* The kernel guarantee the module relies on: a /proc/PID directory
	 * opened before stays with the old process. */
	fd = openat(dirfd, "status", O_RDONLY | O_CLOEXEC);
	ok(fd < 0 && errno == ESRCH,
	   "old /proc dir fd does not reach the new process");
	if (fd >= 0)
		close(fd);
	close(dirfd);
	r = caller_complete(&old, CALLER_NEED_CGROUP);
	ok(r == -ESRCH, "caller_complete on the recycled pid: %d", r);
	r = caller_exe_sha256(&old);
	ok(r == -ESRCH, "caller_exe_sha256 on the recycled pid: %d", r);
	r = caller_identify_need(b, geteuid(), getegid(), 0, &c);
	ok(r == 0 && (old.pidfs_ino ? c.pidfs_ino != old.pidfs_ino
				    : c.starttime != old.starttime),
	   "the new process has another identity");
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		/* Re-exec with known arguments to check cmdline. */
		execl("/proc/self/exe", argv[0], "--flag", "value",
		      (char *)NULL);
		return 1;
	}
	test_self(argv[0]);
	test_lazy();
	test_thread();
	test_gone();
	test_deleted_replaced();
	test_traced();
	test_environ();
	test_ancestor_chain();
	test_pid_reuse();
	return tap_done();
}
