/* sso: what the IAM Identity Center provider exposes beyond its ops table
 * (the answer reader, for the fuzz target fuzz/fuzz_sso.c). */
#ifndef CREDFS_AWS_SSO_H
#define CREDFS_AWS_SSO_H

#include <stddef.h>
#include <time.h>

struct cred;
struct error;

/* A GetRoleCredentials answer body ({roleCredentials{accessKeyId, ...,
 * expiration (ms)}}) into *out, or -EBADMSG with e set. */
int sso_json_role_credentials(const char *body, size_t len, struct cred **out,
			      struct error *e);

/* The SSO token cache file `aws sso login` writes ({accessToken,
 * expiresAt}; path names it in messages): the token into *tok (secmem), or
 * -EBADMSG, or -EKEYEXPIRED when expiresAt is not after now; e set. */
int sso_json_token(const char *file, size_t flen, const char *path,
		   time_t now, char **tok, struct error *e);

#endif
