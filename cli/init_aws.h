/* init_aws: the profiles of an AWS config as credfs [profile] sections,
 * for `credfs init` (init_cmd.c).
 *
 * Each AWS profile is mapped the way botocore resolves it: role_arn with
 * source_profile (aws-assume-role), then web_identity_token_file
 * (aws-web-identity), then sso_* / sso_session (aws-sso), then
 * credential_process (exec), then static keys (aws-static, secret =
 * aws-NAME as `credfs store import-aws` names it; with mfa_serial an
 * aws-session-token over them).  aws-vault's include_profile merges the
 * included profile's keys under the profile's own.  A profile's endpoint_url
 * (LocalStack, moto, a private endpoint) becomes the STS providers'
 * endpoint, as botocore sends those calls there too.
 *
 * WARNING: key values of the credentials file (and any aws_* key in the
 * config) are never kept: only which sections have aws_access_key_id.
 */
#ifndef CREDFS_INIT_AWS_H
#define CREDFS_INIT_AWS_H

#include <stddef.h>

struct init_aws {
	char *body;	    /* the [profile] sections, config text (owned) */
	char **served;	    /* AWS profile names served, config order (owned) */
	size_t nserved;	    /* each is also a credfs profile of that name */
	size_t nleft;	    /* profiles left out, each named on stderr */
	size_t ncreds_used; /* aws-static profiles whose keys are in creds */
	size_t nmfa;	    /* profiles that ask for an MFA code */
	size_t nsso;	    /* aws-sso profiles */
};

/* Reads the AWS config `from` and the section names of the shared
 * credentials file `creds` (which may be missing), and maps every profile.
 * Every key that is not converted, and every profile left out, is named on
 * stderr.  Returns the exit status: 0 (out filled; free it with
 * init_aws_free), 1 unreadable input, 2 input that is not INI. */
int init_aws_map(const char *from, const char *creds, struct init_aws *out);
void init_aws_free(struct init_aws *a);

#endif
