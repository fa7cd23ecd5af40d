/* daemon: mount, daemonise once serving, and tear down cleanly. */
#include "daemon/daemon.h"
#include "core/config.h"
#include "core/error.h"
#include "core/util.h"
#include "daemon/ctl.h"
#include "daemon/notify.h"
#include "daemon/seed.h"
#include "engine/context.h"
#include "engine/engine.h"
#include "fs/vfs.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

__attribute__((format(printf, 2, 3))) static void
report(int fd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fd >= 0) {
		if (write(fd, msg, strlen(msg)) < 0) {
			/* parent gone */
		}
	} else {
		fprintf(stderr, "%s", msg);
	}
}

/* ---- end of the FUSE session ---- */

/* Every fd this process holds is close-on-exec (libfuse's /dev/fuse and
 * the auto_unmount socket included): a provider's child must not keep the
 * mount alive after the daemon dies, nor hold anything else of ours. */
static void cloexec_all(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name), fl;

		if (fd <= 2 || fd == dirfd(d))
			continue;
		if ((fl = fcntl(fd, F_GETFD)) >= 0 && !(fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
	closedir(d);
}

/* Runs in the serving process.  ctx holds the key; the rest is opened
 * here.  status_fd: where to report readiness ("OK\n") or the failure
 * ("ERR ...\n"); -1 in the foreground. */
static int serve(struct context *ctx, const char *mountpoint, int status_fd)
{
	const struct config *cfg = ctx->cfg;
	struct vfs *vfs = NULL;
	struct ctl *ctl = NULL;
	char err[512] = "";
	struct error e = {0};
	int r = 1, dirfd = -1;

	umask(077);
	/* Callers are identified through /proc by the pid the kernel gives
	 * for our pid namespace; a /proc of another namespace would name
	 * other processes. */
	char self[32];
	ssize_t sl = readlink("/proc/self", self, sizeof(self) - 1);
	if (sl <= 0 || (self[sl] = 0, atoi(self) != getpid())) {
		report(
		    status_fd,
		    "ERR /proc is not this pid namespace's (mount a new "
		    "/proc, e.g. unshare --mount-proc): callers could not be "
		    "identified\n");
		goto out;
	}
	if (context_add(
		ctx, CONTEXT_AUDIT | CONTEXT_AUDIT_CONFIG_SYNC | CONTEXT_ENGINE,
		&e) < 0) {
		report(status_fd, "ERR %s\n", e.msg);
		goto out;
	}
	/* The covered directory, opened before the mount hides it. */
	dirfd = open(mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		report(status_fd, "ERR mountpoint %s: %s\n", mountpoint,
		       strerror(errno));
		goto out;
	}
	/* gcloud's own files, before the mount hides the directory. */
	if (seed_files(cfg, dirfd, &e) < 0) {
		close(dirfd);
		report(status_fd, "ERR %s\n", e.msg);
		goto out;
	}
	if (vfs_new(cfg, ctx->engine, ctx->audit, dirfd, mountpoint, &vfs) <
	    0) {
		close(dirfd);
		report(status_fd, "ERR out of memory\n");
		goto out;
	}
	if (vfs_mount(vfs, cfg->allow_other, err, sizeof(err)) < 0) {
		report(status_fd, "ERR %s\n", err);
		goto out;
	}
	struct ctl_ctx cc = {.cfg = cfg,
			     .engine = ctx->engine,
			     .vfs = vfs,
			     .audit = ctx->audit,
			     .store = ctx->store,
			     .mountpoint = mountpoint};
	if (ctl_start(&cc, &ctl, &e) < 0) {
		report(status_fd, "ERR %s\n", e.msg);
		goto out;
	}
	cloexec_all();
	if (engine_start(ctx->engine) < 0) {
		report(status_fd, "ERR cannot start the refresher\n");
		goto out;
	}
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "mountpoint", mountpoint);
	cJSON_AddNumberToObject(ev, "pid", getpid());
	if (context_audit(ctx, "mount", ev, &e) < 0) {
		report(status_fd, "ERR %s\n", e.msg);
		goto out;
	}

	report(status_fd, "OK\n");
	(void)notify_ready(); /* systemd Type=notify, when NOTIFY_SOCKET is set */
	if (status_fd >= 0) {
		close(status_fd);
		status_fd = -1;
	}
	r = vfs_serve(vfs) == 0 ? 0 : 1;
	(void)notify_stopping();
	(void)engine_unmount(ctx->engine, cfg); /* revoke_on_unmount */
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "mountpoint", mountpoint);
	(void)context_audit(ctx, "unmount", ev, NULL);
out:
	ctl_stop(ctl);
	/* the engine first: its refresher uses the store and the audit */
	engine_free(ctx->engine);
	ctx->engine = NULL;
	vfs_free(vfs);
	if (status_fd >= 0)
		close(status_fd);
	return r;
}

int daemon_mount(struct config *cfg, const char *mountpoint_arg,
		 bool foreground)
{
	char mountpoint[PATH_MAX];
	struct context *ctx = NULL;
	struct error e = {0};
	int r, pipefd[2] = {-1, -1};

	if (daemon_clear_stale(mountpoint_arg) < 0) {
		fprintf(stderr,
			"credfs: mount %s: a stale mount is in the way and "
			"could not be cleared\n",
			mountpoint_arg);
		return 1;
	}
	if (!realpath(mountpoint_arg, mountpoint)) {
		fprintf(stderr, "credfs: mount %s: %s\n", mountpoint_arg,
			strerror(errno));
		return 1;
	}
	/* Files that name another file of the mount (gcp-adc) need it. */
	free(cfg->mountpoint);
	if (!(cfg->mountpoint = strdup(mountpoint)))
		return 1;
	if ((r = util_mkdir_p(cfg->state_dir, 0700)) < 0 ||
	    (r = chmod(cfg->state_dir, 0700) < 0 ? -errno : 0) < 0) {
		fprintf(stderr, "credfs: state_dir %s: %s\n", cfg->state_dir,
			strerror(-r));
		return 1;
	}
	/* Already served by a daemon of this config? */
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "ping");
	cJSON *rep = ctl_call(cfg, req, 2000, &e);
	if (rep) {
		cJSON *mp = cJSON_GetObjectItemCaseSensitive(rep, "mountpoint");
		fprintf(stderr,
			"credfs: mount %s: a daemon of %s already serves %s\n",
			mountpoint, cfg->path,
			cJSON_IsString(mp) ? mp->valuestring : "?");
		cJSON_Delete(rep);
		return 1;
	}
	/* The key is derived here, while a tty may still answer a prompt. */
	error_clear(&e);
	if (context_open(cfg,
			 CONTEXT_KEY | (isatty(0) ? CONTEXT_INTERACTIVE : 0),
			 &ctx, &e) < 0) {
		fprintf(stderr, "credfs: %s\n", e.msg);
		return 1;
	}
	if (foreground) {
		r = serve(ctx, mountpoint, -1);
		context_free(ctx);
		return r;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		context_free(ctx);
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "credfs: fork: %s\n", strerror(errno));
		context_free(ctx);
		return 1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		setsid();
		if (chdir("/") < 0) {
			/* harmless */
		}
		/* Second fork: the daemon is not a session leader. */
		pid_t p2 = fork();
		if (p2 < 0)
			_exit(1);
		if (p2 > 0)
			_exit(0);
		char logpath[PATH_MAX];
		snprintf(logpath, sizeof(logpath), "%s/credfs.log",
			 cfg->state_dir);
		int nul = open("/dev/null", O_RDWR);
		int log = open(logpath,
			       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(log >= 0 ? log : nul, 1);
			dup2(log >= 0 ? log : nul, 2);
			if (nul > 2)
				close(nul);
		}
		if (log > 2)
			close(log);
		r = serve(ctx, mountpoint, pipefd[1]);
		context_free(ctx);
		_exit(r);
	}
	close(pipefd[1]);
	context_free(ctx);
	waitpid(pid, NULL, 0);
	char buf[1024];
	size_t len = 0;
	ssize_t k;
	while (len < sizeof(buf) - 1 &&
	       (k = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)k;
	buf[len] = 0;
	close(pipefd[0]);
	if (strncmp(buf, "OK", 2) != 0) {
		buf[strcspn(buf, "\n")] = 0;
		fprintf(stderr, "credfs: mount %s: %s\n", mountpoint,
			len > 4 ? buf + 4 : "the daemon exited before serving");
		return 1;
	}
	/* Returns only once the mount answers. */
	struct stat st;
	if (stat(mountpoint, &st) < 0) {
		fprintf(stderr, "credfs: mount %s: not answering: %s\n",
			mountpoint, strerror(errno));
		return 1;
	}
	return 0;
}
