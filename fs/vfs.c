/* vfs: virtual files rendered at open, passthrough for the rest. */
#include "fs/vfs.h"
#include "access/audit.h"
#include "access/caller.h"
#include "access/policy.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/render.h"
#include "core/secmem.h"
#include "engine/engine.h"
#include "engine/open.h"

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
  struct open_pipeline *pipe;
  int dirfd;
  char *mountpoint;
  char **vdirs; /* directories that exist only for virtual files */
  size_t nvdirs;
};

enum handle_kind { H_PASS, H_VIRT };

struct handle {
  enum handle_kind kind;
  int fd;                 /* H_PASS */
  struct open_handle *oh; /* H_VIRT */
};

static struct open_who who_now(void) {
  struct fuse_context *ctx = fuse_get_context();
  return (struct open_who){.tid = ctx->pid, .uid = ctx->uid, .gid = ctx->gid};
}

static struct vfs *self(void) { return fuse_get_context()->private_data; }

/* "/a/b" -> "a/b"; "/" -> "." */
static const char *rel(const char *path) {
  while (*path == '/')
    path++;
  return *path ? path : ".";
}

static const struct file_cfg *vfile(struct vfs *v, const char *path,
                                    size_t *idx) {
  const char *r = rel(path);
  for (size_t i = 0; i < v->cfg->nfiles; i++)
    if (!strcmp(v->cfg->files[i].path, r)) {
      if (idx)
        *idx = i;
      return &v->cfg->files[i];
    }
  return NULL;
}

static bool vdir(struct vfs *v, const char *path) {
  const char *r = rel(path);
  for (size_t i = 0; i < v->nvdirs; i++)
    if (!strcmp(v->vdirs[i], r))
      return true;
  return false;
}

static int op_getattr(const char *path, struct stat *st,
                      struct fuse_file_info *fi) {
  struct vfs *v = self();
  const struct file_cfg *f;
  size_t idx;

  if (fi && fi->fh) {
    struct handle *h = (struct handle *)(uintptr_t)fi->fh;
    if (h->kind == H_PASS)
      return fstat(h->fd, st) < 0 ? -errno : 0;
  }
  if ((f = vfile(v, path, &idx))) {
    if (fi && fi->fh) {
      /* fstat: the snapshot this handle serves */
      struct handle *h = (struct handle *)(uintptr_t)fi->fh;
      open_handle_stat(v->pipe, h->oh, st);
      return 0;
    }
    struct open_who w = who_now();
    return open_stat(v->pipe, idx, &w, st);
  }
  if (fstatat(v->dirfd, rel(path), st, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  if (errno == ENOENT && vdir(v, path)) {
    open_vdir_stat(v->pipe, st);
    return 0;
  }
  return -errno;
}

static int op_access(const char *path, int mask) {
  struct vfs *v = self();
  if (vfile(v, path, NULL))
    return (mask & (W_OK | X_OK)) ? -EACCES : 0;
  if (faccessat(v->dirfd, rel(path), mask, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  if (errno == ENOENT && vdir(v, path))
    return (mask & W_OK) ? -EACCES : 0;
  return -errno;
}

static int op_readlink(const char *path, char *buf, size_t size) {
  ssize_t n = readlinkat(self()->dirfd, rel(path), buf, size - 1);
  if (n < 0)
    return -errno;
  buf[n] = 0;
  return 0;
}

/* Names of the virtual children of directory r ("." for the root). */
static void virtual_children(struct vfs *v, const char *r, void *buf,
                             fuse_fill_dir_t filler, char ***seen,
                             size_t *nseen) {
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
                      enum fuse_readdir_flags flags) {
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
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
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

static int deny_virtual(struct vfs *v, const char *path) {
  return vfile(v, path, NULL) || vdir(v, path);
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev) {
  struct vfs *v = self();
  if (deny_virtual(v, path))
    return -EEXIST;
  return mknodat(v->dirfd, rel(path), mode, rdev) < 0 ? -errno : 0;
}

static int op_mkdir(const char *path, mode_t mode) {
  struct vfs *v = self();
  if (deny_virtual(v, path))
    return -EEXIST;
  return mkdirat(v->dirfd, rel(path), mode) < 0 ? -errno : 0;
}

static int op_unlink(const char *path) {
  struct vfs *v = self();
  if (vfile(v, path, NULL))
    return -EPERM;
  return unlinkat(v->dirfd, rel(path), 0) < 0 ? -errno : 0;
}

static int op_rmdir(const char *path) {
  struct vfs *v = self();
  if (vdir(v, path))
    return -EPERM;
  return unlinkat(v->dirfd, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int op_symlink(const char *target, const char *path) {
  struct vfs *v = self();
  if (deny_virtual(v, path))
    return -EEXIST;
  return symlinkat(target, v->dirfd, rel(path)) < 0 ? -errno : 0;
}

static int op_rename(const char *from, const char *to, unsigned int flags) {
  struct vfs *v = self();
  if (deny_virtual(v, from) || deny_virtual(v, to))
    return -EPERM;
  return renameat2(v->dirfd, rel(from), v->dirfd, rel(to), flags) < 0 ? -errno
                                                                      : 0;
}

static int op_link(const char *from, const char *to) {
  struct vfs *v = self();
  if (deny_virtual(v, from) || deny_virtual(v, to))
    return -EPERM;
  return linkat(v->dirfd, rel(from), v->dirfd, rel(to), 0) < 0 ? -errno : 0;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
  struct vfs *v = self();
  if (deny_virtual(v, path))
    return -EPERM;
  if (fi && fi->fh)
    return fchmod(((struct handle *)(uintptr_t)fi->fh)->fd, mode) < 0 ? -errno
                                                                      : 0;
  return fchmodat(v->dirfd, rel(path), mode, 0) < 0 ? -errno : 0;
}

static int op_chown(const char *path, uid_t uid, gid_t gid,
                    struct fuse_file_info *fi) {
  struct vfs *v = self();
  if (deny_virtual(v, path))
    return -EPERM;
  return fchownat(v->dirfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0
             ? -errno
             : 0;
}

static int op_truncate(const char *path, off_t size,
                       struct fuse_file_info *fi) {
  struct vfs *v = self();
  int fd, r = 0;

  if (vfile(v, path, NULL))
    return -EACCES;
  if (fi && fi->fh)
    return ftruncate(((struct handle *)(uintptr_t)fi->fh)->fd, size) < 0
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
                      struct fuse_file_info *fi) {
  struct vfs *v = self();
  if (deny_virtual(v, path))
    return -EPERM;
  if (fi && fi->fh)
    return futimens(((struct handle *)(uintptr_t)fi->fh)->fd, ts) < 0 ? -errno
                                                                      : 0;
  return utimensat(v->dirfd, rel(path), ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
                                                                     : 0;
}

static int pass_open(struct vfs *v, const char *path, int flags, mode_t mode,
                     struct fuse_file_info *fi) {
  struct handle *h = calloc(1, sizeof(*h));
  if (!h)
    return -ENOMEM;
  /* O_APPEND is honoured by the kernel's offsets; keep it for pwrite
   * semantics on the underlying file. */
  h->fd = openat(v->dirfd, rel(path), (flags & ~O_NOFOLLOW) | O_CLOEXEC, mode);
  if (h->fd < 0) {
    int r = -errno;
    free(h);
    return r;
  }
  h->kind = H_PASS;
  fi->fh = (uintptr_t)h;
  return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  struct vfs *v = self();
  if (deny_virtual(v, path))
    return -EACCES;
  return pass_open(v, path, fi->flags, mode, fi);
}

static int virt_open(struct vfs *v, size_t idx, struct fuse_file_info *fi) {
  struct open_who w = who_now();
  struct handle *h = calloc(1, sizeof(*h));
  int r;

  if (!h)
    return -ENOMEM;
  if ((r = open_file(v->pipe, idx, &w, fi->flags, &h->oh)) < 0) {
    free(h);
    return r;
  }
  h->kind = H_VIRT;
  /* Nothing to flush on close of a virtual file: saves a round trip. */
  fi->noflush = 1;
  fi->direct_io = !h->oh->page_cache;
  fi->keep_cache = h->oh->keep_cache;
  fi->nonseekable = 0;
  fi->fh = (uintptr_t)h;
  return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi) {
  struct vfs *v = self();
  size_t idx;

  if (vfile(v, path, &idx))
    return virt_open(v, idx, fi);
  return pass_open(v, path, fi->flags, 0, fi);
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi) {
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  const char *data;

  if (h->kind == H_PASS) {
    ssize_t n = pread(h->fd, buf, size, off);
    return n < 0 ? -errno : (int)n;
  }
  ssize_t n = open_serve(h->oh, fuse_get_context()->uid, off, size, &data);
  if (n > 0)
    memcpy(buf, data, (size_t)n);
  return (int)n;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->kind != H_PASS)
    return -EACCES;
  ssize_t n = pwrite(h->fd, buf, size, off);
  return n < 0 ? -errno : (int)n;
}

static int op_statfs(const char *path, struct statvfs *st) {
  int fd = openat(self()->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int r = fstatvfs(fd, st) < 0 ? -errno : 0;
  close(fd);
  return r;
}

static int op_flush(const char *path, struct fuse_file_info *fi) {
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

static int op_release(const char *path, struct fuse_file_info *fi) {
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (!h)
    return 0;
  if (h->kind == H_PASS)
    close(h->fd);
  else
    open_release(h->oh);
  free(h);
  return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->kind != H_PASS)
    return 0;
  return (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

static int op_fallocate(const char *path, int mode, off_t off, off_t len,
                        struct fuse_file_info *fi) {
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->kind != H_PASS)
    return -EACCES;
  return fallocate(h->fd, mode, off, len) < 0 ? -errno : 0;
}

static off_t op_lseek(const char *path, off_t off, int whence,
                      struct fuse_file_info *fi) {
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (!h || h->kind != H_PASS)
    return -ENOTSUP;
  off_t r = lseek(h->fd, off, whence);
  return r < 0 ? -errno : r;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
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

const struct fuse_operations *vfs_operations(void) { return &ops; }

int vfs_new(const struct config *cfg, struct engine *engine,
            struct audit *audit, int dirfd, const char *mountpoint,
            struct vfs **out) {
  struct vfs *v = calloc(1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  v->cfg = cfg;
  v->dirfd = dirfd;
  v->mountpoint = strdup(mountpoint);
  if (open_pipeline_new(cfg, engine, audit, &v->pipe) < 0) {
    free(v->mountpoint);
    free(v);
    return -ENOMEM;
  }
  for (size_t i = 0; i < cfg->nfiles; i++) {
    char *p = strdup(cfg->files[i].path), *s;
    while ((s = strrchr(p, '/'))) {
      *s = 0;
      bool dup = false;
      for (size_t k = 0; k < v->nvdirs && !dup; k++)
        dup = !strcmp(v->vdirs[k], p);
      if (!dup) {
        v->vdirs = realloc(v->vdirs, (v->nvdirs + 1) * sizeof(char *));
        v->vdirs[v->nvdirs++] = strdup(p);
      }
    }
    free(p);
  }
  *out = v;
  return 0;
}

void vfs_free(struct vfs *v) {
  if (!v)
    return;
  if (v->dirfd >= 0)
    close(v->dirfd);
  for (size_t i = 0; i < v->nvdirs; i++)
    free(v->vdirs[i]);
  free(v->vdirs);
  open_pipeline_free(v->pipe);
  free(v->mountpoint);
  free(v);
}

void vfs_set_locked(struct vfs *v, bool locked) {
  open_set_locked(v->pipe, locked);
}

bool vfs_locked(const struct vfs *v) { return open_locked(v->pipe); }

cJSON *vfs_timing(struct vfs *v) { return open_timing(v->pipe); }

cJSON *vfs_status(struct vfs *v) { return open_status(v->pipe); }
