/* provider: the table every credential source implements.
 *
 * A provider turns a [profile] section (plus the credential of its
 * `source =` profile, when it has one) into a struct cred.  Adding a
 * provider touches its own file and one line in providers/registry.c.
 */
#ifndef CREDFS_PROVIDER_H
#define CREDFS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include "core/cred.h"

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

/* A provider table is a NULL-ended array of ops (providers/registry.h has
 * the real one; the config is given it, so core never names a provider). */
const struct provider_ops *provider_lookup(const struct provider_ops *const *table,
					   const char *name);
/* For diagnostics: "a, b, c" into buf. */
void provider_list_names(const struct provider_ops *const *table, char *buf,
			 size_t len);

#endif
