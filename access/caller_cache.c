/* caller_cache: the identity of a task seen in the last second.
 *
 * A process that opens files in a loop would otherwise pay a full
 * identification (the status, cmdline and cgroup files, each an open, a
 * read and a close) per open.  An entry keeps the task's pidfd: while it
 * shows the task alive, the pid number still names that task (a number is
 * only reused once its task is reaped), so a hit costs what must be read
 * fresh anyway: what /proc/PID/exe runs (an execve changes it and misses),
 * whether the cached path is that file in the daemon's namespace, and the
 * parts a rule decides on (fresh).  Without pidfs there is no cache.
 */
#include "access/caller_int.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDCACHE_SLOTS 64
#define IDCACHE_TTL_MS 1000
#define IDCACHE_PARTS (CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP)

struct idcache_entry {
	pthread_mutex_t mu;
	int pidfd; /* the task's, -1 for an empty slot */
	long at_ms;
	struct caller id; /* ancestors and hash left out */
};

static struct idcache_entry idcache[IDCACHE_SLOTS];
static pthread_once_t idcache_once = PTHREAD_ONCE_INIT;

static void idcache_init(void)
{
	for (size_t i = 0; i < IDCACHE_SLOTS; i++) {
		pthread_mutex_init(&idcache[i].mu, NULL);
		idcache[i].pidfd = -1;
	}
}

static void entry_drop(struct idcache_entry *e)
{
	if (e->pidfd >= 0)
		close(e->pidfd);
	e->pidfd = -1;
}

/* The parts of an identity the cache keeps (no ancestors, no hash). */
static void copy_identity(struct caller *to, const struct caller *from)
{
	to->tid = from->tid;
	to->pid = from->pid;
	to->uid = from->uid;
	to->gid = from->gid;
	to->tracer = from->tracer;
	to->starttime = from->starttime;
	to->exe_deleted = from->exe_deleted;
	memcpy(to->exe, from->exe, strlen(from->exe) + 1);
	memcpy(to->comm, from->comm, sizeof(to->comm));
	memcpy(to->cmdline, from->cmdline, sizeof(to->cmdline));
	memcpy(to->cgroup, from->cgroup, sizeof(to->cgroup));
	to->nancestors = 0;
	to->have_sha256 = false;
	to->have = from->have & IDCACHE_PARTS;
	to->ancestors_deleted = 0;
	to->ngroups = from->ngroups;
	memcpy(to->groups, from->groups, from->ngroups * sizeof(gid_t));
	to->groups_truncated = from->groups_truncated;
	to->pidfs_ino = from->pidfs_ino;
	to->exe_dev = from->exe_dev;
	to->exe_ino = from->exe_ino;
	to->exe_mismatch = from->exe_mismatch;
	to->ancestors_mismatch = 0;
}

static void idcache_put(const struct caller *c)
{
	struct idcache_entry *e = &idcache[(unsigned)c->tid % IDCACHE_SLOTS];
	uint64_t ino = 0;
	int fd = -1;

	/* A pidfd of the task identified (same pidfs inode), or nothing. */
	if (caller_pidfs_ino(c->tid, &ino, &fd) < 0)
		return;
	if (ino != c->pidfs_ino) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&e->mu);
	entry_drop(e);
	e->pidfd = fd;
	e->at_ms = util_mono_ms();
	copy_identity(&e->id, c);
	pthread_mutex_unlock(&e->mu);
}

/* Under e->mu: 0 and c filled on a hit, -ENOENT on a miss. */
static int idcache_hit(struct idcache_entry *e, pid_t tid, uid_t uid, gid_t gid,
		       unsigned need, unsigned fresh, struct caller *c)
{
	struct pollfd pfd = {.fd = e->pidfd, .events = POLLIN};
	struct caller_status st;
	char path[48];
	struct stat sb;

	if (e->pidfd < 0 || e->id.tid != tid || e->id.uid != uid ||
	    e->id.gid != gid || !e->id.exe_ino ||
	    util_mono_ms() - e->at_ms > IDCACHE_TTL_MS ||
	    (need & IDCACHE_PARTS & ~e->id.have))
		return -ENOENT;
	/* Still the executable cached: no execve since. */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)tid);
	if (stat(path, &sb) < 0 || sb.st_dev != e->id.exe_dev ||
	    sb.st_ino != e->id.exe_ino)
		return -ENOENT;
	copy_identity(c, &e->id);
	c->exe_mismatch =
	    c->exe_deleted || !caller_path_is(c->exe, sb.st_dev, sb.st_ino);
	if (fresh & CALLER_NEED_STATUS) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
		if (caller_read_status(AT_FDCWD, path, &st) < 0 ||
		    st.tgid != c->pid || st.fsuid != (unsigned long)uid ||
		    st.fsgid != (unsigned long)gid)
			return -ENOENT;
		caller_take_status(c, &st);
	}
	if (fresh & CALLER_NEED_CGROUP) {
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)tid);
		if (caller_read_cgroup(AT_FDCWD, path, c) < 0)
			return -ENOENT;
		c->have |= CALLER_NEED_CGROUP;
	}
	/* Alive after the reads: tid named this task during them. */
	if (poll(&pfd, 1, 0) != 0) {
		entry_drop(e);
		return -ENOENT;
	}
	return 0;
}

int caller_identify_cached(pid_t tid, uid_t uid, gid_t gid, unsigned need,
			   unsigned fresh, struct caller *c)
{
	struct idcache_entry *e;
	int r;

	/* Ancestors and hashes are never cached; without pidfs there is no
	 * cheap proof that a task is the one cached. */
	if ((need | fresh) & (CALLER_NEED_ANCESTORS | CALLER_NEED_SHA256 |
			      CALLER_NEED_ENVIRON) ||
	    tid <= 0 || !caller_have_pidfs())
		return caller_identify_need(tid, uid, gid, need | fresh, c);
	pthread_once(&idcache_once, idcache_init);
	e = &idcache[(unsigned)tid % IDCACHE_SLOTS];
	pthread_mutex_lock(&e->mu);
	r = idcache_hit(e, tid, uid, gid, need, fresh, c);
	pthread_mutex_unlock(&e->mu);
	if (r == 0)
		return 0;
	r = caller_identify_need(tid, uid, gid, need | fresh, c);
	if (r == 0 && c->pidfs_ino && c->exe_ino)
		idcache_put(c);
	return r;
}
