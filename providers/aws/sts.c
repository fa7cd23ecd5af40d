/* sts: one Query API call (signed or not), GetCallerIdentity, and the
 * helpers every STS profile shares (see sts.h). */
#include "providers/aws/sts.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cred.h"
#include "core/error.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "providers/http.h"
#include "providers/aws/sigv4.h"

/* ---- calls ----------------------------------------------------------- */

static bool throttled(const struct http_resp *resp, void *arg)
{
	const char *action = arg;
	struct sts_result res;
	struct error e;
	int r;

	if (resp->status != 400 || !resp->body.len)
		return false;
	r = sts_parse_response(action, STS_EXPECT_NOTHING, resp->body.data,
			       resp->body.len, &res, &e);
	sts_result_wipe(&res);
	return r == -EAGAIN;
}

int sts_query(const struct sts_call *c, const char *form, size_t form_len,
	      enum sts_expect what, struct sts_result *res, struct error *e)
{
	static const char ctype[] =
	    "Content-Type: application/x-www-form-urlencoded; "
	    "charset=utf-8";
	const char *sign_hdrs[] = {ctype, NULL};
	const char *hdrs[6] = {0};
	struct sigv4_out sig = {0};
	struct http_resp resp = {0};
	char host[256], path[512];
	size_t nh = 0;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = http_check_url(c->endpoint, e)) < 0)
		return r;
	if ((r = http_url_parts(c->endpoint, host, sizeof(host), path,
				sizeof(path))) < 0) {
		error_set(e, EIO, "%s: endpoint URL too long", c->action);
		return r;
	}
	hdrs[nh++] = ctype;
	if (c->signer) {
		struct sigv4_req sr = {
		    .method = "POST",
		    .host = host,
		    .path = path,
		    .headers = sign_hdrs,
		    .body = form,
		    .body_len = form_len,
		    .region = c->region,
		    .service = c->service,
		    .access_key_id = cred_get(c->signer, "access_key_id"),
		    .secret_access_key =
			cred_get(c->signer, "secret_access_key"),
		    .session_token = cred_get(c->signer, "session_token"),
		    .now = time(NULL),
		};

		if (!sr.access_key_id || !sr.secret_access_key) {
			error_set(e, EINVAL,
				  "%s: source credential has no "
				  "access_key_id/secret_access_key",
				  c->action);
			return -EINVAL;
		}
		if ((r = sigv4_sign(&sr, &sig)) < 0) {
			error_set(e, EIO, "%s: cannot sign the request",
				  c->action);
			return r;
		}
		hdrs[nh++] = sig.date_header;
		hdrs[nh++] = sig.authorization;
		if (sig.security_token_header)
			hdrs[nh++] = sig.security_token_header;
	}
	struct http_req hr = {
	    .method = "POST",
	    .url = c->endpoint,
	    .headers = hdrs,
	    .body = form,
	    .body_len = form_len,
	    .ca_file = c->ca_file,
	    .timeout_ms = c->timeout_ms,
	    .max_attempts = c->max_attempts,
	    .what = c->action,
	    .retryable = throttled,
	    .retryable_arg = (void *)c->action,
	};
	if ((r = http_request(&hr, &resp, e)) < 0)
		goto out;
	r = sts_parse_response(c->action, what, resp.body.data, resp.body.len,
			       res, e);
	if (r == -EBADMSG && (resp.status < 200 || resp.status > 299))
		error_set(e, EIO, "%s: HTTP %ld from %s", c->action,
			  resp.status, host);
	else if (r == 0 && (resp.status < 200 || resp.status > 299)) {
		sts_result_wipe(res);
		error_set(e, EREMOTEIO, "%s: HTTP %ld from %s", c->action,
			  resp.status, host);
		r = -EREMOTEIO;
	}
out:
	http_resp_wipe(&resp);
	sigv4_out_wipe(&sig);
	return r;
}

int sts_get_caller_identity(const char *endpoint, const char *region,
			    const struct cred *cred, char *arn, size_t arnlen,
			    struct error *e)
{
	static const char form[] =
	    "Action=GetCallerIdentity&Version=" STS_VERSION;
	char url[512];
	struct sts_result res;
	int r;

	if (!region || !*region)
		region = "us-east-1";
	if (endpoint && *endpoint)
		snprintf(url, sizeof(url), "%s", endpoint);
	else
		snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com",
			 region);
	struct sts_call c = {
	    .action = "GetCallerIdentity",
	    .endpoint = url,
	    .region = region,
	    .service = "sts",
	    .timeout_ms = 15000,
	    .signer = cred,
	};
	r = sts_query(&c, form, sizeof(form) - 1, STS_EXPECT_IDENTITY, &res, e);
	if (r == 0)
		snprintf(arn, arnlen, "%s", res.arn);
	sts_result_wipe(&res);
	return r;
}

/* ---- profile helpers --------------------------------------------------- */

bool sts_region_ok(const char *r)
{
	if (!*r || strlen(r) > 32)
		return false;
	for (; *r; r++)
		if (!islower((unsigned char)*r) &&
		    !isdigit((unsigned char)*r) && *r != '-')
			return false;
	return true;
}

void sts_profile_endpoint(const struct provider_common *common, char *url,
			  size_t urllen, const char **region)
{
	const char *ep = common->endpoint;
	const char *rg = common->region;

	if (!rg || !sts_region_ok(rg))
		rg = "us-east-1";
	*region = rg;
	if (ep && *ep)
		snprintf(url, urllen, "%s", ep);
	else
		snprintf(url, urllen, "https://sts.%s.amazonaws.com", rg);
}

static bool session_char_ok(unsigned char c)
{
	return isalnum(c) || strchr("_+=,.@-", c) != NULL;
}

void sts_session_name(const char *tmpl, const char *profile, const char *user,
		      time_t now, char *out, size_t outlen)
{
	char date[16];
	struct tm tm;
	size_t o = 0, max = outlen ? outlen - 1 : 0;
	const char *p;

	if (max > 64)
		max = 64;
	if (!gmtime_r(&now, &tm))
		memset(&tm, 0, sizeof(tm));
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	for (p = tmpl ? tmpl : "credfs-{user}"; *p && o < max;) {
		const char *sub = NULL;

		if (strncmp(p, "{user}", 6) == 0)
			sub = user ? user : "user", p += 6;
		else if (strncmp(p, "{date}", 6) == 0)
			sub = date, p += 6;
		else if (strncmp(p, "{profile}", 9) == 0)
			sub = profile ? profile : "profile", p += 9;
		if (sub) {
			for (; *sub && o < max; sub++)
				out[o++] = session_char_ok((unsigned char)*sub)
					       ? *sub
					       : '-';
			continue;
		}
		out[o++] = session_char_ok((unsigned char)*p) ? *p : '-';
		p++;
	}
	if (o < 2 && max >= 6) {
		memcpy(out, "credfs", 6);
		o = 6;
	}
	if (outlen)
		out[o] = 0;
}
