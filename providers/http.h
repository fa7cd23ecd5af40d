/* http: the small libcurl client every HTTP provider uses (nothing in it
 * is specific to one cloud).
 *
 * Plain http is refused unless the host is loopback (127.0.0.0/8, ::1,
 * localhost) or, for a managed identity, the metadata address, so a mistyped
 * endpoint cannot send a signed request or a bearer token in clear.  Redirects
 * are never followed.  Response bodies carry secrets and live in secmem.
 */
#ifndef CREDFS_HTTP_H
#define CREDFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "core/secmem.h"

struct error;
struct http_resp;

struct http_req {
	const char *method; /* "GET", "POST", or another verb (body sent) */
	const char *url;
	/* "Name: value" lines, NULL-ended.  May hold secrets: the copies
	 * libcurl makes are wiped before they are freed. */
	const char *const *headers;
	const char *body; /* POST body or NULL; may be a secret */
	size_t body_len;
	const char *ca_file; /* NULL: the system store */
	int timeout_ms;	     /* whole deadline, retries included */
	int max_attempts;    /* 0: 4 */
	/* Name for error messages, e.g. "AssumeRole". */
	const char *what;
	/* Extra retry test (e.g. an XML "Throttling" code in a 400), called
	 * on a completed response.  May be NULL.  429 and 5xx always retry. */
	bool (*retryable)(const struct http_resp *resp, void *arg);
	void *retryable_arg;
	/* A response header naming the error type (e.g. "x-amzn-ErrorType"),
	 * copied into resp->error_type; NULL: none. */
	const char *error_header;
	/* Plain http to 169.254.169.254 allowed (http_check_url_imds). */
	bool imds;
};

struct http_resp {
	long status;
	struct secbuf body;   /* NUL-terminated; wipe with http_resp_wipe */
	char error_type[128]; /* req->error_header's value (up to a ':'), or ""
			       */
	int attempts;
};

/* 0 when url may be used: https, or http to a loopback host.  Otherwise
 * -EPERM (or -EINVAL for a malformed url) with e set. */
int http_check_url(const char *url, struct error *e)
    __attribute__((warn_unused_result));
/* The same, and plain http to the instance metadata address
 * 169.254.169.254 (port 80) too: for the managed identity endpoint only. */
int http_check_url_imds(const char *url, struct error *e)
    __attribute__((warn_unused_result));
/* The Host header value libcurl will send ("h" or "h:port"), and the
 * path ("/" if none), for request signing. */
int http_url_parts(const char *url, char *host, size_t hostlen, char *path,
		   size_t pathlen) __attribute__((warn_unused_result));
/* Performs the request, retrying throttling and 5xx answers with
 * exponential backoff and jitter until req->timeout_ms runs out.  Returns 0
 * when a response arrived (any status: the caller reads resp->status), or
 * -errno on transport failure with e set ("AssumeRole: connect to HOST:
 * timed out"). */
int http_request(const struct http_req *req, struct http_resp *resp,
		 struct error *e) __attribute__((warn_unused_result));
void http_resp_wipe(struct http_resp *resp);
/* application/x-www-form-urlencoded / RFC 3986 encoding of s, strict
 * (unreserved A-Za-z0-9-_.~ kept, everything else %XX), appended to b. */
int http_urlencode(struct secbuf *b, const char *s)
    __attribute__((warn_unused_result));

#endif
