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
#include <stdbool.h>
#include <string.h>
#include <sys/pidfd.h>
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
		/* clamped: a double past a long's range is undefined */
		exp = time(NULL) + (time_t)util_clamp_ll(it->valuedouble, 0,
							 10LL * 366 * 86400);
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

/* Where a JSON value ends: fed stdout as it arrives, done once the
 * top-level object closes, so a command that leaves stdout open (a child
 * of it still holding the pipe) does not keep the fetch waiting. */
struct json_end {
	int depth;
	bool started, in_string, escape, done;
};

static void json_end_feed(struct json_end *j, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !j->done; i++) {
		char c = p[i];
		if (!j->started) {
			if (c == '{') {
				j->started = true;
				j->depth = 1;
			} else if (!isspace((unsigned char)c)) {
				/* not an object: read to EOF, parse fails */
				j->started = true;
				j->depth = -1;
			}
			continue;
		}
		if (j->depth < 0)
			continue;
		if (j->in_string) {
			if (j->escape)
				j->escape = false;
			else if (c == '\\')
				j->escape = true;
			else if (c == '"')
				j->in_string = false;
		} else if (c == '"') {
			j->in_string = true;
		} else if (c == '{' || c == '[') {
			j->depth++;
		} else if ((c == '}' || c == ']') && --j->depth == 0) {
			j->done = true;
		}
	}
}

/* Anything that looks like a secret in text a command printed to
 * stderr: the value of a key=value pair, a JSON string member's value,
 * and any run of 16 or more token characters (base64, hex, key ids). */
static bool token_char(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=' || c == '_' ||
	       c == '-';
}

void exec_stderr_excerpt(const char *in, size_t len, char *out, size_t outlen)
{
	static const char red[] = "[redacted]";
	size_t o = 0, i = 0;

	if (!outlen)
		return;
	/* the first line only */
	for (size_t k = 0; k < len; k++)
		if (in[k] == '\n' || in[k] == '\r' || in[k] == '\0') {
			len = k;
			break;
		}
	while (i < len && o + 1 < outlen) {
		unsigned char c = (unsigned char)in[i];
		size_t run = 0;

		while (i + run < len && token_char((unsigned char)in[i + run]))
			run++;
		const char *eq = run ? memchr(in + i, '=', run) : NULL;
		if (run >= 16 || (eq && eq + 1 < in + i + run)) {
			/* key=value keeps the key; a long run goes whole */
			size_t keep = eq ? (size_t)(eq - in) - i + 1 : 0;
			if (keep && keep >= 16)
				keep = 0;
			for (size_t k = 0; k < keep && o + 1 < outlen; k++)
				out[o++] = in[i + k];
			for (size_t k = 0; red[k] && o + 1 < outlen; k++)
				out[o++] = red[k];
			i += run;
			continue;
		}
		if (run) {
			/* "key = value": the value goes */
			size_t q = i;
			while (q > 0 && in[q - 1] == ' ')
				q--;
			bool value = q > 0 && in[q - 1] == '=' && in[i] != '=';
			const char *src = value ? red : in + i;
			size_t n = value ? sizeof(red) - 1 : run;
			for (size_t k = 0; k < n && o + 1 < outlen; k++)
				out[o++] = src[k];
			i += run;
			continue;
		}
		if (c == '"' && o > 0 && i >= 2 &&
		    (in[i - 1] == ' ' || in[i - 1] == ':')) {
			size_t q = i - 1;
			while (q > 0 && in[q] == ' ')
				q--;
			if (in[q] == ':') {
				size_t end = i + 1;
				while (end < len && in[end] != '"')
					end += in[end] == '\\' ? 2 : 1;
				for (size_t k = 0; red[k] && o + 1 < outlen;
				     k++)
					out[o++] = red[k];
				i = end < len ? end + 1 : len;
				continue;
			}
		}
		out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		i++;
	}
	out[o] = '\0';
}

/* The command's process group, every fd but the pipes closed. */
static int spawn(const char *cmd, int out_w, int err_w, pid_t *pid,
		 struct error *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	/* close_range(3, ~0): nothing of the daemon (the FUSE device, the
	 * auto-unmount socket, the control socket) reaches the command */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					    POSIX_SPAWN_SETSIGMASK);
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	r = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		*pid = -1;
		return error_set(e, r, "command: spawn: %s", strerror(r));
	}
	return 0;
}

#define EXEC_MAX_STDERR 4096

/* Reads what the (non-blocking) stdout pipe holds now: 1 at EOF or the
 * end of the JSON object, 0 when more may come, -E2BIG past the limit. */
static int drain_stdout(int fd, struct secbuf *ob, struct json_end *je)
{
	char buf[4096];
	int r = 0;

	while (r == 0) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k == 0;
			break;
		}
		json_end_feed(je, buf, (size_t)k);
		if (ob->len + (size_t)k > EXEC_MAX_OUTPUT ||
		    secbuf_append(ob, buf, (size_t)k) < 0)
			r = -E2BIG;
		else if (je->done)
			r = 1;
	}
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* The same for stderr, kept up to cap bytes; true at EOF. */
static bool drain_stderr(int fd, char *ebuf, size_t cap, size_t *elen)
{
	char buf[1024];
	bool eof = false;

	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			eof = k == 0;
			break;
		}
		size_t c = (size_t)k;
		if (c > cap - *elen)
			c = cap - *elen;
		memcpy(ebuf + *elen, buf, c);
		*elen += c;
	}
	sodium_memzero(buf, sizeof(buf));
	return eof;
}

static int fetch(const struct provider_req *req, struct cred **res,
		 struct error *e)
{
	const char *cmd = req->state;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, pidfd = -1;
	struct secbuf obuf = {0};
	struct json_end je = {0};
	char ebuf[EXEC_MAX_STDERR], excerpt[201];
	size_t elen = 0;
	pid_t pid = -1;
	int r, status = 0;
	bool timed_out = false, exited = false, out_done = false,
	     err_done = false;

	if (!cmd)
		return error_set(e, EINVAL, "command is not set");
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = error_set(e, errno, "command: pipe: %s", strerror(errno));
		goto out;
	}
	/* our ends only: the command's stay blocking */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	if ((r = spawn(cmd, out[1], err[1], &pid, e)) < 0)
		goto out;
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	pidfd = pidfd_open(pid, 0); /* -1 before Linux 5.3: poll in steps */

	long deadline =
	    util_mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : 10000);
	for (;;) {
		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				exited = true;
		}
		long left = deadline - util_mono_ms();
		if (exited || left <= 0) {
			timed_out = !exited;
			break;
		}
		struct pollfd pfd[3] = {{out_done ? -1 : out[0], POLLIN, 0},
					{err_done ? -1 : err[0], POLLIN, 0},
					{pidfd, POLLIN, 0}};
		int wait =
		    pidfd >= 0 ? (int)left : (left < 50 ? (int)left : 50);
		int n = poll(pfd, 3, wait);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (!out_done && pfd[0].revents) {
			int d = drain_stdout(out[0], &obuf, &je);
			if (d < 0) {
				r = error_set(e, E2BIG,
					      "command: output larger than %d "
					      "bytes",
					      EXEC_MAX_OUTPUT);
				kill(-pid, SIGKILL);
				break;
			}
			out_done = d == 1;
		}
		if (!err_done && pfd[1].revents)
			err_done =
			    drain_stderr(err[0], ebuf, sizeof(ebuf), &elen);
	}
	if (timed_out)
		kill(-pid, SIGKILL); /* the whole group */
	while (waitpid(pid, exited ? NULL : &status, 0) < 0 && errno == EINTR)
		;
	/* What is left in the pipes once the command exited; a child of it
	 * holding them open does not keep us here (they do not block). */
	if (exited && r == 0 && !out_done &&
	    drain_stdout(out[0], &obuf, &je) < 0)
		r = error_set(e, E2BIG, "command: output larger than %d bytes",
			      EXEC_MAX_OUTPUT);
	if (exited && !err_done)
		drain_stderr(err[0], ebuf, sizeof(ebuf), &elen);
	pid = -1;
	if (r < 0)
		goto out;
	exec_stderr_excerpt(ebuf, elen, excerpt, sizeof(excerpt));
	if (timed_out) {
		r = error_setk(e, ETIMEDOUT, ERROR_PROVIDER,
			       "command timed out after %d ms",
			       req->timeout_ms);
		goto out;
	}
	if (WIFSIGNALED(status)) {
		r = error_setk(
		    e, EIO, ERROR_PROVIDER, "command killed by signal %d%s%s",
		    WTERMSIG(status), excerpt[0] ? ": " : "", excerpt);
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		r = error_setk(
		    e, EIO, ERROR_PROVIDER, "command exited with status %d%s%s",
		    WEXITSTATUS(status), excerpt[0] ? ": " : "", excerpt);
		goto out;
	}
	r = exec_parse_output(obuf.data ? obuf.data : "", obuf.len, res, e);
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (pidfd >= 0)
		close(pidfd);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	sodium_memzero(ebuf, sizeof(ebuf));
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
