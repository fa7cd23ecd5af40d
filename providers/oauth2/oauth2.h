/* oauth2: OAuth 2.0 token endpoints (RFC 6749), shared by the oauth2,
 * oidc-issuer and Azure providers.
 *
 * Every answer is parsed with cJSON; every value that becomes a credential
 * field is checked (string, length, printable ASCII); every error names
 * the call, the HTTP status and the server's `error` code
 * ("Token (client_credentials): HTTP 401 invalid_client: ...").  No secret
 * (client secret, assertion, refresh token, device code) is ever quoted.
 */
#ifndef CREDFS_OAUTH2_H
#define CREDFS_OAUTH2_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/secmem.h"
#include "providers/oauth_http.h"

struct cJSON;
struct cred;
struct error;
struct provider_req;
struct jwt_key;

/* Longest token accepted from a remote. */
#define OAUTH_MAX_TOKEN 16384

struct oauth_conn {
	const char *ca_file; /* expanded path, or NULL */
	int timeout_ms;
	bool imds; /* plain http to 169.254.169.254 allowed (IMDS) */
};

enum oauth_auth {
	OAUTH_AUTH_NONE = 0, /* public client: client_id in the form */
	OAUTH_AUTH_BASIC,    /* client_secret_basic */
	OAUTH_AUTH_POST,     /* client_secret_post */
	OAUTH_AUTH_KEY_JWT,  /* private_key_jwt (RFC 7523 2.2) */
};

/* How the client authenticates at the token endpoint. */
struct oauth_client {
	enum oauth_auth auth;
	const char *client_id;
	const char *client_secret; /* basic, post */
	const struct jwt_key *key; /* private_key_jwt */
	const char *kid;	   /* or NULL */
};

/* POSTs form (application/x-www-form-urlencoded) to url with the client's
 * authentication added.  0 with *out the JSON object of a 2xx answer
 * (cJSON_Delete it); else -errno, e naming what, the status and the
 * server's error code, and code (if not NULL) set to that error code
 * ("" if none): -EKEYREJECTED for invalid_client/invalid_grant,
 * -EACCES access_denied, -EINVAL invalid_request/scope,
 * -EAGAIN authorization_pending/slow_down/429/5xx, -EBADMSG not JSON. */
int oauth_post(const char *what, const char *url, const struct oauth_conn *conn,
	       const struct oauth_client *cl, const struct secbuf *form,
	       struct cJSON **out, char *code, size_t codelen, struct error *e)
    __attribute__((warn_unused_result));

/* GET url (JSON answer) with extra header lines (NULL-ended, may be NULL),
 * same error handling as oauth_post. */
int oauth_get(const char *what, const char *url, const struct oauth_conn *conn,
	      const char *const *headers, struct cJSON **out, struct error *e)
    __attribute__((warn_unused_result));

/* A string member that may become a field: present (unless optional),
 * at most OAUTH_MAX_TOKEN bytes, printable ASCII (spaces allowed only
 * when spaces).  *v borrowed from j (NULL when optional and absent). */
int oauth_json_str(const char *what, const struct cJSON *j, const char *name,
		   bool optional, bool spaces, const char **v, struct error *e)
    __attribute__((warn_unused_result));

/* A token response into c: access_token, token_type, scope, id_token
 * (those present), expiration from expires_in (a number or a numeric
 * string, 1 s .. 1 year) or else the access token's JWT exp; none of them:
 * -EPROTO.  *refresh (if not NULL) borrows the refresh_token member, or
 * NULL. */
int oauth_token_response(const char *what, const struct cJSON *j,
			 struct cred *c, const char **refresh, struct error *e)
    __attribute__((warn_unused_result));

/* Discovery (OpenID Connect Discovery 1.0 / RFC 8414): GET
 * issuer/.well-known/openid-configuration, check its "issuer" equals
 * issuer, and return token_endpoint and, when asked and present,
 * device_authorization_endpoint (malloc'd; NULL if absent). */
int oauth_discover(const char *issuer, const struct oauth_conn *conn,
		   char **token_url, char **device_url, struct error *e)
    __attribute__((warn_unused_result));

/* A client assertion (RFC 7523 2.2) for the token endpoint aud:
 * iss = sub = client_id, jti, 5 minutes.  *out in secmem. */
int oauth_client_assertion(const struct jwt_key *k, const char *kid,
			   const char *client_id, const char *aud, char **out,
			   struct error *e) __attribute__((warn_unused_result));

/* Random jti: 32 hex digits into buf (>= 33 bytes). */
void oauth_jti(char *buf);

/* ---- the oauth2 provider's device authorization grant (RFC 8628) ----
 *
 * For `credfs login PROFILE`: start, show user_code and verification_uri,
 * then call oauth2_device_poll every interval seconds until it returns
 * anything but -EAGAIN.  On 0 the refresh token (if the server gave one)
 * is sealed in the profile's `secret` store entry (created if absent) and
 * *out is the access-token credential. */
struct oauth2_device {
	char user_code[128];
	char verification_uri[1024];
	char verification_uri_complete[1024]; /* or "" */
	int interval;			      /* seconds; raised by slow_down */
	time_t expires;			      /* wall clock */
	char *device_code;		      /* secmem */
	char *token_url;		      /* malloc'd */
};
int oauth2_device_start(const struct provider_req *req, struct oauth2_device *d,
			struct error *e) __attribute__((warn_unused_result));
/* -EAGAIN: authorization_pending or slow_down (d->interval then grows by
 * 5 s); -EACCES: access_denied; -ETIMEDOUT: expired_token; other -errno
 * with e set. */
int oauth2_device_poll(const struct provider_req *req, struct oauth2_device *d,
		       struct cred **out, struct error *e)
    __attribute__((warn_unused_result));
void oauth2_device_free(struct oauth2_device *d);
/* Whether an oauth2 profile's parsed state (profile_cfg.state) says
 * `grant = device_code`. */
bool oauth2_is_device_grant(const void *state);

#endif
