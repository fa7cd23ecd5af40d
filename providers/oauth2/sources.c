/* Token sources: bearer JWTs the environment of credfs already holds.
 *
 *   [profile gha]
 *   provider = github-actions        # the job's OIDC token
 *   audience = sts.amazonaws.com     # optional
 *
 * reads ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN
 * (set by GitHub for a job with `permissions: id-token: write`), and GETs
 * URL&audience=... with that bearer: {"value": JWT}.
 *
 *   [profile ci]
 *   provider = token-env
 *   env = CI_JOB_JWT_V2              # a variable holding a JWT
 *
 * Both give fields token and id_token, expiring at the JWT's exp (the
 * token is not verified: it is handed on to a party that verifies it).
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
#include "providers/http.h"
#include "providers/jwt.h"
#include "providers/oauth2/oauth2.h"

/* token and id_token = tok, expiring at its exp. */
static int jwt_cred(const char *what, const char *tok, struct cred **out,
		    struct perr *e)
{
	cJSON *h = NULL, *cl = NULL;
	const cJSON *x;
	struct cred *c = NULL;
	time_t now = time(NULL);
	int r;

	*out = NULL;
	if (strlen(tok) > OAUTH_MAX_TOKEN ||
	    jwt_decode_unverified(tok, &h, &cl) < 0) {
		perr_set(e, "%s: not a JWT", what);
		return -EBADMSG;
	}
	x = cJSON_GetObjectItemCaseSensitive(cl, "exp");
	if (!cJSON_IsNumber(x) || x->valuedouble <= (double)now) {
		perr_set(e, "%s: the JWT has no exp or expired", what);
		r = -EKEYEXPIRED;
		goto out;
	}
	if (!(c = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = cred_set(c, "token", tok)) < 0 ||
	    (r = cred_set(c, "id_token", tok)) < 0)
		goto out;
	cred_set_expiration(c, (time_t)x->valuedouble);
	cred_set_obtained(c, now);
	*out = c;
	c = NULL;
	r = 0;
out:
	cred_unref(c);
	cJSON_Delete(h);
	cJSON_Delete(cl);
	return r;
}

/* ---- github-actions ---------------------------------------------------- */

static int gha_fetch(const struct provider_req *req, struct cred **out,
		     struct perr *e)
{
	static const char what[] = "GitHub Actions OIDC token";
	const char *url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	const char *bearer = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
	const char *aud = cfg_get(req->profile, "audience");
	const char *ca = cfg_get(req->profile, "ca_file");
	struct oauth_conn conn = {
	    .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000};
	struct secbuf u = {0}, auth = {0};
	const char *hdr[2], *v;
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if (!url || !*url || !bearer || !*bearer) {
		perr_set(e,
			 "%s: ACTIONS_ID_TOKEN_REQUEST_URL or _TOKEN is not "
			 "set (does the job have permissions: id-token: "
			 "write?)",
			 what);
		return -ENOKEY;
	}
	if (ca && *ca && !(conn.ca_file = config_expand_path(ca)))
		return -ENOMEM;
	if ((r = secbuf_printf(&u, "%s", url)) < 0 ||
	    (aud && ((r = secbuf_printf(&u, "%saudience=",
					strchr(url, '?') ? "&" : "?")) < 0 ||
		     (r = http_urlencode(&u, aud)) < 0)) ||
	    (r = secbuf_append(&u, "", 1)) < 0 ||
	    (r = secbuf_printf(&auth, "Authorization: bearer %s", bearer)) < 0)
		goto out;
	hdr[0] = auth.data;
	hdr[1] = NULL;
	if ((r = oauth_get(what, u.data, &conn, hdr, &j, e)) < 0 ||
	    (r = oauth_json_str(what, j, "value", false, false, &v, e)) < 0)
		goto out;
	r = jwt_cred(what, v, out, e);
out:
	cJSON_Delete(j);
	secbuf_wipe(&u);
	secbuf_wipe(&auth);
	free(conn.ca_file);
	return r;
}

static const char *const gha_keys[] = {"audience", NULL};
static const char *const jwt_fields[] = {"token", "id_token", NULL};

const struct provider_ops provider_github_actions = {
    .name = "github-actions",
    .keys = gha_keys,
    .source = "no",
    .fields = jwt_fields,
    .fetch = gha_fetch,
};

/* ---- token-env --------------------------------------------------------- */

static int env_fetch(const struct provider_req *req, struct cred **out,
		     struct perr *e)
{
	const char *name = cfg_get(req->profile, "env");
	const char *v = name ? getenv(name) : NULL;
	char what[160];

	*out = NULL;
	snprintf(what, sizeof(what), "environment variable %s",
		 name ? name : "(env unset)");
	if (!v || !*v) {
		perr_set(e, "%s is not set", what);
		return -ENOKEY;
	}
	return jwt_cred(what, v, out, e);
}

static int env_validate(const struct cfg_section *s, void *diag)
{
	const char *n = cfg_get(s, "env");

	for (const char *p = n; p && *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_')) {
			cfg_error(diag, cfg_line(s, "env"),
				  "env: an environment variable name");
			break;
		}
	return 0;
}

static const char *const env_keys[] = {"env", NULL};

const struct provider_ops provider_token_env = {
    .name = "token-env",
    .keys = env_keys,
    .required = env_keys,
    .source = "no",
    .fields = jwt_fields,
    .validate = env_validate,
    .fetch = env_fetch,
};
