/* oauth_http: the JSON-over-HTTP call every OAuth-style provider makes
 * (the oauth2 token endpoint, discovery, Entra, IMDS, Key Vault, Google's
 * token endpoint, STS and IAM Credentials).
 *
 * An answer is parsed with cJSON; a non-2xx answer becomes an error that
 * names the call, the HTTP status and the server's error code and text in
 * one line, whatever shape the body has: OAuth 2.0 {"error": "x",
 * "error_description": "y"}, Google and Azure REST {"error": {"status" or
 * "code", "message"}}, GitHub {"message"}.  No request body or header is
 * ever quoted (they hold secrets).
 */
#ifndef CREDFS_OAUTH_HTTP_H
#define CREDFS_OAUTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/secmem.h"

struct cJSON;
struct error;

struct oauth_http_call {
	const char *what;   /* "Token (client_credentials)", for errors */
	const char *method; /* "POST" or "GET" */
	const char *url;
	/* Extra "Name: value" lines (NULL-ended, may be NULL); at most 6. */
	const char *const *headers;
	const char *content_type; /* of the body; NULL: no body */
	const char *body;
	size_t body_len;
	const char *ca_file; /* NULL: the system store */
	int timeout_ms;
	int max_attempts; /* 0: http.c's default */
	bool imds;	  /* plain http to 169.254.169.254 allowed */
	/* Who answers, for "HTTP 400 with no OAuth error in the body". */
	const char *vendor;
};

/* Performs call (the url checked with http_check_url first) and parses
 * the answer.  0 with *out the JSON object of a 2xx answer (cJSON_Delete
 * it); else -errno with e set and code (if not NULL) the server's error
 * code ("" if none): -EKEYREJECTED for a refused grant or credential
 * (invalid_client, invalid_grant, UNAUTHENTICATED, 401), -EACCES for a
 * permission (access_denied, PERMISSION_DENIED, 403), -EINVAL for a bad
 * request, -ENOENT for not found, -EAGAIN for authorization_pending,
 * slow_down, throttling and 5xx, -ETIMEDOUT for expired_token, -EBADMSG
 * for a 2xx body that is not a JSON object, -EPROTO otherwise. */
int oauth_http_json(const struct oauth_http_call *call, struct cJSON **out,
		    char *code, size_t codelen, struct error *e)
    __attribute__((warn_unused_result));

/* Copies remote text for an error message: control characters become
 * spaces, runs of spaces one, "..." when cut. */
void oauth_http_clean_text(const char *s, char *buf, size_t len);

/* application/x-www-form-urlencoded "&key=value" appended to b. */
int oauth_http_form_add(struct secbuf *b, const char *key, const char *value)
    __attribute__((warn_unused_result));

#endif
