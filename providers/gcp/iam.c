/* gcp-impersonate: IAM Service Account Credentials.
 *
 * With the access token of the `source =` profile (any Google principal
 * holding roles/iam.serviceAccountTokenCreator on the target), calls
 * generateAccessToken for `service_account` (scopes, delegates, lifetime)
 * or, when `audience` is set, generateIdToken (field id_token).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "providers/gcp/gcp.h"

/* Google's ceiling (with the org policy extending it); its default is 1 h. */
#define IAM_MAX_LIFETIME (12 * 3600)

static const char what_at[] = "IAM generateAccessToken";
static const char what_id[] = "IAM generateIdToken";

/* Appends "EMAIL" as a JSON array of "projects/-/serviceAccounts/EMAIL"
 * (delegates) or of the words themselves (scopes). */
static int add_list(cJSON *o, const char *name, const char *words,
		    const char *prefix)
{
	cJSON *a = cJSON_AddArrayToObject(o, name);
	char item[512];
	const char *p = words;

	if (!a)
		return -ENOMEM;
	while (p && *p) {
		size_t n = strcspn(p, " ");
		if (n) {
			if ((size_t)snprintf(item, sizeof(item), "%s%.*s",
					     prefix, (int)n, p) >= sizeof(item))
				return -EINVAL;
			if (!cJSON_AddItemToArray(a, cJSON_CreateString(item)))
				return -ENOMEM;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static int expire_time(const char *what, const cJSON *j, time_t *out,
		       struct error *e)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "expireTime");
	time_t now = time(NULL), v;

	if (!cJSON_IsString(t) || strlen(t->valuestring) > 40 ||
	    util_time_parse(t->valuestring, &v) < 0) {
		error_set(e, EBADMSG,
			  "%s: the answer has no RFC 3339 expireTime", what);
		return -EBADMSG;
	}
	if (v <= now || v > now + 7 * 86400) {
		error_set(e, EBADMSG,
			  "%s: expireTime is in the past or too far ahead",
			  what);
		return -EBADMSG;
	}
	*out = v;
	return 0;
}

int gcp_iam_access_token(const struct gcp_conn *conn, const char *url,
			 const char *bearer, const char *scopes,
			 const char *delegates, int lifetime, struct cred *c,
			 struct error *e)
{
	struct secbuf body = {0};
	cJSON *req = NULL, *j = NULL;
	const char *tok;
	char life[32], *s = NULL;
	time_t exp;
	int r;

	if (!(req = cJSON_CreateObject())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = add_list(req, "scope", scopes, "")) < 0 ||
	    (delegates && *delegates &&
	     (r = add_list(req, "delegates", delegates,
			   "projects/-/serviceAccounts/")) < 0))
		goto out;
	if (lifetime > 0) {
		snprintf(life, sizeof(life), "%ds", lifetime);
		if (!cJSON_AddStringToObject(req, "lifetime", life)) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (!(s = cJSON_PrintUnformatted(req)) ||
	    (r = secbuf_append(&body, s, strlen(s))) < 0) {
		r = -ENOMEM;
		goto out;
	}
	struct gcp_call call = {
	    .what = what_at,
	    .url = url,
	    .conn = conn,
	    .bearer = bearer,
	    .json = true,
	};
	if ((r = gcp_post(&call, &body, &j, e)) < 0 ||
	    (r = gcp_json_token(what_at, j, "accessToken", &tok, e)) < 0 ||
	    (r = expire_time(what_at, j, &exp, e)) < 0)
		goto out;
	if ((r = cred_set(c, "access_token", tok)) < 0)
		goto out;
	cred_set_expiration(c, exp);
	r = 0;
out:
	if (s)
		cJSON_free(s);
	cJSON_Delete(req);
	cJSON_Delete(j);
	secbuf_wipe(&body);
	return r;
}

/* ---- the profile --------------------------------------------------------- */

struct gcp_imp_cfg {
	struct gcp_conn conn;
	char *service_account;
	char *scopes;	 /* space separated */
	char *delegates; /* space separated, or NULL */
	int lifetime;	 /* 0: Google's default */
	char *audience;	 /* generateIdToken when set */
	bool include_email;
};

static void imp_free_state(void *p)
{
	struct gcp_imp_cfg *c = p;

	if (!c)
		return;
	free(c->service_account);
	free(c->scopes);
	free(c->delegates);
	free(c->audience);
	free(c);
}

/* A service account email: what may go into a URL path unescaped. */
static bool valid_email(const char *s)
{
	size_t n = strlen(s);

	return n > 3 && n < 256 && strchr(s, '@') &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-_") == n;
}

/* The section's problem, if any, with the key it is about in *key. */
static const char *imp_check(const struct cfg_section *s, int *lifetime,
			     const char **key)
{
	const char *sa = cfg_get(s, "service_account");
	const char *dl = cfg_get(s, "delegates");
	const char *lt = cfg_get(s, "lifetime");
	const char *ie = cfg_get(s, "include_email");
	char *tmp = NULL, *save = NULL;

	*lifetime = 0;
	*key = "service_account";
	if (!sa || !valid_email(sa))
		return "service_account must be a service account email";
	*key = "delegates";
	if (dl && *dl) {
		if (gcp_parse_scopes(dl, &tmp) < 0)
			return "delegates: service account emails";
		for (char *p = strtok_r(tmp, " ", &save); p;
		     p = strtok_r(NULL, " ", &save))
			if (!valid_email(p)) {
				free(tmp);
				return "delegates: service account emails";
			}
		free(tmp);
	}
	*key = "lifetime";
	if (lt && (util_duration_parse(lt, lifetime) < 0 || *lifetime < 1 ||
		   *lifetime > IAM_MAX_LIFETIME))
		return "lifetime must be a duration from 1s to 12h";
	*key = "include_email";
	if (ie && strcmp(ie, "yes") != 0 && strcmp(ie, "no") != 0 &&
	    strcmp(ie, "true") != 0 && strcmp(ie, "false") != 0)
		return "include_email must be yes or no";
	*key = "scopes";
	if (cfg_get(s, "scopes")) {
		if (gcp_parse_scopes(cfg_get(s, "scopes"), &tmp) < 0)
			return "scopes: space- or comma-separated scope URLs";
		free(tmp);
	}
	if (cfg_get(s, "audience") && cfg_get(s, "scopes"))
		return "audience (an ID token) and scopes (an access token) "
		       "are exclusive";
	return NULL;
}

static int imp_parse(const struct cfg_section *s, struct diag *d, void **state)
{
	const char *why, *key, *dl = cfg_get(s, "delegates"),
			       *aud = cfg_get(s, "audience"),
			       *ie = cfg_get(s, "include_email");
	struct gcp_imp_cfg *c;
	int lifetime, bad;

	bad = gcp_check_endpoint(s, d);
	if ((why = imp_check(s, &lifetime, &key))) {
		cfg_error(d, cfg_line(s, key), "profile %s: %s", s->name, why);
		return -EINVAL;
	}
	if (bad)
		return bad;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->lifetime = lifetime;
	if (!(c->service_account = strdup(cfg_get(s, "service_account"))) ||
	    gcp_parse_scopes(cfg_get(s, "scopes"), &c->scopes) < 0 ||
	    (dl && *dl && gcp_parse_scopes(dl, &c->delegates) < 0) ||
	    (aud && *aud && !(c->audience = strdup(aud)))) {
		imp_free_state(c);
		return -ENOMEM;
	}
	c->include_email = ie && (!strcmp(ie, "yes") || !strcmp(ie, "true"));
	*state = c;
	return 0;
}

static int id_token(const struct gcp_imp_cfg *c, const char *url,
		    const char *bearer, struct cred *res, struct error *e)
{
	struct secbuf body = {0};
	cJSON *req = NULL, *j = NULL;
	const char *tok;
	char *s = NULL;
	time_t exp;
	int r;

	if (!(req = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(req, "audience", c->audience) ||
	    !cJSON_AddBoolToObject(req, "includeEmail", c->include_email) ||
	    (c->delegates && add_list(req, "delegates", c->delegates,
				      "projects/-/serviceAccounts/") < 0) ||
	    !(s = cJSON_PrintUnformatted(req)) ||
	    secbuf_append(&body, s, strlen(s)) < 0) {
		r = -ENOMEM;
		goto out;
	}
	struct gcp_call call = {
	    .what = what_id,
	    .url = url,
	    .conn = &c->conn,
	    .bearer = bearer,
	    .json = true,
	};
	if ((r = gcp_post(&call, &body, &j, e)) < 0 ||
	    (r = gcp_json_token(what_id, j, "token", &tok, e)) < 0 ||
	    (r = gcp_jwt_exp(what_id, tok, &exp, e)) < 0 ||
	    (r = cred_set(res, "id_token", tok)) < 0)
		goto out;
	cred_set_expiration(res, exp);
out:
	if (s)
		cJSON_free(s);
	cJSON_Delete(req);
	cJSON_Delete(j);
	secbuf_wipe(&body);
	return r;
}

static int imp_fetch(const struct provider_req *req, struct cred **out,
		     struct error *e)
{
	struct gcp_imp_cfg c;
	struct cred *res = NULL;
	const char *bearer;
	char url[1024];
	int r;

	*out = NULL;
	if (!req->state)
		return error_set(e, EINVAL, "the profile was not parsed");
	c = *(const struct gcp_imp_cfg *)req->state; /* shallow */
	if ((r = gcp_parse_conn(req, &c.conn, e)) < 0)
		return r;
	bearer = req->source ? cred_get(req->source, "access_token") : NULL;
	if (!bearer || !*bearer) {
		error_set(e, EINVAL,
			  "%s: the source credential has no access_token",
			  c.audience ? what_id : what_at);
		r = -EINVAL;
		goto out;
	}
	if ((size_t)snprintf(
		url, sizeof(url), "%s/v1/projects/-/serviceAccounts/%s:%s",
		c.conn.endpoint ? c.conn.endpoint : GCP_IAM_URI,
		c.service_account,
		c.audience ? "generateIdToken" : "generateAccessToken") >=
	    sizeof(url)) {
		error_set(e, EINVAL, "endpoint is too long");
		r = -EINVAL;
		goto out;
	}
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if (c.audience)
		r = id_token(&c, url, bearer, res, e);
	else
		r = gcp_iam_access_token(&c.conn, url, bearer, c.scopes,
					 c.delegates, c.lifetime, res, e);
	if (r < 0)
		goto out;
	cred_set_obtained(res, time(NULL));
	*out = res;
	res = NULL; /* transferred */
out:
	cred_unref(res);
	return r;
}

static const char *const imp_keys[] = {
    "service_account", "scopes",	"delegates", "lifetime",
    "audience",	       "include_email", NULL};
static const char *const imp_required[] = {"service_account", NULL};
static const char *const imp_fields[] = {"access_token", "id_token", NULL};

const struct provider_ops provider_gcp_impersonate = {
    .name = "gcp-impersonate",
    .keys = imp_keys,
    .required = imp_required,
    .source = PROVIDER_SOURCE_REQUIRED,
    .cacheable = true,
    .fields = imp_fields,
    .parse = imp_parse,
    .free_state = imp_free_state,
    .fetch = imp_fetch,
};
