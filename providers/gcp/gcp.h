/* gcp: what the Google Cloud providers share.
 *
 * Google's token endpoints answer in two shapes: OAuth 2.0 ones (the
 * token endpoint, STS) {"access_token", "expires_in"} and errors
 * {"error": "invalid_grant", "error_description": ...}; Google APIs (IAM
 * Credentials) their own fields and the envelope {"error": {"code",
 * "message", "status"}}.  Both are parsed with cJSON here, every value is
 * checked (type, length, no control character) before it becomes a
 * credential field, and every error names the call and Google's code.
 */
#ifndef CREDFS_GCP_H
#define CREDFS_GCP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/secmem.h"
#include "providers/oauth_http.h"

struct cJSON;
struct cred;
struct error;
struct provider_req;
struct cfg_section;
struct diag;

#define GCP_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GCP_STS_URI "https://sts.googleapis.com/v1/token"
#define GCP_IAM_URI "https://iamcredentials.googleapis.com"
#define GCP_CLOUD_PLATFORM "https://www.googleapis.com/auth/cloud-platform"
/* Longest token or secret value accepted from a remote or a file. */
#define GCP_MAX_TOKEN 16384

/* The keys every GCP profile may carry besides its own, borrowed from
 * the request (req->common, parsed by the config). */
struct gcp_conn {
	const char *endpoint; /* `endpoint =`, or NULL: the default */
	const char *ca_file;  /* expanded path, or NULL */
	int timeout_ms;
};
/* c from req; -EINVAL with e set for an endpoint that may not be used. */
int gcp_parse_conn(const struct provider_req *req, struct gcp_conn *c,
		   struct error *e) __attribute__((warn_unused_result));
/* The parse-time check of `endpoint =` (a usable URL): 0, or -EINVAL
 * after reporting to d. */
int gcp_check_endpoint(const struct cfg_section *s, struct diag *d);

/* `scopes = a b` or `a, b` into one space-separated string (malloc'd);
 * unset: cloud-platform.  -EINVAL for a scope with a control character. */
int gcp_parse_scopes(const char *spec, char **out)
    __attribute__((warn_unused_result));

/* One call to a Google endpoint. */
struct gcp_call {
	const char *what; /* "STS token exchange", for errors */
	const char *url;
	const struct gcp_conn *conn;
	const char *bearer; /* Authorization: Bearer, or NULL */
	bool json;	    /* body is JSON, else a form */
};
/* POSTs body, parses the answer.  0 with *out the JSON object of a 2xx
 * answer (cJSON_Delete it), or -errno with e naming the call, the HTTP
 * status and Google's error code and text: -EKEYREJECTED for a refused
 * grant or credential, -EACCES for a permission, -EINVAL for a bad
 * request, -ENOENT for no such account, -EAGAIN for throttling, -EBADMSG
 * for a body that is not a JSON object, -EPROTO otherwise. */
int gcp_post(const struct gcp_call *call, const struct secbuf *body,
	     struct cJSON **out, struct error *e)
    __attribute__((warn_unused_result));

/* A string member that may become a credential field: present, at most
 * max bytes, printable ASCII without spaces.  *v is borrowed from j. */
int gcp_json_token(const char *what, const struct cJSON *j, const char *name,
		   const char **v, struct error *e)
    __attribute__((warn_unused_result));
/* An OAuth 2.0 token response into c: access_token (and id_token when
 * present) and the expiration from expires_in (1 s .. 7 d). */
int gcp_oauth_response(const char *what, const struct cJSON *j, struct cred *c,
		       struct error *e) __attribute__((warn_unused_result));
/* The exp claim of a JWT issued by Google (not verified: it came over
 * TLS from Google), for an ID token's expiration. */
int gcp_jwt_exp(const char *what, const char *token, time_t *exp,
		struct error *e) __attribute__((warn_unused_result));

/* Where the long-lived secret of a profile is: the sealed store entry
 * named by `secret =`, or (tests) the JSON file `secret_file =` (a service
 * account key or authorized_user file, owned by the user, mode 0600). */
struct gcp_secret_ref {
	char *entry; /* or NULL */
	char *file;  /* expanded, or NULL */
};
/* Exactly one of secret / secret_file, parsed at config load; problems go
 * to d with their line.  0, -EINVAL (reported) or -ENOMEM. */
int gcp_parse_secret(const struct cfg_section *s, const char *provider,
		     struct diag *d, struct gcp_secret_ref *ref)
    __attribute__((warn_unused_result));
void gcp_secret_ref_free(struct gcp_secret_ref *ref);
/* The secret ref names, read into a cred of its string members.  Each of
 * need must be present. */
int gcp_load_secret(const struct provider_req *req,
		    const struct gcp_secret_ref *ref, const char *const *need,
		    struct cred **out, struct error *e)
    __attribute__((warn_unused_result));
/* The string members of a JSON object (a service-account key file, an
 * authorized_user ADC file) into c, for `credfs store import-gcp` and
 * secret_file.  what names the input in errors; no value is quoted. */
int gcp_secret_from_json(const char *data, size_t len, const char *what,
			 struct cred *c, struct error *e)
    __attribute__((warn_unused_result));
/* Checks a service-account key before it is sealed: type service_account
 * (when present), client_email, private_key_id, a private_key that loads
 * as an RSA key, a token_uri that is https (or loopback http). */
int gcp_key_check(const struct cred *c, const char *what, struct error *e)
    __attribute__((warn_unused_result));
/* A subject token from a file, trimmed, in secmem. */
int gcp_read_token_file(const char *what, const char *path, char **out,
			struct error *e) __attribute__((warn_unused_result));

/* IAM Credentials generateAccessToken at url (the full
 * ".../serviceAccounts/EMAIL:generateAccessToken" URL) with bearer: fills
 * c's access_token and expiration.  scopes and delegates are
 * space-separated (delegates may be NULL); lifetime 0 leaves Google's
 * default (1 h). */
int gcp_iam_access_token(const struct gcp_conn *conn, const char *url,
			 const char *bearer, const char *scopes,
			 const char *delegates, int lifetime, struct cred *c,
			 struct error *e) __attribute__((warn_unused_result));

#endif
