/* caller_int: what caller.c, caller_cache.c and caller_sha.c share.
 * Internal to access/: nothing outside includes it. */
#ifndef CREDFS_CALLER_INT_H
#define CREDFS_CALLER_INT_H

#include "access/caller.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Field 4 (ppid) and 22 (starttime) of /proc/PID/stat, and comm. */
struct caller_stat {
	pid_t ppid;
	unsigned long long starttime;
	char comm[32];
};

/* What identification takes from /proc/PID/status. */
struct caller_status {
	pid_t tgid;
	pid_t ppid;
	char name[32];
	pid_t tracer;
	unsigned long fsuid, fsgid;
	size_t ngroups;
	gid_t groups[CALLER_MAX_GROUPS];
	bool groups_truncated;
};

/* pidfs (Linux 6.9+: unique pidfd inodes, PIDFD_THREAD), probed once. */
bool caller_have_pidfs(void);
/* pidfs inode of the thread tid now; keep_fd (if not NULL) gets the
 * pidfd. */
int caller_pidfs_ino(pid_t tid, uint64_t *ino, int *keep_fd);
/* O_PATH fd of /proc/PID, -ESRCH if gone. */
int caller_proc_dir(pid_t pid);
/* A whole small /proc file (name relative to dirfd, or absolute with
 * AT_FDCWD) into buf, NUL-terminated; the length or -errno. */
ssize_t caller_read_at(int dirfd, const char *name, char *buf, size_t size);
int caller_read_stat(int dirfd, struct caller_stat *sf);
/* name: "status" / "cgroup" under dirfd, or an absolute path. */
int caller_read_status(int dirfd, const char *name, struct caller_status *st);
int caller_read_cgroup(int dirfd, const char *name, struct caller *c);
/* Whether the file at path, in the daemon's namespace, is dev/ino. */
bool caller_path_is(const char *path, dev_t dev, ino_t ino);
/* Opens /proc/TID again, checking it is the task identified; sf gets its
 * stat.  The directory fd, or -ESRCH. */
int caller_reopen_pinned(const struct caller *c, struct caller_stat *sf);
/* c->preload from dirfd's environ (caller_env.c); -errno if unreadable. */
int caller_read_environ(int dirfd, struct caller *c);
void caller_reset(struct caller *c, pid_t tid, uid_t uid, gid_t gid);
/* Copies the task-wide parts of st (tracer, groups) into c, with the
 * thread group leader's tracer when the thread has none. */
void caller_take_status(struct caller *c, const struct caller_status *st);

#endif
