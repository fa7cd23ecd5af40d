/* vault_json: the readers of Vault's JSON envelopes, exposed for the
 * fuzz target (fuzz/fuzz_vault.c); the provider calls them internally. */
#ifndef CREDFS_VAULT_JSON_H
#define CREDFS_VAULT_JSON_H

#include <stdbool.h>

struct cJSON;
struct cred;
struct error;
struct vault_cfg;

/* A secret read's answer ({data, lease_id, lease_duration, renewable}) as
 * the fetch turns it into *out, for the profile c. */
int vault_json_secret(const struct vault_cfg *c, const struct cJSON *j,
		      struct cred **out, struct error *e);
/* A login or renew-self answer's auth{client_token, lease_duration,
 * renewable}: *token in secmem (secmem_free it). */
int vault_json_auth(const struct cJSON *j, char **token, int *ttl,
		    bool *renewable, struct error *e);

#endif
