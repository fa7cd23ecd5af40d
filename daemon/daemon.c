/* daemon: mount, daemonise once serving, and tear down cleanly. */
#include "daemon/daemon.h"
#include "access/audit.h"
#include "core/config.h"
#include "daemon/ctl.h"
#include "engine/engine.h"
#include "fs/vfs.h"
#include "crypto/key.h"
#include "core/secmem.h"
#include "crypto/store.h"

#include <cjson/cJSON.h>
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

static int run_fusermount_u(const char *mountpoint, bool lazy)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", "--",
			       mountpoint, (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", "--",
			       mountpoint, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

int daemon_clear_stale(const char *mountpoint)
{
	struct stat st;

	if (stat(mountpoint, &st) == 0 || errno != ENOTCONN)
		return 0;
	if (run_fusermount_u(mountpoint, true) < 0 &&
	    umount2(mountpoint, MNT_DETACH) < 0)
		return -ENOTCONN;
	return stat(mountpoint, &st) == 0 ? 0 : -errno;
}

static void harden(void)
{
	struct rlimit rl = {0, 0};
	/* No core dumps, no ptrace by our own uid, private files. */
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(077);
}

static void report(int fd, const char *fmt, ...)
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

static int mkdir_private(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return chmod(tmp, 0700) < 0 ? -errno : 0;
}

static enum audit_sync sync_mode(const struct config *cfg)
{
	if (!strcmp(cfg->audit_sync, "always"))
		return AUDIT_SYNC_ALWAYS;
	if (!strcmp(cfg->audit_sync, "none"))
		return AUDIT_SYNC_NONE;
	return AUDIT_SYNC_BATCH;
}

/* Store writes and integrity failures go to the audit log. */
static void store_event(const char *event, const char *name, void *arg)
{
	if (!strcmp(event, "integrity"))
		fprintf(stderr,
			"credfs: integrity: %s failed its check and was set "
			"aside\n",
			name);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	audit_event(arg, event, o);
}

void daemon_audit_store_events(struct audit *audit)
{
	store_set_event_hook(audit ? store_event : NULL, audit);
}

/* Runs in the serving process.  status_fd: where to report readiness
 * ("OK\n") or the failure ("ERR ...\n"); -1 in the foreground. */
static int serve(struct config *cfg, const char *mountpoint, uint8_t *key,
		 int status_fd)
{
	struct store *store = NULL;
	struct audit *audit = NULL;
	struct engine *engine = NULL;
	struct vfs *vfs = NULL;
	struct ctl *ctl = NULL;
	char err[512] = "";
	int r = 1, dirfd = -1;

	harden();
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
	if (audit_open(cfg->audit_log, sync_mode(cfg), &audit, err,
		       sizeof(err)) < 0) {
		report(status_fd, "ERR audit log %s: %s\n", cfg->audit_log,
		       err);
		goto out;
	}
	daemon_audit_store_events(audit);
	if (key &&
	    store_open(cfg->state_dir, key, &store, err, sizeof(err)) < 0) {
		report(status_fd, "ERR store: %s\n", err);
		goto out;
	}
	if (engine_new(cfg, store, audit, &engine) < 0) {
		report(status_fd, "ERR out of memory\n");
		goto out;
	}
	/* The covered directory, opened before the mount hides it. */
	dirfd = open(mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		report(status_fd, "ERR mountpoint %s: %s\n", mountpoint,
		       strerror(errno));
		goto out;
	}
	if (vfs_new(cfg, engine, audit, dirfd, mountpoint, &vfs) < 0) {
		close(dirfd);
		report(status_fd, "ERR out of memory\n");
		goto out;
	}
	if (vfs_mount(vfs, cfg->allow_other, err, sizeof(err)) < 0) {
		report(status_fd, "ERR %s\n", err);
		goto out;
	}
	struct ctl_ctx cc = {.cfg = cfg,
			     .engine = engine,
			     .vfs = vfs,
			     .audit = audit,
			     .store = store,
			     .mountpoint = mountpoint};
	if (ctl_start(&cc, &ctl, err, sizeof(err)) < 0) {
		report(status_fd, "ERR %s\n", err);
		goto out;
	}
	if (engine_start(engine) < 0) {
		report(status_fd, "ERR cannot start the refresher\n");
		goto out;
	}
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "mountpoint", mountpoint);
	cJSON_AddNumberToObject(ev, "pid", getpid());
	audit_event(audit, "mount", ev);

	report(status_fd, "OK\n");
	if (status_fd >= 0) {
		close(status_fd);
		status_fd = -1;
	}
	r = vfs_serve(vfs) == 0 ? 0 : 1;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "mountpoint", mountpoint);
	audit_event(audit, "unmount", ev);
out:
	ctl_stop(ctl);
	engine_free(engine);
	vfs_free(vfs);
	audit_close(audit);
	store_free(store);
	daemon_audit_store_events(NULL);
	if (status_fd >= 0)
		close(status_fd);
	return r;
}

int daemon_mount(struct config *cfg, const char *mountpoint_arg,
		 bool foreground)
{
	char mountpoint[PATH_MAX], err[512] = "";
	uint8_t *key = NULL;
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
	if ((r = mkdir_private(cfg->state_dir)) < 0) {
		fprintf(stderr, "credfs: state_dir %s: %s\n", cfg->state_dir,
			strerror(-r));
		return 1;
	}
	/* Already served by a daemon of this config? */
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "ping");
	cJSON *rep = ctl_call(cfg, req, 2000, err, sizeof(err));
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
	if ((r = key_load(cfg, isatty(0), &key, err, sizeof(err))) < 0) {
		fprintf(stderr, "credfs: key: %s\n", err);
		return 1;
	}
	if (foreground) {
		r = serve(cfg, mountpoint, key, -1);
		key_free(key);
		return r;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		key_free(key);
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "credfs: fork: %s\n", strerror(errno));
		key_free(key);
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
		}
		r = serve(cfg, mountpoint, key, pipefd[1]);
		key_free(key);
		_exit(r);
	}
	close(pipefd[1]);
	key_free(key);
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

int daemon_umount(const struct config *cfg, const char *mountpoint)
{
	char *sock = ctl_socket_path(cfg);

	if (run_fusermount_u(mountpoint, false) < 0) {
		struct stat st;
		if (stat(mountpoint, &st) < 0 && errno == ENOTCONN) {
			daemon_clear_stale(mountpoint);
		} else if (umount2(mountpoint, 0) < 0) {
			fprintf(stderr,
				"credfs: umount %s: not a credfs mount or "
				"busy\n",
				mountpoint);
			free(sock);
			return 1;
		}
	}
	/* Wait for the daemon to wipe its memory and exit. */
	for (int i = 0; sock && i < 100; i++) {
		if (access(sock, F_OK) < 0)
			break;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	free(sock);
	return 0;
}
