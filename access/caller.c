/* caller: who is opening a file, resolved from /proc inside the request.
 *
 * Pinning: every read goes through one directory fd on /proc/TID.  A /proc
 * directory inode holds a reference to the task's struct pid, and a recycled
 * pid number gets a new struct pid, so once the directory is open no read
 * through it can reach another process: it reads this task or fails with
 * ESRCH once the task is reaped (tests/policy/test-caller.c checks this on
 * a real recycled pid).
 *
 * caller_complete() and caller_exe_sha256() open the directory again later
 * and must know it is still the process identified.  The start time is no
 * proof: it counts 10 ms ticks, and a pid recycled within a tick has the
 * same one.  With pidfs (Linux 6.9+) a pidfd's inode number is unique for
 * the boot, so the identity keeps that; without, the start time it is.
 *
 * The request's fsuid/fsgid must equal the thread's (status Uid:/Gid:
 * fourth field): a pid that was recycled to another user's process between
 * the request and the lookup is refused rather than trusted.
 *
 * The executable: /proc/PID/exe's path is written in the caller's mount
 * namespace, so a private namespace can give any file any name.  What runs
 * is the device and inode behind the link (fstatat follows it to the file
 * itself); exe_mismatch says the path, looked up in the daemon's
 * namespace, is not that file.  A daemon that may not look at another
 * user's exe (no CAP_SYS_PTRACE) identifies the caller without it.  The
 * identity cache is caller_cache.c, the hash caller_sha.c.
 */
#include "access/caller_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DELETED_SUFFIX " (deleted)"
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#define PIDFS_MAGIC_NUMBER 0x50494446

static int pidfd_open_tid(pid_t tid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, tid, flags);
}

/* Whether pidfds live on pidfs (unique inode numbers) and take
 * PIDFD_THREAD: both came with Linux 6.9.  Probed once. */
bool caller_have_pidfs(void)
{
	static int state; /* 0 unknown, 1 yes, -1 no */
	int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
	struct statfs sfs;
	int fd;

	if (s)
		return s > 0;
	s = -1;
	/* The start-time fallback of older kernels, testable on new ones. */
	if (getenv("CREDFS_CALLER_NO_PIDFS"))
		goto out;
	fd = pidfd_open_tid(gettid(), PIDFD_THREAD);
	if (fd >= 0) {
		if (fstatfs(fd, &sfs) == 0 &&
		    (unsigned long)sfs.f_type == PIDFS_MAGIC_NUMBER)
			s = 1;
		close(fd);
	}
out:
	__atomic_store_n(&state, s, __ATOMIC_RELAXED);
	return s > 0;
}

/* pidfs inode of the thread tid now. */
int caller_pidfs_ino(pid_t tid, uint64_t *ino, int *keep_fd)
{
	struct stat st;
	int fd, r = 0;

	fd = pidfd_open_tid(tid, PIDFD_THREAD);
	if (fd < 0)
		return errno == EINVAL ? -EINVAL : -ESRCH;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else
		*ino = (uint64_t)st.st_ino;
	if (keep_fd && r == 0)
		*keep_fd = fd;
	else
		close(fd);
	return r;
}

int caller_proc_dir(pid_t pid)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return fd;
}

/* Reads a whole (small) /proc file into buf, NUL-terminated; returns the
 * length or -errno.  A file longer than buf is truncated. */
ssize_t caller_read_at(int dirfd, const char *name, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	while (len < size - 1) {
		size_t want = size - 1 - len;

		n = read(fd, buf + len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = errno == ENOENT ? -ESRCH : -errno;
			close(fd);
			return r;
		}
		len += (size_t)n;
		/* These files hand over everything in one read: a short
		 * read is the end, no need for a second read to see 0. */
		if ((size_t)n < want)
			break;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

int caller_read_stat(int dirfd, struct caller_stat *sf)
{
	char buf[1024];
	char *open_paren, *close_paren, *p, *end;
	ssize_t n;
	size_t clen;
	int field;

	n = caller_read_at(dirfd, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* comm may hold anything, ')' included: it ends at the last ')'. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	clen = (size_t)(close_paren - open_paren - 1);
	if (clen >= sizeof(sf->comm))
		clen = sizeof(sf->comm) - 1;
	memcpy(sf->comm, open_paren + 1, clen);
	sf->comm[clen] = '\0';

	p = close_paren + 1;
	for (field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == 4) {
			sf->ppid = (pid_t)strtol(p, &end, 10);
			if (end == p)
				return -EINVAL;
			p = end;
		} else if (field == 22) {
			sf->starttime = strtoull(p, &end, 10);
			if (end == p)
				return -EINVAL;
			p = end;
		} else {
			while (*p && *p != ' ')
				p++;
		}
	}
	return 0;
}

/* Fourth number of "Uid:\tr\te\ts\tfs". */
static int parse_fourth(const char *p, unsigned long *out)
{
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		*out = strtoul(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
	}
	return 0;
}

int caller_read_status(int dirfd, const char *name, struct caller_status *st)
{
	char buf[8192];
	char *line, *nl, *end;
	unsigned seen = 0;
	ssize_t n;

	n = caller_read_at(dirfd, name, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	st->ngroups = 0;
	st->groups_truncated = false;
	st->ppid = 0;
	st->name[0] = '\0';
	/* Tgid, TracerPid, Uid, Gid and Groups come early: stop after
	 * Groups rather than comparing every later line. */
	for (line = buf; line && *line && seen != 31;
	     line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strchr("TUGNP", line[0]))
			continue;
		if (!strncmp(line, "Name:\t", 6)) {
			/* Escaped by the kernel (\\n, \\\\): fine for a log. */
			snprintf(st->name, sizeof(st->name), "%s", line + 6);
		} else if (!strncmp(line, "PPid:", 5)) {
			st->ppid = (pid_t)strtol(line + 5, &end, 10);
		} else if (!strncmp(line, "Tgid:", 5)) {
			st->tgid = (pid_t)strtol(line + 5, &end, 10);
			if (end != line + 5)
				seen |= 1;
		} else if (!strncmp(line, "TracerPid:", 10)) {
			st->tracer = (pid_t)strtol(line + 10, &end, 10);
			if (end != line + 10)
				seen |= 2;
		} else if (!strncmp(line, "Uid:", 4)) {
			if (!parse_fourth(line + 4, &st->fsuid))
				seen |= 4;
		} else if (!strncmp(line, "Gid:", 4)) {
			if (!parse_fourth(line + 4, &st->fsgid))
				seen |= 8;
		} else if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7;

			seen |= 16;
			for (;;) {
				unsigned long g = strtoul(p, &end, 10);

				if (end == p)
					break;
				if (st->ngroups == CALLER_MAX_GROUPS) {
					st->groups_truncated = true;
					break;
				}
				st->groups[st->ngroups++] = (gid_t)g;
				p = end;
			}
			/* The line was cut by the buffer. */
			if (!nl)
				st->groups_truncated = true;
		}
	}
	seen &= 15;
	return seen == 15 ? 0 : -EINVAL;
}

/* readlink of DIR/exe; strips " (deleted)". */
static int read_exe(int dirfd, char *buf, size_t size, bool *deleted)
{
	ssize_t n;
	size_t sl = sizeof(DELETED_SUFFIX) - 1;

	n = readlinkat(dirfd, "exe", buf, size - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (n == 0)
		return -ESRCH;
	/* Possibly truncated: a prefix could match a glob the path does
	 * not. */
	if ((size_t)n == size - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	*deleted = false;
	if ((size_t)n > sl && !memcmp(buf + n - sl, DELETED_SUFFIX, sl)) {
		buf[n - sl] = '\0';
		*deleted = true;
	}
	return 0;
}

bool caller_path_is(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return dev && ino && stat(path, &st) == 0 && st.st_dev == dev &&
	       st.st_ino == ino;
}

/* What DIR/exe runs (its device and inode) and whether path, the name the
 * caller's namespace gives it, is that file in ours.  -EACCES when the
 * daemon may not look (another user's process, a daemon without
 * CAP_SYS_PTRACE). */
static int exe_identity(int dirfd, const char *path, bool deleted, dev_t *dev,
			ino_t *ino, bool *mismatch)
{
	struct stat st;

	if (fstatat(dirfd, "exe", &st, 0) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	*mismatch = deleted || !caller_path_is(path, st.st_dev, st.st_ino);
	return 0;
}

static void read_cmdline(int dirfd, struct caller *c)
{
	ssize_t n, i;

	n = caller_read_at(dirfd, "cmdline", c->cmdline, sizeof(c->cmdline));
	if (n < 0) {
		c->cmdline[0] = '\0';
		return;
	}
	for (i = 0; i < n; i++)
		if (c->cmdline[i] == '\0')
			c->cmdline[i] = ' ';
	while (n > 0 && c->cmdline[n - 1] == ' ')
		n--;
	c->cmdline[n] = '\0';
}

/* The "0::" line; empty without cgroup v2.  A path that does not fit is an
 * error: a truncated path could match a glob the real one does not. */
int caller_read_cgroup(int dirfd, const char *name, struct caller *c)
{
	char buf[4096];
	char *line, *nl;
	ssize_t n;
	size_t len;

	c->cgroup[0] = '\0';
	n = caller_read_at(dirfd, name, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if ((size_t)n == sizeof(buf) - 1)
		return -ENAMETOOLONG;
	for (line = buf; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(line, "0::", 3)) {
			len = strlen(line + 3);
			if (len >= sizeof(c->cgroup))
				return -ENAMETOOLONG;
			memcpy(c->cgroup, line + 3, len + 1);
			return 0;
		}
	}
	return 0;
}

/* Parent first, up to CALLER_MAX_ANCESTORS, stopping below pid 1.  An
 * ancestor whose start time is later than its child's is a recycled pid
 * (the real parent is gone): the walk stops there. */
static void read_ancestors(struct caller *c, pid_t ppid,
			   unsigned long long child_start)
{
	struct caller_stat sf;
	pid_t p = ppid;
	bool deleted, mismatch;
	dev_t dev;
	ino_t ino;
	int dfd;

	c->nancestors = 0;
	c->ancestors_deleted = 0;
	c->ancestors_mismatch = 0;
	while (p > 1 && c->nancestors < CALLER_MAX_ANCESTORS) {
		char *slot = c->ancestors[c->nancestors];

		dfd = caller_proc_dir(p);
		if (dfd < 0)
			break;
		if (caller_read_stat(dfd, &sf) < 0 ||
		    sf.starttime > child_start) {
			close(dfd);
			break;
		}
		if (read_exe(dfd, slot, PATH_MAX, &deleted) < 0 ||
		    exe_identity(dfd, slot, deleted, &dev, &ino, &mismatch) <
			0) {
			strcpy(slot, "?");
			deleted = false;
			mismatch = true;
		}
		close(dfd);
		if (deleted)
			c->ancestors_deleted |= 1u << c->nancestors;
		if (mismatch)
			c->ancestors_mismatch |= 1u << c->nancestors;
		c->nancestors++;
		child_start = sf.starttime;
		p = sf.ppid;
	}
}

void caller_take_status(struct caller *c, const struct caller_status *st)
{
	struct caller_status lst;
	int lfd;

	c->tracer = st->tracer;
	c->ngroups = st->ngroups;
	memcpy(c->groups, st->groups, st->ngroups * sizeof(gid_t));
	c->groups_truncated = st->groups_truncated;
	/* A tracer can attach to one thread; a tracer on the leader
	 * controls the whole address space too, so a thread's identity
	 * looks at both. */
	if (c->tracer || st->tgid == c->tid ||
	    (lfd = caller_proc_dir(st->tgid)) < 0)
		return;
	if (caller_read_status(lfd, "status", &lst) == 0)
		c->tracer = lst.tracer;
	close(lfd);
}

/* Sets what must be valid even on failure, without clearing the large
 * path arrays (a 70 KiB memset per open is measurable). */
void caller_reset(struct caller *c, pid_t tid, uid_t uid, gid_t gid)
{
	c->tid = tid;
	c->pid = 0;
	c->uid = uid;
	c->gid = gid;
	c->tracer = 0;
	c->starttime = 0;
	c->exe_deleted = false;
	c->exe[0] = '\0';
	c->comm[0] = '\0';
	c->cmdline[0] = '\0';
	c->cgroup[0] = '\0';
	c->nancestors = 0;
	c->have_sha256 = false;
	c->have = 0;
	c->ancestors_deleted = 0;
	c->ngroups = 0;
	c->groups_truncated = false;
	c->pidfs_ino = 0;
	c->exe_dev = 0;
	c->exe_ino = 0;
	c->exe_mismatch = false;
	c->ancestors_mismatch = 0;
	c->preload[0] = '\0';
}

/* Reads the optional parts in need through dirfd (the pinned task). */
static int fill_optional(struct caller *c, int dirfd, pid_t ppid,
			 unsigned long long start, unsigned need)
{
	int r;

	need &= ~c->have;
	if (need & CALLER_NEED_CMDLINE)
		read_cmdline(dirfd, c);
	if ((need & CALLER_NEED_CGROUP) &&
	    (r = caller_read_cgroup(dirfd, "cgroup", c)) < 0)
		return r;
	if (need & CALLER_NEED_ANCESTORS)
		read_ancestors(c, ppid, start);
	c->have |= need & (CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP |
			   CALLER_NEED_ANCESTORS);
	/* Unreadable (another user's, or a non-dumpable process): not in
	 * have, so deny_preload fails closed. */
	if ((need & CALLER_NEED_ENVIRON) && caller_read_environ(dirfd, c) == 0)
		c->have |= CALLER_NEED_ENVIRON;
	return 0;
}

int caller_identify_need(pid_t tid, uid_t uid, gid_t gid, unsigned need,
			 struct caller *c)
{
	struct caller_stat sf = {0};
	struct caller_status st;
	bool need_stat;
	int dirfd = -1, r;

	caller_reset(c, tid, uid, gid);
	/* pid 0: the caller lives in a pid namespace we cannot see. */
	if (tid <= 0)
		return -ESRCH;
	dirfd = caller_proc_dir(tid);
	if (dirfd < 0) {
		r = dirfd;
		goto out;
	}
	/* The pidfd is taken after the directory and before the reads
	 * through it: a read that succeeds proves the task was alive, and
	 * so held tid, when the pidfd was opened: both are the same task. */
	if (caller_have_pidfs() &&
	    (r = caller_pidfs_ino(tid, &c->pidfs_ino, NULL)) < 0)
		goto out;
	/* stat only for the start time (the pin without pidfs) and for the
	 * ancestor walk; status has the rest. */
	need_stat = !c->pidfs_ino || (need & CALLER_NEED_ANCESTORS);
	if (need_stat && (r = caller_read_stat(dirfd, &sf)) < 0)
		goto out;
	if ((r = caller_read_status(dirfd, "status", &st)) < 0)
		goto out;
	if (st.fsuid != (unsigned long)uid || st.fsgid != (unsigned long)gid) {
		r = -ESRCH;
		goto out;
	}
	/* Another user's executable may be out of our sight: decided
	 * without it, rules that look at it fail closed. */
	r = read_exe(dirfd, c->exe, sizeof(c->exe), &c->exe_deleted);
	if (r == 0)
		r = exe_identity(dirfd, c->exe, c->exe_deleted, &c->exe_dev,
				 &c->exe_ino, &c->exe_mismatch);
	if (r == -EACCES || r == -EPERM) {
		c->exe[0] = '\0';
		c->exe_deleted = false;
		c->exe_dev = 0;
		c->exe_ino = 0;
	} else if (r < 0) {
		goto out;
	}

	c->pid = st.tgid;
	c->starttime = sf.starttime;
	memcpy(c->comm, need_stat ? sf.comm : st.name, sizeof(c->comm));
	caller_take_status(c, &st);

	if ((r = fill_optional(c, dirfd, st.ppid, sf.starttime, need)) < 0)
		goto out;
	if (need & CALLER_NEED_SHA256) {
		close(dirfd);
		dirfd = -1;
		if ((r = caller_exe_sha256(c)) < 0)
			goto out;
	}
	r = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	if (r < 0) {
		/* Leave nothing half-identified that a rule could match. */
		caller_reset(c, tid, uid, gid);
	}
	return r;
}

bool caller_descends_from(pid_t pid, pid_t ancestor)
{
	/* Informational only (it decides whether a reader may wait), so a
	 * plain walk up the parents is enough. */
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		struct caller_stat sf = {0};
		int dfd = caller_proc_dir(pid);
		if (dfd < 0)
			return false;
		int r = caller_read_stat(dfd, &sf);
		close(dfd);
		if (r < 0)
			return false;
		if (sf.ppid == ancestor)
			return true;
		pid = sf.ppid;
	}
	return false;
}

int caller_identify(pid_t tid, uid_t uid, gid_t gid, struct caller *c)
{
	return caller_identify_need(tid, uid, gid,
				    CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP |
					CALLER_NEED_ANCESTORS,
				    c);
}

/* Opens /proc/TID again and checks it is the task identified; sf gets
 * its stat (ppid, start time for the ancestor walk). */
int caller_reopen_pinned(const struct caller *c, struct caller_stat *sf)
{
	struct pollfd pfd = {.events = POLLIN};
	uint64_t ino = 0;
	int dirfd = -1, r;

	pfd.fd = -1;
	if (c->tid <= 0 || (!c->pidfs_ino && !c->starttime))
		return -ESRCH;
	if (c->pidfs_ino) {
		/* This pidfd names the task identified, or fails. */
		if ((r = caller_pidfs_ino(c->tid, &ino, &pfd.fd)) < 0)
			return -ESRCH;
		if (ino != c->pidfs_ino) {
			r = -ESRCH;
			goto out;
		}
	}
	dirfd = caller_proc_dir(c->tid);
	if (dirfd < 0) {
		r = dirfd;
		goto out;
	}
	/* Still running after the directory was opened, so the directory
	 * is that task's too. */
	if (pfd.fd >= 0 && poll(&pfd, 1, 0) != 0) {
		r = -ESRCH;
		goto out;
	}
	if ((r = caller_read_stat(dirfd, sf)) < 0)
		goto out;
	if (c->starttime && sf->starttime != c->starttime) {
		r = -ESRCH;
		goto out;
	}
	r = dirfd;
	dirfd = -1; /* transferred */
out:
	if (pfd.fd >= 0)
		close(pfd.fd);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

int caller_complete(struct caller *c, unsigned need)
{
	struct caller_stat sf;
	int dirfd, r = 0;

	if (!(need & ~c->have & ~CALLER_NEED_SHA256) &&
	    (!(need & CALLER_NEED_SHA256) || c->have_sha256))
		return 0;
	if (need & ~c->have & ~CALLER_NEED_SHA256) {
		dirfd = caller_reopen_pinned(c, &sf);
		if (dirfd < 0)
			return dirfd;
		r = fill_optional(c, dirfd, sf.ppid, sf.starttime, need);
		close(dirfd);
		if (r < 0)
			return r;
	}
	if ((need & CALLER_NEED_SHA256) && !c->have_sha256)
		r = caller_exe_sha256(c);
	return r;
}

bool caller_in_group(const struct caller *c, gid_t g)
{
	size_t i;

	if (c->gid == g)
		return true;
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == g)
			return true;
	return false;
}
