/* sts_provider: what the STS-based providers (aws-session-token,
 * aws-assume-role, aws-web-identity) share: parsing the keys they have in
 * common once, building a Query form, and turning the answer into a cred.
 */
#ifndef CREDFS_AWS_STS_PROVIDER_H
#define CREDFS_AWS_STS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/secmem.h"

struct cfg_section;
struct cred;
struct diag;
struct error;
struct provider_req;

#define STS_MAX_TAGS 50

extern const char *const sts_fields[];

/* Checks region and endpoint (a usable URL) of s into d. */
void sts_parse_common(const struct cfg_section *s, struct diag *d);
/* `duration` in seconds, def when not set; reports a bad or out-of-range
 * value to d and returns -EINVAL. */
int sts_parse_duration(const struct cfg_section *s, struct diag *d, int def,
		       int min, int max, int *secs);
/* role_arn, when set, looks like arn:...:role/...; otherwise reported. */
void sts_check_role_arn(const struct cfg_section *s, struct diag *d);
/* A copy of the value if the key is present (also when empty), else NULL. */
char *sts_dup_present(const struct cfg_section *s, const char *key);

/* "&Key=urlencoded(value)" appended to b. */
int sts_form_add(struct secbuf *b, const char *key, const char *value)
    __attribute__((warn_unused_result));
int sts_form_add_int(struct secbuf *b, const char *key, long v)
    __attribute__((warn_unused_result));
/* SerialNumber and TokenCode when serial is set (NULL: no MFA). */
int sts_add_mfa(const struct provider_req *req, const char *serial,
		const char *action, struct secbuf *form, struct error *e)
    __attribute__((warn_unused_result));
/* -EINVAL with e set unless the source credential has AWS keys. */
int sts_need_source(const struct provider_req *req, const char *action,
		    struct error *e) __attribute__((warn_unused_result));
/* The RoleSessionName from the session_name template (NULL: default). */
void sts_role_session_name(const struct provider_req *req, const char *tmpl,
			   char *buf, size_t len);
/* Runs one STS call for a profile and turns the answer into a cred. */
int sts_fetch(const struct provider_req *req, const char *action,
	      const struct secbuf *form, const struct cred *signer,
	      struct cred **out, struct error *e)
    __attribute__((warn_unused_result));

#endif
