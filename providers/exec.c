/* exec: a credential_process-compatible command.
 *
 * The command prints one JSON object: {"Version": 1, "AccessKeyId",
 * "SecretAccessKey", "SessionToken", "Expiration"} for AWS, or any object
 * of string fields (e.g. access_token, expiration) for other tools.  It
 * runs with stdin from /dev/null, in its own process group, and is killed
 * when the fetch deadline passes.
 */
#include "core/util.h"
#include "core/provider.h"
#include "providers/exec.h"
#include "core/secmem.h"
#include "core/config.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *const keys[] = {"command", NULL};
static const char *const required[] = {"command", NULL};

#define EXEC_MAX_OUTPUT (256 * 1024)

/* AWS credential_process names -> credfs field names. */
static const struct {
	const char *json;
	const char *field;
} aws_map[] = {
    {"AccessKeyId", "access_key_id"},
    {"SecretAccessKey", "secret_access_key"},
    {"SessionToken", "session_token"},
};

int exec_parse_output(const char *out, size_t len, struct cred **res,
		      struct error *e)
{
	cJSON *o = cJSON_ParseWithLength(out, len), *it;
	struct cred *c = NULL;
	int r = -EBADMSG;

	if (!o || !cJSON_IsObject(o)) {
		error_set(e, EBADMSG, "command output is not a JSON object");
		goto out;
	}
	if (!(c = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	/* Any credential_process key makes it AWS output, which then must
	 * be complete; otherwise the object is generic fields. */
	bool aws = cJSON_GetObjectItemCaseSensitive(o, "AccessKeyId") ||
		   cJSON_GetObjectItemCaseSensitive(o, "SecretAccessKey") ||
		   cJSON_GetObjectItemCaseSensitive(o, "SessionToken") ||
		   cJSON_GetObjectItemCaseSensitive(o, "Version");
	if (aws) {
		it = cJSON_GetObjectItemCaseSensitive(o, "Version");
		if (!cJSON_IsNumber(it) || it->valuedouble != 1) {
			error_set(e, EBADMSG,
				  "command output: Version must be 1");
			goto out;
		}
	}
	cJSON_ArrayForEach(it, o)
	{
		const char *name = it->string, *field = name;
		if (!strcmp(name, "Version") || !strcmp(name, "Expiration") ||
		    !strcmp(name, "expiration") || !strcmp(name, "expires_in"))
			continue;
		for (size_t i = 0; i < sizeof(aws_map) / sizeof(aws_map[0]);
		     i++)
			if (!strcmp(name, aws_map[i].json))
				field = aws_map[i].field;
		if (!cJSON_IsString(it)) {
			if (field != name) {
				error_set(e, EIO,
					  "command output: %s is not a string",
					  name);
				goto out;
			}
			continue; /* numbers, nested objects: not fields */
		}
		bool ok = *name;
		for (const char *p = name; *p; p++)
			ok = ok && (isalnum((unsigned char)*p) || *p == '_');
		if (!ok)
			continue;
		if ((r = cred_set(c, field, it->valuestring)) < 0)
			goto out;
		r = -EBADMSG;
	}
	if (aws && (!cred_get(c, "access_key_id") ||
		    !cred_get(c, "secret_access_key") ||
		    !*cred_get(c, "access_key_id") ||
		    !*cred_get(c, "secret_access_key"))) {
		error_set(e, EBADMSG,
			  "command output: AccessKeyId and SecretAccessKey "
			  "must be non-empty strings");
		goto out;
	}
	if (cred_count(c) == 0) {
		error_set(e, EBADMSG, "command output has no string fields");
		goto out;
	}
	time_t exp = 0;
	it = cJSON_GetObjectItemCaseSensitive(o, "Expiration");
	if (!it)
		it = cJSON_GetObjectItemCaseSensitive(o, "expiration");
	if (cJSON_IsString(it)) {
		if (util_time_parse(it->valuestring, &exp) < 0) {
			error_set(e, EBADMSG,
				  "command output: Expiration is not an "
				  "RFC 3339 time");
			goto out;
		}
	} else if (it) {
		error_set(e, EBADMSG,
			  "command output: Expiration is not a string");
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "expires_in");
	if (!exp && cJSON_IsNumber(it) && it->valuedouble > 0)
		exp = time(NULL) + (time_t)it->valuedouble;
	cred_set_expiration(c, exp);
	cred_set_obtained(c, time(NULL));
	*res = c;
	c = NULL; /* transferred */
	r = 0;
out:
	cred_unref(c);
	cJSON_Delete(o);
	return r;
}

static int fetch(const struct provider_req *req, struct cred **res,
		 struct error *e)
{
	const char *cmd = req->state;

	if (!cmd)
		return error_set(e, EINVAL, "command is not set");
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct secbuf obuf = {0};
	char ebuf[512];
	size_t elen = 0;
	pid_t pid = -1;
	int r, status = 0;
	bool timed_out = false;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		error_set(e, EIO, "command: pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					    POSIX_SPAWN_SETSIGMASK);
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		error_set(e, EIO, "command: spawn: %s", strerror(r));
		r = -r;
		pid = -1;
		goto out;
	}
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;

	long deadline =
	    util_mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : 10000);
	struct pollfd pfd[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0) {
		long left = deadline - util_mono_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int n = poll(pfd, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			char buf[4096];
			ssize_t k = read(pfd[i].fd, buf, sizeof(buf));
			if (k <= 0) {
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0) {
				if (obuf.len + (size_t)k > EXEC_MAX_OUTPUT ||
				    secbuf_append(&obuf, buf, (size_t)k) < 0) {
					sodium_memzero(buf, sizeof(buf));
					error_set(e, E2BIG,
						  "command: output larger than "
						  "%d bytes",
						  EXEC_MAX_OUTPUT);
					r = -E2BIG;
					kill(-pid, SIGKILL);
					goto reap;
				}
				sodium_memzero(buf, sizeof(buf));
			} else if (elen < sizeof(ebuf) - 1) {
				size_t c = (size_t)k;
				if (c > sizeof(ebuf) - 1 - elen)
					c = sizeof(ebuf) - 1 - elen;
				memcpy(ebuf + elen, buf, c);
				elen += c;
			}
		}
	}
	if (timed_out)
		kill(-pid, SIGKILL);
reap:
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (r < 0)
		goto out;
	ebuf[elen] = 0;
	/* first line of stderr only */
	ebuf[strcspn(ebuf, "\r\n")] = 0;
	if (timed_out) {
		error_set(e, ETIMEDOUT, "command timed out after %d ms",
			  req->timeout_ms);
		r = -ETIMEDOUT;
		goto out;
	}
	if (WIFSIGNALED(status)) {
		error_set(e, EIO, "command killed by signal %d%s%s",
			  WTERMSIG(status), elen ? ": " : "", ebuf);
		r = -EIO;
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		error_set(e, EIO, "command exited with status %d%s%.200s",
			  WEXITSTATUS(status), elen ? ": " : "", ebuf);
		r = -EIO;
		goto out;
	}
	r = exec_parse_output(obuf.data ? obuf.data : "", obuf.len, res, e);
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	secbuf_wipe(&obuf);
	return r;
}

/* The state is the command line itself. */
static int parse(const struct cfg_section *s, struct diag *d, void **state)
{
	const char *cmd = cfg_get(s, "command");

	if (!cmd) /* reported as a required key */
		return -EINVAL;
	return (*state = strdup(cmd)) ? 0 : -ENOMEM;
}

const struct provider_ops provider_exec = {
    .name = "exec",
    .keys = keys,
    .required = required,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = NULL, /* whatever the command prints */
    .parse = parse,
    .free_state = free,
    .fetch = fetch,
};
