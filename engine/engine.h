/* engine: cached credentials per profile and the refresh logic.
 *
 * One refresh in flight per profile, however many readers ask (single
 * flight).  A reader whose credential is still valid never waits: inside
 * the refresh window it gets the current credential while the refresh
 * runs.  A reader with no valid credential waits for the refresh, at most
 * open_timeout.  A failing refresh backs off with jitter and never drops
 * a credential that is still valid; an expired one is never handed out.
 */
#ifndef CREDFS_ENGINE_H
#define CREDFS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/error.h"

struct config;
struct store;
struct audit;
struct cred;
struct provider_caller;
typedef struct cJSON cJSON;
struct engine;

/* cfg, store and audit are borrowed (store and audit may be NULL). */
int engine_new(const struct config *cfg, struct store *store,
	       struct audit *audit, struct engine **out)
    __attribute__((warn_unused_result));
/* Starts the background refresher (after daemonising). */
int engine_start(struct engine *e);
void engine_free(struct engine *e);

/* A referenced, valid credential of profile idx (cred_unref it), waiting
 * up to timeout_ms for a refresh when there is none.  On failure -errno
 * and err (may be NULL) says what is wrong, without secrets: .msg the
 * last failure, .retry_in the seconds until the next attempt (0: none
 * scheduled), .kind ERROR_PROVIDER for a provider's refusal. */
int engine_get_e(struct engine *e, int idx, int timeout_ms, struct cred **out,
		 struct error *err) __attribute__((warn_unused_result));
/* The same with the error formatted into why: "MSG (next attempt in Ns)". */
int engine_get(struct engine *e, int idx, int timeout_ms, struct cred **out,
	       char *why, size_t whylen) __attribute__((warn_unused_result));
/* Starts a refresh if one is due, without waiting (a reader about to
 * wait on several profiles starts them all first); true if a valid
 * credential is there now. */
bool engine_kick(struct engine *e, int idx);
/* The current credential if valid, never waiting nor fetching. */
struct cred *engine_peek(struct engine *e, int idx);
/* For a provider with ops.per_caller: a credential minted for who now,
 * not cached.  0 or -errno with why set. */
int engine_mint_for(struct engine *e, int idx,
		    const struct provider_caller *who, struct cred **out,
		    char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* Drop cached credentials (memory and sealed cache); revoke leases where
 * the provider can.  idx < 0: all. */
int engine_revoke_e(struct engine *e, int idx, struct error *err);
int engine_revoke(struct engine *e, int idx, char *err, size_t errlen);
/* At a clean unmount: revokes the leases of the profiles of cfg (the
 * engine's) that ask for it (the provider's revoke_at_unmount), as
 * engine_revoke does; 0 or -EIO (each failure printed to stderr and
 * audited).  engine/lease.c. */
int engine_unmount(struct engine *e, const struct config *cfg);
/* Fetch now (credfs login passes an MFA code; NULL otherwise) and wait. */
int engine_refresh_now_e(struct engine *e, int idx, const char *mfa_code,
			 int timeout_ms, struct error *err);
int engine_refresh_now(struct engine *e, int idx, const char *mfa_code,
		       int timeout_ms, char *err, size_t errlen);
/* For one-shot commands: the valid credential of idx, fetching it (with
 * the provider's own timeout) when the cache has none or it is due. */
int engine_refresh_if_needed_e(struct engine *e, int idx, struct cred **out,
			       struct error *err)
    __attribute__((warn_unused_result));
int engine_refresh_if_needed(struct engine *e, int idx, struct cred **out,
			     char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The old char-buffer forms format the struct error once, at that edge;
 * new callers use the _e forms. */
/* Status of every profile as a JSON array (no secrets). */
cJSON *engine_status(struct engine *e);
/* Provider calls made for profile idx since start (tests, bench). */
unsigned long engine_fetch_count(struct engine *e, int idx);
/* A value that changes whenever any credential changes (kernel cache). */
unsigned long engine_generation(struct engine *e);

#endif
