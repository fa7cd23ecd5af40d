/* vfs: the FUSE front end on the low-level API.  Requests are translated
 * into the open pipeline (engine/open.h) for virtual files and into *at()
 * calls on O_PATH fds for everything else (fs/pass.c). */
#include "fs/vfs.h"
#include "core/config.h"
#include "core/render_gcp.h"
#include "engine/open.h"
#include "fs/node.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Names are fixed by the config: a virtual name may be cached longer. */
#define VNAME_TIMEOUT 60.0
/* Names and attributes underneath change only through this mount (it
 * covers the directory), and every change made through it updates the
 * kernel's copy; a second bounds what another path could change. */
#define PASS_TIMEOUT 1.0

/* ---- the inode table ---- */

struct node *node_of(struct vfs *v, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &v->root : (struct node *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(struct vfs *v, struct node *n)
{
	return n == &v->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static size_t hash_of(struct vfs *v, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15ull) ^ (uint64_t)ino;
	h ^= h >> 29;
	return (size_t)(h % v->nhash);
}

struct node *node_virtual_child(struct vfs *v, const struct node *dir,
				const char *name)
{
	size_t d;

	if (dir == &v->root)
		d = 0;
	else if (dir->kind == N_VDIR)
		d = dir->idx;
	else
		return NULL;
	for (size_t i = 0; i < v->nvents; i++)
		if (v->vents[i].dir == d && !strcmp(v->vents[i].name, name))
			return v->vents[i].node;
	return NULL;
}

int node_entry(struct vfs *v, fuse_req_t req, struct node *n,
	       struct fuse_entry_param *e)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct open_who w = {.tid = ctx->pid, .uid = ctx->uid, .gid = ctx->gid};

	memset(e, 0, sizeof(*e));
	e->ino = ino_of(v, n);
	switch (n->kind) {
	case N_VFILE: {
		const struct file_cfg *f = &v->cfg->files[n->idx];
		open_stat(v->pipe, n->idx, &w, &e->attr);
		atomic_store(&n->size_told, (long long)e->attr.st_size);
		e->entry_timeout = VNAME_TIMEOUT;
		/* A per-caller view has one size per caller: never cached.
		 * A shared one for a second, and an open that renders
		 * another size invalidates it at once. */
		e->attr_timeout = f->per_caller ? 0 : v->vattr_timeout;
		break;
	}
	case N_VDIR:
		open_vdir_stat(v->pipe, &e->attr);
		e->entry_timeout = e->attr_timeout = VNAME_TIMEOUT;
		break;
	case N_PASS:
		if (fstatat(n->fd, "", &e->attr,
			    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		e->entry_timeout = e->attr_timeout = PASS_TIMEOUT;
		break;
	}
	e->attr.st_ino = e->ino;
	return 0;
}

int node_lookup_pass(struct vfs *v, struct node *parent, const char *name,
		     struct fuse_entry_param *e)
{
	struct stat st;
	struct node *n;
	int fd;

	if (parent->kind != N_PASS)
		return -ENOENT;
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	pthread_mutex_lock(&v->mu);
	size_t h = hash_of(v, st.st_dev, st.st_ino);
	for (n = v->hash[h]; n; n = n->next)
		if (n->dev == st.st_dev && n->ino == st.st_ino)
			break;
	if (n) {
		n->nlookup++;
		close(fd);
	} else if ((n = calloc(1, sizeof(*n)))) {
		n->kind = N_PASS;
		n->fd = fd;
		n->dev = st.st_dev;
		n->ino = st.st_ino;
		n->type = st.st_mode & S_IFMT;
		n->nlookup = 1;
		n->next = v->hash[h];
		v->hash[h] = n;
	}
	pthread_mutex_unlock(&v->mu);
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	memset(e, 0, sizeof(*e));
	e->ino = ino_of(v, n);
	e->attr = st;
	e->attr.st_ino = e->ino;
	e->entry_timeout = e->attr_timeout = PASS_TIMEOUT;
	return 0;
}

void node_forget(struct vfs *v, struct node *n, uint64_t count)
{
	if (n->kind != N_PASS || n == &v->root)
		return;
	pthread_mutex_lock(&v->mu);
	if (n->nlookup > count) {
		n->nlookup -= count;
		n = NULL;
	} else {
		struct node **pp = &v->hash[hash_of(v, n->dev, n->ino)];
		while (*pp && *pp != n)
			pp = &(*pp)->next;
		if (*pp)
			*pp = n->next;
	}
	pthread_mutex_unlock(&v->mu);
	if (n) {
		close(n->fd);
		free(n);
	}
}

/* ---- requests on any node ---- */

static void op_init(void *data, struct fuse_conn_info *conn)
{
	/* The caller's umask comes with each create: the mode is applied as
	 * the caller asked, not under the daemon's umask. */
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	/* POSIX and BSD locks are kept by the kernel for this mount: every
	 * process reaches the covered directory through it, and the kernel
	 * tracks lock owners per process, which a forwarding daemon cannot. */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	/* Plain READDIR: no READDIRPLUS answers to keep coherent. */
	conn->want &= ~FUSE_CAP_READDIRPLUS;
	/* Read replies come from secret memory by writev; no splice. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
			FUSE_CAP_SPLICE_MOVE);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vfs *v = vfs_of(req);
	struct node *p = node_of(v, parent), *n;
	struct fuse_entry_param e;
	int r;

	if ((n = node_virtual_child(v, p, name)))
		r = node_entry(v, req, n, &e);
	else if (p->kind == N_VDIR)
		r = -ENOENT;
	else
		r = node_lookup_pass(v, p, name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct vfs *v = vfs_of(req);
	node_forget(v, node_of(v, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct vfs *v = vfs_of(req);
	for (size_t i = 0; i < count; i++)
		node_forget(v, node_of(v, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct node *n = node_of(v, ino);
	struct fuse_entry_param e;
	int r;

	if (n->kind == N_VFILE && fi && fi->fh) {
		/* fstat: the snapshot this handle serves */
		struct open_handle *h = (struct open_handle *)(uintptr_t)fi->fh;
		open_handle_stat(v->pipe, h, &e.attr);
		e.attr.st_ino = ino;
		fuse_reply_attr(req, &e.attr, 0);
		return;
	}
	if ((r = node_entry(v, req, n, &e)) < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &e.attr, e.attr_timeout);
}

/* ---- virtual files ---- */

static void vfile_open(fuse_req_t req, struct vfs *v, struct node *n,
		       struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct open_who w = {.tid = ctx->pid, .uid = ctx->uid, .gid = ctx->gid};
	struct open_handle *h = NULL;
	int r;

	if ((r = open_file(v->pipe, n->idx, &w, fi->flags, &h)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* Nothing to flush on close of a virtual file: saves a round trip. */
	fi->noflush = 1;
	fi->direct_io = !h->page_cache;
	fi->keep_cache = h->keep_cache;
	fi->fh = (uintptr_t)h;
	/* The kernel's idea of the size (cached for a second) follows what
	 * this open rendered. */
	if (!v->cfg->files[n->idx].per_caller && v->se &&
	    atomic_exchange(&n->size_told, (long long)h->buf.len) !=
		(long long)h->buf.len)
		fuse_lowlevel_notify_inval_inode(v->se, ino_of(v, n), -1, 0);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* the opener was interrupted: nothing will release it */
		open_release(h);
	}
}

static void vfile_read(fuse_req_t req, struct vfs *v, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct open_handle *h = (struct open_handle *)(uintptr_t)fi->fh;
	const char *data;
	ssize_t n;

	/* A read without a lock owner is the kernel filling its page cache
	 * (a fault on a mapping): on a direct_io file no page may hold the
	 * secret, where any holder of the descriptor could map it without
	 * a request that checks its uid.  mmap of it reads nothing. */
	if (!h->page_cache && fi->lock_owner == 0) {
		fuse_reply_err(req, EACCES);
		return;
	}
	n = open_serve(h, fuse_req_ctx(req)->uid, off, size, &data);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		/* straight from the handle's secret memory (writev) */
		fuse_reply_buf(req, data, (size_t)n);
}

/* ---- open, read, release: dispatch by node kind ---- */

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct node *n = node_of(v, ino);

	if (n->kind == N_VFILE)
		vfile_open(req, v, n, fi);
	else if (n->kind == N_VDIR)
		fuse_reply_err(req, EISDIR);
	else
		pass_open(req, v, n, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);

	if (node_of(v, ino)->kind == N_VFILE)
		vfile_read(req, v, size, off, fi);
	else
		pass_read(req, size, off, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);

	if (node_of(v, ino)->kind == N_VFILE)
		open_release((struct open_handle *)(uintptr_t)fi->fh);
	else
		close((int)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- directories ---- */

struct dent {
	char *name;
	ino_t ino;
	unsigned char type;
};

struct dirh {
	int fd; /* -1 for a virtual directory */
	struct dent *e;
	size_t n, cap;
};

static int dirh_add(struct dirh *d, const char *name, ino_t ino,
		    unsigned char type)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct dent *e = realloc(d->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		d->cap = cap;
	}
	if (!(d->e[d->n].name = strdup(name)))
		return -ENOMEM;
	d->e[d->n].ino = ino;
	d->e[d->n].type = type;
	d->n++;
	return 0;
}

static void dirh_clear(struct dirh *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	d->n = 0;
}

/* Reads the listing: virtual names first, then what is underneath and
 * not shadowed by a virtual name. */
static int dirh_fill(struct vfs *v, struct node *n, struct dirh *d)
{
	size_t vd = n == &v->root ? 0 : n->kind == N_VDIR ? n->idx : SIZE_MAX;
	int r = 0;

	dirh_clear(d);
	if ((r = dirh_add(d, ".", 0, DT_DIR)) < 0 ||
	    (r = dirh_add(d, "..", 0, DT_DIR)) < 0)
		return r;
	for (size_t i = 0; vd != SIZE_MAX && i < v->nvents; i++)
		if (v->vents[i].dir == vd &&
		    (r = dirh_add(d, v->vents[i].name, 0,
				  v->vents[i].node->kind == N_VDIR ? DT_DIR
								   : DT_REG)) <
			0)
			return r;
	if (d->fd < 0)
		return 0;
	int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *dp = fdopendir(fd);
	struct dirent *de;
	if (!dp) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r == 0 && (de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (vd != SIZE_MAX && node_virtual_child(v, n, de->d_name)))
			continue;
		r = dirh_add(d, de->d_name, de->d_ino, de->d_type);
	}
	closedir(dp);
	return r;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct node *n = node_of(v, ino);
	struct dirh *d = calloc(1, sizeof(*d));
	int r;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->fd = -1;
	if (n->kind == N_PASS) {
		/* an fd that can list (O_PATH cannot), opened as the kernel
		 * already checked the caller may */
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", n->fd);
		if ((d->fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			r = errno;
			free(d);
			fuse_reply_err(req, r);
			return;
		}
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		if (d->fd >= 0)
			close(d->fd);
		free(d);
	}
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	char *buf;
	size_t used = 0;
	int r;

	/* offset 0: a new listing (opendir or rewinddir) */
	if (off == 0 && (r = dirh_fill(v, node_of(v, ino), d)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (!(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < d->n; i++) {
		struct stat st = {.st_ino = d->e[i].ino ? d->e[i].ino : 1,
				  .st_mode = (mode_t)d->e[i].type << 12};
		size_t k = fuse_add_direntry(req, buf + used, size - used,
					     d->e[i].name, &st, (off_t)i + 1);
		if (k > size - used)
			break;
		used += k;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	dirh_clear(d);
	free(d->e);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	int r = 0;

	if (d->fd >= 0 && (datasync ? fdatasync(d->fd) : fsync(d->fd)) < 0)
		r = errno;
	fuse_reply_err(req, r);
}

/* ---- the virtual namespace from the config ---- */

static size_t vdir_find(struct vfs *v, size_t parent, const char *name)
{
	for (size_t i = 0; i < v->nvents; i++)
		if (v->vents[i].dir == parent &&
		    v->vents[i].node->kind == N_VDIR &&
		    !strcmp(v->vents[i].name, name))
			return v->vents[i].node->idx;
	return 0;
}

static int build_namespace(struct vfs *v)
{
	const struct config *cfg = v->cfg;
	size_t maxdirs = 1;

	for (size_t i = 0; i < cfg->nfiles; i++)
		for (const char *p = cfg->files[i].path; *p; p++)
			maxdirs += *p == '/';
	v->vfiles = calloc(cfg->nfiles + 1, sizeof(*v->vfiles));
	v->vdirs = calloc(maxdirs, sizeof(*v->vdirs));
	v->vents = calloc(cfg->nfiles + maxdirs, sizeof(*v->vents));
	if (!v->vfiles || !v->vdirs || !v->vents)
		return -ENOMEM;
	v->nvdirs = 1;
	for (size_t i = 0; i < cfg->nfiles; i++) {
		const char *p = cfg->files[i].path, *s;
		size_t dir = 0;
		v->vfiles[i] =
		    (struct node){.kind = N_VFILE, .idx = i, .fd = -1};
		/* Written underneath at mount: a virtual directory for it
		 * would hide the real one (gcloud's configurations/). */
		if (render_gcp_seeded(&cfg->files[i]))
			continue;
		while ((s = strchr(p, '/'))) {
			char *name = strndup(p, (size_t)(s - p));
			size_t d;
			if (!name)
				return -ENOMEM;
			if ((d = vdir_find(v, dir, name))) {
				free(name);
			} else {
				d = v->nvdirs++;
				v->vdirs[d] = (struct node){
				    .kind = N_VDIR, .idx = d, .fd = -1};
				v->vents[v->nvents++] =
				    (struct vent){.dir = dir,
						  .name = name,
						  .node = &v->vdirs[d]};
			}
			dir = d;
			p = s + 1;
		}
		if (!(v->vents[v->nvents].name = strdup(p)))
			return -ENOMEM;
		v->vents[v->nvents].dir = dir;
		v->vents[v->nvents++].node = &v->vfiles[i];
	}
	return 0;
}

/* ---- lifetime ---- */

int vfs_new(const struct config *cfg, struct engine *engine,
	    struct audit *audit, int dirfd, const char *mountpoint,
	    struct vfs **out)
{
	struct vfs *v = calloc(1, sizeof(*v));
	int r = -ENOMEM;

	if (!v)
		return -ENOMEM;
	v->cfg = cfg;
	v->root = (struct node){.kind = N_PASS,
				.fd = dirfd,
				.idx = 0,
				.type = S_IFDIR,
				.nlookup = 1};
	pthread_mutex_init(&v->mu, NULL);
	v->nhash = 4093;
	v->vattr_timeout = 1.0;
	v->root_daemon = geteuid() == 0;
	if (!(v->mountpoint = strdup(mountpoint)) ||
	    !(v->hash = calloc(v->nhash, sizeof(*v->hash))) ||
	    (r = build_namespace(v)) < 0 ||
	    (r = open_pipeline_new(cfg, engine, audit, &v->pipe)) < 0)
		goto fail;
	if (v->root_daemon) {
		int n = getgroups(0, NULL);
		if (n > 0 && (v->groups = calloc((size_t)n, sizeof(gid_t))))
			v->ngroups = getgroups(n, v->groups);
		if (v->ngroups < 0)
			v->ngroups = 0;
	}
	*out = v;
	return 0;
fail:
	v->root.fd = -1; /* the caller still owns it */
	vfs_free(v);
	return r;
}

void vfs_free(struct vfs *v)
{
	if (!v)
		return;
	vfs_unmount(v);
	for (size_t h = 0; v->hash && h < v->nhash; h++)
		for (struct node *n = v->hash[h], *nx; n; n = nx) {
			nx = n->next;
			close(n->fd);
			free(n);
		}
	free(v->hash);
	if (v->root.fd >= 0)
		close(v->root.fd);
	for (size_t i = 0; i < v->nvents; i++)
		free(v->vents[i].name);
	free(v->vents);
	free(v->vfiles);
	free(v->vdirs);
	free(v->groups);
	open_pipeline_free(v->pipe);
	pthread_mutex_destroy(&v->mu);
	free(v->mountpoint);
	free(v);
}

void vfs_set_locked(struct vfs *v, bool locked)
{
	open_set_locked(v->pipe, locked);
}

bool vfs_locked(const struct vfs *v)
{
	return open_locked(v->pipe);
}

cJSON *vfs_timing(struct vfs *v)
{
	return open_timing(v->pipe);
}

cJSON *vfs_status(struct vfs *v)
{
	return open_status(v->pipe);
}

/* ---- the session ---- */

static struct fuse_lowlevel_ops ops;

static void ops_init(void)
{
	pass_ops(&ops);
	ops.init = op_init;
	ops.lookup = op_lookup;
	ops.forget = op_forget;
	ops.forget_multi = op_forget_multi;
	ops.getattr = op_getattr;
	ops.open = op_open;
	ops.read = op_read;
	ops.release = op_release;
	ops.opendir = op_opendir;
	ops.readdir = op_readdir;
	ops.releasedir = op_releasedir;
	ops.fsyncdir = op_fsyncdir;
}

int vfs_mount(struct vfs *v, bool allow_other, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char opts[256];

	pthread_once(&once, ops_init);
	/* An O_PATH fd per inode the kernel holds: as many as allowed. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(opts, sizeof(opts),
		 "fsname=credfs,subtype=credfs,default_permissions,"
		 "auto_unmount%s",
		 allow_other ? ",allow_other" : "");
	char *argv[] = {"credfs", "-o", opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	v->se = fuse_session_new(&args, &ops, sizeof(ops), v);
	fuse_opt_free_args(&args);
	if (!v->se) {
		snprintf(err, errlen, "cannot create the FUSE session");
		return -EIO;
	}
	if (fuse_session_mount(v->se, v->mountpoint) != 0) {
		snprintf(err, errlen,
			 "cannot mount %s (is /dev/fuse usable and fusermount3 "
			 "installed? allow_other needs user_allow_other in "
			 "/etc/fuse.conf)",
			 v->mountpoint);
		return -EIO;
	}
	v->mounted = true;
	if (fuse_set_signal_handlers(v->se) != 0) {
		snprintf(err, errlen, "cannot set signal handlers");
		return -EIO;
	}
	return 0;
}

int vfs_serve(struct vfs *v)
{
	struct fuse_loop_config lc = {.clone_fd = 0, .max_idle_threads = 10};
	int r = fuse_session_loop_mt(v->se, &lc);

	fuse_remove_signal_handlers(v->se);
	return r == 0 ? 0 : -EIO;
}

void vfs_unmount(struct vfs *v)
{
	if (!v->se)
		return;
	fuse_remove_signal_handlers(v->se);
	if (v->mounted)
		fuse_session_unmount(v->se);
	v->mounted = false;
	fuse_session_destroy(v->se);
	v->se = NULL;
}
