/* umount: `credfs umount [--force]` and the clearing of a stale mount.
 *
 * Nothing here touches the mountpoint itself: a stat, realpath or chdir
 * into a FUSE mount whose daemon is stopped blocks until the daemon runs
 * again.  The mount is found in /proc/self/mountinfo by the path of its
 * parent (which lies outside it), and every outside program runs with a
 * deadline.
 *
 * --force aborts the FUSE connection (the kernel then fails every waiting
 * and future request with ENOTCONN): through
 * /sys/fs/fuse/connections/DEV/abort when fusectl is mounted (the owner of
 * the mount may write it), else, as root, umount2(MNT_FORCE); then it
 * detaches the mount lazily.
 */
#include "core/config.h"
#include "core/error.h"
#include "core/util.h"
#include "daemon/ctl.h"
#include "daemon/daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UMOUNT_STEP_MS 5000

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* fusermount3 -u [-z] -- MOUNTPOINT, killed after timeout_ms.  0 when it
 * exits 0, -ETIMEDOUT, or -EIO. */
static int fusermount_u(const char *mountpoint, bool lazy, int timeout_ms)
{
	long deadline = util_mono_ms() + timeout_ms;
	int st = 0;
	pid_t pid = fork(), w;

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
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 &&
	       util_mono_ms() < deadline)
		sleep_ms(20);
	if (w == 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return -ETIMEDOUT;
	}
	return w == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* The absolute path of mountpoint without resolving mountpoint itself:
 * realpath of its parent, then its last component. */
static int abs_path(const char *mountpoint, char *out, size_t len)
{
	char a[PATH_MAX], b[PATH_MAX], parent[PATH_MAX];
	size_t n = strlen(mountpoint);

	if (n == 0 || n >= sizeof(a))
		return -EINVAL;
	memcpy(a, mountpoint, n + 1);
	while (n > 1 && a[n - 1] == '/')
		a[--n] = 0;
	memcpy(b, a, n + 1);
	const char *base = basename(b);
	if (!strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, ".."))
		return -EINVAL;
	if (!realpath(dirname(a), parent))
		return -errno;
	if (snprintf(out, len, "%s/%s", strcmp(parent, "/") ? parent : "",
		     base) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] &&
		    s[3]) {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* Whether a FUSE file system is mounted at path (the topmost one), and
 * its device number (the name of its fusectl directory). */
static bool fuse_mounted(const char *path, unsigned *dev)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], fstype[256];
		unsigned maj, min;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - TYPE */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mp) !=
		    3)
			continue;
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%255s", fstype) != 1)
			continue;
		unescape(mp);
		if (strcmp(mp, path) != 0)
			continue;
		found = strncmp(fstype, "fuse", 4) == 0;
		if (found && dev)
			*dev = maj == 0 ? min : (maj << 20 | min);
	}
	free(line);
	fclose(f);
	return found;
}

/* Aborts the FUSE connection of the mount at path. */
static int abort_connection(const char *path, unsigned dev)
{
	char ctl[64];
	int fd, r = -ENOENT;

	snprintf(ctl, sizeof(ctl), "/sys/fs/fuse/connections/%u/abort", dev);
	if ((fd = open(ctl, O_WRONLY | O_CLOEXEC)) >= 0) {
		r = write(fd, "1", 1) == 1 ? 0 : -errno;
		close(fd);
		if (r == 0)
			return 0;
	} else {
		r = -errno;
	}
	/* A FUSE file system's umount_begin aborts the connection. */
	if (umount2(path, MNT_FORCE) == 0 || errno == EBUSY)
		return 0;
	return r;
}

static int detach(const char *path)
{
	if (fusermount_u(path, true, UMOUNT_STEP_MS) == 0 ||
	    umount2(path, MNT_DETACH) == 0)
		return 0;
	return fuse_mounted(path, NULL) ? -EBUSY : 0;
}

int daemon_clear_stale(const char *mountpoint)
{
	struct stat st;

	if (stat(mountpoint, &st) == 0 || errno != ENOTCONN)
		return 0;
	if (fusermount_u(mountpoint, true, UMOUNT_STEP_MS) < 0 &&
	    umount2(mountpoint, MNT_DETACH) < 0)
		return -ENOTCONN;
	return stat(mountpoint, &st) == 0 ? 0 : -errno;
}

/* Does the daemon of cfg answer?  0 yes, -ENOENT none runs, else the
 * error (a stopped daemon times out). */
static int daemon_answers(const struct config *cfg)
{
	struct error e = {0};
	cJSON *req = cJSON_CreateObject(), *rep;

	cJSON_AddStringToObject(req, "cmd", "ping");
	rep = ctl_call(cfg, req, 1000, &e);
	if (rep) {
		cJSON_Delete(rep);
		return 0;
	}
	return e.kind == ERROR_NO_DAEMON ? -ENOENT : -(e.code ? e.code : EIO);
}

static int umount_force(const char *path, unsigned dev)
{
	int r = abort_connection(path, dev);

	if (r < 0)
		fprintf(stderr,
			"credfs: umount %s: cannot abort the FUSE connection "
			"(/sys/fs/fuse/connections/%u/abort: %s; mount "
			"fusectl there, or run as root): detaching it; "
			"processes blocked in it stay blocked until the "
			"daemon runs or dies\n",
			path, dev, strerror(-r));
	if (fuse_mounted(path, NULL) && detach(path) < 0) {
		fprintf(stderr, "credfs: umount %s: cannot detach it\n", path);
		return 1;
	}
	return 0;
}

int daemon_umount(const struct config *cfg, const char *mountpoint, bool force)
{
	char path[PATH_MAX];
	char *sock = NULL;
	unsigned dev = 0;
	int r;

	if ((r = abs_path(mountpoint, path, sizeof(path))) < 0) {
		fprintf(stderr, "credfs: umount %s: %s\n", mountpoint,
			strerror(-r));
		return 1;
	}
	if (!fuse_mounted(path, &dev)) {
		fprintf(stderr, "credfs: umount %s: not a credfs mount\n",
			path);
		return 1;
	}
	if (force) {
		if (umount_force(path, dev))
			return 1;
	} else if ((r = fusermount_u(path, false, UMOUNT_STEP_MS)) < 0 &&
		   umount2(path, 0) < 0) {
		int d = daemon_answers(cfg);

		if (d == -ENOENT) {
			/* a stale mount of a daemon that died */
			if (detach(path) < 0) {
				fprintf(stderr,
					"credfs: umount %s: a stale mount "
					"that cannot be detached\n",
					path);
				return 1;
			}
		} else if (d < 0) {
			fprintf(stderr,
				"credfs: umount %s: the daemon does not answer "
				"(stopped?); `credfs umount --force %s` aborts "
				"the connection\n",
				path, path);
			return 1;
		} else {
			fprintf(
			    stderr,
			    "credfs: umount %s: busy (a process uses a file "
			    "or directory in it); close it, or `credfs "
			    "umount --force %s`\n",
			    path, path);
			return 1;
		}
	}
	/* Wait for the daemon to wipe its memory and exit. */
	sock = ctl_socket_path(cfg);
	for (int i = 0; sock && i < (force ? 40 : 100); i++) {
		if (access(sock, F_OK) < 0)
			break;
		sleep_ms(50);
	}
	free(sock);
	return 0;
}
