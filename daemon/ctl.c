/* ctl: a small request/response server on a Unix socket. */
#include "core/util.h"
#include "core/error.h"
#include "daemon/ctl.h"
#include "access/audit.h"
#include "access/caller.h"
#include "access/exec_policy.h"
#include "core/config.h"
#include "core/cred.h"
#include "engine/engine.h"
#include "fs/vfs.h"
#include "crypto/key.h"
#include "core/secmem.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_MAX_REQUEST 8192
/* Connections served at once; more are answered "busy" and closed, so
 * held connections cannot take a thread and secure memory each. */
#define CTL_MAX_CONNS 16
/* A request must arrive whole within this, and a reply leave within it. */
#define CTL_IDLE_MS 5000

struct ctl {
	struct ctl_ctx ctx;
	int fd;
	int wake[2];
	char *path;
	pthread_t thread;
	atomic_int nconns;
};

struct conn {
	struct ctl *ctl;
	int fd;
	pid_t peer_pid;
	uid_t peer_uid;
	gid_t peer_gid;
};

char *ctl_socket_path(const struct config *cfg)
{
	char *p = NULL;
	struct sockaddr_un sa;

	if (asprintf(&p, "%s/ctl.sock", cfg->state_dir) < 0)
		return NULL;
	if (strlen(p) >= sizeof(sa.sun_path)) {
		free(p);
		return NULL;
	}
	return p;
}

static cJSON *reply_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static cJSON *reply_err(const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", msg);
	return o;
}

static cJSON *reply_ok(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return o;
}

static int profile_arg(const struct ctl_ctx *c, cJSON *req, cJSON **err)
{
	cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "profile");
	if (!cJSON_IsString(p)) {
		*err = reply_err("%s", "request needs a profile");
		return -1;
	}
	int idx = config_find_profile(c->cfg, p->valuestring);
	if (idx < 0)
		*err = reply_err("profile %s: no such profile", p->valuestring);
	return idx;
}

static void audit_simple(const struct ctl_ctx *c, const char *event, pid_t peer)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "by_pid", peer);
	audit_event(c->audit, event, o);
}

/* credfs exec: the fields of one profile, to a process the profile's
 * exec rules admit (the socket peer, identified as an open's caller),
 * never while locked, audited either way. */
static cJSON *handle_env(struct conn *cn, cJSON *req, int idx)
{
	const struct ctl_ctx *c = &cn->ctl->ctx;
	struct exec_ask q = {
	    .cfg = c->cfg,
	    .idx = idx,
	    .pid = cn->peer_pid,
	    .uid = cn->peer_uid,
	    .gid = cn->peer_gid,
	    .locked = vfs_locked(c->vfs),
	    .via_daemon = true,
	    .command = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(req, "command")),
	};
	struct policy_decision d;
	struct caller *who = malloc(sizeof(*who));
	struct cred *cr = NULL;
	char err[600] = "";
	cJSON *o = NULL;
	int r;

	if (!who)
		return reply_err("%s", "out of memory");
	if ((r = exec_authorize(&q, c->audit, who, &d, err, sizeof(err))) < 0) {
		o = reply_err("%s", r == -EIO ? "the audit line cannot be "
						"written"
					      : err);
		cJSON_AddBoolToObject(o, "denied", true);
		goto out;
	}
	r = engine_get(c->engine, idx, c->cfg->open_timeout * 1000, &cr, err,
		       sizeof(err));
	if (r < 0) {
		o = reply_err("%s", err);
		goto out;
	}
	if (exec_audit_allow(&q, c->audit, who, &d, cr) < 0 && c->audit &&
	    c->cfg->audit_required) {
		o = reply_err("%s", "the audit line cannot be written");
		goto out;
	}
	o = reply_ok();
	ctl_env_reply(o, cr);
out:
	cred_unref(cr);
	free(who);
	return o;
}

static cJSON *handle(struct conn *cn, cJSON *req)
{
	const struct ctl_ctx *c = &cn->ctl->ctx;
	cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd"), *o;
	char err[600] = "";
	int idx, r;

	if (!cJSON_IsString(cmd))
		return reply_err("%s", "request has no cmd");
	const char *n = cmd->valuestring;

	if (!strcmp(n, "ping") || !strcmp(n, "status")) {
		o = reply_ok();
		cJSON_AddNumberToObject(o, "pid", getpid());
		cJSON_AddStringToObject(o, "mountpoint", c->mountpoint);
		cJSON_AddStringToObject(o, "config", c->cfg->path);
		cJSON_AddBoolToObject(o, "locked", vfs_locked(c->vfs));
		if (!strcmp(n, "status")) {
			struct secmem_stats st;
			secmem_get_stats(&st);
			cJSON_AddItemToObject(o, "profiles",
					      engine_status(c->engine));
			cJSON_AddItemToObject(o, "files", vfs_status(c->vfs));
			cJSON_AddItemToObject(o, "open_timing",
					      vfs_timing(c->vfs));
			if (c->audit)
				cJSON_AddItemToObject(o, "audit",
						      audit_status(c->audit));
			cJSON *m = cJSON_AddObjectToObject(o, "secmem");
			cJSON_AddNumberToObject(m, "bytes_in_use",
						(double)st.bytes_in_use);
			cJSON_AddNumberToObject(m, "bytes_locked",
						(double)st.bytes_locked);
			cJSON_AddBoolToObject(m, "lock_failed", st.lock_failed);
		}
		return o;
	}
	if (!strcmp(n, "lock")) {
		vfs_set_locked(c->vfs, true);
		key_forget(c->cfg);
		audit_simple(c, "lock", cn->peer_pid);
		return reply_ok();
	}
	if (!strcmp(n, "unlock")) {
		vfs_set_locked(c->vfs, false);
		audit_simple(c, "unlock", cn->peer_pid);
		return reply_ok();
	}
	if (!strcmp(n, "revoke")) {
		cJSON *all = cJSON_GetObjectItemCaseSensitive(req, "all");
		if (cJSON_IsTrue(all)) {
			r = engine_revoke(c->engine, -1, err, sizeof(err));
		} else {
			o = NULL;
			if ((idx = profile_arg(c, req, &o)) < 0)
				return o;
			r = engine_revoke(c->engine, idx, err, sizeof(err));
		}
		return r < 0 ? reply_err("%s", err) : reply_ok();
	}
	if (!strcmp(n, "refresh") || !strcmp(n, "login")) {
		cJSON *code = cJSON_GetObjectItemCaseSensitive(req, "code");
		o = NULL;
		if ((idx = profile_arg(c, req, &o)) < 0)
			return o;
		r = engine_refresh_now(c->engine, idx,
				       cJSON_IsString(code) ? code->valuestring
							    : NULL,
				       60000, err, sizeof(err));
		if (r < 0)
			return reply_err("%s", err);
		return reply_ok();
	}
	if (!strcmp(n, "env")) {
		o = NULL;
		if ((idx = profile_arg(c, req, &o)) < 0)
			return o;
		return handle_env(cn, req, idx);
	}
	return reply_err("unknown command '%s'", n);
}

void ctl_env_reply(cJSON *o, const struct cred *c)
{
	cJSON *f = cJSON_AddObjectToObject(o, "fields");
	for (size_t i = 0; i < cred_count(c); i++)
		cJSON_AddStringToObject(f, cred_name_at(c, i),
					cred_value_at(c, i));
	if (cred_expiration(c)) {
		char t[32];
		util_time_format(cred_expiration(c), t, sizeof(t));
		cJSON_AddStringToObject(o, "expiration", t);
	}
}

static const char busy_line[] =
    "{\"ok\":false,\"error\":\"the daemon is busy (too many "
    "control connections); try again\"}\n";
static const char nomem_line[] =
    "{\"ok\":false,\"error\":\"the daemon is out of memory; try "
    "again\"}\n";

/* One fixed reply line, without blocking or allocating. */
static void send_line(int fd, const char *line, size_t len)
{
	if (send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* the peer sees the close */
	}
}

static void *conn_thread(void *arg)
{
	struct conn *cn = arg;
	char *buf = secmem_alloc(CTL_MAX_REQUEST + 1);
	size_t len = 0;
	cJSON *req = NULL, *rep = NULL;
	char *out = NULL;

	long deadline = util_mono_ms() + CTL_IDLE_MS;
	struct timeval tv = {CTL_IDLE_MS / 1000, 0};

	if (!buf) {
		send_line(cn->fd, nomem_line, sizeof(nomem_line) - 1);
		goto out;
	}
	setsockopt(cn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < CTL_MAX_REQUEST) {
		struct pollfd p = {cn->fd, POLLIN, 0};
		long left = deadline - util_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			goto out;
		ssize_t k = read(cn->fd, buf + len, CTL_MAX_REQUEST - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = 0;
	req = cJSON_ParseWithLength(buf, len);
	rep = req ? handle(cn, req) : reply_err("%s", "malformed request");
	out = cJSON_PrintUnformatted(rep);
	if (out) {
		size_t n = strlen(out), off = 0;
		while (off < n) {
			ssize_t k = write(cn->fd, out + off, n - off);
			if (k <= 0)
				break;
			off += (size_t)k;
		}
		if (write(cn->fd, "\n", 1) < 0) {
			/* peer gone */
		}
		cJSON_free(out); /* secmem hooks wipe it */
	} else {
		send_line(cn->fd, nomem_line, sizeof(nomem_line) - 1);
	}
out:
	cJSON_Delete(req);
	cJSON_Delete(rep);
	secmem_free(buf);
	close(cn->fd);
	atomic_fetch_sub(&cn->ctl->nconns, 1);
	free(cn);
	return NULL;
}

/* Past CTL_MAX_CONNS, or out of memory: one line saying so, and close. */
static void refuse(int fd, const char *line, size_t len)
{
	send_line(fd, line, len);
	close(fd);
}

static void *accept_thread(void *arg)
{
	struct ctl *c = arg;

	for (;;) {
		struct pollfd p[2] = {{c->fd, POLLIN, 0},
				      {c->wake[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct ucred uc;
		socklen_t l = sizeof(uc);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) < 0 ||
		    (uc.uid != c->ctx.cfg->owner && uc.uid != 0)) {
			close(fd);
			continue;
		}
		if (atomic_fetch_add(&c->nconns, 1) >= CTL_MAX_CONNS) {
			atomic_fetch_sub(&c->nconns, 1);
			refuse(fd, busy_line, sizeof(busy_line) - 1);
			continue;
		}
		struct conn *cn = malloc(sizeof(*cn));
		pthread_t t;
		pthread_attr_t attr;
		if (!cn) {
			atomic_fetch_sub(&c->nconns, 1);
			refuse(fd, nomem_line, sizeof(nomem_line) - 1);
			continue;
		}
		cn->ctl = c;
		cn->fd = fd;
		cn->peer_pid = uc.pid;
		cn->peer_uid = uc.uid;
		cn->peer_gid = uc.gid;
		int r = pthread_attr_init(&attr);
		if (r == 0) {
			pthread_attr_setdetachstate(&attr,
						    PTHREAD_CREATE_DETACHED);
			r = pthread_create(&t, &attr, conn_thread, cn);
			pthread_attr_destroy(&attr);
		}
		if (r != 0) {
			atomic_fetch_sub(&c->nconns, 1);
			refuse(fd, nomem_line, sizeof(nomem_line) - 1);
			free(cn);
		}
	}
	return NULL;
}

int ctl_start(const struct ctl_ctx *ctx, struct ctl **out, struct error *e)
{
	struct ctl *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int r;

	if (!c)
		return error_set(e, ENOMEM, "control socket: out of memory");
	c->ctx = *ctx;
	c->fd = -1;
	c->wake[0] = c->wake[1] = -1;
	if (!(c->path = ctl_socket_path(ctx->cfg))) {
		r = error_set(e, ENAMETOOLONG,
			      "state_dir %s: path too long for a socket",
			      ctx->cfg->state_dir);
		goto fail;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    pipe2(c->wake, O_CLOEXEC) < 0) {
		r = error_set(e, errno, "control socket: %s", strerror(errno));
		goto fail;
	}
	unlink(c->path);
	mode_t old = umask(0177);
	r = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(c->fd, 64) < 0) {
		r = error_set(e, errno, "control socket %s: %s", c->path,
			      strerror(errno));
		goto fail;
	}
	if ((r = -pthread_create(&c->thread, NULL, accept_thread, c)) < 0) {
		error_set(e, r, "control socket: %s", strerror(-r));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	free(c->path);
	free(c);
	return r;
}

void ctl_stop(struct ctl *c)
{
	if (!c)
		return;
	if (write(c->wake[1], "x", 1) < 0) {
		/* the thread also stops when the fd closes */
	}
	pthread_join(c->thread, NULL);
	close(c->fd);
	close(c->wake[0]);
	close(c->wake[1]);
	unlink(c->path);
	/* Connection threads use c until they end: a request in flight gets
	 * a moment; one still running keeps c (the process is exiting). */
	for (int i = 0; i < 100 && atomic_load(&c->nconns) > 0; i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&c->nconns) > 0)
		return;
	free(c->path);
	free(c);
}

cJSON *ctl_call(const struct config *cfg, cJSON *req, int timeout_ms,
		struct error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *path = ctl_socket_path(cfg), *txt = NULL;
	struct secbuf in = {0};
	cJSON *rep = NULL;
	int fd = -1;

	if (!path) {
		error_set(e, ENAMETOOLONG,
			  "state_dir %s: path too long for a socket",
			  cfg->state_dir);
		goto out;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			error_setk(e, errno, ERROR_NO_DAEMON,
				   "no daemon is running for %s (run `credfs "
				   "mount`)",
				   cfg->path);
		else
			error_set(e, errno, "control socket %s: %s", path,
				  strerror(errno));
		goto out;
	}
	if (!(txt = cJSON_PrintUnformatted(req))) {
		error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	size_t n = strlen(txt);
	/* MSG_NOSIGNAL: a daemon that closed early is an error, not SIGPIPE */
	if (send(fd, txt, n, MSG_NOSIGNAL) != (ssize_t)n ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		error_set(e, errno ? errno : EIO, "control socket: %s",
			  strerror(errno ? errno : EIO));
		goto out;
	}
	long deadline = util_mono_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		long left = deadline - util_mono_ms();
		int k = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			error_set(e, ETIMEDOUT,
				  "the daemon did not answer within %d s",
				  (timeout_ms + 999) / 1000);
			goto out;
		}
		char buf[4096];
		ssize_t m = read(fd, buf, sizeof(buf));
		if (m <= 0)
			break;
		if (secbuf_append(&in, buf, (size_t)m) < 0) {
			sodium_memzero(buf, sizeof(buf));
			error_set(e, ENOMEM, "out of memory");
			goto out;
		}
		sodium_memzero(buf, sizeof(buf));
	}
	if (!in.data || !(rep = cJSON_ParseWithLength(in.data, in.len)))
		error_set(e, EPROTO, "the daemon sent a malformed reply");
out:
	if (fd >= 0)
		close(fd);
	if (txt)
		cJSON_free(txt);
	cJSON_Delete(req);
	secbuf_wipe(&in);
	free(path);
	return rep;
}
