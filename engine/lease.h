/* lease: renewal and revocation of the leases a provider hands out (Vault),
 * for the engine's refresh: one read per lease, renewed while it can be,
 * re-issued at its max TTL, the replaced lease revoked at the provider.
 */
#ifndef CREDFS_LEASE_H
#define CREDFS_LEASE_H

#include <stdbool.h>

struct audit;
struct cred;
struct error;
struct provider_ops;
struct provider_req;

/* An audit event lease_renew or lease_revoke for c: profile, key_id,
 * lease_id, expires (a renewal), reason, error (when err). */
void lease_audit(struct audit *a, const char *profile, const char *event,
		 const struct cred *c, const char *why, const char *err);

/* The refresh of a profile whose provider renews leases: renews held (the
 * credential served now, or NULL) unless last (it had its last renewal),
 * else fetches.  Returns what fetch returns, *out set; *rr is the renew
 * op's answer (0 or 1: *out is the renewed held; 2: fetched; <0: the
 * renewal failed, audited, and fetched instead). */
int lease_refresh(const struct provider_ops *ops,
		  const struct provider_req *req, struct audit *a,
		  const struct cred *held, bool last, struct cred **out,
		  int *rr, struct error *e);

/* After a re-issue replaced held: revokes its lease at the provider and
 * audits lease_revoke (reason "reissued"). */
void lease_replaced(const struct provider_ops *ops,
		    const struct provider_req *req, struct audit *a,
		    const struct cred *held);

#endif
