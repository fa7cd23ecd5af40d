/* iam: access key rotation (see iam.h). */
#include "core/util.h"
#include "providers/aws/iam.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/secmem.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "providers/http.h"
#include "providers/aws/sts.h"

#define IAM_ENDPOINT "https://iam.amazonaws.com"
#define IAM_TIMEOUT_MS 20000
#define IAM_VERIFY_MS 15000

struct iam_ctx {
	char iam_url[512];
	char sts_url[512];
	const char *region;
	char *ca_file;
};

static void ctx_init(struct iam_ctx *x, const struct cfg_section *profile,
		     const char *endpoint, const char *region)
{
	const char *ca = profile ? cfg_get(profile, "ca_file") : NULL;

	memset(x, 0, sizeof(*x));
	x->region = region && *region ? region : "us-east-1";
	if (endpoint && *endpoint) {
		snprintf(x->iam_url, sizeof(x->iam_url), "%s", endpoint);
		snprintf(x->sts_url, sizeof(x->sts_url), "%s", endpoint);
	} else {
		snprintf(x->iam_url, sizeof(x->iam_url), "%s", IAM_ENDPOINT);
		snprintf(x->sts_url, sizeof(x->sts_url),
			 "https://sts.%s.amazonaws.com", x->region);
	}
	if (ca && *ca)
		x->ca_file = config_expand_path(ca);
}

static void ctx_free(struct iam_ctx *x)
{
	free(x->ca_file);
	x->ca_file = NULL;
}

static int iam_call(const struct iam_ctx *x, const char *action,
		    const struct cred *signer, const char *extra,
		    const char *key_id, enum sts_expect what,
		    struct sts_result *res, struct error *e)
{
	struct secbuf form = {0};
	int r;

	if ((r = secbuf_printf(&form, "Action=%s&Version=%s", action,
			       IAM_VERSION)) < 0)
		goto out;
	if (key_id) {
		if ((r = secbuf_printf(&form, "&AccessKeyId=")) < 0 ||
		    (r = http_urlencode(&form, key_id)) < 0)
			goto out;
	}
	if (extra && (r = secbuf_printf(&form, "&%s", extra)) < 0)
		goto out;
	struct sts_call c = {
	    .action = action,
	    .endpoint = x->iam_url,
	    /* IAM is global: always signed for us-east-1 */
	    .region = "us-east-1",
	    .service = "iam",
	    .ca_file = x->ca_file,
	    .timeout_ms = IAM_TIMEOUT_MS,
	    /* a retried CreateAccessKey whose first answer was lost would
	     * leave a second, unknown key behind */
	    .max_attempts = strcmp(action, "CreateAccessKey") == 0 ? 1 : 0,
	    .signer = signer,
	};
	r = sts_query(&c, form.data, form.len, what, res, e);
out:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, "%s: out of memory", action);
	secbuf_wipe(&form);
	return r;
}

static int identity(const struct iam_ctx *x, const struct cred *c, char *arn,
		    size_t len, struct error *e)
{
	static const char form[] =
	    "Action=GetCallerIdentity&Version=" STS_VERSION;
	struct sts_result res;
	struct sts_call call = {
	    .action = "GetCallerIdentity",
	    .endpoint = x->sts_url,
	    .region = x->region,
	    .service = "sts",
	    .ca_file = x->ca_file,
	    .timeout_ms = IAM_TIMEOUT_MS,
	    .signer = c,
	};
	int r = sts_query(&call, form, sizeof(form) - 1, STS_EXPECT_IDENTITY,
			  &res, e);

	if (r == 0)
		snprintf(arn, len, "%s", res.arn);
	sts_result_wipe(&res);
	return r;
}

int iam_rotate_key(const struct cfg_section *profile, const char *endpoint,
		   const char *region, const struct cred *old,
		   struct cred **new_out, struct error *e)
{
	struct iam_ctx x;
	struct sts_result res = {0};
	struct cred *nc = NULL;
	char old_arn[512], new_arn[512] = "";
	struct error ve = {0}, de;
	int64_t until;
	int r, delay = 250;

	*new_out = NULL;
	ctx_init(&x, profile, endpoint, region);
	if (!old || !cred_get(old, "access_key_id") ||
	    !cred_get(old, "secret_access_key")) {
		error_set(e, EINVAL,
			  "rotate: the stored credential has no "
			  "access_key_id/secret_access_key");
		r = -EINVAL;
		goto out;
	}
	if (cred_get(old, "session_token")) {
		error_set(e, EINVAL,
			  "rotate: only a long-lived access key can be "
			  "rotated, not session credentials");
		r = -EINVAL;
		goto out;
	}
	if ((r = identity(&x, old, old_arn, sizeof(old_arn), e)) < 0)
		goto out;
	if ((r = iam_call(&x, "CreateAccessKey", old, NULL, NULL,
			  STS_EXPECT_ACCESS_KEY, &res, e)) < 0)
		goto out;
	nc = cred_new();
	if (!nc) {
		r = -ENOMEM;
		goto rollback;
	}
	if ((r = cred_set(nc, "access_key_id", res.access_key_id)) < 0 ||
	    (r = cred_set(nc, "secret_access_key", res.secret_access_key)) < 0)
		goto rollback;
	cred_set_obtained(nc, time(NULL));

	/* A new key is eventually consistent on AWS: retry for a while. */
	until = util_mono_ms() + IAM_VERIFY_MS;
	for (;;) {
		r = identity(&x, nc, new_arn, sizeof(new_arn), &ve);
		if (r == 0 || r != -EKEYREJECTED ||
		    util_mono_ms() + delay > until)
			break;
		usleep((useconds_t)delay * 1000);
		delay = delay < 2000 ? delay * 2 : 2000;
	}
	if (r < 0) {
		error_set(e, EIO, "rotate: new key %s does not work: %s",
			  res.access_key_id, ve.msg);
		goto rollback;
	}
	if (strcmp(new_arn, old_arn) != 0) {
		error_set(e, EPROTO, "rotate: new key %s belongs to %s, not %s",
			  res.access_key_id, new_arn, old_arn);
		r = -EPROTO;
		goto rollback;
	}
	*new_out = nc;
	nc = NULL; /* transferred */
	r = 0;
	goto out;
rollback:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, "rotate: out of memory");
	if (res.access_key_id) {
		struct sts_result dr;

		if (iam_call(&x, "DeleteAccessKey", old, NULL,
			     res.access_key_id, STS_EXPECT_NOTHING, &dr,
			     &de) < 0) {
			char first[sizeof(e->msg)];

			snprintf(first, sizeof(first), "%s", e->msg);
			error_set(e, EIO,
				  "%.240s; the unverified new key %s is still "
				  "there: %.200s",
				  first, res.access_key_id, de.msg);
		}
		sts_result_wipe(&dr);
	}
out:
	cred_unref(nc);
	sts_result_wipe(&res);
	ctx_free(&x);
	return r;
}

int iam_delete_key(const char *endpoint, const char *region,
		   const struct cred *signer, const char *access_key_id,
		   struct error *e)
{
	struct iam_ctx x;
	struct sts_result res;
	int r;

	if (!access_key_id || !*access_key_id) {
		error_set(e, EINVAL, "DeleteAccessKey: no access key id");
		return -EINVAL;
	}
	ctx_init(&x, NULL, endpoint, region);
	r = iam_call(&x, "DeleteAccessKey", signer, NULL, access_key_id,
		     STS_EXPECT_NOTHING, &res, e);
	sts_result_wipe(&res);
	ctx_free(&x);
	return r;
}

int iam_set_key_status(const char *endpoint, const char *region,
		       const struct cred *signer, const char *access_key_id,
		       const char *status, struct error *e)
{
	struct iam_ctx x;
	struct sts_result res;
	char extra[32];
	int r;

	if (!status || (strcmp(status, "Active") != 0 &&
			strcmp(status, "Inactive") != 0)) {
		error_set(e, EINVAL,
			  "UpdateAccessKey: status must be Active or "
			  "Inactive");
		return -EINVAL;
	}
	if (!access_key_id || !*access_key_id) {
		error_set(e, EINVAL, "UpdateAccessKey: no access key id");
		return -EINVAL;
	}
	snprintf(extra, sizeof(extra), "Status=%s", status);
	ctx_init(&x, NULL, endpoint, region);
	r = iam_call(&x, "UpdateAccessKey", signer, extra, access_key_id,
		     STS_EXPECT_NOTHING, &res, e);
	sts_result_wipe(&res);
	ctx_free(&x);
	return r;
}
