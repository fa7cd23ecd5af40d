/* sts_provider: helpers of the STS-based providers (see sts_provider.h). */
#include "providers/aws/sts_provider.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/error.h"
#include "core/provider.h"
#include "core/util.h"
#include "providers/aws/sts.h"
#include "providers/http.h"

const char *const sts_fields[] = {"access_key_id", "secret_access_key",
				  "session_token", NULL};

void sts_parse_common(const struct cfg_section *s, struct diag *d)
{
	const char *rg = cfg_get(s, "region");
	const char *ep = cfg_get(s, "endpoint");
	struct error e;

	if (rg && !sts_region_ok(rg))
		cfg_error(d, cfg_line(s, "region"),
			  "region \"%s\" is not a region name", rg);
	if (ep && http_check_url(ep, &e) < 0)
		cfg_error(d, cfg_line(s, "endpoint"), "%s", e.msg);
}

int sts_parse_duration(const struct cfg_section *s, struct diag *d, int def,
		       int min, int max, int *secs)
{
	const char *v = cfg_get(s, "duration");

	*secs = def;
	if (!v)
		return 0;
	if (util_duration_parse(v, secs) < 0) {
		cfg_error(d, cfg_line(s, "duration"),
			  "duration \"%s\" is not a duration (e.g. 1h)", v);
		return -EINVAL;
	}
	if (*secs < min || *secs > max) {
		cfg_error(d, cfg_line(s, "duration"),
			  "duration must be between %ds and %ds", min, max);
		return -EINVAL;
	}
	return 0;
}

void sts_check_role_arn(const struct cfg_section *s, struct diag *d)
{
	const char *arn = cfg_get(s, "role_arn");

	if (arn && (strncmp(arn, "arn:", 4) != 0 || !strstr(arn, ":role/")))
		cfg_error(d, cfg_line(s, "role_arn"),
			  "role_arn \"%s\" is not a role ARN "
			  "(arn:aws:iam::ACCOUNT:role/NAME)",
			  arn);
}

char *sts_dup_present(const struct cfg_section *s, const char *key)
{
	const char *v = cfg_get(s, key);

	return v ? strdup(v) : NULL;
}

int sts_form_add(struct secbuf *b, const char *key, const char *value)
{
	int r;

	if ((r = secbuf_printf(b, "%s%s=", b->len ? "&" : "", key)) < 0)
		return r;
	return http_urlencode(b, value);
}

int sts_form_add_int(struct secbuf *b, const char *key, long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", v);
	return sts_form_add(b, key, num);
}

static int result_to_cred(const struct sts_result *res, struct cred **out)
{
	struct cred *c = cred_new();
	int r;

	if (!c)
		return -ENOMEM;
	if ((r = cred_set(c, "access_key_id", res->access_key_id)) < 0 ||
	    (r = cred_set(c, "secret_access_key", res->secret_access_key)) <
		0 ||
	    (r = cred_set(c, "session_token", res->session_token)) < 0) {
		cred_unref(c);
		return r;
	}
	cred_set_expiration(c, res->expiration);
	cred_set_obtained(c, time(NULL));
	*out = c;
	return 0;
}

static bool mfa_code_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n != 6)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int sts_add_mfa(const struct provider_req *req, const char *serial,
		const char *action, struct secbuf *form, struct error *e)
{
	int r;

	if (!serial || !*serial)
		return 0;
	if (!req->mfa_code || !*req->mfa_code)
		return error_set(
		    e, ENOKEY, "%s: needs an MFA code: run `credfs login %s`",
		    action, req->profile_name ? req->profile_name : "");
	if (!mfa_code_ok(req->mfa_code))
		return error_set(e, EINVAL, "%s: the MFA code must be 6 digits",
				 action);
	if ((r = sts_form_add(form, "SerialNumber", serial)) < 0 ||
	    (r = sts_form_add(form, "TokenCode", req->mfa_code)) < 0)
		return r;
	return 0;
}

int sts_fetch(const struct provider_req *req, const char *action,
	      const struct secbuf *form, const struct cred *signer,
	      struct cred **out, struct error *e)
{
	char url[512];
	const char *region;
	struct sts_result res = {0};
	int r;

	sts_profile_endpoint(req->common, url, sizeof(url), &region);
	struct sts_call c = {
	    .action = action,
	    .endpoint = url,
	    .region = region,
	    .service = "sts",
	    .ca_file = req->common->ca_file,
	    .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000,
	    .signer = signer,
	};
	if ((r = sts_query(&c, form->data, form->len, STS_EXPECT_CREDENTIALS,
			   &res, e)) < 0)
		goto out;
	if (res.expiration && res.expiration < time(NULL)) {
		char t[32];

		util_time_format(res.expiration, t, sizeof(t));
		r = error_set(e, EKEYEXPIRED,
			      "%s: credentials already expired at %s (check "
			      "the clock)",
			      action, t);
		goto out;
	}
	if ((r = result_to_cred(&res, out)) < 0)
		error_set(e, ENOMEM, "%s: out of memory", action);
out:
	sts_result_wipe(&res);
	return r;
}

int sts_need_source(const struct provider_req *req, const char *action,
		    struct error *e)
{
	if (!req->source || !cred_get(req->source, "access_key_id") ||
	    !cred_get(req->source, "secret_access_key"))
		return error_set(e, EINVAL,
				 "%s: needs a source profile with "
				 "access_key_id and secret_access_key",
				 action);
	return 0;
}

static void current_user(char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(geteuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)geteuid());
}

void sts_role_session_name(const struct provider_req *req, const char *tmpl,
			   char *buf, size_t len)
{
	char user[256];

	current_user(user, sizeof(user));
	sts_session_name(tmpl, req->profile_name, user, time(NULL), buf, len);
}
