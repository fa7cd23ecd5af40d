/* oauth2 common: token endpoint calls, token responses, discovery, client
 * assertions.  See oauth2.h. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "providers/http.h"
#include "providers/jwt.h"
#include "providers/oauth2/oauth2.h"

void oauth_jti(char *buf)
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	util_hex(r, sizeof(r), buf);
}

/* "Authorization: Basic base64(urlenc(id):urlenc(secret))" (RFC 6749
 * 2.3.1) into h. */
static int basic_header(const char *id, const char *secret, struct secbuf *h)
{
	struct secbuf raw = {0};
	unsigned char *b64 = NULL;
	int r;

	if ((r = http_urlencode(&raw, id)) < 0 ||
	    (r = secbuf_append(&raw, ":", 1)) < 0 ||
	    (r = http_urlencode(&raw, secret)) < 0)
		goto out;
	if (!(b64 = secmem_alloc(4 * (raw.len / 3 + 1) + 1))) {
		r = -ENOMEM;
		goto out;
	}
	EVP_EncodeBlock(b64, (const unsigned char *)raw.data, (int)raw.len);
	r = secbuf_printf(h, "Authorization: Basic %s", (char *)b64);
out:
	secmem_free(b64);
	secbuf_wipe(&raw);
	return r;
}

int oauth_post(const char *what, const char *url, const struct oauth_conn *conn,
	       const struct oauth_client *cl, const struct secbuf *form,
	       cJSON **out, char *code, size_t codelen, struct error *e)
{
	struct secbuf body = {0}, auth = {0};
	char *assertion = NULL;
	const char *headers[4];
	size_t nh = 0;
	int r;

	*out = NULL;
	if (form->len && (r = secbuf_append(&body, form->data, form->len)) < 0)
		goto out;
	switch (cl ? cl->auth : OAUTH_AUTH_NONE) {
	case OAUTH_AUTH_NONE:
		if (cl && cl->client_id &&
		    (r = oauth_http_form_add(&body, "client_id",
					     cl->client_id)) < 0)
			goto out;
		break;
	case OAUTH_AUTH_BASIC:
		if ((r = basic_header(cl->client_id, cl->client_secret,
				      &auth)) < 0)
			goto out;
		headers[nh++] = auth.data;
		break;
	case OAUTH_AUTH_POST:
		if ((r = oauth_http_form_add(&body, "client_id",
					     cl->client_id)) < 0 ||
		    (r = oauth_http_form_add(&body, "client_secret",
					     cl->client_secret)) < 0)
			goto out;
		break;
	case OAUTH_AUTH_KEY_JWT:
		if ((r = oauth_client_assertion(cl->key, cl->kid, cl->client_id,
						url, &assertion, e)) < 0)
			goto out;
		if ((r = oauth_http_form_add(&body, "client_id",
					     cl->client_id)) < 0 ||
		    (r = oauth_http_form_add(&body, "client_assertion_type",
					     "urn:ietf:params:oauth:client-"
					     "assertion-type:jwt-bearer")) <
			0 ||
		    (r = oauth_http_form_add(&body, "client_assertion",
					     assertion)) < 0)
			goto out;
		break;
	}
	headers[nh] = NULL;
	struct oauth_http_call req = {
	    .what = what,
	    .method = "POST",
	    .url = url,
	    .headers = headers,
	    .content_type = "application/x-www-form-urlencoded",
	    .body = body.data,
	    .body_len = body.len,
	    .ca_file = conn->ca_file,
	    .timeout_ms = conn->timeout_ms,
	    /* A refused grant is final; never resend a one-time code. */
	    .max_attempts = 1,
	};
	r = oauth_http_json(&req, out, code, codelen, e);
out:
	secmem_free(assertion);
	secbuf_wipe(&auth);
	secbuf_wipe(&body);
	return r;
}

int oauth_get(const char *what, const char *url, const struct oauth_conn *conn,
	      const char *const *headers, cJSON **out, struct error *e)
{
	struct oauth_http_call req = {
	    .what = what,
	    .method = "GET",
	    .url = url,
	    .headers = headers,
	    .ca_file = conn->ca_file,
	    .timeout_ms = conn->timeout_ms,
	    .imds = conn->imds,
	};
	return oauth_http_json(&req, out, NULL, 0, e);
}

int oauth_json_str(const char *what, const cJSON *j, const char *name,
		   bool optional, bool spaces, const char **v, struct error *e)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, name);
	size_t n;

	*v = NULL;
	if (!m || cJSON_IsNull(m)) {
		if (optional)
			return 0;
		error_set(e, EPROTO, "%s: the answer has no %s", what, name);
		return -EPROTO;
	}
	if (!cJSON_IsString(m) || !*m->valuestring) {
		error_set(e, EPROTO, "%s: %s is not a non-empty string", what,
			  name);
		return -EPROTO;
	}
	n = strlen(m->valuestring);
	if (n > OAUTH_MAX_TOKEN) {
		error_set(e, EPROTO, "%s: %s is too long (%zu bytes)", what,
			  name, n);
		return -EPROTO;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)m->valuestring[i];
		if (ch < 0x20 || ch > 0x7e || (ch == ' ' && !spaces)) {
			error_set(e, EPROTO,
				  "%s: %s holds a character a token cannot",
				  what, name);
			return -EPROTO;
		}
	}
	*v = m->valuestring;
	return 0;
}

/* exp of an unverified JWT, or 0. */
static time_t jwt_exp_of(const char *tok)
{
	cJSON *h = NULL, *cl = NULL;
	time_t t = 0;

	if (jwt_decode_unverified(tok, &h, &cl) == 0) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(cl, "exp");
		if (cJSON_IsNumber(x) && x->valuedouble > 0 &&
		    x->valuedouble < 1e11)
			t = (time_t)x->valuedouble;
	}
	cJSON_Delete(h);
	cJSON_Delete(cl);
	return t;
}

int oauth_token_response(const char *what, const cJSON *j, struct cred *c,
			 const char **refresh, struct error *e)
{
	static const struct {
		const char *name;
		bool optional, spaces;
	} f[] = {
	    {"access_token", false, false},
	    {"token_type", true, false},
	    {"scope", true, true},
	    {"id_token", true, false},
	};
	const cJSON *ei = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	time_t now = time(NULL), exp = 0;
	const char *v;
	int r;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if ((r = oauth_json_str(what, j, f[i].name, f[i].optional,
					f[i].spaces, &v, e)) < 0)
			return r;
		if (v && (r = cred_set(c, f[i].name, v)) < 0)
			return r;
	}
	if (refresh && (r = oauth_json_str(what, j, "refresh_token", true,
					   false, refresh, e)) < 0)
		return r;
	if (ei) {
		double d = -1;
		char *end = NULL;
		if (cJSON_IsNumber(ei))
			d = ei->valuedouble;
		else if (cJSON_IsString(ei)) { /* Azure IMDS: "3599" */
			d = strtod(ei->valuestring, &end);
			if (end == ei->valuestring || *end)
				d = -1;
		}
		if (!(d >= 1 && d <= 366 * 86400.0)) {
			error_set(e, EPROTO,
				  "%s: expires_in is not 1 s .. 1 year", what);
			return -EPROTO;
		}
		exp = now + (time_t)d;
	} else if (!(exp = jwt_exp_of(cred_get(c, "access_token")))) {
		error_set(e, EPROTO,
			  "%s: the answer has no expires_in and the access "
			  "token is not a JWT with exp",
			  what);
		return -EPROTO;
	}
	cred_set_expiration(c, exp);
	cred_set_obtained(c, now);
	return 0;
}

static int dup_endpoint(const char *what, const cJSON *j, const char *name,
			bool optional, char **out, struct error *e)
{
	const char *v;
	int r;

	*out = NULL;
	if ((r = oauth_json_str(what, j, name, optional, false, &v, e)) < 0)
		return r;
	if (!v)
		return 0;
	if ((r = http_check_url(v, e)) < 0) {
		error_prefix(e, "%s: %s", what, name);
		return r;
	}
	return (*out = strdup(v)) ? 0 : -ENOMEM;
}

int oauth_discover(const char *issuer, const struct oauth_conn *conn,
		   char **token_url, char **device_url, struct error *e)
{
	static const char what[] = "OpenID discovery";
	size_t n = strlen(issuer);
	char url[2048];
	cJSON *j = NULL;
	const char *iss;
	int r;

	*token_url = NULL;
	if (device_url)
		*device_url = NULL;
	while (n && issuer[n - 1] == '/')
		n--;
	if (snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
		     (int)n, issuer) >= (int)sizeof(url)) {
		error_set(e, EINVAL, "%s: issuer URL too long", what);
		return -EINVAL;
	}
	if ((r = oauth_get(what, url, conn, NULL, &j, e)) < 0)
		return r;
	if ((r = oauth_json_str(what, j, "issuer", false, false, &iss, e)) < 0)
		goto out;
	if (strncmp(iss, issuer, n) != 0 ||
	    (iss[n] && strcmp(iss + n, "/") != 0)) {
		error_set(e, EPROTO, "%s: the document names another issuer",
			  what);
		r = -EPROTO;
		goto out;
	}
	if ((r = dup_endpoint(what, j, "token_endpoint", false, token_url, e)) <
	    0)
		goto out;
	if (device_url &&
	    (r = dup_endpoint(what, j, "device_authorization_endpoint", true,
			      device_url, e)) < 0) {
		free(*token_url);
		*token_url = NULL;
	}
out:
	cJSON_Delete(j);
	return r;
}

int oauth_client_assertion(const struct jwt_key *k, const char *kid,
			   const char *client_id, const char *aud, char **out,
			   struct error *e)
{
	time_t now = time(NULL);
	char jti[33];
	cJSON *cl = cJSON_CreateObject();
	int r = -ENOMEM;

	*out = NULL;
	oauth_jti(jti);
	if (cl && cJSON_AddStringToObject(cl, "iss", client_id) &&
	    cJSON_AddStringToObject(cl, "sub", client_id) &&
	    cJSON_AddStringToObject(cl, "aud", aud) &&
	    cJSON_AddStringToObject(cl, "jti", jti) &&
	    cJSON_AddNumberToObject(cl, "iat", (double)now) &&
	    cJSON_AddNumberToObject(cl, "exp", (double)(now + 300)))
		r = jwt_sign(k, kid, cl, out, e);
	cJSON_Delete(cl);
	return r;
}
