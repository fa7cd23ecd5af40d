/* oauth2: an OAuth 2.0 access token from a token endpoint.
 *
 *   [profile api]
 *   provider = oauth2
 *   issuer = https://login.example.com      # or token_url = ...
 *   grant = client_credentials              # refresh_token, jwt-bearer
 *   client_auth = basic                     # post, private_key_jwt, none
 *   secret = api-client                     # store entry
 *   scope = read write
 *
 * The store entry `secret` holds client_id (unless the profile sets it),
 * client_secret, private_key (PEM, private_key_jwt and a self-signed
 * jwt-bearer assertion), kid, and refresh_token.  When the server rotates
 * the refresh token, the entry is rewritten (store_put: a new sealed file,
 * fsync, rename) before the access token is returned, so the store holds
 * the newest refresh token and a crash leaves either the old or the new
 * file, never neither.
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
#include "crypto/store.h"
#include "providers/http.h"
#include "providers/jwt.h"
#include "providers/oauth2/oauth2.h"

#define GRANT_JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define GRANT_DEVICE "urn:ietf:params:oauth:grant-type:device_code"

/* G_DEVICE_CODE: `credfs login` runs RFC 8628 and seals the refresh
 * token; a fetch then is a refresh_token grant. */
enum grant {
	G_CLIENT_CREDENTIALS,
	G_REFRESH_TOKEN,
	G_JWT_BEARER,
	G_DEVICE_CODE
};

/* The profile, parsed once at config load (the provider's state). */
struct oauth2_cfg {
	enum grant grant;
	enum oauth_auth auth;
	bool auth_set;
	char *token_url, *issuer, *device_url;
	char *client_id, *secret, *scope, *audience, *resource, *subject;
};

static int parse_grant(const char *s, enum grant *g)
{
	if (!s || !strcmp(s, "client_credentials"))
		*g = G_CLIENT_CREDENTIALS;
	else if (!strcmp(s, "refresh_token"))
		*g = G_REFRESH_TOKEN;
	else if (!strcmp(s, "jwt-bearer") || !strcmp(s, GRANT_JWT_BEARER))
		*g = G_JWT_BEARER;
	else if (!strcmp(s, "device_code") || !strcmp(s, GRANT_DEVICE))
		*g = G_DEVICE_CODE;
	else
		return -EINVAL;
	return 0;
}

static int parse_auth(const char *s, enum oauth_auth *a)
{
	if (!strcmp(s, "basic") || !strcmp(s, "client_secret_basic"))
		*a = OAUTH_AUTH_BASIC;
	else if (!strcmp(s, "post") || !strcmp(s, "client_secret_post"))
		*a = OAUTH_AUTH_POST;
	else if (!strcmp(s, "private_key_jwt"))
		*a = OAUTH_AUTH_KEY_JWT;
	else if (!strcmp(s, "none"))
		*a = OAUTH_AUTH_NONE;
	else
		return -EINVAL;
	return 0;
}

static void oauth2_cfg_free(void *p)
{
	struct oauth2_cfg *c = p;

	if (!c)
		return;
	free(c->token_url);
	free(c->issuer);
	free(c->device_url);
	free(c->client_id);
	free(c->secret);
	free(c->scope);
	free(c->audience);
	free(c->resource);
	free(c->subject);
	free(c);
}

/* The one place the profile is read: problems go to d at their line. */
static int oauth2_parse(const struct cfg_section *p, struct diag *d,
			void **state)
{
	const char *a = cfg_get(p, "client_auth");
	struct oauth2_cfg *c;
	int r = 0;

	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	if (parse_grant(cfg_get(p, "grant"), &c->grant) < 0) {
		cfg_error(d, cfg_line(p, "grant"),
			  "grant: client_credentials, refresh_token, "
			  "jwt-bearer or device_code");
		r = -EINVAL;
	}
	if (a) {
		if (parse_auth(a, &c->auth) < 0) {
			cfg_error(d, cfg_line(p, "client_auth"),
				  "client_auth: basic, post, "
				  "private_key_jwt or none");
			r = -EINVAL;
		}
		c->auth_set = true;
	}
	c->token_url = cfg_strdup(p, "token_url");
	if (!c->token_url)
		c->token_url = cfg_strdup(p, "endpoint");
	c->issuer = cfg_strdup(p, "issuer");
	c->device_url = cfg_strdup(p, "device_url");
	c->client_id = cfg_strdup(p, "client_id");
	c->secret = cfg_strdup(p, "secret");
	c->scope = cfg_strdup(p, "scope");
	c->audience = cfg_strdup(p, "audience");
	c->resource = cfg_strdup(p, "resource");
	c->subject = cfg_strdup(p, "subject");
	if (r == 0 && !c->token_url && !c->issuer) {
		cfg_error(d, p->line, "needs token_url or issuer");
		r = -EINVAL;
	}
	if (r == 0 &&
	    (c->grant == G_REFRESH_TOKEN || c->grant == G_DEVICE_CODE ||
	     (c->auth_set && c->auth != OAUTH_AUTH_NONE)) &&
	    !c->secret) {
		cfg_error(d, p->line,
			  "needs secret = STORE_ENTRY for its client "
			  "credentials or refresh token");
		r = -EINVAL;
	}
	if (r < 0) {
		oauth2_cfg_free(c);
		return r;
	}
	*state = c;
	return 0;
}

/* The request's connection settings (ca_file, deadline). */
static struct oauth_conn conn_of(const struct provider_req *req)
{
	struct oauth_conn conn = {
	    .ca_file = req->common->ca_file,
	    .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000,
	};
	return conn;
}

/* The parsed profile, or -EINVAL when the config gave none. */
static int cfg_of(const struct provider_req *req, const struct oauth2_cfg **c,
		  struct error *e)
{
	*c = req->state;
	if (!*c)
		return error_set(e, EINVAL, "the profile was not parsed");
	return 0;
}

static int load_entry(const struct provider_req *req, const char *name,
		      struct cred **out, struct error *e)
{
	int r;

	*out = NULL;
	if (!req->store) {
		error_set(e, ENOKEY, "store entry %s: the store is not open",
			  name);
		return -ENOKEY;
	}
	if ((r = store_get(req->store, name, out, e)) < 0)
		error_prefix(e, "store entry %s", name);
	return r;
}

/* The client's authentication from the profile and the store entry;
 * *key is set for private_key_jwt (free it). */
static int client_of(const struct oauth2_cfg *c, const struct cred *ent,
		     struct oauth_client *cl, struct jwt_key **key,
		     struct error *e)
{
	const char *pem = ent ? cred_get(ent, "private_key") : NULL;
	const char *sec = ent ? cred_get(ent, "client_secret") : NULL;
	char what[300];
	int r;

	memset(cl, 0, sizeof(*cl));
	*key = NULL;
	cl->client_id = c->client_id
			    ? c->client_id
			    : (ent ? cred_get(ent, "client_id") : NULL);
	cl->auth = c->auth_set
		       ? c->auth
		       : (sec ? OAUTH_AUTH_BASIC
			      : (pem ? OAUTH_AUTH_KEY_JWT : OAUTH_AUTH_NONE));
	if (!cl->client_id && cl->auth != OAUTH_AUTH_NONE) {
		error_set(e, EINVAL,
			  "no client_id (in the profile or store entry %s)",
			  c->secret ? c->secret : "(none)");
		return -EINVAL;
	}
	switch (cl->auth) {
	case OAUTH_AUTH_BASIC:
	case OAUTH_AUTH_POST:
		if (!sec || !*sec) {
			error_set(e, EINVAL, "store entry %s: no client_secret",
				  c->secret ? c->secret : "(secret unset)");
			return -EINVAL;
		}
		cl->client_secret = sec;
		break;
	case OAUTH_AUTH_KEY_JWT:
		if (!pem || !*pem) {
			error_set(e, EINVAL, "store entry %s: no private_key",
				  c->secret ? c->secret : "(secret unset)");
			return -EINVAL;
		}
		snprintf(what, sizeof(what), "store entry %s: private_key",
			 c->secret);
		if ((r = jwt_key_from_pem(pem, strlen(pem), what, key, e)) < 0)
			return r;
		cl->key = *key;
		cl->kid = cred_get(ent, "kid");
		break;
	case OAUTH_AUTH_NONE:
		break;
	}
	return 0;
}

/* The grant's assertion: the source credential's token, or one signed
 * with the entry's private_key (iss = client_id, sub = subject). */
static int jwt_bearer_assertion(const struct provider_req *req,
				const struct oauth2_cfg *c,
				const struct oauth_client *cl, const char *aud,
				char **out, struct error *e)
{
	static const char *const fields[] = {"token", "id_token",
					     "access_token", NULL};
	cJSON *claims = NULL;
	time_t now = time(NULL);
	char jti[33];
	int r = -ENOMEM;

	*out = NULL;
	if (req->source) {
		for (size_t i = 0; fields[i]; i++) {
			const char *v = cred_get(req->source, fields[i]);
			if (v && *v)
				return (*out = secmem_strdup(v)) ? 0 : -ENOMEM;
		}
		error_set(e, EINVAL,
			  "source credential has no token for the "
			  "jwt-bearer grant");
		return -EINVAL;
	}
	if (!cl->key) {
		error_set(e, EINVAL,
			  "jwt-bearer needs source = PROFILE or "
			  "client_auth = private_key_jwt with a "
			  "private_key");
		return -EINVAL;
	}
	oauth_jti(jti);
	if ((claims = cJSON_CreateObject()) &&
	    cJSON_AddStringToObject(claims, "iss", cl->client_id) &&
	    cJSON_AddStringToObject(claims, "sub",
				    c->subject ? c->subject : cl->client_id) &&
	    cJSON_AddStringToObject(claims, "aud", aud) &&
	    cJSON_AddStringToObject(claims, "jti", jti) &&
	    cJSON_AddNumberToObject(claims, "iat", (double)now) &&
	    cJSON_AddNumberToObject(claims, "exp", (double)(now + 300)))
		r = jwt_sign(cl->key, cl->kid, claims, out, e);
	cJSON_Delete(claims);
	return r;
}

/* Replaces the entry's refresh_token (atomic store_put). */
static int rotate_refresh(const struct provider_req *req, const char *name,
			  const struct cred *ent, const char *rt,
			  struct error *e)
{
	struct cred *n = cred_new();
	int r = 0;

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; ent && i < cred_count(ent) && r == 0; i++)
		r = cred_set(n, cred_name_at(ent, i), cred_value_at(ent, i));
	if (r == 0)
		r = cred_set(n, "refresh_token", rt);
	if (r == 0 && (r = store_put(req->store, name, n, e)) < 0)
		error_prefix(e,
			     "store entry %s: cannot save the new refresh "
			     "token",
			     name);
	cred_unref(n);
	return r;
}

static const char *grant_what(enum grant g)
{
	return g == G_REFRESH_TOKEN || g == G_DEVICE_CODE
		   ? "Token (refresh_token)"
	       : g == G_JWT_BEARER ? "Token (jwt-bearer)"
				   : "Token (client_credentials)";
}

/* Token endpoint: token_url, or discovery from issuer. */
static int token_endpoint(const struct oauth2_cfg *c,
			  const struct oauth_conn *conn, char **url,
			  char **device, struct error *e)
{
	*url = NULL;
	if (device)
		*device = NULL;
	if (c->token_url && !(device && !c->device_url && c->issuer)) {
		if (http_check_url(c->token_url, e) < 0)
			return -EINVAL;
		if (!(*url = strdup(c->token_url)))
			return -ENOMEM;
		if (device && c->device_url &&
		    !(*device = strdup(c->device_url)))
			return -ENOMEM;
		return 0;
	}
	int r = oauth_discover(c->issuer, conn, url, device, e);
	if (r == 0 && c->token_url) {
		free(*url);
		*url = strdup(c->token_url);
	}
	return r;
}

/* The refresh token returned by a grant: sealed before the caller sees
 * the access token. */
static int keep_refresh(const struct provider_req *req,
			const struct oauth2_cfg *c, const struct cred *ent,
			const char *rt, struct error *e)
{
	const char *old = ent ? cred_get(ent, "refresh_token") : NULL;

	if (!rt || (old && strcmp(old, rt) == 0))
		return 0;
	if (!c->secret || !req->store) {
		/* Nowhere to keep it: fine for a grant that does not
		 * depend on it, fatal for a rotated one. */
		if (c->grant != G_REFRESH_TOKEN && c->grant != G_DEVICE_CODE)
			return 0;
		error_set(e, ENOKEY,
			  "the server rotated the refresh token and there "
			  "is no store entry to keep it");
		return -ENOKEY;
	}
	return rotate_refresh(req, c->secret, ent, rt, e);
}

static int oauth2_fetch(const struct provider_req *req, struct cred **out,
			struct error *e)
{
	const struct oauth2_cfg *c;
	struct oauth_conn conn = conn_of(req);
	struct oauth_client cl;
	struct jwt_key *key = NULL;
	struct cred *ent = NULL, *res = NULL;
	struct secbuf form = {0};
	char *url = NULL, *assertion = NULL;
	const char *what, *rt = NULL;
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if ((r = cfg_of(req, &c, e)) < 0)
		goto out;
	what = grant_what(c->grant);
	if (c->secret && (r = load_entry(req, c->secret, &ent, e)) < 0)
		goto out;
	if ((r = client_of(c, ent, &cl, &key, e)) < 0)
		goto out;
	if ((r = token_endpoint(c, &conn, &url, NULL, e)) < 0)
		goto out;
	switch (c->grant) {
	case G_CLIENT_CREDENTIALS:
		r = oauth_http_form_add(&form, "grant_type",
					"client_credentials");
		break;
	case G_REFRESH_TOKEN:
	case G_DEVICE_CODE: {
		const char *old = ent ? cred_get(ent, "refresh_token") : NULL;
		if (!old || !*old) {
			error_set(e, ENOKEY,
				  "store entry %s: no refresh_token (run "
				  "credfs login %s)",
				  c->secret ? c->secret : "(secret unset)",
				  req->profile_name);
			r = -ENOKEY;
			goto out;
		}
		if ((r = oauth_http_form_add(&form, "grant_type",
					     "refresh_token")) == 0)
			r = oauth_http_form_add(&form, "refresh_token", old);
		break;
	}
	case G_JWT_BEARER:
		if ((r = jwt_bearer_assertion(req, c, &cl, url, &assertion,
					      e)) < 0)
			goto out;
		if ((r = oauth_http_form_add(&form, "grant_type",
					     GRANT_JWT_BEARER)) == 0)
			r = oauth_http_form_add(&form, "assertion", assertion);
		break;
	}
	if (r < 0 ||
	    (c->scope &&
	     (r = oauth_http_form_add(&form, "scope", c->scope)) < 0) ||
	    (c->audience &&
	     (r = oauth_http_form_add(&form, "audience", c->audience)) < 0) ||
	    (c->resource &&
	     (r = oauth_http_form_add(&form, "resource", c->resource)) < 0))
		goto out;
	if ((r = oauth_post(what, url, &conn, &cl, &form, &j, NULL, 0, e)) < 0)
		goto out;
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = oauth_token_response(what, j, res, &rt, e)) < 0 ||
	    (r = keep_refresh(req, c, ent, rt, e)) < 0)
		goto out;
	*out = res;
	res = NULL;
out:
	cJSON_Delete(j);
	cred_unref(res);
	cred_unref(ent);
	jwt_key_free(key);
	secmem_free(assertion);
	secbuf_wipe(&form);
	free(url);
	return r;
}

/* ---- device authorization grant (RFC 8628) ----------------------------- */

bool oauth2_is_device_grant(const void *state)
{
	const struct oauth2_cfg *c = state;

	return c && c->grant == G_DEVICE_CODE;
}

void oauth2_device_free(struct oauth2_device *d)
{
	secmem_free(d->device_code);
	free(d->token_url);
	memset(d, 0, sizeof(*d));
}

static int copy_str(const char *what, const cJSON *j, const char *name,
		    bool optional, char *buf, size_t len, struct error *e)
{
	const char *v;
	int r;

	buf[0] = 0;
	if ((r = oauth_json_str(what, j, name, optional, false, &v, e)) < 0)
		return r;
	if (v && strlen(v) >= len) {
		error_set(e, EPROTO, "%s: %s is too long", what, name);
		return -EPROTO;
	}
	if (v)
		strcpy(buf, v);
	return 0;
}

int oauth2_device_start(const struct provider_req *req, struct oauth2_device *d,
			struct error *e)
{
	static const char what[] = "Device authorization";
	const struct oauth2_cfg *c;
	struct oauth_conn conn = conn_of(req);
	struct oauth_client cl;
	struct jwt_key *key = NULL;
	struct cred *ent = NULL;
	struct secbuf form = {0};
	char *dev = NULL;
	const char *dc;
	cJSON *j = NULL;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = cfg_of(req, &c, e)) < 0)
		goto out;
	if (c->secret && (r = load_entry(req, c->secret, &ent, e)) < 0 &&
	    r != -ENOENT)
		goto out;
	if ((r = client_of(c, ent, &cl, &key, e)) < 0)
		goto out;
	if (!cl.client_id) {
		error_set(e, EINVAL, "no client_id");
		r = -EINVAL;
		goto out;
	}
	if ((r = token_endpoint(c, &conn, &d->token_url, &dev, e)) < 0)
		goto out;
	if (!dev) {
		error_set(e, EINVAL,
			  "%s: no device_url and the issuer has no "
			  "device_authorization_endpoint",
			  what);
		r = -EINVAL;
		goto out;
	}
	if (c->scope && (r = oauth_http_form_add(&form, "scope", c->scope)) < 0)
		goto out;
	if ((r = oauth_post(what, dev, &conn, &cl, &form, &j, NULL, 0, e)) < 0)
		goto out;
	if ((r = oauth_json_str(what, j, "device_code", false, false, &dc, e)) <
		0 ||
	    (r = copy_str(what, j, "user_code", false, d->user_code,
			  sizeof(d->user_code), e)) < 0 ||
	    (r = copy_str(what, j, "verification_uri", false,
			  d->verification_uri, sizeof(d->verification_uri),
			  e)) < 0 ||
	    (r = copy_str(what, j, "verification_uri_complete", true,
			  d->verification_uri_complete,
			  sizeof(d->verification_uri_complete), e)) < 0)
		goto out;
	if (!(d->device_code = secmem_strdup(dc))) {
		r = -ENOMEM;
		goto out;
	}
	const cJSON *iv = cJSON_GetObjectItemCaseSensitive(j, "interval");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	d->interval =
	    cJSON_IsNumber(iv) && iv->valuedouble >= 1 && iv->valuedouble <= 600
		? (int)iv->valuedouble
		: 5; /* RFC 8628 3.2 default */
	if (!cJSON_IsNumber(ex) || ex->valuedouble < 1 ||
	    ex->valuedouble > 86400) {
		error_set(e, EPROTO, "%s: expires_in is not 1 s .. 1 day",
			  what);
		r = -EPROTO;
		goto out;
	}
	d->expires = time(NULL) + (time_t)ex->valuedouble;
out:
	if (r < 0)
		oauth2_device_free(d);
	cJSON_Delete(j);
	cred_unref(ent);
	jwt_key_free(key);
	secbuf_wipe(&form);
	free(dev);
	return r;
}

int oauth2_device_poll(const struct provider_req *req, struct oauth2_device *d,
		       struct cred **out, struct error *e)
{
	static const char what[] = "Token (device_code)";
	const struct oauth2_cfg *c;
	struct oauth_conn conn = conn_of(req);
	struct oauth_client cl;
	struct jwt_key *key = NULL;
	struct cred *ent = NULL, *res = NULL;
	struct secbuf form = {0};
	const char *rt = NULL;
	char code[64];
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if ((r = cfg_of(req, &c, e)) < 0)
		goto out;
	if (c->secret && (r = load_entry(req, c->secret, &ent, e)) < 0 &&
	    r != -ENOENT)
		goto out;
	if ((r = client_of(c, ent, &cl, &key, e)) < 0)
		goto out;
	if (time(NULL) >= d->expires) {
		error_set(e, ETIMEDOUT, "%s: the device code expired", what);
		r = -ETIMEDOUT;
		goto out;
	}
	if ((r = oauth_http_form_add(&form, "grant_type", GRANT_DEVICE)) < 0 ||
	    (r = oauth_http_form_add(&form, "device_code", d->device_code)) < 0)
		goto out;
	r = oauth_post(what, d->token_url, &conn, &cl, &form, &j, code,
		       sizeof(code), e);
	if (r < 0) {
		if (!strcmp(code, "slow_down"))
			d->interval += 5;
		goto out;
	}
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = oauth_token_response(what, j, res, &rt, e)) < 0)
		goto out;
	if (rt) {
		if (!c->secret || !req->store) {
			error_set(e, ENOKEY,
				  "a refresh token came back and the profile "
				  "has no secret = STORE_ENTRY to keep it");
			r = -ENOKEY;
			goto out;
		}
		if (!ent && !(ent = cred_new())) {
			r = -ENOMEM;
			goto out;
		}
		if (!cred_get(ent, "client_id") &&
		    (r = cred_set(ent, "client_id", cl.client_id)) < 0)
			goto out;
		if ((r = rotate_refresh(req, c->secret, ent, rt, e)) < 0)
			goto out;
	}
	*out = res;
	res = NULL;
out:
	cJSON_Delete(j);
	cred_unref(res);
	cred_unref(ent);
	jwt_key_free(key);
	secbuf_wipe(&form);
	return r;
}

/* ---- the provider ------------------------------------------------------ */

static const char *const oauth2_keys[] = {
    "token_url", "issuer", "device_url", "grant",    "client_auth", "client_id",
    "secret",	 "scope",  "audience",	 "resource", "subject",	    NULL};
static const char *const oauth2_fields[] = {"access_token", "id_token",
					    "token_type", "scope", NULL};

const struct provider_ops provider_oauth2 = {
    .name = "oauth2",
    .keys = oauth2_keys,
    .source = PROVIDER_SOURCE_OPTIONAL,
    .cacheable = true,
    .fields = oauth2_fields,
    .parse = oauth2_parse,
    .free_state = oauth2_cfg_free,
    .fetch = oauth2_fetch,
};
