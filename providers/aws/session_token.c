/* aws-session-token: GetSessionToken signed with the source profile's
 * long-lived keys, with an MFA code from `credfs login` when mfa_serial is
 * set. */
#include <errno.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/provider.h"
#include "providers/aws/sts.h"
#include "providers/aws/sts_provider.h"

struct session_token_state {
	int duration;	  /* seconds */
	char *mfa_serial; /* or NULL */
};

static void free_state(void *p)
{
	struct session_token_state *st = p;

	if (!st)
		return;
	free(st->mfa_serial);
	free(st);
}

static int parse(const struct cfg_section *s, struct diag *d, void **state)
{
	struct session_token_state *st;
	int secs, r;

	sts_parse_common(s, d);
	if ((r = sts_parse_duration(s, d, 43200, 900, 129600, &secs)) < 0)
		return r;
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	st->duration = secs;
	st->mfa_serial = cfg_strdup(s, "mfa_serial");
	*state = st;
	return 0;
}

static int fetch(const struct provider_req *req, struct cred **out,
		 struct error *e)
{
	static const char action[] = "GetSessionToken";
	const struct session_token_state *st = req->state;
	struct secbuf form = {0};
	int r;

	if (!st)
		return error_set(e, EINVAL, "%s: bad duration", action);
	if ((r = sts_need_source(req, action, e)) < 0)
		return r;
	if ((r = sts_form_add(&form, "Action", action)) < 0 ||
	    (r = sts_form_add(&form, "Version", STS_VERSION)) < 0 ||
	    (r = sts_form_add_int(&form, "DurationSeconds", st->duration)) <
		0 ||
	    (r = sts_add_mfa(req, st->mfa_serial, action, &form, e)) < 0)
		goto out;
	r = sts_fetch(req, action, &form, req->source, out, e);
out:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, "%s: out of memory", action);
	secbuf_wipe(&form);
	return r;
}

static const char *const keys[] = {"duration", "mfa_serial", NULL};
static const char *const no_keys[] = {NULL};

const struct provider_ops provider_aws_session_token = {
    .name = "aws-session-token",
    .keys = keys,
    .required = no_keys,
    .source = PROVIDER_SOURCE_REQUIRED,
    .cacheable = true,
    .fields = sts_fields,
    .parse = parse,
    .free_state = free_state,
    .fetch = fetch,
};
