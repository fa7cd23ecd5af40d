/* exec provider: credential_process output, failures, deadline. */
#include "providers/registry.h"
#include "providers/exec.h"
#include "tests/tap.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <time.h>

static int run(const char *cmd, int timeout_ms, struct cred **c,
	       struct error *e)
{
	struct cfg_kv kv[] = {{"provider", "exec", 1},
			      {"command", (char *)cmd, 2}};
	struct cfg_section s = {
	    .kind = "profile", .name = "t", .kv = kv, .nkv = 2};
	const struct provider_ops *ops = provider_find("exec");
	struct provider_common common = {0};
	struct diag d = {0};
	void *state = NULL;
	int r;

	if (ops->parse(&s, &d, &state) < 0)
		return -EINVAL;
	diag_free(&d);
	struct provider_req req = {.profile_name = "t",
				   .common = &common,
				   .state = state,
				   .timeout_ms = timeout_ms};
	*c = NULL;
	e->msg[0] = 0;
	r = ops->fetch(&req, c, e);
	ops->free_state(state);
	return r;
}

int main(void)
{
	struct cred *c;
	struct error e;
	int r;

	secmem_init_cjson();
	r = run("echo '{\"Version\": 1, \"AccessKeyId\": \"AKIA1\", "
		"\"SecretAccessKey\": \"sec\", \"SessionToken\": \"tok\", "
		"\"Expiration\": \"2030-01-01T00:00:00Z\"}'",
		5000, &c, &e);
	ok(r == 0, "credential_process JSON accepted (%s)", e.msg);
	if (c) {
		is_str(cred_get(c, "access_key_id"), "AKIA1", "AccessKeyId");
		is_str(cred_get(c, "secret_access_key"), "sec", "Secret");
		is_str(cred_get(c, "session_token"), "tok", "SessionToken");
		ok(cred_expiration(c) == 1893456000, "Expiration honoured");
	}
	cred_unref(c);

	r = run("echo '{\"access_token\": \"ya29.x\", \"expires_in\": 3600}'",
		5000, &c, &e);
	ok(r == 0 && c && !strcmp(cred_get(c, "access_token"), "ya29.x"),
	   "generic token output");
	ok(c && cred_expiration(c) > time(NULL) + 3500, "expires_in honoured");
	cred_unref(c);

	r = run("echo oops >&2; exit 3", 5000, &c, &e);
	ok(r < 0 && !c, "non-zero exit fails");
	is_str(e.msg, "command exited with status 3: oops",
	       "status and stderr");

	r = run("echo not json", 5000, &c, &e);
	ok(r < 0 && strstr(e.msg, "not a JSON object"), "garbage: %s", e.msg);

	r = run("echo '{\"Version\": 2, \"AccessKeyId\": \"A\", "
		"\"SecretAccessKey\": \"S\"}'",
		5000, &c, &e);
	ok(r < 0 && strstr(e.msg, "Version must be 1"), "Version 2: %s", e.msg);

	r = run("echo '{\"Version\": 1, \"AccessKeyId\": \"\", "
		"\"SecretAccessKey\": \"S\"}'",
		5000, &c, &e);
	ok(r < 0 && strstr(e.msg, "non-empty"), "empty key id: %s", e.msg);

	r = run("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
		"\"SecretAccessKey\": \"S\", \"Expiration\": \"tomorrow\"}'",
		5000, &c, &e);
	ok(r < 0 && strstr(e.msg, "RFC 3339"), "bad Expiration: %s", e.msg);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = run("sleep 10", 300, &c, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		  (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(r == -ETIMEDOUT && ms < 2000, "deadline kills the command (%ld ms)",
	   ms);

	r = run("head -c 300000 /dev/zero", 5000, &c, &e);
	ok(r == -E2BIG, "oversized output refused: %s", e.msg);

	/* A child of the command keeps stdout open: the fetch ends at the
	 * JSON's end and the command's exit, not at the deadline. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = run("sleep 5 & echo '{\"access_token\": \"t1\"}'", 4000, &c, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(r == 0 && c && ms < 2000,
	   "a child holding stdout open does not hold the fetch (%ld ms, %s)",
	   ms, e.msg);
	cred_unref(c);

	/* Nothing of the daemon reaches the command: an inheritable fd. */
	int nul = open("/dev/null", O_RDONLY);
	ok(nul >= 0 && dup2(nul, 77) == 77, "fd 77 open without O_CLOEXEC");
	r = run("if [ -e /proc/self/fd/77 ]; then t=open; else t=closed; fi; "
		"echo \"{\\\"access_token\\\": \\\"$t\\\"}\"",
		5000, &c, &e);
	ok(r == 0 && c && !strcmp(cred_get(c, "access_token"), "closed"),
	   "every fd but the pipes is closed in the command (%s)",
	   c ? cred_get(c, "access_token") : e.msg);
	cred_unref(c);
	close(77);
	close(nul);

	/* At the deadline the whole process group goes. */
	char pidf[] = "/tmp/credfs-test-exec-XXXXXX", cmd[256];
	int pfd = mkstemp(pidf);
	close(pfd);
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; sleep 30", pidf);
	r = run(cmd, 300, &c, &e);
	ok(r == -ETIMEDOUT, "deadline: %s", e.msg);
	FILE *pf = fopen(pidf, "r");
	int bg = 0;
	if (pf) {
		if (fscanf(pf, "%d", &bg) != 1)
			bg = 0;
		fclose(pf);
	}
	unlink(pidf);
	bool gone = false;
	for (int i = 0; i < 100 && bg > 0 && !gone; i++) {
		char path[64], st[512] = "";
		snprintf(path, sizeof(path), "/proc/%d/stat", bg);
		FILE *sf = fopen(path, "r");
		if (!sf) {
			gone = true;
			break;
		}
		if (!fgets(st, sizeof(st), sf))
			st[0] = 0;
		fclose(sf);
		const char *rp = strrchr(st, ')');
		gone = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
		if (!gone)
			usleep(10000);
	}
	ok(bg > 0 && gone, "the command's background child %d was killed", bg);

	/* stderr: the exit status and a redacted, bounded excerpt. */
	r = run("echo 'login failed: token=SECRETVALUE1 for alice' >&2; exit 2",
		5000, &c, &e);
	ok(r < 0 && strstr(e.msg, "status 2") &&
	       !strstr(e.msg, "SECRETVALUE1") &&
	       strstr(e.msg, "token=[redacted] for alice"),
	   "key=value on stderr redacted: %s", e.msg);
	r = run("echo 'bad keys AKIAIOSFODNN7EXAMPLE "
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' >&2; exit 1",
		5000, &c, &e);
	ok(r < 0 && !strstr(e.msg, "AKIAIOSFODNN7EXAMPLE") &&
	       !strstr(e.msg, "bPxRfiCY") && strstr(e.msg, "bad keys"),
	   "long key-like runs on stderr redacted: %s", e.msg);
	r = run("echo '{\"SecretAccessKey\": \"abc/def\", \"n\": 1}' >&2; "
		"exit 1",
		5000, &c, &e);
	ok(r < 0 && !strstr(e.msg, "abc/def") && strstr(e.msg, "status 1"),
	   "a JSON string value on stderr redacted: %s", e.msg);
	r = run("i=0; while [ $i -lt 400 ]; do printf 'word ' >&2; "
		"i=$((i+1)); done; exit 1",
		5000, &c, &e);
	ok(r < 0 && strlen(e.msg) < 260 && strstr(e.msg, "status 1"),
	   "a long stderr is cut (%zu bytes)", strlen(e.msg));

	char x[64];
	exec_stderr_excerpt("a = b c: d", 10, x, sizeof(x));
	is_str(x, "a = [redacted] c: d", "excerpt: 'key = value'");
	exec_stderr_excerpt("ok\nsecond line", 14, x, sizeof(x));
	is_str(x, "ok", "excerpt: the first line only");
	exec_stderr_excerpt("0123456789abcdef0123", 20, x, 8);
	ok(strlen(x) == 7, "excerpt: bounded by its buffer");
	return tap_done();
}
