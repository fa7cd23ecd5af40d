/* vault: HashiCorp Vault secrets (KV, dynamic engines, PKI) with leases.
 *
 * The profile is read once into a struct vault_cfg by vault_parse(); the
 * provider ops, the lease renewal below and the client (client.c) work
 * from that struct only.  The Vault client token is kept per profile in
 * secret memory, renewed (auth/token/renew-self) when a third of its TTL
 * is left and re-acquired by login when it cannot be; it is never logged.
 */
#ifndef CREDFS_VAULT_H
#define CREDFS_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct cfg_section;
struct cred;
struct error;
struct provider_req;

enum vault_auth { VAULT_AUTH_TOKEN, VAULT_AUTH_APPROLE, VAULT_AUTH_JWT };

#define VAULT_MAX_FIELDS 32

struct vault_cfg {
	const char *profile;
	char address[512];   /* "https://vault:8200", no trailing '/' */
	char api_path[1024]; /* after /v1/, e.g. "secret/data/app" */
	char query[64];	     /* "?version=3" or "" */
	char ns[256];	     /* X-Vault-Namespace, or "" */
	const char *ca_file; /* NULL: the system store */
	enum vault_auth auth;
	char auth_mount[128];	 /* "approle", "jwt", ... */
	const char *token_file;	 /* token auth: a 0600 file holding it */
	const char *secret;	 /* store entry: token, or role_id+secret_id */
	const char *secret_file; /* tests: `field = value` lines, 0600 */
	const char *role;	 /* jwt role */
	const char *jwt_file;	 /* jwt from a file (k8s SA token) */
	const char *jwt_field;	 /* jwt from this source field */
	int kv_version;		 /* 0: not KV, 1, 2 */
	bool post;		 /* pki/issue: POST with the body below */
	const char *common_name, *alt_names, *ttl;
	size_t nfields;			   /* 0: every field of data */
	char *field_out[VAULT_MAX_FIELDS]; /* malloc'd names in the cred */
	char *field_in[VAULT_MAX_FIELDS];  /* names in Vault's data */
	int refresh_interval;		   /* seconds, leaseless reads */
	bool revoke_on_unmount;
	int timeout_ms;
};

/* Fills c from the [profile] section (no I/O; the provider's parse op,
 * once at config load).  0, or -EINVAL with a one line reason in err and
 * the config line it is about in *line. */
int vault_parse_at(const struct cfg_section *s, struct vault_cfg *c, char *err,
		   size_t errlen, int *line);
/* The same without the line. */
int vault_parse(const struct cfg_section *s, struct vault_cfg *c, char *err,
		size_t errlen);
void vault_cfg_free(struct vault_cfg *c);

/* Renews the lease of c (a cred this provider produced) with
 * sys/leases/renew, asking for increment seconds (0: the lease's default),
 * and the client token when it is due.  Returns:
 *   0  renewed: *out is c's fields with expiration = now + granted TTL
 *      (obtained = now: the refresh window is the grant's);
 *   1  renewed but capped at the lease's max TTL (or the grant was shorter
 *      than asked, or the client token it was issued under could not be
 *      renewed and ends first: *out expires with it): *out as for 0, and
 *      it is the last renewal - the caller re-issues (fetch) before *out
 *      expires;
 *   2  nothing to renew (no lease, or not renewable): *out NULL, re-fetch
 *      at expiration as for any credential;
 *  -errno with e set ("vault: sys/leases/renew: 400 lease not found"); the
 *      caller re-fetches. */
int vault_renew(const struct provider_req *req, const struct cred *c,
		int increment, struct cred **out, struct error *e);

/* When the cached client token of this profile should next be renewed (a
 * third of its TTL before it ends), 0 if none is cached, it does not
 * expire or a login is in progress (never waits).  Vault revokes a token's
 * leases with it: an engine holding leases calls vault_renew (or fetch)
 * before this time too. */
time_t vault_token_deadline(const struct provider_req *req);

/* Forgets every cached client token (unmount, tests).  Wiped. */
void vault_forget_tokens(void);

/* --- client.c: HTTP to Vault ------------------------------------------ */

/* One API call with the profile's client token (logging in when needed,
 * and once more after a 403 from a cached token).  method "GET"/"POST";
 * body JSON or NULL.  On 2xx: 0 and *json the parsed body (cJSON_Delete;
 * NULL for 204).  Else -errno and e = "vault: PATH: 403 permission
 * denied" (Vault's errors[], one bounded line, no secret). */
struct cJSON;
int vault_call(const struct vault_cfg *c, const struct provider_req *req,
	       const char *method, const char *path, const char *query,
	       const char *body, struct cJSON **json, struct error *e);
/* vault_call, and *old_token_end set (wall clock, else 0) when the client
 * token could not be renewed and a login replaced it: the old token, and
 * every lease issued under it, ends then. */
int vault_call_t(const struct vault_cfg *c, const struct provider_req *req,
		 const char *method, const char *path, const char *query,
		 const char *body, struct cJSON **json, time_t *old_token_end,
		 struct error *e);
/* The client token for c (login, renew-self or cache), secmem'd copy the
 * caller frees with secmem_free. */
int vault_client_token(const struct vault_cfg *c,
		       const struct provider_req *req, long deadline_ms,
		       char **token, struct error *e);

#endif
