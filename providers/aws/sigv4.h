/* sigv4: AWS Signature Version 4 request signing (header form).
 *
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
#ifndef CREDFS_AWS_SIGV4_H
#define CREDFS_AWS_SIGV4_H

#include <stddef.h>
#include <time.h>

struct sigv4_req {
	const char *method; /* "GET", "POST" */
	const char *host;   /* Host header value: "h" or "h:port" */
	const char *path;   /* URI-encoded path, "/" if empty */
	const char *query;  /* raw "a=b&c=d" (NULL or "" for none) */
	/* Extra headers to sign and send, "Name: value", NULL-ended. */
	const char *const *headers;
	const void *body;
	size_t body_len;
	const char *region;
	const char *service;
	const char *access_key_id;
	const char *secret_access_key; /* secret */
	const char *session_token;     /* secret; NULL for none */
	time_t now;
};

/* What the caller adds to the request.  authorization and amz_date are
 * not secret (the signature is a MAC over this one request);
 * security_token_header holds the session token and is in secmem. */
struct sigv4_out {
	char amz_date[17];	     /* "20150830T123600Z" */
	char authorization[1024];    /* "Authorization: AWS4-HMAC-SHA256 ..." */
	char date_header[32];	     /* "X-Amz-Date: 20150830T123600Z" */
	char *security_token_header; /* "X-Amz-Security-Token: ..." or NULL */
	/* Only when sigv4_sign_debug asked for them (tests): secmem. */
	char *canonical_request;
	char *string_to_sign;
};

int sigv4_sign(const struct sigv4_req *req, struct sigv4_out *out)
    __attribute__((warn_unused_result));
/* Same, also filling canonical_request and string_to_sign. */
int sigv4_sign_debug(const struct sigv4_req *req, struct sigv4_out *out)
    __attribute__((warn_unused_result));
/* Wipes and frees the secmem parts of out. */
void sigv4_out_wipe(struct sigv4_out *out);

#endif
