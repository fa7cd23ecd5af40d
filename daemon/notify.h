/* notify: readiness for systemd, the sd_notify(3) protocol without
 * libsystemd.
 *
 * Under a `Type=notify` unit systemd sets $NOTIFY_SOCKET to a datagram
 * socket (a path, or "@name" in the abstract namespace); a state change is
 * one datagram of newline-separated VAR=VALUE lines.  With no
 * $NOTIFY_SOCKET these do nothing, so the daemon calls them unconditionally.
 * systemd accepts them only from the unit's main process
 * (NotifyAccess=main): `credfs mount -f` is that process.
 */
#ifndef CREDFS_NOTIFY_H
#define CREDFS_NOTIFY_H

/* "READY=1" (with MAINPID and a STATUS line): call once the mount serves.
 * Returns 1 if sent, 0 if not under systemd, -errno if it could not be. */
int notify_ready(void);
/* "STOPPING=1": call when the unmount begins.  Same returns. */
int notify_stopping(void);

#endif
