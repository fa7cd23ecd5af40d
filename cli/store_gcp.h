/* store_gcp: `credfs store import-gcp KEY.json [NAME]`. */
#ifndef CREDFS_STORE_GCP_H
#define CREDFS_STORE_GCP_H

struct store;

/* Seals a service-account key (client_email, private_key, private_key_id,
 * token_uri, project_id) or an authorized_user file (client_id,
 * client_secret, refresh_token) as entry name (NULL: gcp-ACCOUNT or
 * gcp-user) and names the plaintext for shredding.  Exit status. */
int store_import_gcp(struct store *s, const char *file, const char *name);

#endif
