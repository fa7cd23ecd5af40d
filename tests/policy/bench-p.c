/* bench-p: issue 9's P, the daemon's identify + policy + audit per open,
 * against a tmpfs open+read+close in the same run (not a test: run it by
 * hand, /tmp/BUILD/tests/policy/bench-p [RULE]).
 *
 * The caller is a child (sleep), identified as the open pipeline does:
 * caller_identify_cached with the audit's parts and the rule's needs read
 * fresh; audit_sync = none on the build dir's file system.  Prints the
 * minimum and the median of 15 rounds of 2000, in ns, and P / tmpfs.
 * BENCH_P_SEAL=1: the log is sealed (`credfs audit seal`), so each line
 * also carries an HMAC.
 */
#include "access/audit.h"
#include "access/audit_seal.h"
#include "access/caller.h"
#include "access/policy.h"
#include "core/util.h"
#include "core/digest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"

/* audit_open with the message in a buffer, as these tests print it. */
static int audit_open_buf(const char *t, enum audit_sync s, struct audit **a,
			  char *err, size_t len)
{
	struct error e = {0};
	int r = audit_open(t, s, a, &e);

	snprintf(err, len, "%.*s", (int)(len ? len - 1 : 0), e.msg);
	return r;
}

#define ROUNDS 15
#define N 2000

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *rule = argc > 1 ? argv[1] : "uid:0 exe:/usr/bin/sleep";
	const char *prof[] = {"default"}, *kid[] = {"AKIAEXAMPLE"};
	char err[256], buf[4096], shm[] = "/dev/shm/credfs-bench-p.XXXXXX";
	char dir[] = "/tmp/credfs-bench-p.XXXXXX", log[300];
	double t[4][ROUNDS];
	static struct caller c;
	struct policy_decision d;
	struct rules *p;
	struct audit *a;
	uid_t uid = getuid();
	gid_t gid = getgid();
	unsigned need;
	pid_t pid;
	int fd;

	pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "100", (char *)NULL);
		_exit(127);
	}
	usleep(100000);
	p = rules_new(uid);
	if (rules_add(p, true, rule, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-p: rule: %s\n", err);
		return 2;
	}
	need = policy_needs(p);
	fd = mkstemp(shm);
	if (fd < 0 || write(fd, "[default]\naws_access_key_id = x\n", 32) < 0)
		return 1;
	close(fd);
	if (!mkdtemp(dir))
		return 1;
	snprintf(log, sizeof(log), "%s/audit.log", dir);
	const char *seal = getenv("BENCH_P_SEAL");
	char vkey[65], sealpath[320];
	if (seal && *seal == '1' && audit_seal_setup(log, vkey) < 0) {
		fprintf(stderr, "bench-p: cannot seal %s\n", log);
		return 1;
	}
	if (audit_open_buf(log, AUDIT_SYNC_NONE, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-p: %s\n", err);
		return 1;
	}
	/* As in a daemon past its start: OpenSSL's SHA-256 loaded. */
	digest_prepare();
	for (int r = 0; r < ROUNDS; r++) {
		unsigned long long t0 = util_mono_ns(), t1, t2, t3, t4;

		for (int i = 0; i < N; i++) {
			int f = open(shm, O_RDONLY);
			if (f < 0 || read(f, buf, sizeof(buf)) < 0)
				return 1;
			close(f);
		}
		t1 = util_mono_ns();
		for (int i = 0; i < N; i++)
			if (caller_identify_cached(pid, uid, gid,
						   need | CALLER_NEED_CMDLINE |
						       CALLER_NEED_CGROUP,
						   need, &c) < 0) {
				fprintf(stderr, "bench-p: identify failed\n");
				return 1;
			}
		t2 = util_mono_ns();
		for (int i = 0; i < N; i++)
			policy_decide(p, &c, &d);
		t3 = util_mono_ns();
		for (int i = 0; i < N; i++)
			audit_open_event(a, "credentials", prof, 1, &c, &d, kid,
					 1, time(NULL) + 3600);
		t4 = util_mono_ns();
		t[0][r] = (double)(t1 - t0) / N;
		t[1][r] = (double)(t2 - t1) / N;
		t[2][r] = (double)(t3 - t2) / N;
		t[3][r] = (double)(t4 - t3) / N;
	}
	for (int k = 0; k < 4; k++)
		qsort(t[k], ROUNDS, sizeof(double), cmp);
	printf("rule '%s' (%s)\n", rule, d.allow ? "allowed" : d.rule);
	for (int m = 0; m < 2; m++) {
		int i = m ? ROUNDS / 2 : 0;
		double pp = t[1][i] + t[2][i] + t[3][i];

		printf("%-6s tmpfs open+read+close %6.0f  identify %6.0f  "
		       "policy %4.0f  audit %6.0f  P %6.0f  P/tmpfs %.2f\n",
		       m ? "median" : "min", t[0][i], t[1][i], t[2][i], t[3][i],
		       pp, pp / t[0][i]);
	}
	audit_close(a);
	rules_free(p);
	unlink(log);
	snprintf(sealpath, sizeof(sealpath), "%s.seal", log);
	unlink(sealpath);
	rmdir(dir);
	unlink(shm);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}
