/* Azure: Entra ID client credentials, managed identity (IMDS), Key Vault.
 *
 *   [profile app]
 *   provider = azure-client
 *   tenant = 00000000-0000-0000-0000-000000000000
 *   client_id = 11111111-...           # or in the store entry
 *   scope = https://management.azure.com/.default
 *   secret = app-cred                  # client_secret, or certificate +
 *                                      # private_key (PEM, RSA)
 *   # or: source = wl  (a federated assertion, e.g. an oidc-issuer)
 *   authority = https://login.microsoftonline.com
 *
 *   [profile mi]
 *   provider = azure-managed-identity
 *   resource = https://vault.azure.net
 *   client_id = ...                    # user-assigned identity
 *   endpoint = http://127.0.0.1:PORT/metadata/identity/oauth2/token
 *
 *   [profile db-password]
 *   provider = azure-keyvault
 *   source = mi                        # a token for https://vault.azure.net
 *   vault = https://myvault.vault.azure.net
 *   name = db-password
 *   version = 0123abcd...              # optional
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "crypto/store.h"
#include "providers/http.h"
#include "providers/jwt.h"
#include "providers/oauth2/oauth2.h"

#define AZ_AUTHORITY "https://login.microsoftonline.com"
#define AZ_IMDS "http://169.254.169.254/metadata/identity/oauth2/token"
#define AZ_ASSERTION_TYPE                                                      \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* Key Vault secrets are at most 25 KiB. */
#define AZ_MAX_SECRET 25600

static int conn_of(const struct cfg_section *p, int timeout_ms,
		   struct oauth_conn *c)
{
	const char *ca = cfg_get(p, "ca_file");

	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	c->ca_file = NULL;
	if (ca && *ca && !(c->ca_file = config_expand_path(ca)))
		return -ENOMEM;
	return 0;
}

/* Letters, digits, '-', '.', '_' only: safe in a URL path or query. */
static bool url_safe(const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		      *s == '_'))
			return false;
	return s && n > 0 && n <= max;
}

/* ---- azure-client ------------------------------------------------------ */

struct az_client_cfg {
	const char *tenant, *client_id, *scope, *secret, *authority, *endpoint;
	const char *bad; /* the key a parse error is about */
};

static int az_client_parse(const struct cfg_section *p, struct az_client_cfg *c,
			   struct perr *e)
{
	memset(c, 0, sizeof(*c));
	c->tenant = cfg_get(p, "tenant");
	c->client_id = cfg_get(p, "client_id");
	c->scope = cfg_get(p, "scope");
	c->secret = cfg_get(p, "secret");
	c->authority = cfg_get(p, "authority");
	c->endpoint = cfg_get(p, "endpoint");
	if (!c->authority)
		c->authority = AZ_AUTHORITY;
	if (!url_safe(c->tenant, 128)) {
		c->bad = "tenant";
		perr_set(e, "tenant: a tenant id or domain");
		return -EINVAL;
	}
	if (!c->scope || !*c->scope) {
		perr_set(e, "needs scope (e.g. "
			    "https://management.azure.com/.default)");
		return -EINVAL;
	}
	return 0;
}

/* RS256 JWS with the header Entra wants for a certificate credential:
 * {"alg":"RS256","typ":"JWT","x5t#S256":...}.  (jwt_sign takes no extra
 * header members.) */
static int cert_assertion(const char *cert_pem, const char *key_pem,
			  const char *client_id, const char *aud, char **out,
			  struct perr *e)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO *kb = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char d[SHA256_DIGEST_LENGTH], *der = NULL, sig[1024];
	struct secbuf t = {0}, th = {0};
	cJSON *h = NULL, *cl = NULL;
	char *hs = NULL, *cs = NULL, jti[33];
	size_t siglen = sizeof(sig);
	time_t now = time(NULL);
	int dl, r = -EINVAL;

	*out = NULL;
	if (!x || !k || !EVP_PKEY_is_a(k, "RSA") ||
	    X509_check_private_key(x, k) != 1) {
		perr_set(e, "certificate and private_key: not a PEM "
			    "certificate with its RSA key");
		goto out;
	}
	r = -ENOMEM;
	if ((dl = i2d_X509(x, &der)) <= 0)
		goto out;
	SHA256(der, (size_t)dl, d);
	oauth_jti(jti);
	if (jwt_b64url_encode(&th, d, sizeof(d)) < 0 ||
	    !(h = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(h, "alg", "RS256") ||
	    !cJSON_AddStringToObject(h, "typ", "JWT") ||
	    !cJSON_AddStringToObject(h, "x5t#S256", th.data) ||
	    !(cl = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(cl, "aud", aud) ||
	    !cJSON_AddStringToObject(cl, "iss", client_id) ||
	    !cJSON_AddStringToObject(cl, "sub", client_id) ||
	    !cJSON_AddStringToObject(cl, "jti", jti) ||
	    !cJSON_AddNumberToObject(cl, "nbf", (double)now) ||
	    !cJSON_AddNumberToObject(cl, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(cl, "exp", (double)(now + 600)) ||
	    !(hs = cJSON_PrintUnformatted(h)) ||
	    !(cs = cJSON_PrintUnformatted(cl)))
		goto out;
	if ((r = jwt_b64url_encode(&t, hs, strlen(hs))) < 0 ||
	    (r = secbuf_append(&t, ".", 1)) < 0 ||
	    (r = jwt_b64url_encode(&t, cs, strlen(cs))) < 0)
		goto out;
	r = -EIO;
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)t.data, t.len) !=
		1) {
		perr_set(e, "cannot sign the client assertion");
		goto out;
	}
	if ((r = secbuf_append(&t, ".", 1)) < 0 ||
	    (r = jwt_b64url_encode(&t, sig, siglen)) < 0 ||
	    (r = secbuf_append(&t, "", 1)) < 0)
		goto out;
	*out = secbuf_steal(&t, NULL);
	r = *out ? 0 : -ENOMEM;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	cJSON_free(hs);
	cJSON_free(cs);
	cJSON_Delete(h);
	cJSON_Delete(cl);
	secbuf_wipe(&t);
	secbuf_wipe(&th);
	EVP_PKEY_free(k);
	BIO_free(kb);
	X509_free(x);
	BIO_free(bio);
	return r;
}

static int az_client_fetch(const struct provider_req *req, struct cred **out,
			   struct perr *e)
{
	static const char what[] = "Entra token (client_credentials)";
	struct az_client_cfg c;
	struct oauth_conn conn = {0};
	struct cred *ent = NULL, *res = NULL;
	struct secbuf form = {0};
	char url[1024], *assertion = NULL;
	const char *id, *sec = NULL;
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if ((r = az_client_parse(req->profile, &c, e)) < 0 ||
	    (r = conn_of(req->profile, req->timeout_ms, &conn)) < 0)
		goto out;
	if (c.secret) {
		char err[256] = "";
		if (!req->store) {
			perr_set(e, "store entry %s: the store is not open",
				 c.secret);
			r = -ENOKEY;
			goto out;
		}
		if ((r = store_get(req->store, c.secret, &ent, err,
				   sizeof(err))) < 0) {
			perr_set(e, "store entry %s: %s", c.secret,
				 err[0] ? err : strerror(-r));
			goto out;
		}
	}
	id = c.client_id ? c.client_id
			 : (ent ? cred_get(ent, "client_id") : NULL);
	if (!id || !*id) {
		perr_set(e, "no client_id (profile or store entry)");
		r = -EINVAL;
		goto out;
	}
	if (c.endpoint)
		snprintf(url, sizeof(url), "%s", c.endpoint);
	else
		snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/token",
			 c.authority, c.tenant);
	if ((r = oauth_form_add(&form, "grant_type", "client_credentials")) <
		0 ||
	    (r = oauth_form_add(&form, "client_id", id)) < 0 ||
	    (r = oauth_form_add(&form, "scope", c.scope)) < 0)
		goto out;
	if (req->source) {
		static const char *const f[] = {"token", "id_token",
						"access_token", NULL};
		for (size_t i = 0; f[i] && !sec; i++)
			sec = cred_get(req->source, f[i]);
		if (!sec || !*sec) {
			perr_set(e, "the source credential has no token for "
				    "a federated assertion");
			r = -ENODATA;
			goto out;
		}
		if ((r = oauth_form_add(&form, "client_assertion_type",
					AZ_ASSERTION_TYPE)) < 0 ||
		    (r = oauth_form_add(&form, "client_assertion", sec)) < 0)
			goto out;
	} else if (ent && (sec = cred_get(ent, "client_secret"))) {
		if ((r = oauth_form_add(&form, "client_secret", sec)) < 0)
			goto out;
	} else if (ent && cred_get(ent, "certificate") &&
		   cred_get(ent, "private_key")) {
		if ((r = cert_assertion(cred_get(ent, "certificate"),
					cred_get(ent, "private_key"), id, url,
					&assertion, e)) < 0)
			goto out;
		if ((r = oauth_form_add(&form, "client_assertion_type",
					AZ_ASSERTION_TYPE)) < 0 ||
		    (r = oauth_form_add(&form, "client_assertion", assertion)) <
			0)
			goto out;
	} else {
		perr_set(e, "needs source = PROFILE, or secret = STORE_ENTRY "
			    "with client_secret or certificate and "
			    "private_key");
		r = -EINVAL;
		goto out;
	}
	if ((r = oauth_post(what, url, &conn, NULL, &form, &j, NULL, 0, e)) < 0)
		goto out;
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = oauth_token_response(what, j, res, NULL, e)) < 0)
		goto out;
	*out = res;
	res = NULL;
out:
	cJSON_Delete(j);
	cred_unref(ent);
	cred_unref(res);
	secmem_free(assertion);
	secbuf_wipe(&form);
	free(conn.ca_file);
	return r;
}

static int az_client_validate(const struct cfg_section *s, void *diag)
{
	struct az_client_cfg c;
	struct perr e = {{0}};

	if (az_client_parse(s, &c, &e) < 0)
		cfg_error(diag, c.bad ? cfg_line(s, c.bad) : s->line, "%s",
			  e.msg);
	return 0;
}

static const char *const az_client_keys[] = {"tenant", "client_id", "scope",
					     "secret", "authority", NULL};
static const char *const az_client_required[] = {"tenant", "scope", NULL};
static const char *const az_token_fields[] = {"access_token", "token_type",
					      NULL};

const struct provider_ops provider_azure_client = {
    .name = "azure-client",
    .keys = az_client_keys,
    .required = az_client_required,
    .source = "maybe",
    .fields = az_token_fields,
    .validate = az_client_validate,
    .fetch = az_client_fetch,
};

/* ---- azure-managed-identity -------------------------------------------- */

static int az_mi_fetch(const struct provider_req *req, struct cred **out,
		       struct perr *e)
{
	static const char what[] = "Managed identity token (IMDS)";
	const char *resource = cfg_get(req->profile, "resource");
	const char *id = cfg_get(req->profile, "client_id");
	const char *ep = cfg_get(req->profile, "endpoint");
	static const char *const hdr[] = {"Metadata: true", NULL};
	struct oauth_conn conn = {0};
	struct secbuf url = {0};
	struct cred *res = NULL;
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if (!resource || !*resource) {
		perr_set(e, "needs resource (e.g. https://vault.azure.net)");
		return -EINVAL;
	}
	if ((r = conn_of(req->profile, req->timeout_ms, &conn)) < 0)
		return r;
	if ((r = secbuf_printf(&url, "%s?api-version=2018-02-01&resource=",
			       ep ? ep : AZ_IMDS)) < 0 ||
	    (r = http_urlencode(&url, resource)) < 0 ||
	    (id && ((r = secbuf_printf(&url, "&client_id=")) < 0 ||
		    (r = http_urlencode(&url, id)) < 0)) ||
	    (r = secbuf_append(&url, "", 1)) < 0)
		goto out;
	if ((r = oauth_get(what, url.data, &conn, hdr, &j, e)) < 0)
		goto out;
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = oauth_token_response(what, j, res, NULL, e)) < 0)
		goto out;
	*out = res;
	res = NULL;
out:
	cJSON_Delete(j);
	cred_unref(res);
	secbuf_wipe(&url);
	free(conn.ca_file);
	return r;
}

static const char *const az_mi_keys[] = {"resource", "client_id", NULL};
static const char *const az_mi_required[] = {"resource", NULL};

const struct provider_ops provider_azure_managed_identity = {
    .name = "azure-managed-identity",
    .keys = az_mi_keys,
    .required = az_mi_required,
    .source = "no",
    .fields = az_token_fields,
    .fetch = az_mi_fetch,
};

/* ---- azure-keyvault ---------------------------------------------------- */

struct az_kv_cfg {
	const char *vault, *name, *version;
	int lifetime;
	const char *bad; /* the key a parse error is about */
};

static int az_kv_parse(const struct cfg_section *p, struct az_kv_cfg *c,
		       struct perr *e)
{
	const char *lt = cfg_get(p, "lifetime");

	memset(c, 0, sizeof(*c));
	c->vault = cfg_get(p, "vault");
	c->name = cfg_get(p, "name");
	c->version = cfg_get(p, "version");
	c->lifetime = 3600;
	if (!c->vault || strncmp(c->vault, "http", 4) != 0) {
		c->bad = "vault";
		perr_set(e, "vault: the vault URL, "
			    "https://NAME.vault.azure.net");
		return -EINVAL;
	}
	if (!url_safe(c->name, 127) ||
	    (c->version && !url_safe(c->version, 64))) {
		c->bad = url_safe(c->name, 127) ? "version" : "name";
		perr_set(e, "name, version: letters, digits and '-'");
		return -EINVAL;
	}
	if (lt &&
	    (util_duration_parse(lt, &c->lifetime) < 0 || c->lifetime < 60)) {
		c->bad = "lifetime";
		perr_set(e, "lifetime: a duration of at least 1m");
		return -EINVAL;
	}
	return 0;
}

static int az_kv_fetch(const struct provider_req *req, struct cred **out,
		       struct perr *e)
{
	char what[200];
	struct az_kv_cfg c;
	struct oauth_conn conn = {0};
	struct secbuf url = {0}, auth = {0};
	struct cred *res = NULL;
	const char *hdr[2], *tok;
	const cJSON *v, *a, *x;
	cJSON *j = NULL;
	time_t now = time(NULL), exp;
	size_t n;
	int r;

	*out = NULL;
	if ((r = az_kv_parse(req->profile, &c, e)) < 0 ||
	    (r = conn_of(req->profile, req->timeout_ms, &conn)) < 0)
		return r;
	snprintf(what, sizeof(what), "Key Vault secret %s", c.name);
	tok = req->source ? cred_get(req->source, "access_token") : NULL;
	if (!tok || !*tok) {
		perr_set(e, "%s: the source credential has no access_token",
			 what);
		r = -ENODATA;
		goto out;
	}
	n = strlen(c.vault);
	while (n && c.vault[n - 1] == '/')
		n--;
	if ((r = secbuf_printf(&url, "%.*s/secrets/%s%s%s?api-version=7.4",
			       (int)n, c.vault, c.name, c.version ? "/" : "",
			       c.version ? c.version : "")) < 0 ||
	    (r = secbuf_printf(&auth, "Authorization: Bearer %s", tok)) < 0)
		goto out;
	hdr[0] = auth.data;
	hdr[1] = NULL;
	if ((r = oauth_get(what, url.data, &conn, hdr, &j, e)) < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(j, "value");
	if (!cJSON_IsString(v) || strlen(v->valuestring) > AZ_MAX_SECRET) {
		perr_set(e, "%s: the answer has no value (or an oversized one)",
			 what);
		r = -EPROTO;
		goto out;
	}
	a = cJSON_GetObjectItemCaseSensitive(j, "attributes");
	x = cJSON_GetObjectItemCaseSensitive(a, "enabled");
	if (cJSON_IsFalse(x)) {
		perr_set(e, "%s: the secret is disabled", what);
		r = -EACCES;
		goto out;
	}
	x = cJSON_GetObjectItemCaseSensitive(a, "exp");
	exp = now + c.lifetime;
	if (cJSON_IsNumber(x) && x->valuedouble > 0 &&
	    (time_t)x->valuedouble < exp)
		exp = (time_t)x->valuedouble;
	if (exp <= now) {
		perr_set(e, "%s: the secret expired", what);
		r = -EKEYEXPIRED;
		goto out;
	}
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = cred_set(res, "value", v->valuestring)) < 0)
		goto out;
	cred_set_expiration(res, exp);
	cred_set_obtained(res, now);
	*out = res;
	res = NULL;
out:
	cJSON_Delete(j);
	cred_unref(res);
	secbuf_wipe(&url);
	secbuf_wipe(&auth);
	free(conn.ca_file);
	return r;
}

static int az_kv_validate(const struct cfg_section *s, void *diag)
{
	struct az_kv_cfg c;
	struct perr e = {{0}};

	if (az_kv_parse(s, &c, &e) < 0)
		cfg_error(diag, c.bad ? cfg_line(s, c.bad) : s->line, "%s",
			  e.msg);
	return 0;
}

static const char *const az_kv_keys[] = {"vault", "name", "version", "lifetime",
					 NULL};
static const char *const az_kv_required[] = {"vault", "name", NULL};
static const char *const az_kv_fields[] = {"value", NULL};

const struct provider_ops provider_azure_keyvault = {
    .name = "azure-keyvault",
    .keys = az_kv_keys,
    .required = az_kv_required,
    .source = "yes",
    .fields = az_kv_fields,
    .validate = az_kv_validate,
    .fetch = az_kv_fetch,
};
