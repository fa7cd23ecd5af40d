/* vault_json: the readers of Vault's JSON envelopes, exposed for the
 * fuzz target (fuzz/fuzz_vault.c); the provider calls them internally. */
#ifndef CREDFS_VAULT_JSON_H
#define CREDFS_VAULT_JSON_H

#include <stdbool.h>
#include <time.h>

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

/* A sys/leases/renew answer ({lease_duration, renewable, warnings}) for
 * the lease held in cr: *out is cr with the new expiration (now + the
 * granted duration, capped at token_end when that is set).  0: renewed as
 * asked; 1: renewed, but for less, or no longer renewable; < 0 with e set. */
int vault_json_renew(const struct cJSON *j, const struct cred *cr,
		     int increment, time_t token_end, time_t now,
		     struct cred **out, struct error *e);

#endif
