/* vfs: the FUSE filesystem.  Virtual files from the config, everything
 * else passed through to the directory underneath (opened before the
 * mount, served with *at() calls on O_PATH fds). */
#ifndef CREDFS_VFS_H
#define CREDFS_VFS_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct engine;
struct audit;
typedef struct cJSON cJSON;

struct vfs;

/* dirfd: O_PATH fd of the covered directory (owned by the vfs once this
 * returns 0).  cfg, engine and audit are borrowed. */
int vfs_new(const struct config *cfg, struct engine *engine,
	    struct audit *audit, int dirfd, const char *mountpoint,
	    struct vfs **out) __attribute__((warn_unused_result));
/* Unmounts if mounted; NULL is a no-op. */
void vfs_free(struct vfs *v);

/* Creates the FUSE session, mounts it on the mountpoint given to vfs_new
 * (default_permissions, auto_unmount, allow_other if asked) and installs
 * the handlers that end vfs_serve on SIGINT/SIGTERM/SIGHUP.  -EIO with err
 * set on failure. */
int vfs_mount(struct vfs *v, bool allow_other, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Serves requests (worker threads) until unmounted or signalled. */
int vfs_serve(struct vfs *v);
/* Unmounts and ends the session (vfs_free does it too). */
void vfs_unmount(struct vfs *v);

void vfs_set_locked(struct vfs *v, bool locked);
bool vfs_locked(const struct vfs *v);
/* Per-file opens and denials as a JSON array. */
cJSON *vfs_status(struct vfs *v);
/* Mean cost of each part of an allowed open (identify, policy, render
 * including the credential lookup, audit), in ns. */
cJSON *vfs_timing(struct vfs *v);

#endif
