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
/* `credfs umount`: unmount and wait for the daemon to finish. */
int daemon_umount(const struct config *cfg, const char *mountpoint);

struct audit;
/* Routes store events (store, store_rm, integrity) to audit (NULL: off). */
void daemon_audit_store_events(struct audit *audit);

#endif
