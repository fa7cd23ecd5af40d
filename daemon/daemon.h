/* daemon: `credfs mount` — the process that serves a mount. */
#ifndef CREDFS_DAEMON_H
#define CREDFS_DAEMON_H

#include <stdbool.h>

struct config;

/* Returns the exit status: 0 once the mount serves (or, with foreground,
 * after it is unmounted), 1 on a runtime failure. */
int daemon_mount(struct config *cfg, const char *mountpoint, bool foreground);
/* Clears a mount left by a killed daemon ("Transport endpoint is not
 * connected").  0 if nothing was stale or it was cleared. */
int daemon_clear_stale(const char *mountpoint);
/* `credfs umount [--force]` (daemon/umount.c): unmount and wait (a few
 * seconds at most) for the daemon to finish.  Never blocks on the mount:
 * a stopped daemon is reported; force aborts the FUSE connection, then
 * detaches the mount.  Returns the exit status. */
int daemon_umount(const struct config *cfg, const char *mountpoint, bool force);

#endif
