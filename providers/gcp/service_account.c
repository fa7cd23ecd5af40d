/* gcp-service-account and gcp-authorized-user: OAuth 2.0 grants at
 * Google's token endpoint with a long-lived secret from the sealed store.
 *
 * gcp-service-account signs a JWT-bearer assertion (RFC 7523, RS256,
 * kid = private_key_id) with the key of a service-account key file that
 * `credfs store import-gcp` sealed: iss = client_email, aud = the key's
 * token_uri, scope, optional sub (domain-wide delegation), one hour.
 * gcp-authorized-user exchanges a user's refresh token (from `gcloud auth
 * application-default login`) with its OAuth client id and secret.
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
#include "providers/gcp/gcp.h"
#include "providers/jwt.h"

/* Google accepts assertions of at most one hour. */
#define ASSERTION_LIFETIME 3600

/* ---- gcp-service-account ----------------------------------------------- */

/* Parsed once at config load (req->state); conn is filled per fetch. */
struct gcp_sa_cfg {
	struct gcp_conn conn;
	struct gcp_secret_ref secret;
	char *scopes;  /* space separated */
	char *subject; /* domain-wide delegation, or NULL */
};

static void sa_free_state(void *p)
{
	struct gcp_sa_cfg *c = p;

	if (!c)
		return;
	gcp_secret_ref_free(&c->secret);
	free(c->scopes);
	free(c->subject);
	free(c);
}

static int sa_parse(const struct cfg_section *s, struct diag *d, void **state)
{
	const char *sub = cfg_get(s, "subject");
	struct gcp_sa_cfg *c = calloc(1, sizeof(*c));
	int r, bad;

	if (!c)
		return -ENOMEM;
	bad = gcp_check_endpoint(s, d);
	r = gcp_parse_secret(s, "gcp-service-account", d, &c->secret);
	if (r == 0)
		r = bad;
	if (gcp_parse_scopes(cfg_get(s, "scopes"), &c->scopes) < 0) {
		cfg_error(d, cfg_line(s, "scopes"),
			  "profile %s: scopes: space- or comma-separated "
			  "scope URLs",
			  s->name);
		if (r == 0)
			r = -EINVAL;
	}
	if (r == 0 && sub && *sub && !(c->subject = strdup(sub)))
		r = -ENOMEM;
	if (r < 0) {
		sa_free_state(c);
		return r;
	}
	*state = c;
	return 0;
}

static const char *const sa_secret_fields[] = {"client_email", "private_key",
					       NULL};

/* The signed assertion for key k, in secmem. */
static int sa_assertion(const struct gcp_sa_cfg *c, const struct cred *key,
			const char *keyname, const char *aud, char **out,
			struct error *e)
{
	const char *pem = cred_get(key, "private_key");
	const char *kid = cred_get(key, "private_key_id");
	struct jwt_key *k = NULL;
	cJSON *claims = NULL;
	time_t now = time(NULL);
	int r;

	*out = NULL;
	if ((r = jwt_key_from_pem(pem, strlen(pem), keyname, &k, e)) < 0)
		return r;
	if (jwt_key_alg(k) != JWT_RS256) {
		error_set(e, EINVAL,
			  "%s: Google takes service-account assertions "
			  "signed with RSA keys only",
			  keyname);
		r = -EINVAL;
		goto out;
	}
	if (!(claims = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(claims, "iss",
				     cred_get(key, "client_email")) ||
	    !cJSON_AddStringToObject(claims, "scope", c->scopes) ||
	    !cJSON_AddStringToObject(claims, "aud", aud) ||
	    !cJSON_AddNumberToObject(claims, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(claims, "exp",
				     (double)(now + ASSERTION_LIFETIME)) ||
	    (c->subject &&
	     !cJSON_AddStringToObject(claims, "sub", c->subject))) {
		r = -ENOMEM;
		goto out;
	}
	r = jwt_sign(k, kid && *kid ? kid : NULL, claims, out, e);
out:
	cJSON_Delete(claims);
	jwt_key_free(k);
	return r;
}

static int sa_fetch(const struct provider_req *req, struct cred **out,
		    struct error *e)
{
	static const char what[] = "Service account token (jwt-bearer)";
	struct gcp_sa_cfg c;
	struct cred *key = NULL, *res = NULL;
	struct secbuf form = {0};
	cJSON *j = NULL;
	char *assertion = NULL;
	const char *aud;
	int r;

	*out = NULL;
	if (!req->state)
		return error_set(e, EINVAL, "the profile was not parsed");
	c = *(const struct gcp_sa_cfg *)req->state; /* shallow */
	if ((r = gcp_parse_conn(req, &c.conn, e)) < 0)
		return r;
	if ((r = gcp_load_secret(req, &c.secret, sa_secret_fields, &key, e)) <
	    0)
		goto out;
	aud = cred_get(key, "token_uri");
	if (!aud || !*aud)
		aud = GCP_TOKEN_URI;
	{
		const char *sec = c.secret.entry;
		char keyname[300];
		snprintf(keyname, sizeof(keyname), "%s %s: private_key",
			 sec ? "store entry" : "secret_file",
			 sec ? sec : c.secret.file);
		if ((r = sa_assertion(&c, key, keyname, aud, &assertion, e)) <
		    0)
			goto out;
	}
	if ((r = oauth_http_form_add(
		 &form, "grant_type",
		 "urn:ietf:params:oauth:grant-type:jwt-bearer")) < 0 ||
	    (r = oauth_http_form_add(&form, "assertion", assertion)) < 0)
		goto out;
	struct gcp_call call = {
	    .what = what,
	    .url = c.conn.endpoint ? c.conn.endpoint : aud,
	    .conn = &c.conn,
	};
	if ((r = gcp_post(&call, &form, &j, e)) < 0)
		goto out;
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = gcp_oauth_response(what, j, res, e)) < 0)
		goto out;
	cred_set_obtained(res, time(NULL));
	*out = res;
	res = NULL; /* transferred */
out:
	cJSON_Delete(j);
	cred_unref(res);
	cred_unref(key);
	secmem_free(assertion);
	secbuf_wipe(&form);
	return r;
}

static const char *const sa_keys[] = {"secret", "secret_file", "scopes",
				      "subject", NULL};
static const char *const gcp_fields[] = {"access_token", NULL};

const struct provider_ops provider_gcp_service_account = {
    .name = "gcp-service-account",
    .keys = sa_keys,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = gcp_fields,
    .parse = sa_parse,
    .free_state = sa_free_state,
    .fetch = sa_fetch,
};

/* ---- gcp-authorized-user ----------------------------------------------- */

struct gcp_user_cfg {
	struct gcp_conn conn;
	struct gcp_secret_ref secret;
	char *scopes; /* NULL: the refresh token's own */
};

static void user_free_state(void *p)
{
	struct gcp_user_cfg *c = p;

	if (!c)
		return;
	gcp_secret_ref_free(&c->secret);
	free(c->scopes);
	free(c);
}

static int user_parse(const struct cfg_section *s, struct diag *d, void **state)
{
	const char *sc = cfg_get(s, "scopes");
	struct gcp_user_cfg *c = calloc(1, sizeof(*c));
	int r, bad;

	if (!c)
		return -ENOMEM;
	bad = gcp_check_endpoint(s, d);
	r = gcp_parse_secret(s, "gcp-authorized-user", d, &c->secret);
	if (r == 0)
		r = bad;
	if (sc && *sc && gcp_parse_scopes(sc, &c->scopes) < 0) {
		cfg_error(d, cfg_line(s, "scopes"),
			  "profile %s: scopes: space- or comma-separated "
			  "scope URLs",
			  s->name);
		if (r == 0)
			r = -EINVAL;
	}
	if (r < 0) {
		user_free_state(c);
		return r;
	}
	*state = c;
	return 0;
}

static const char *const user_secret_fields[] = {"client_id", "client_secret",
						 "refresh_token", NULL};

static int user_fetch(const struct provider_req *req, struct cred **out,
		      struct error *e)
{
	static const char what[] = "Authorized user token (refresh_token)";
	struct gcp_user_cfg c;
	struct cred *sec = NULL, *res = NULL;
	struct secbuf form = {0};
	cJSON *j = NULL;
	const char *uri;
	int r;

	*out = NULL;
	if (!req->state)
		return error_set(e, EINVAL, "the profile was not parsed");
	c = *(const struct gcp_user_cfg *)req->state; /* shallow */
	if ((r = gcp_parse_conn(req, &c.conn, e)) < 0)
		return r;
	if ((r = gcp_load_secret(req, &c.secret, user_secret_fields, &sec, e)) <
	    0)
		goto out;
	uri = cred_get(sec, "token_uri");
	if (!uri || !*uri)
		uri = GCP_TOKEN_URI;
	if ((r = oauth_http_form_add(&form, "grant_type", "refresh_token")) <
		0 ||
	    (r = oauth_http_form_add(&form, "client_id",
				     cred_get(sec, "client_id"))) < 0 ||
	    (r = oauth_http_form_add(&form, "client_secret",
				     cred_get(sec, "client_secret"))) < 0 ||
	    (r = oauth_http_form_add(&form, "refresh_token",
				     cred_get(sec, "refresh_token"))) < 0 ||
	    (c.scopes &&
	     (r = oauth_http_form_add(&form, "scope", c.scopes)) < 0))
		goto out;
	struct gcp_call call = {
	    .what = what,
	    .url = c.conn.endpoint ? c.conn.endpoint : uri,
	    .conn = &c.conn,
	};
	if ((r = gcp_post(&call, &form, &j, e)) < 0)
		goto out;
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = gcp_oauth_response(what, j, res, e)) < 0)
		goto out;
	cred_set_obtained(res, time(NULL));
	*out = res;
	res = NULL; /* transferred */
out:
	cJSON_Delete(j);
	cred_unref(res);
	cred_unref(sec);
	secbuf_wipe(&form);
	return r;
}

static const char *const user_keys[] = {"secret", "secret_file", "scopes",
					NULL};
static const char *const user_fields[] = {"access_token", "id_token", NULL};

const struct provider_ops provider_gcp_authorized_user = {
    .name = "gcp-authorized-user",
    .keys = user_keys,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = user_fields,
    .parse = user_parse,
    .free_state = user_free_state,
    .fetch = user_fetch,
};
