/* sts: AWS Query API calls (STS, IAM): the response parser (sts_xml.c)
 * and the transport (sts.c).  The providers built on STS live in
 * session_token.c, assume_role.c and web_identity.c (sts_provider.h).
 *
 * Responses are parsed with libxml2: no DTD, no entity expansion, no
 * network; elements are found by local name so namespaces do not matter.
 * Every value is checked (present, non-empty, no control characters)
 * before it becomes part of a credential.
 */
#ifndef CREDFS_AWS_STS_H
#define CREDFS_AWS_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct cred;
struct error;
struct provider_common;

#define STS_VERSION "2011-06-15"
#define IAM_VERSION "2010-05-08"

/* Largest token (session token, web identity token) accepted. */
#define STS_MAX_TOKEN 16384

/* What a successful response must contain. */
enum sts_expect {
	STS_EXPECT_CREDENTIALS, /* Result/Credentials{4 fields} */
	STS_EXPECT_IDENTITY,	/* Result/Arn */
	STS_EXPECT_ACCESS_KEY,	/* Result/AccessKey{AccessKeyId,Secret...} */
	STS_EXPECT_NOTHING,	/* an <ActionResponse> root is enough */
};

struct sts_result {
	char *access_key_id;	 /* secmem; owned by the result */
	char *secret_access_key; /* secmem */
	char *session_token;	 /* secmem; NULL for an access key */
	time_t expiration;	 /* 0 if none */
	char arn[512];		 /* AssumedRoleUser/Arn or the identity Arn */
	char error_code[128];	 /* set when the body was an error */
};

/* Parses body (any status).  0: success with res filled.  An AWS error
 * document: a negative errno chosen from the code (-EACCES for
 * AccessDenied, -EKEYREJECTED for bad keys or tokens, -EAGAIN for
 * throttling, -ENOENT, -EREMOTEIO otherwise), res->error_code set and e
 * "ACTION: CODE: MESSAGE".  Anything else: -EBADMSG, e says why. */
int sts_parse_response(const char *action, enum sts_expect what,
		       const char *body, size_t len, struct sts_result *res,
		       struct error *e) __attribute__((warn_unused_result));
void sts_result_wipe(struct sts_result *res);

/* One signed (or unsigned) Query API call. */
struct sts_call {
	const char *action;   /* "AssumeRole": also the error prefix */
	const char *endpoint; /* base URL */
	const char *region;   /* signing region */
	const char *service;  /* "sts", "iam" */
	const char *ca_file;  /* or NULL */
	int timeout_ms;
	/* 0: the http default (retries throttling, 5xx, dropped
	 * connections); 1 for calls that must not run twice. */
	int max_attempts;
	/* Signs with access_key_id/secret_access_key[/session_token];
	 * NULL sends the request unsigned (AssumeRoleWithWebIdentity). */
	const struct cred *signer;
};
/* form: the url-encoded body, including Action= and Version=. */
int sts_query(const struct sts_call *c, const char *form, size_t form_len,
	      enum sts_expect what, struct sts_result *res, struct error *e)
    __attribute__((warn_unused_result));

/* GetCallerIdentity: the Arn of cred into arn. */
int sts_get_caller_identity(const char *endpoint, const char *region,
			    const struct cred *cred, char *arn, size_t arnlen,
			    struct error *e)
    __attribute__((warn_unused_result));

/* Expands {user} {date} {profile} in tmpl and keeps STS's charset
 * [A-Za-z0-9_+=,.@-] (others become '-'), 2..64 characters. */
void sts_session_name(const char *tmpl, const char *profile, const char *user,
		      time_t now, char *out, size_t outlen);

/* The STS endpoint of a profile: `endpoint`, else
 * https://sts.REGION.amazonaws.com.  region: `region`, else us-east-1. */
void sts_profile_endpoint(const struct provider_common *common, char *url,
			  size_t urllen, const char **region);
/* A plausible region name: [a-z0-9-], 1..32 characters. */
bool sts_region_ok(const char *region);

#endif
