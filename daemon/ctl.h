/* ctl: the control socket between the daemon and the commands.
 *
 * One JSON object per line each way.  The socket is mode 0600 in
 * state_dir and every peer is checked with SO_PEERCRED (owner or root).
 */
#ifndef CREDFS_CTL_H
#define CREDFS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;
struct engine;
struct vfs;
struct audit;
struct store;
typedef struct cJSON cJSON;
struct ctl;

struct ctl_ctx {
	const struct config *cfg;
	struct engine *engine;
	struct vfs *vfs;
	struct audit *audit;
	struct store *store;
	const char *mountpoint;
};

/* Path of the socket for cfg (malloc'd), or NULL if it would not fit. */
char *ctl_socket_path(const struct config *cfg);
struct error;
int ctl_start(const struct ctl_ctx *ctx, struct ctl **out, struct error *e)
    __attribute__((warn_unused_result));
void ctl_stop(struct ctl *c);

struct cred;
/* The "env" reply of `credfs exec`: o gets "fields" (every field of c) and
 * "expiration".  WARNING: o then holds secrets; it is cJSON in secmem and
 * goes only to the owner's socket or this process's environment. */
void ctl_env_reply(cJSON *o, const struct cred *c);

/* Client: sends req (consumed) and returns the reply, or NULL with e set;
 * e->kind is ERROR_NO_DAEMON when nothing listens on the socket (callers
 * branch on that, never on the text).  The whole exchange is bounded by
 * timeout_ms. */
cJSON *ctl_call(const struct config *cfg, cJSON *req, int timeout_ms,
		struct error *e);

#endif
