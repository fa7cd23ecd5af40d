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
		    struct error *e)
{
	cJSON *h = NULL, *cl = NULL;
	const cJSON *x;
	struct cred *c = NULL;
	time_t now = time(NULL);
	int r;

	*out = NULL;
	if (strlen(tok) > OAUTH_MAX_TOKEN ||
	    jwt_decode_unverified(tok, &h, &cl) < 0) {
		error_set(e, EBADMSG, "%s: not a JWT", what);
		return -EBADMSG;
	}
	x = cJSON_GetObjectItemCaseSensitive(cl, "exp");
	if (!cJSON_IsNumber(x) || x->valuedouble <= (double)now) {
		error_set(e, EKEYEXPIRED, "%s: the JWT has no exp or expired",
			  what);
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
		     struct error *e)
{
	static const char what[] = "GitHub Actions OIDC token";
	const char *url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	const char *bearer = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
	const char *aud = req->state; /* `audience =`, or NULL */
	struct oauth_conn conn = {
	    .ca_file = req->common->ca_file,
	    .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000};
	struct secbuf u = {0}, auth = {0};
	const char *hdr[2], *v;
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if (!url || !*url || !bearer || !*bearer) {
		error_set(e, ENOKEY,
			  "%s: ACTIONS_ID_TOKEN_REQUEST_URL or _TOKEN is not "
			  "set (does the job have permissions: id-token: "
			  "write?)",
			  what);
		return -ENOKEY;
	}
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
	return r;
}

/* One string key, kept as the state (NULL when absent). */
static int dup_key(const struct cfg_section *s, const char *key, void **state)
{
	const char *v = cfg_get(s, key);

	*state = NULL;
	if (v && *v && !(*state = strdup(v)))
		return -ENOMEM;
	return 0;
}

static int gha_parse(const struct cfg_section *s, struct diag *d, void **state)
{
	(void)d;
	return dup_key(s, "audience", state);
}

static const char *const gha_keys[] = {"audience", NULL};
static const char *const jwt_fields[] = {"token", "id_token", NULL};

const struct provider_ops provider_github_actions = {
    .name = "github-actions",
    .keys = gha_keys,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = jwt_fields,
    .parse = gha_parse,
    .free_state = free,
    .fetch = gha_fetch,
};

/* ---- token-env --------------------------------------------------------- */

static int env_fetch(const struct provider_req *req, struct cred **out,
		     struct error *e)
{
	const char *name = req->state; /* `env =` */
	const char *v = name ? getenv(name) : NULL;
	char what[160];

	*out = NULL;
	snprintf(what, sizeof(what), "environment variable %s",
		 name ? name : "(env unset)");
	if (!v || !*v) {
		error_set(e, ENOKEY, "%s is not set", what);
		return -ENOKEY;
	}
	return jwt_cred(what, v, out, e);
}

static int env_parse(const struct cfg_section *s, struct diag *d, void **state)
{
	const char *n = cfg_get(s, "env");

	*state = NULL;
	for (const char *p = n; p && *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_')) {
			cfg_error(d, cfg_line(s, "env"),
				  "env: an environment variable name");
			return -EINVAL;
		}
	return dup_key(s, "env", state);
}

static const char *const env_keys[] = {"env", NULL};

const struct provider_ops provider_token_env = {
    .name = "token-env",
    .keys = env_keys,
    .required = env_keys,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = jwt_fields,
    .parse = env_parse,
    .free_state = free,
    .fetch = env_fetch,
};
