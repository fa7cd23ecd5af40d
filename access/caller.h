/* caller: who is opening a file, resolved from /proc inside the request.
 *
 * The FUSE request pid is a thread id; the identity is its thread group.
 * The process is pinned across the /proc reads (see caller.c) so a
 * recycled pid cannot borrow another process's identity.
 */
#ifndef CREDFS_CALLER_H
#define CREDFS_CALLER_H

#include "core/rules.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CALLER_MAX_ANCESTORS 16
#define CALLER_MAX_GROUPS 128

/* Optional parts of an identity (the pinned core, tid/pid/uid/gid/tracer/
 * exe/comm/groups and the pin, is always read; starttime is 0 when pidfs
 * pins and no ancestors were asked for).  policy_needs() says which a
 * policy wants (fill them before policy_decide, which reads nothing); the
 * audit line wants CMDLINE | CGROUP. */

struct caller {
	pid_t tid;
	pid_t pid; /* thread group id */
	uid_t uid; /* from the request */
	gid_t gid;
	pid_t tracer; /* TracerPid, 0 if none */
	unsigned long long starttime;
	bool exe_deleted;
	char exe[PATH_MAX];
	char comm[32];
	char cmdline[256]; /* NULs turned to spaces, truncated */
	char cgroup[512];  /* cgroup v2 path ("0::" line) */
	size_t nancestors;
	char ancestors[CALLER_MAX_ANCESTORS][PATH_MAX]; /* parent first */
	bool have_sha256;
	uint8_t exe_sha256[32]; /* filled lazily by policy (exe_sha256:) */
	/* Added by the caller module (fields only appended). */
	unsigned have;		    /* CALLER_NEED_* parts filled in */
	uint32_t ancestors_deleted; /* bit i: ancestors[i] was " (deleted)" */
	size_t ngroups;		    /* supplementary groups (status Groups:) */
	gid_t groups[CALLER_MAX_GROUPS];
	bool groups_truncated; /* more groups than CALLER_MAX_GROUPS */
	/* pidfs inode of the thread: unique for the boot, never reused,
	 * unlike pid + start time (10 ms ticks).  0 without pidfs (< 6.9),
	 * where starttime is the pin. */
	uint64_t pidfs_ino;
	/* What runs: device and inode of /proc/PID/exe (0 when exe is
	 * unknown).  exe_mismatch: exe, the path the caller's namespace
	 * shows, is not that file in the daemon's namespace (a private
	 * mount namespace, a bind mount, a replaced file): an exe: allow
	 * rule does not hold.  Bit i of ancestors_mismatch: the same for
	 * ancestors[i]. */
	dev_t exe_dev;
	ino_t exe_ino;
	bool exe_mismatch;
	uint32_t ancestors_mismatch;
	/* CALLER_NEED_ENVIRON: the first loader variable (LD_PRELOAD,
	 * LD_AUDIT, LD_LIBRARY_PATH) set, non-empty, in /proc/PID/environ;
	 * "" when none.  Not in have when the environment was unreadable. */
	char preload[24];
};

/* Fills c for the thread tid; -ESRCH/-EACCES/-EINVAL if the caller cannot
 * be identified (pid 0, vanished, pid reused, unreadable /proc).  An
 * executable the daemon may not see (another user's process, a daemon
 * without CAP_SYS_PTRACE) is no failure: exe stays "" and only rules that
 * look at it fail closed (see policy.h). */
int caller_identify(pid_t tid, uid_t uid, gid_t gid, struct caller *c)
    __attribute__((warn_unused_result));
/* Hash of the executable as the caller runs it (/proc/PID/exe). */
int caller_exe_sha256(struct caller *c);

/* Like caller_identify but reads only the optional parts in need
 * (CALLER_NEED_*; caller_identify reads all of them but the hash, which
 * policy_decide computes when an exe_sha256: rule needs it).
 * exe is the path without " (deleted)"; exe_deleted says it was.  On
 * failure tid, uid and gid are still set so the denial can be audited. */
int caller_identify_need(pid_t tid, uid_t uid, gid_t gid, unsigned need,
			 struct caller *c) __attribute__((warn_unused_result));
/* Like caller_identify_need, but a task identified in the last second
 * (its pidfd, kept by the cache, shows it still alive, so tid is still
 * that task, and /proc/PID/exe is still the same file, so no execve
 * since) reuses what was read then: exe's path, cmdline, cgroup, comm,
 * groups, tracer.  Read now regardless: what runs (device and inode) and
 * whether exe's path is that file in the daemon's namespace, and the parts
 * in fresh (pass rules_needs(): a rule never decides on a cached value).
 * Ancestors and hashes are never cached.  Without pidfs this is
 * caller_identify_need. */
int caller_identify_cached(pid_t tid, uid_t uid, gid_t gid, unsigned need,
			   unsigned fresh, struct caller *c)
    __attribute__((warn_unused_result));
/* Fills optional parts still missing from an identified caller, checking
 * the process is still the one identified (same pidfs inode, or start
 * time); -ESRCH if not.  Call it with rules_needs() before policy_decide,
 * which reads nothing itself. */
int caller_complete(struct caller *c, unsigned need)
    __attribute__((warn_unused_result));
/* Whether pid is a descendant of ancestor (a provider command the daemon
 * started, or one of its children). */
bool caller_descends_from(pid_t pid, pid_t ancestor);
/* Whether c is in group g: the request gid or a supplementary group. */
bool caller_in_group(const struct caller *c, gid_t g);

#endif
