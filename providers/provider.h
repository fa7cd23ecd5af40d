/* provider: the table every credential source implements.
 *
 * A provider turns a [profile] section (plus the credential of its
 * `source =` profile, when it has one) into a struct cred.  Adding a
 * provider touches its own file and one line in registry.c.
 */
#ifndef CREDFS_PROVIDER_H
#define CREDFS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include "../fs/cred.h"

struct cfg_section;
struct store;

/* Error text for the user: names the call and the remote cause, e.g.
 * "AssumeRole: AccessDenied: User ... is not authorized".  Never a secret. */
struct perr {
	char msg[512];
};
void perr_set(struct perr *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct provider_req {
	const char *profile_name;
	const struct cfg_section *profile; /* the [profile NAME] section */
	const struct cred *source;	   /* `source =` credential, or NULL */
	struct store *store;		   /* sealed store, NULL if none */
	const char *mfa_code;		   /* from `credfs login`, or NULL */
	int timeout_ms;			   /* whole-fetch deadline */
};

struct provider_ops {
	const char *name;
	/* Keys this provider accepts in its [profile] section, NULL-ended,
	 * besides the common ones (provider, source, endpoint, ca_file,
	 * region, timeout). */
	const char *const *keys;
	/* Keys that must be present. */
	const char *const *required;
	/* "yes": needs `source =`; "no": takes none; "maybe": either. */
	const char *source;
	/* Fields the produced credential carries (for format checks). */
	const char *const *fields;
	/* Extra static checks; report with cfg_error().  May be NULL. */
	int (*validate)(const struct cfg_section *profile, void *diag);
	/* Fetch a fresh credential.  0 and *out set, or -errno and e set. */
	int (*fetch)(const struct provider_req *req, struct cred **out,
		     struct perr *e);
	/* Revoke a lease at the provider (Vault); may be NULL. */
	int (*revoke)(const struct provider_req *req, const struct cred *c,
		      struct perr *e);
};

const struct provider_ops *provider_find(const char *name);
/* For `credfs check`: space-separated list of known provider names. */
const char *provider_names(void);

#endif
