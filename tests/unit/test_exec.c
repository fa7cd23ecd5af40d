/* exec provider: credential_process output, failures, deadline. */
#include "providers/registry.h"
#include "tap.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"

#include <errno.h>
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
	return tap_done();
}
