/* pass: the passthrough half of the FUSE front end.  Each request works
 * on the O_PATH fd of its node with *at() calls; nothing is looked up by
 * path.  The kernel checks permissions (default_permissions) against the
 * attributes we reply; what creates an object runs as the caller, so the
 * directory underneath gives it the owner, group and mode it would give
 * the caller itself. */
#include "fs/node.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROC_FD_MAX 32

static void proc_path(char buf[static PROC_FD_MAX], int fd)
{
	snprintf(buf, PROC_FD_MAX, "/proc/self/fd/%d", fd);
}

/* This thread's umask is its own and 0: the mode of what a request
 * creates is the caller's mode under the caller's umask (sent with the
 * request), not under the daemon's. */
static void thread_fs_private(void)
{
	static __thread bool done;

	if (done)
		return;
	if (unshare(CLONE_FS) == 0)
		umask(0);
	done = true;
}

int as_caller_begin(struct vfs *v, fuse_req_t req, struct as_caller *s)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[256];
	int n;

	s->active = false;
	thread_fs_private();
	if (!v->root_daemon)
		return 0;
	n = fuse_req_getgroups(req, (int)(sizeof(groups) / sizeof(groups[0])),
			       groups);
	if (n < 0)
		n = 0; /* the caller's own gid still applies */
	if (n > (int)(sizeof(groups) / sizeof(groups[0])))
		n = (int)(sizeof(groups) / sizeof(groups[0]));
	/* WARNING: the raw system call, not glibc's setgroups(), which would
	 * change the groups of every thread of the daemon. */
	if (syscall(SYS_setgroups, (size_t)n, groups) < 0)
		return -errno;
	setfsgid(ctx->gid);
	setfsuid(ctx->uid);
	if ((uid_t)setfsuid((uid_t)-1) != ctx->uid ||
	    (gid_t)setfsgid((gid_t)-1) != ctx->gid) {
		as_caller_end(v, s);
		return -EPERM;
	}
	s->active = true;
	return 0;
}

void as_caller_end(struct vfs *v, struct as_caller *s)
{
	if (!v->root_daemon)
		return;
	setfsuid(geteuid());
	setfsgid(getegid());
	syscall(SYS_setgroups, (size_t)v->ngroups, v->groups);
	s->active = false;
}

static void reply_entry_or_err(fuse_req_t req, int r,
			       const struct fuse_entry_param *e)
{
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, e);
}

/* Whether name may be created, removed or renamed in directory node p:
 * 0, or the error (a virtual name, or inside a virtual directory). */
static int writable_name(struct vfs *v, struct node *p, const char *name,
			 int virt_err)
{
	if (node_virtual_child(v, p, name))
		return -virt_err;
	if (p->kind != N_PASS)
		return -EACCES;
	return 0;
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev, const char *link)
{
	struct vfs *v = vfs_of(req);
	struct node *p = node_of(v, parent);
	struct fuse_entry_param e;
	struct as_caller ac;
	int r;

	if ((r = writable_name(v, p, name, EEXIST)) < 0 ||
	    (r = as_caller_begin(v, req, &ac)) < 0)
		goto out;
	mode &= ~fuse_req_ctx(req)->umask;
	if (link)
		r = symlinkat(link, p->fd, name);
	else if (S_ISDIR(mode))
		r = mkdirat(p->fd, name, mode & 07777);
	else
		r = mknodat(p->fd, name, mode, rdev);
	if (r < 0)
		r = -errno;
	as_caller_end(v, &ac);
	if (r == 0)
		r = node_lookup_pass(v, p, name, &e);
out:
	reply_entry_or_err(req, r, &e);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make_node(req, parent, name, mode, rdev, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | mode, 0, NULL);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, link);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct vfs *v = vfs_of(req);
	struct node *n = node_of(v, ino), *p = node_of(v, newparent);
	struct fuse_entry_param e;
	char proc[PROC_FD_MAX];
	int r;

	if (n->kind != N_PASS) {
		r = -EPERM;
		goto out;
	}
	if ((r = writable_name(v, p, newname, EEXIST)) < 0)
		goto out;
	proc_path(proc, n->fd);
	if (linkat(AT_FDCWD, proc, p->fd, newname, AT_SYMLINK_FOLLOW) < 0) {
		r = -errno;
		goto out;
	}
	r = node_lookup_pass(v, p, newname, &e);
out:
	reply_entry_or_err(req, r, &e);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			int flags)
{
	struct vfs *v = vfs_of(req);
	struct node *p = node_of(v, parent);
	int r = writable_name(v, p, name, EPERM);

	if (r == -EACCES)
		r = -ENOENT; /* a virtual directory holds only virtual names */
	if (r == 0 && unlinkat(p->fd, name, flags) < 0)
		r = -errno;
	fuse_reply_err(req, -r);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct vfs *v = vfs_of(req);
	struct node *p = node_of(v, parent), *np = node_of(v, newparent);
	int r;

	if ((r = writable_name(v, p, name, EPERM)) < 0 ||
	    (r = writable_name(v, np, newname, EPERM)) < 0) {
		fuse_reply_err(req, r == -EACCES ? EPERM : -r);
		return;
	}
	r = renameat2(p->fd, name, np->fd, newname, flags) < 0 ? errno : 0;
	fuse_reply_err(req, r);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct node *n = node_of(v, ino);
	int fh = fi ? (int)fi->fh : -1;
	char proc[PROC_FD_MAX];
	struct stat st;
	int r = 0;

	if (n->kind != N_PASS) {
		fuse_reply_err(req,
			       (valid & FUSE_SET_ATTR_SIZE) ? EACCES : EPERM);
		return;
	}
	proc_path(proc, n->fd);
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid =
		    (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid =
		    (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
		if (fchownat(n->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			goto err;
	}
	/* after a chown, which may clear set-id bits the kernel re-sends */
	if (valid & FUSE_SET_ATTR_MODE) {
		if ((fh >= 0 ? fchmod(fh, attr->st_mode)
			     : fchmodat(AT_FDCWD, proc, attr->st_mode, 0)) < 0)
			goto err;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if ((fh >= 0 ? ftruncate(fh, attr->st_size)
			     : truncate(proc, attr->st_size)) < 0)
			goto err;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {{.tv_nsec = UTIME_OMIT},
					 {.tv_nsec = UTIME_OMIT}};
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		if ((fh >= 0 ? futimens(fh, tv)
			     : utimensat(n->fd, "", tv, AT_EMPTY_PATH)) < 0)
			goto err;
	}
	if (fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		goto err;
	st.st_ino = ino;
	fuse_reply_attr(req, &st, 1.0);
	return;
err:
	r = errno;
	fuse_reply_err(req, r);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vfs *v = vfs_of(req);
	struct node *n = node_of(v, ino);
	char buf[PATH_MAX + 1];
	ssize_t k;

	if (n->kind != N_PASS) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((k = readlinkat(n->fd, "", buf, sizeof(buf))) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((size_t)k == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[k] = 0;
	fuse_reply_readlink(req, buf);
}

/* Passthrough files use the page cache as a local file would (invalidated
 * at each open); there is nothing to flush at close: the kernel keeps the
 * locks, and writes are written through. */
static void opened(struct fuse_file_info *fi, int fd)
{
	fi->fh = (uint64_t)fd;
	fi->noflush = 1;
}

void pass_open(fuse_req_t req, struct vfs *v, struct node *n,
	       struct fuse_file_info *fi)
{
	char proc[PROC_FD_MAX];
	int fd;

	proc_path(proc, n->fd);
	/* The kernel resolved the name and checked the caller may open it
	 * so (default_permissions). */
	fd = open(proc, (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	opened(fi, fd);
	if (fuse_reply_open(req, fi) == -ENOENT)
		close(fd);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct node *p = node_of(v, parent);
	struct fuse_entry_param e;
	struct as_caller ac;
	int r, fd = -1;

	if ((r = writable_name(v, p, name, EACCES)) < 0 ||
	    (r = as_caller_begin(v, req, &ac)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fd = openat(p->fd, name, (fi->flags | O_CREAT) & ~O_NOFOLLOW,
		    mode & ~fuse_req_ctx(req)->umask & 07777);
	r = fd < 0 ? -errno : 0;
	as_caller_end(v, &ac);
	if (r == 0 && (r = node_lookup_pass(v, p, name, &e)) < 0)
		close(fd);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	opened(fi, fd);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		close(fd);
}

void pass_read(fuse_req_t req, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, 0);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	ssize_t k;

	if (node_of(v, ino)->kind != N_PASS) {
		fuse_reply_err(req, EACCES);
		return;
	}
	k = pwrite((int)fi->fh, buf, size, off);
	if (k < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)k);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	int r = 0;

	if (node_of(v, ino)->kind == N_PASS &&
	    (datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh)) < 0)
		r = errno;
	fuse_reply_err(req, r);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	int r = 0;

	if (node_of(v, ino)->kind != N_PASS)
		r = EACCES;
	else if (fallocate((int)fi->fh, mode, off, len) < 0)
		r = errno;
	fuse_reply_err(req, r);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	off_t r;

	if (node_of(v, ino)->kind != N_PASS) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	if ((r = lseek((int)fi->fh, off, whence)) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct vfs *v = vfs_of(req);
	struct statvfs st;

	if (fstatvfs(v->root.fd, &st) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &st);
}

void pass_ops(struct fuse_lowlevel_ops *ops)
{
	ops->setattr = op_setattr;
	ops->readlink = op_readlink;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->symlink = op_symlink;
	ops->rename = op_rename;
	ops->link = op_link;
	ops->create = op_create;
	ops->write = op_write;
	ops->flush = op_flush;
	ops->fsync = op_fsync;
	ops->fallocate = op_fallocate;
	ops->lseek = op_lseek;
	ops->statfs = op_statfs;
}
