/* vfs: virtual files rendered at open, passthrough for the rest. */
#include "fs/vfs.h"
#include "access/audit.h"
#include "access/caller.h"
#include "core/config.h"
#include "core/cred.h"
#include "engine/engine.h"
#include "access/policy.h"
#include "core/render.h"
#include "core/secmem.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct vfs {
	const struct config *cfg;
	struct engine *engine;
	struct audit *audit;
	int dirfd;
	char *mountpoint;
	time_t started;
	atomic_bool locked;
	atomic_ulong *opens;
	atomic_ulong *denials;
	atomic_ulong *cache_gen; /* cache = kernel: generation last served */
	struct size_memo *memo;	 /* per file: st_size without a render */
	/* Where an open's time goes (ns, summed over allowed opens). */
	atomic_ullong t_identify, t_policy, t_render, t_audit, t_opens;
	char **vdirs; /* directories that exist only for virtual files */
	size_t nvdirs;
};

/* The size of a shared-view file, valid while no credential changed (same
 * engine generation) and none of those shown has expired. */
struct size_memo {
	pthread_mutex_t mu;
	bool valid;
	unsigned long gen;
	time_t until;
	off_t size;
	time_t mtime;
};

enum handle_kind { H_PASS, H_VIRT };

struct handle {
	enum handle_kind kind;
	int fd;		   /* H_PASS */
	uid_t uid;	   /* H_VIRT: the opener */
	time_t mtime;	   /* H_VIRT: newest credential's refresh */
	struct secbuf buf; /* H_VIRT: the snapshot served at every offset */
};

/* One identity buffer per FUSE worker thread (70 KiB: the ancestor
 * paths), not an allocation per open. */
static pthread_key_t caller_key;
static pthread_once_t caller_once = PTHREAD_ONCE_INIT;

static void caller_key_init(void)
{
	pthread_key_create(&caller_key, free);
}

static struct caller *thread_caller(void)
{
	struct caller *c;

	pthread_once(&caller_once, caller_key_init);
	if (!(c = pthread_getspecific(caller_key))) {
		c = malloc(sizeof(*c));
		if (c && pthread_setspecific(caller_key, c) != 0) {
			free(c);
			c = NULL;
		}
	}
	return c;
}

static struct vfs *self(void)
{
	return fuse_get_context()->private_data;
}

/* "/a/b" -> "a/b"; "/" -> "." */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static const struct file_cfg *vfile(struct vfs *v, const char *path,
				    size_t *idx)
{
	const char *r = rel(path);
	for (size_t i = 0; i < v->cfg->nfiles; i++)
		if (!strcmp(v->cfg->files[i].path, r)) {
			if (idx)
				*idx = i;
			return &v->cfg->files[i];
		}
	return NULL;
}

static bool vdir(struct vfs *v, const char *path)
{
	const char *r = rel(path);
	for (size_t i = 0; i < v->nvdirs; i++)
		if (!strcmp(v->vdirs[i], r))
			return true;
	return false;
}

/* Collect the render input: credentials of each profile of f, honouring
 * a per-caller view.  wait: block on refresh (open) or only peek (stat). */
static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int gather(struct vfs *v, const struct file_cfg *f,
		  const struct policy_decision *d, bool wait,
		  struct render_profile *rp, char whys[][256])
{
	/* Every profile's refresh starts at once, and all share one
	 * open_timeout: a file of slow profiles waits once, not per profile. */
	long deadline = mono_ms() + v->cfg->open_timeout * 1000L;
	bool missing = false, own = false;
	for (size_t k = 0; wait && k < f->nprof; k++)
		if (!(f->per_caller && d &&
		      !policy_admits_profile(d, f->labels[k])) &&
		    !engine_kick(v->engine, f->prof[k]))
			missing = true;
	/* A provider command of this daemon reading the mount would wait for
	 * its own fetch: it gets what is cached now, without waiting.  Asked
	 * only when someone would wait, so it costs the common open nothing. */
	if (missing && caller_descends_from(fuse_get_context()->pid, getpid()))
		own = true, wait = false;
	for (size_t k = 0; k < f->nprof; k++) {
		struct cred *c = NULL;
		int idx = f->prof[k];
		rp[k] = (struct render_profile){
		    .label = f->labels[k],
		    .profile = v->cfg->profiles[idx].name,
		};
		if (f->per_caller && d &&
		    !policy_admits_profile(d, f->labels[k])) {
			rp[k].hidden = true;
			continue;
		}
		whys[k][0] = 0;
		if (wait) {
			long left = deadline - mono_ms();
			if (engine_get(v->engine, idx, left > 0 ? (int)left : 0,
				       &c, whys[k], 256) < 0)
				c = NULL;
		} else {
			c = engine_peek(v->engine, idx);
			if (!c)
				snprintf(
				    whys[k], 256,
				    own ? "a provider of this mount cannot "
					  "wait for its own fetch"
					: "not fetched yet");
		}
		rp[k].cred = c;
		rp[k].why = whys[k];
	}
	return 0;
}

static void release_creds(struct render_profile *rp, size_t n)
{
	for (size_t k = 0; k < n; k++)
		cred_unref((struct cred *)rp[k].cred);
}

static time_t newest(const struct render_profile *rp, size_t n, time_t dflt)
{
	time_t t = 0;
	for (size_t k = 0; k < n; k++)
		if (rp[k].cred && cred_obtained(rp[k].cred) > t)
			t = cred_obtained(rp[k].cred);
	return t ? t : dflt;
}

static bool memo_get(struct vfs *v, size_t fidx, off_t *size, time_t *mtime)
{
	struct size_memo *m = &v->memo[fidx];
	bool ok;

	pthread_mutex_lock(&m->mu);
	ok = m->valid && m->gen == engine_generation(v->engine) &&
	     time(NULL) < m->until;
	if (ok) {
		*size = m->size;
		*mtime = m->mtime;
	}
	pthread_mutex_unlock(&m->mu);
	return ok;
}

/* Remember a render of every profile of f (a shared view only). */
static void memo_put(struct vfs *v, size_t fidx, unsigned long gen,
		     const struct render_profile *rp, size_t n, off_t size,
		     time_t mtime)
{
	struct size_memo *m = &v->memo[fidx];
	time_t until = (time_t)1 << 62;

	for (size_t k = 0; k < n; k++) {
		if (!rp[k].cred || rp[k].hidden)
			return; /* a reason text may change: not memoised */
		time_t e = cred_expiration(rp[k].cred);
		if (e && e < until)
			until = e;
	}
	pthread_mutex_lock(&m->mu);
	m->valid = true;
	m->gen = gen;
	m->until = until;
	m->size = size;
	m->mtime = mtime;
	pthread_mutex_unlock(&m->mu);
}

static int virt_getattr(struct vfs *v, const struct file_cfg *f,
			struct stat *st)
{
	struct render_profile rp[CONFIG_MAX_FILE_PROFILES];
	char whys[CONFIG_MAX_FILE_PROFILES][256];
	struct secbuf b = {0};
	char err[256];
	size_t n = f->nprof;
	struct fuse_context *ctx = fuse_get_context();
	struct policy_decision d;
	struct caller *c = NULL;
	bool have_d = false;

	memset(st, 0, sizeof(*st));
	if (f->per_caller && !(c = thread_caller()))
		return -ENOMEM;
	st->st_mode = S_IFREG | f->mode;
	st->st_nlink = 1;
	st->st_uid = v->cfg->owner;
	st->st_gid = getgid();
	st->st_blksize = 4096;
	if (f->per_caller) {
		/* the size this caller would get */
		if (caller_identify_need(ctx->pid, ctx->uid, ctx->gid,
					 rules_needs(f->policy), c) < 0)
			goto times;
		policy_decide(f->policy, c, &d);
		if (!d.allow)
			goto times;
		have_d = true;
	}
	size_t fidx = (size_t)(f - v->cfg->files);
	if (!f->per_caller && memo_get(v, fidx, &st->st_size, &st->st_mtime))
		goto times;
	unsigned long gen = engine_generation(v->engine);
	/* A stat never waits for a provider: LOOKUP runs under the kernel's
	 * lock on the name, and a provider command reading this same file
	 * would queue behind it.  The owner's stat starts what is due, so the
	 * open that follows finds it sooner. */
	if (ctx->uid == v->cfg->owner)
		for (size_t k = 0; k < n; k++)
			engine_kick(v->engine, f->prof[k]);
	gather(v, f, have_d ? &d : NULL, false, rp, whys);
	st->st_mtime = newest(rp, n, v->started);
	if (render_file(
		&(struct render_input){
		    .file = f, .n = n, .p = rp, .now = time(NULL)},
		&b, err, sizeof(err)) == 0) {
		st->st_size = (off_t)b.len;
		if (!f->per_caller)
			memo_put(v, fidx, gen, rp, n, st->st_size,
				 st->st_mtime);
	}
	secbuf_wipe(&b);
	release_creds(rp, n);
times:
	if (!st->st_mtime)
		st->st_mtime = v->started;
	st->st_atime = st->st_ctime = st->st_mtime;
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

static int op_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct vfs *v = self();
	const struct file_cfg *f;

	if (fi && fi->fh) {
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;
		if (h->kind == H_PASS)
			return fstat(h->fd, st) < 0 ? -errno : 0;
	}
	if ((f = vfile(v, path, NULL))) {
		if (fi && fi->fh) {
			/* fstat: the snapshot this handle serves */
			struct handle *h = (struct handle *)(uintptr_t)fi->fh;
			memset(st, 0, sizeof(*st));
			st->st_mode = S_IFREG | f->mode;
			st->st_nlink = 1;
			st->st_uid = v->cfg->owner;
			st->st_gid = getgid();
			st->st_blksize = 4096;
			st->st_size = (off_t)h->buf.len;
			st->st_blocks = (st->st_size + 511) / 512;
			st->st_mtime = st->st_atime = st->st_ctime = h->mtime;
			return 0;
		}
		return virt_getattr(v, f, st);
	}
	if (fstatat(v->dirfd, rel(path), st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno == ENOENT && vdir(v, path)) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFDIR | 0500;
		st->st_nlink = 2;
		st->st_uid = v->cfg->owner;
		st->st_gid = getgid();
		st->st_mtime = st->st_atime = st->st_ctime = v->started;
		return 0;
	}
	return -errno;
}

static int op_access(const char *path, int mask)
{
	struct vfs *v = self();
	if (vfile(v, path, NULL))
		return (mask & (W_OK | X_OK)) ? -EACCES : 0;
	if (faccessat(v->dirfd, rel(path), mask, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno == ENOENT && vdir(v, path))
		return (mask & W_OK) ? -EACCES : 0;
	return -errno;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(self()->dirfd, rel(path), buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* Names of the virtual children of directory r ("." for the root). */
static void virtual_children(struct vfs *v, const char *r, void *buf,
			     fuse_fill_dir_t filler, char ***seen,
			     size_t *nseen)
{
	size_t rl = strcmp(r, ".") ? strlen(r) : 0;
	for (size_t i = 0; i < v->cfg->nfiles; i++) {
		const char *p = v->cfg->files[i].path;
		if (rl && (strncmp(p, r, rl) || p[rl] != '/'))
			continue;
		const char *name = p + (rl ? rl + 1 : 0);
		size_t n = strcspn(name, "/");
		char child[256];
		snprintf(child, sizeof(child), "%.*s", (int)n, name);
		bool dup = false;
		for (size_t k = 0; k < *nseen && !dup; k++)
			dup = !strcmp((*seen)[k], child);
		if (dup)
			continue;
		*seen = realloc(*seen, (*nseen + 1) * sizeof(char *));
		(*seen)[(*nseen)++] = strdup(child);
		filler(buf, child, NULL, 0, 0);
	}
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct vfs *v = self();
	const char *r = rel(path);
	char **seen = NULL;
	size_t nseen = 0;
	int fd = openat(v->dirfd, r, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool virt = vdir(v, path) || !strcmp(r, ".");

	if (fd < 0 && !(errno == ENOENT && virt))
		return -errno;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if (virt)
		virtual_children(v, r, buf, filler, &seen, &nseen);
	if (fd >= 0) {
		DIR *dp = fdopendir(fd);
		struct dirent *de;
		if (!dp) {
			close(fd);
		} else {
			while ((de = readdir(dp))) {
				if (!strcmp(de->d_name, ".") ||
				    !strcmp(de->d_name, ".."))
					continue;
				bool dup = false;
				for (size_t k = 0; k < nseen && !dup; k++)
					dup = !strcmp(seen[k], de->d_name);
				if (!dup)
					filler(buf, de->d_name, NULL, 0, 0);
			}
			closedir(dp);
		}
	}
	for (size_t k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
	return 0;
}

static int deny_virtual(struct vfs *v, const char *path)
{
	return vfile(v, path, NULL) || vdir(v, path);
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct vfs *v = self();
	if (deny_virtual(v, path))
		return -EEXIST;
	return mknodat(v->dirfd, rel(path), mode, rdev) < 0 ? -errno : 0;
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct vfs *v = self();
	if (deny_virtual(v, path))
		return -EEXIST;
	return mkdirat(v->dirfd, rel(path), mode) < 0 ? -errno : 0;
}

static int op_unlink(const char *path)
{
	struct vfs *v = self();
	if (vfile(v, path, NULL))
		return -EPERM;
	return unlinkat(v->dirfd, rel(path), 0) < 0 ? -errno : 0;
}

static int op_rmdir(const char *path)
{
	struct vfs *v = self();
	if (vdir(v, path))
		return -EPERM;
	return unlinkat(v->dirfd, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int op_symlink(const char *target, const char *path)
{
	struct vfs *v = self();
	if (deny_virtual(v, path))
		return -EEXIST;
	return symlinkat(target, v->dirfd, rel(path)) < 0 ? -errno : 0;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct vfs *v = self();
	if (deny_virtual(v, from) || deny_virtual(v, to))
		return -EPERM;
	return renameat2(v->dirfd, rel(from), v->dirfd, rel(to), flags) < 0
		   ? -errno
		   : 0;
}

static int op_link(const char *from, const char *to)
{
	struct vfs *v = self();
	if (deny_virtual(v, from) || deny_virtual(v, to))
		return -EPERM;
	return linkat(v->dirfd, rel(from), v->dirfd, rel(to), 0) < 0 ? -errno
								     : 0;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct vfs *v = self();
	if (deny_virtual(v, path))
		return -EPERM;
	if (fi && fi->fh)
		return fchmod(((struct handle *)(uintptr_t)fi->fh)->fd, mode) <
			       0
			   ? -errno
			   : 0;
	return fchmodat(v->dirfd, rel(path), mode, 0) < 0 ? -errno : 0;
}

static int op_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	struct vfs *v = self();
	if (deny_virtual(v, path))
		return -EPERM;
	return fchownat(v->dirfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0
		   ? -errno
		   : 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct vfs *v = self();
	int fd, r = 0;

	if (vfile(v, path, NULL))
		return -EACCES;
	if (fi && fi->fh)
		return ftruncate(((struct handle *)(uintptr_t)fi->fh)->fd,
				 size) < 0
			   ? -errno
			   : 0;
	if ((fd = openat(v->dirfd, rel(path), O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (ftruncate(fd, size) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int op_utimens(const char *path, const struct timespec ts[2],
		      struct fuse_file_info *fi)
{
	struct vfs *v = self();
	if (deny_virtual(v, path))
		return -EPERM;
	if (fi && fi->fh)
		return futimens(((struct handle *)(uintptr_t)fi->fh)->fd, ts) <
			       0
			   ? -errno
			   : 0;
	return utimensat(v->dirfd, rel(path), ts, AT_SYMLINK_NOFOLLOW) < 0
		   ? -errno
		   : 0;
}

static int pass_open(struct vfs *v, const char *path, int flags, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* O_APPEND is honoured by the kernel's offsets; keep it for pwrite
	 * semantics on the underlying file. */
	h->fd = openat(v->dirfd, rel(path), (flags & ~O_NOFOLLOW) | O_CLOEXEC,
		       mode);
	if (h->fd < 0) {
		int r = -errno;
		free(h);
		return r;
	}
	h->kind = H_PASS;
	fi->fh = (uintptr_t)h;
	return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct vfs *v = self();
	if (deny_virtual(v, path))
		return -EACCES;
	return pass_open(v, path, fi->flags, mode, fi);
}

static void audit_deny(struct vfs *v, const struct file_cfg *f,
		       const struct caller *c, const struct policy_decision *d)
{
	const char *labels[CONFIG_MAX_FILE_PROFILES];
	size_t n = 0;
	for (size_t k = 0; k < f->nprof; k++)
		labels[n++] = f->labels[k];
	audit_open_event(v->audit, f->path, labels, n, c, d, NULL, 0, 0);
}

static unsigned long long ns_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

static int virt_open(struct vfs *v, const struct file_cfg *f, size_t fidx,
		     struct fuse_file_info *fi)
{
	struct fuse_context *ctx = fuse_get_context();
	struct render_profile rp[CONFIG_MAX_FILE_PROFILES];
	char whys[CONFIG_MAX_FILE_PROFILES][256];
	const char *labels[CONFIG_MAX_FILE_PROFILES],
	    *kids[CONFIG_MAX_FILE_PROFILES];
	char kidbuf[CONFIG_MAX_FILE_PROFILES][96];
	struct policy_decision d;
	struct caller *c = NULL;
	struct handle *h = NULL;
	char err[512];
	size_t n = f->nprof, nl = 0, nk = 0;
	time_t expires = 0;
	int r;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EACCES;
	unsigned long long t0 = ns_now(), t1 = 0, t2, t3;
	if (!(c = thread_caller()))
		return -ENOMEM;
	/* What this file's rules look at is read now; the audit line's
	 * cmdline and cgroup may come from the identity cache (the same task
	 * within a second); ancestors and hashes only when a rule reaches
	 * them. */
	if (caller_identify_cached(ctx->pid, ctx->uid, ctx->gid,
				   rules_needs(f->policy) |
				       CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP,
				   rules_needs(f->policy), c) < 0) {
		/* Unidentifiable: denied, and audited with what is known. */
		policy_decide(f->policy, NULL, &d);
	} else {
		t1 = ns_now();
		policy_decide(f->policy, c, &d);
	}
	t2 = ns_now();
	if (atomic_load(&v->locked)) {
		d.allow = false;
		d.line = 0;
		snprintf(d.rule, sizeof(d.rule), "locked");
	}
	if (!d.allow) {
		atomic_fetch_add(&v->denials[fidx], 1);
		audit_deny(v, f, c, &d);
		r = -EACCES;
		goto out;
	}
	gather(v, f, &d, true, rp, whys);
	if (!(h = calloc(1, sizeof(*h)))) {
		r = -ENOMEM;
		goto out_creds;
	}
	h->kind = H_VIRT;
	h->uid = ctx->uid;
	unsigned long gen = engine_generation(v->engine);
	r = render_file(
	    &(struct render_input){
		.file = f, .n = n, .p = rp, .now = time(NULL)},
	    &h->buf, err, sizeof(err));
	for (size_t k = 0; k < n; k++) {
		if (rp[k].hidden)
			continue;
		labels[nl++] = rp[k].label;
		if (!rp[k].cred)
			continue;
		cred_key_id(rp[k].cred, kidbuf[nk], sizeof(kidbuf[nk]));
		kids[nk] = kidbuf[nk];
		nk++;
		time_t e = cred_expiration(rp[k].cred);
		if (e && (!expires || e < expires))
			expires = e;
	}
	if (r < 0) {
		/* Audited as allowed with nothing served: the reason is in
		 * status; the open itself fails. */
		audit_open_event(v->audit, f->path, labels, nl, c, &d, NULL, 0,
				 0);
		goto out_creds;
	}
	t3 = ns_now();
	/* The audit line is written before a byte is served. */
	if (audit_open_event(v->audit, f->path, labels, nl, c, &d, kids, nk,
			     expires) < 0 &&
	    v->cfg->audit_required) {
		r = -EIO;
		goto out_creds;
	}
	if (t1) {
		atomic_fetch_add(&v->t_identify, t1 - t0);
		atomic_fetch_add(&v->t_policy, t2 - t1);
		atomic_fetch_add(&v->t_render, t3 - t2);
		atomic_fetch_add(&v->t_audit, ns_now() - t3);
		atomic_fetch_add(&v->t_opens, 1);
	}
	atomic_fetch_add(&v->opens[fidx], 1);
	h->mtime = newest(rp, n, v->started);
	off_t known_size;
	time_t known_mtime;
	bool size_known = f->cache_kernel &&
			  memo_get(v, fidx, &known_size, &known_mtime) &&
			  known_size == (off_t)h->buf.len;
	if (!f->per_caller)
		memo_put(v, fidx, gen, rp, n, (off_t)h->buf.len, h->mtime);
	/* Nothing to flush on close of a virtual file: saves a round trip. */
	fi->noflush = 1;
	if (f->cache_kernel && size_known) {
		/* Page cache kept while no credential changed since the
		 * previous open; any refresh or revoke invalidates it. */
		fi->direct_io = 0;
		fi->keep_cache =
		    atomic_exchange(&v->cache_gen[fidx], gen) == gen;
	} else {
		/* The kernel caps cached reads at the size it was last told;
		 * until a stat has seen this content, serve it directly. */
		if (f->cache_kernel)
			atomic_store(&v->cache_gen[fidx], (unsigned long)-1);
		fi->direct_io = 1;
	}
	fi->nonseekable = 0;
	fi->fh = (uintptr_t)h;
	h = NULL; /* transferred */
	r = 0;
out_creds:
	release_creds(rp, n);
out:
	if (h) {
		secbuf_wipe(&h->buf);
		free(h);
	}
	return r;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct vfs *v = self();
	const struct file_cfg *f;
	size_t idx;

	if ((f = vfile(v, path, &idx)))
		return virt_open(v, f, idx, fi);
	return pass_open(v, path, fi->flags, 0, fi);
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (h->kind == H_PASS) {
		ssize_t n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	/* A descriptor handed to another user reads nothing. */
	if (fuse_get_context()->uid != h->uid)
		return -EACCES;
	if (off < 0 || (size_t)off >= h->buf.len)
		return 0;
	size_t n = h->buf.len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(buf, h->buf.data + off, n);
	return (int)n;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->kind != H_PASS)
		return -EACCES;
	ssize_t n = pwrite(h->fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int op_statfs(const char *path, struct statvfs *st)
{
	int fd = openat(self()->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fstatvfs(fd, st) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->kind != H_PASS)
		return 0;
	/* close(dup()) reports delayed write errors at close, as a local
	 * file would. */
	int fd = dup(h->fd);
	if (fd < 0)
		return -errno;
	return close(fd) < 0 ? -errno : 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (!h)
		return 0;
	if (h->kind == H_PASS)
		close(h->fd);
	else
		secbuf_wipe(&h->buf);
	free(h);
	return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->kind != H_PASS)
		return 0;
	return (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

static int op_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->kind != H_PASS)
		return -EACCES;
	return fallocate(h->fd, mode, off, len) < 0 ? -errno : 0;
}

static off_t op_lseek(const char *path, off_t off, int whence,
		      struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (!h || h->kind != H_PASS)
		return -ENOTSUP;
	off_t r = lseek(h->fd, off, whence);
	return r < 0 ? -errno : r;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Zero attribute timeout: st_size never lies and a virtual file's
	 * attributes are never served from a stale cache. */
	/* Names are fixed by the config, so a name may be cached for a
	 * second (saves a LOOKUP per open); attributes never are. */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	cfg->nullpath_ok = 0;
	cfg->hard_remove = 1;
	/* POSIX and BSD locks are kept by the kernel for this mount: every
	 * process reaches the covered directory through it, and the kernel
	 * tracks lock owners per process, which a forwarding daemon cannot. */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
    .init = op_init,
    .getattr = op_getattr,
    .access = op_access,
    .readlink = op_readlink,
    .readdir = op_readdir,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .chmod = op_chmod,
    .chown = op_chown,
    .truncate = op_truncate,
    .utimens = op_utimens,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .statfs = op_statfs,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .fallocate = op_fallocate,
    .lseek = op_lseek,
};

const struct fuse_operations *vfs_operations(void)
{
	return &ops;
}

int vfs_new(const struct config *cfg, struct engine *engine,
	    struct audit *audit, int dirfd, const char *mountpoint,
	    struct vfs **out)
{
	struct vfs *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->cfg = cfg;
	v->engine = engine;
	v->audit = audit;
	v->dirfd = dirfd;
	v->mountpoint = strdup(mountpoint);
	v->started = time(NULL);
	v->opens = calloc(cfg->nfiles + 1, sizeof(*v->opens));
	v->denials = calloc(cfg->nfiles + 1, sizeof(*v->denials));
	v->cache_gen = calloc(cfg->nfiles + 1, sizeof(*v->cache_gen));
	v->memo = calloc(cfg->nfiles + 1, sizeof(*v->memo));
	for (size_t i = 0; i < cfg->nfiles; i++)
		pthread_mutex_init(&v->memo[i].mu, NULL);
	for (size_t i = 0; i < cfg->nfiles; i++)
		atomic_store(&v->cache_gen[i], (unsigned long)-1);
	for (size_t i = 0; i < cfg->nfiles; i++) {
		char *p = strdup(cfg->files[i].path), *s;
		while ((s = strrchr(p, '/'))) {
			*s = 0;
			bool dup = false;
			for (size_t k = 0; k < v->nvdirs && !dup; k++)
				dup = !strcmp(v->vdirs[k], p);
			if (!dup) {
				v->vdirs = realloc(
				    v->vdirs, (v->nvdirs + 1) * sizeof(char *));
				v->vdirs[v->nvdirs++] = strdup(p);
			}
		}
		free(p);
	}
	*out = v;
	return 0;
}

void vfs_free(struct vfs *v)
{
	if (!v)
		return;
	if (v->dirfd >= 0)
		close(v->dirfd);
	for (size_t i = 0; i < v->nvdirs; i++)
		free(v->vdirs[i]);
	free(v->vdirs);
	free(v->opens);
	free(v->denials);
	free(v->cache_gen);
	for (size_t i = 0; v->memo && i < v->cfg->nfiles; i++)
		pthread_mutex_destroy(&v->memo[i].mu);
	free(v->memo);
	free(v->mountpoint);
	free(v);
}

void vfs_set_locked(struct vfs *v, bool locked)
{
	atomic_store(&v->locked, locked);
}

bool vfs_locked(const struct vfs *v)
{
	return atomic_load(&v->locked);
}

cJSON *vfs_timing(struct vfs *v)
{
	cJSON *o = cJSON_CreateObject();
	double n = (double)atomic_load(&v->t_opens);
	cJSON_AddNumberToObject(o, "opens", n);
	if (n > 0) {
		cJSON_AddNumberToObject(
		    o, "identify_ns", (double)atomic_load(&v->t_identify) / n);
		cJSON_AddNumberToObject(o, "policy_ns",
					(double)atomic_load(&v->t_policy) / n);
		cJSON_AddNumberToObject(o, "render_ns",
					(double)atomic_load(&v->t_render) / n);
		cJSON_AddNumberToObject(o, "audit_ns",
					(double)atomic_load(&v->t_audit) / n);
	}
	return o;
}

cJSON *vfs_status(struct vfs *v)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < v->cfg->nfiles; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", v->cfg->files[i].path);
		cJSON_AddStringToObject(o, "format",
					format_name(v->cfg->files[i].format));
		cJSON_AddNumberToObject(o, "opens",
					(double)atomic_load(&v->opens[i]));
		cJSON_AddNumberToObject(o, "denials",
					(double)atomic_load(&v->denials[i]));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}
