/* provider: the table every credential source implements.
 *
 * A provider turns a [profile] section (plus the credential of its
 * `source =` profile, when it has one) into a struct cred.  The section is
 * parsed once, at config load, by ops->parse into the provider's own typed
 * state; a fetch only reads that state.  Adding a provider touches its own
 * file and one line in providers/registry.c.
 */
#ifndef CREDFS_PROVIDER_H
#define CREDFS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "core/cred.h"
#include "core/error.h"

struct cfg_section;
struct diag;
struct store;

/* Whether a profile of this provider takes `source = PROFILE`. */
enum provider_source {
	PROVIDER_SOURCE_NONE = 0, /* takes none */
	PROVIDER_SOURCE_REQUIRED, /* needs one */
	PROVIDER_SOURCE_OPTIONAL, /* either */
};

/* The keys every profile may have, parsed once by config_load (owned by
 * the config). */
struct provider_common {
	char *endpoint;	 /* http(s) URL, or NULL: the provider's default */
	char *region;	 /* or NULL: the provider's default */
	char *ca_file;	 /* expanded path, or NULL: the system store */
	int timeout;	 /* whole-fetch deadline in seconds, 0: not set */
	bool has_source; /* `source =` given */
};

/* The reader of a `view = per-caller` file as credfs identified it, for a
 * provider that mints per reader (ops.per_caller).  Borrowed. */
struct provider_caller {
	unsigned uid;
	const char *exe;	/* the executable's path */
	const char *exe_sha256; /* 64 hex digits, or NULL if unreadable */
	const char *cgroup;	/* cgroup v2 path, or "" */
};

struct provider_req {
	const char *profile_name;
	const struct provider_common *common; /* never NULL */
	const void *state;		      /* from ops->parse, or NULL */
	const struct cred *source; /* `source =` credential, or NULL */
	struct store *store;	   /* sealed store, NULL if none */
	const char *mfa_code;	   /* from `credfs login`, or NULL */
	int timeout_ms;		   /* whole-fetch deadline */
	/* A per-caller mint for this reader (never cached), or NULL. */
	const struct provider_caller *caller;
};

struct provider_ops {
	const char *name;
	/* Keys this provider accepts in its [profile] section, NULL-ended,
	 * besides the common ones (provider, source, endpoint, ca_file,
	 * region, timeout). */
	const char *const *keys;
	/* Keys that must be present. */
	const char *const *required;
	enum provider_source source;
	/* Its credentials may be kept in the sealed cache (false for a
	 * provider whose credential is itself long-lived, like aws-static:
	 * it is read from the store each time). */
	bool cacheable;
	/* Fields the produced credential carries (for format checks);
	 * NULL: any. */
	const char *const *fields;
	/* Called once at config load: checks the section (problems go to d
	 * with cfg_error(), with their line) and returns the typed state
	 * fetch reads as req->state (freed with free_state).  0 and *state
	 * set (it may be NULL), or -EINVAL after reporting to d.  NULL:
	 * the provider has nothing to parse. */
	int (*parse)(const struct cfg_section *profile, struct diag *d,
		     void **state);
	void (*free_state)(void *state);
	/* Fetch a fresh credential.  0 and *out set, or -errno and e set
	 * (the engine takes the returned code as authoritative). */
	int (*fetch)(const struct provider_req *req, struct cred **out,
		     struct error *e);
	/* Revoke a lease at the provider (Vault); NULL: nothing to revoke
	 * beyond dropping the cached credential. */
	int (*revoke)(const struct provider_req *req, const struct cred *c,
		      struct error *e);
	/* On a `view = per-caller` file, fetch is called for each open with
	 * req->caller set, and what it returns describes that reader (an
	 * issuer's claims); it must be cheap and local. */
	bool per_caller;
	/* Renew the lease c carries (Vault); NULL: leases are not renewed.
	 * 0: *out is c with a later expiration; 1: the same, but it is the
	 * last renewal (the lease's max TTL is reached): the engine issues a
	 * new credential when *out is due; 2: nothing to renew (*out NULL),
	 * fetch; <0 with e set: the engine fetches afresh. */
	int (*renew)(const struct provider_req *req, const struct cred *c,
		     struct cred **out, struct error *e);
	/* When the provider's own session (Vault's client token) must be
	 * renewed through renew to keep the leases it holds alive, 0: no
	 * such time.  NULL: never. */
	time_t (*renew_by)(const struct provider_req *req);
	/* The profile asks for its lease to be revoked at unmount
	 * (`revoke_on_unmount = yes`); NULL: never. */
	bool (*revoke_at_unmount)(const void *state);
};

/* A provider table is a NULL-ended array of ops (providers/registry.h has
 * the real one; the config is given it, so core never names a provider). */
const struct provider_ops *
provider_lookup(const struct provider_ops *const *table, const char *name);
/* For diagnostics: "a, b, c" into buf. */
void provider_list_names(const struct provider_ops *const *table, char *buf,
			 size_t len);

#endif
