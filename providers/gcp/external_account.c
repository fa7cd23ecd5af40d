/* gcp-external-account: workload identity federation.
 *
 * Exchanges a subject token (an OIDC JWT from `token_file` or from the
 * `source =` profile's `token_field`) at Google's Security Token Service
 * (RFC 8693 token exchange, POST https://sts.googleapis.com/v1/token) for
 * a federated access token of the pool `audience`; with
 * `service_account_impersonation_url`, trades that token at IAM
 * Credentials for a service account's access token, as Google's client
 * libraries do for an external_account ADC file.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "providers/gcp/gcp.h"
#include "providers/http.h"

static const char what_sts[] = "STS token exchange";

static const char *const token_types[] = {
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:saml2",
    "urn:ietf:params:aws:token-type:aws4_request",
    NULL,
};

struct gcp_ext_cfg {
	struct gcp_conn conn;
	char *audience;
	char *subject_token_type;
	char *token_file;  /* or NULL: the source's field */
	char *token_field; /* NULL: id_token, access_token or token */
	char *scopes;
	char *impersonation_url; /* or NULL */
	int lifetime;		 /* impersonated token, 0: default */
};

static void ext_free_state(void *p)
{
	struct gcp_ext_cfg *c = p;

	if (!c)
		return;
	free(c->audience);
	free(c->subject_token_type);
	free(c->token_file);
	free(c->token_field);
	free(c->scopes);
	free(c->impersonation_url);
	free(c);
}

/* The section's problem, if any, with the key it is about in *key. */
static const char *ext_check(const struct cfg_section *s, bool has_source,
			     int *lifetime, const char **key)
{
	const char *aud = cfg_get(s, "audience");
	const char *tt = cfg_get(s, "subject_token_type");
	const char *imp = cfg_get(s, "service_account_impersonation_url");
	const char *lt = cfg_get(s, "lifetime");
	const char *tf = cfg_get(s, "token_file");
	size_t i;

	*lifetime = 0;
	*key = "audience";
	if (!aud || strncmp(aud, "//iam.googleapis.com/", 21) != 0)
		return "audience must be a workload identity pool provider "
		       "(//iam.googleapis.com/projects/NUMBER/locations/global/"
		       "workloadIdentityPools/POOL/providers/PROVIDER)";
	*key = "subject_token_type";
	if (tt) {
		for (i = 0; token_types[i]; i++)
			if (strcmp(tt, token_types[i]) == 0)
				break;
		if (!token_types[i])
			return "subject_token_type must be one of STS's "
			       "urn:ietf:params:oauth:token-type:jwt, "
			       ":id_token, :saml2 or "
			       "urn:ietf:params:aws:token-type:aws4_request";
	}
	*key = tf ? "token_file" : "source";
	if (tf && *tf && has_source)
		return "token_file and source are exclusive";
	if ((!tf || !*tf) && !has_source)
		return "gcp-external-account needs token_file or source";
	*key = "service_account_impersonation_url";
	if (imp) {
		size_t n = strlen(imp);
		const char *suf = ":generateAccessToken";
		if (n < strlen(suf) || strcmp(imp + n - strlen(suf), suf) != 0)
			return "service_account_impersonation_url must end in "
			       ":generateAccessToken";
	}
	*key = "lifetime";
	if (lt && (util_duration_parse(lt, lifetime) < 0 || *lifetime < 1 ||
		   *lifetime > 12 * 3600))
		return "lifetime must be a duration from 1s to 12h";
	if (lt && !imp)
		return "lifetime applies to service_account_impersonation_url "
		       "only (STS tokens last 1 h)";
	return NULL;
}

static char *dup_opt(const char *s, bool *fail)
{
	char *d;

	if (!s || !*s)
		return NULL;
	if (!(d = strdup(s)))
		*fail = true;
	return d;
}

static int ext_parse(const struct cfg_section *s, struct diag *d, void **state)
{
	const char *why, *key, *tt = cfg_get(s, "subject_token_type");
	struct gcp_ext_cfg *c;
	struct error e = {0};
	bool fail = false;
	int lifetime, bad;

	bad = gcp_check_endpoint(s, d);
	if ((why =
		 ext_check(s, cfg_get(s, "source") != NULL, &lifetime, &key))) {
		cfg_error(d, cfg_line(s, key), "profile %s: %s", s->name, why);
		return -EINVAL;
	}
	if (bad)
		return bad;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->lifetime = lifetime;
	c->audience = dup_opt(cfg_get(s, "audience"), &fail);
	c->subject_token_type = dup_opt(tt ? tt : token_types[0], &fail);
	c->token_field = dup_opt(cfg_get(s, "token_field"), &fail);
	c->impersonation_url =
	    dup_opt(cfg_get(s, "service_account_impersonation_url"), &fail);
	/* expanded when read, by gcp_read_token_file */
	c->token_file = dup_opt(cfg_get(s, "token_file"), &fail);
	if (fail) {
		ext_free_state(c);
		return -ENOMEM;
	}
	if (gcp_parse_scopes(cfg_get(s, "scopes"), &c->scopes) < 0) {
		cfg_error(d, cfg_line(s, "scopes"),
			  "profile %s: scopes: space- or comma-separated "
			  "scope URLs",
			  s->name);
		ext_free_state(c);
		return -EINVAL;
	}
	if (c->impersonation_url &&
	    http_check_url(c->impersonation_url, &e) < 0) {
		cfg_error(d, cfg_line(s, "service_account_impersonation_url"),
			  "profile %s: service_account_impersonation_url: %s",
			  s->name, e.msg);
		ext_free_state(c);
		return -EINVAL;
	}
	*state = c;
	return 0;
}

static int subject_token(const struct provider_req *req,
			 const struct gcp_ext_cfg *c, char **tok,
			 struct error *e)
{
	static const char *const def[] = {"id_token", "access_token", "token",
					  NULL};
	const char *v = NULL;

	*tok = NULL;
	if (c->token_file)
		return gcp_read_token_file(what_sts, c->token_file, tok, e);
	if (!req->source) {
		error_set(e, EINVAL, "%s: needs token_file or a source profile",
			  what_sts);
		return -EINVAL;
	}
	if (c->token_field)
		v = cred_get(req->source, c->token_field);
	for (size_t i = 0; !c->token_field && def[i] && !v; i++)
		v = cred_get(req->source, def[i]);
	if (!v || !*v) {
		error_set(e, ENODATA,
			  "%s: the source credential has no %s field", what_sts,
			  c->token_field ? c->token_field
					 : "id_token, access_token or token");
		return -ENODATA;
	}
	if (strlen(v) > GCP_MAX_TOKEN) {
		error_set(e, EFBIG,
			  "%s: the subject token is longer than %d bytes",
			  what_sts, GCP_MAX_TOKEN);
		return -EFBIG;
	}
	*tok = secmem_strdup(v);
	return *tok ? 0 : -ENOMEM;
}

static int ext_fetch(const struct provider_req *req, struct cred **out,
		     struct error *e)
{
	struct gcp_ext_cfg c;
	struct cred *sts = NULL, *res = NULL;
	struct secbuf form = {0};
	cJSON *j = NULL;
	char *subject = NULL;
	int r;

	*out = NULL;
	if (!req->state)
		return error_set(e, EINVAL, "the profile was not parsed");
	c = *(const struct gcp_ext_cfg *)req->state; /* shallow */
	if ((r = gcp_parse_conn(req, &c.conn, e)) < 0)
		return r;
	if ((r = subject_token(req, &c, &subject, e)) < 0)
		goto out;
	/* Impersonation needs cloud-platform on the federated token (it
	 * calls IAM); the profile's scopes go on the final token. */
	if ((r = oauth_http_form_add(&form, "grant_type",
				     "urn:ietf:params:oauth:grant-type:"
				     "token-exchange")) < 0 ||
	    (r = oauth_http_form_add(&form, "audience", c.audience)) < 0 ||
	    (r = oauth_http_form_add(&form, "scope",
				     c.impersonation_url ? GCP_CLOUD_PLATFORM
							 : c.scopes)) < 0 ||
	    (r = oauth_http_form_add(&form, "requested_token_type",
				     "urn:ietf:params:oauth:token-type:"
				     "access_token")) < 0 ||
	    (r = oauth_http_form_add(&form, "subject_token", subject)) < 0 ||
	    (r = oauth_http_form_add(&form, "subject_token_type",
				     c.subject_token_type)) < 0)
		goto out;
	struct gcp_call call = {
	    .what = what_sts,
	    .url = c.conn.endpoint ? c.conn.endpoint : GCP_STS_URI,
	    .conn = &c.conn,
	};
	if ((r = gcp_post(&call, &form, &j, e)) < 0)
		goto out;
	if (!(sts = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = gcp_oauth_response(what_sts, j, sts, e)) < 0)
		goto out;
	if (c.impersonation_url) {
		if (!(res = cred_new())) {
			r = -ENOMEM;
			goto out;
		}
		if ((r = gcp_iam_access_token(&c.conn, c.impersonation_url,
					      cred_get(sts, "access_token"),
					      c.scopes, NULL, c.lifetime, res,
					      e)) < 0)
			goto out;
	} else {
		res = sts;
		sts = NULL;
	}
	cred_set_obtained(res, time(NULL));
	*out = res;
	res = NULL; /* transferred */
	r = 0;
out:
	cJSON_Delete(j);
	cred_unref(sts);
	cred_unref(res);
	secmem_free(subject);
	secbuf_wipe(&form);
	return r;
}

static const char *const ext_keys[] = {
    "audience",	  "subject_token_type",
    "token_file", "token_field",
    "scopes",	  "service_account_impersonation_url",
    "lifetime",	  NULL,
};
static const char *const ext_required[] = {"audience", NULL};
static const char *const ext_fields[] = {"access_token", NULL};

const struct provider_ops provider_gcp_external_account = {
    .name = "gcp-external-account",
    .keys = ext_keys,
    .required = ext_required,
    .source = PROVIDER_SOURCE_OPTIONAL,
    .cacheable = true,
    .fields = ext_fields,
    .parse = ext_parse,
    .free_state = ext_free_state,
    .fetch = ext_fetch,
};
