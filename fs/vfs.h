/* vfs: the FUSE filesystem.  Virtual files from the config, everything
 * else passed through to the directory underneath (opened before the
 * mount, served with *at() calls relative to that fd). */
#ifndef CREDFS_VFS_H
#define CREDFS_VFS_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct engine;
struct audit;
struct fuse_operations;
typedef struct cJSON cJSON;

struct vfs;

/* dirfd: O_PATH fd of the covered directory (owned by the vfs). */
int vfs_new(const struct config *cfg, struct engine *engine,
	    struct audit *audit, int dirfd, const char *mountpoint,
	    struct vfs **out) __attribute__((warn_unused_result));
void vfs_free(struct vfs *v);
const struct fuse_operations *vfs_operations(void);

void vfs_set_locked(struct vfs *v, bool locked);
bool vfs_locked(const struct vfs *v);
/* Per-file opens and denials as a JSON array. */
cJSON *vfs_status(struct vfs *v);
/* Mean cost of each part of an allowed open (identify, policy, render
 * including the credential lookup, audit), in ns. */
cJSON *vfs_timing(struct vfs *v);

#endif
