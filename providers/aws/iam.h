/* iam: access key rotation and revocation for `credfs rotate`/`revoke`.
 *
 * These only talk to AWS; the caller (the rotate command) writes the store
 * and the audit log.  IAM is a global service signed for us-east-1; its
 * endpoint is https://iam.amazonaws.com unless overridden (tests, GovCloud,
 * China).  With an override, the STS checks use the same endpoint (one
 * local emulator serves both); otherwise https://sts.REGION.amazonaws.com.
 */
#ifndef CREDFS_AWS_IAM_H
#define CREDFS_AWS_IAM_H

#include <stddef.h>

struct cfg_section;
struct cred;
struct error;

/* CreateAccessKey signed with old, then waits (up to ~15 s: new keys take
 * a moment to work on AWS) until STS GetCallerIdentity with the new key
 * answers with the same ARN as the old key.  On success *new_out is a new
 * cred (access_key_id, secret_access_key; caller unrefs) and the old key
 * is untouched.  If the new key never verifies it is deleted again and an
 * error returned (CreateAccessKey itself is never retried).  profile may
 * be NULL; when set, its ca_file is used. */
int iam_rotate_key(const struct cfg_section *profile, const char *endpoint,
		   const char *region, const struct cred *old,
		   struct cred **new_out, struct error *e)
    __attribute__((warn_unused_result));
/* DeleteAccessKey of access_key_id (of the signer's own user). */
int iam_delete_key(const char *endpoint, const char *region,
		   const struct cred *signer, const char *access_key_id,
		   struct error *e) __attribute__((warn_unused_result));
/* UpdateAccessKey: status "Active" or "Inactive". */
int iam_set_key_status(const char *endpoint, const char *region,
		       const struct cred *signer, const char *access_key_id,
		       const char *status, struct error *e)
    __attribute__((warn_unused_result));

#endif
