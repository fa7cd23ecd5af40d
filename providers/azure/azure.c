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
#include "core/digest.h"
#include "crypto/store.h"
#include "providers/http.h"
#include "providers/jwt.h"
#include "providers/oauth2/oauth2.h"
#include "providers/azure/azure.h"

#define AZ_AUTHORITY "https://login.microsoftonline.com"
#define AZ_IMDS "http://169.254.169.254/metadata/identity/oauth2/token"
#define AZ_ASSERTION_TYPE                                                      \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* Key Vault secrets are at most 25 KiB. */
#define AZ_MAX_SECRET 25600

static struct oauth_conn conn_of(const struct provider_req *req)
{
	struct oauth_conn c = {
	    .ca_file = req->common->ca_file,
	    .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000,
	};
	return c;
}

/* The parsed profile of a request, or NULL (e set). */
static const void *az_cfg(const struct provider_req *req, struct error *e)
{
	if (!req->state)
		error_set(e, EINVAL, "the profile was not parsed");
	return req->state;
}

/* A required key that is absent (the config has said so already) or
 * empty (said here, at its line). */
static bool missing(const struct cfg_section *p, const char *key,
		    struct diag *d)
{
	const char *v = cfg_get(p, key);

	if (v && !*v)
		cfg_error(d, cfg_line(p, key), "%s: empty", key);
	return !v || !*v;
}

/* cfg_strdup for each key into *dst; -ENOMEM when a present one fails. */
static int dup_keys(const struct cfg_section *p, const char *const *keys,
		    char **const *dst)
{
	for (size_t i = 0; keys[i]; i++)
		if (cfg_get(p, keys[i]) && *cfg_get(p, keys[i]) &&
		    !(*dst[i] = cfg_strdup(p, keys[i])))
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
	char *tenant, *client_id, *scope, *secret, *authority;
};

static void az_client_free(void *p)
{
	struct az_client_cfg *c = p;

	if (!c)
		return;
	free(c->tenant);
	free(c->client_id);
	free(c->scope);
	free(c->secret);
	free(c->authority);
	free(c);
}

static int az_client_parse(const struct cfg_section *p, struct diag *d,
			   void **state)
{
	static const char *const keys[] = {"tenant", "client_id", "scope",
					   "secret", "authority", NULL};
	struct az_client_cfg *c = calloc(1, sizeof(*c));
	int r = 0;

	if (!c)
		return -ENOMEM;
	if (dup_keys(p, keys,
		     (char **const[]){&c->tenant, &c->client_id, &c->scope,
				      &c->secret, &c->authority}) < 0 ||
	    (!c->authority && !(c->authority = strdup(AZ_AUTHORITY)))) {
		az_client_free(c);
		return -ENOMEM;
	}
	if (missing(p, "tenant", d)) {
		r = -EINVAL;
	} else if (!url_safe(c->tenant, 128)) {
		cfg_error(d, cfg_line(p, "tenant"),
			  "tenant: a tenant id or domain");
		r = -EINVAL;
	}
	if (missing(p, "scope", d))
		r = -EINVAL;
	if (r < 0) {
		az_client_free(c);
		return r;
	}
	*state = c;
	return 0;
}

/* The SHA-256 thumbprint of cert's DER (base64url) into th, and its
 * public key as PEM into pub. */
static int cert_thumbprint(const char *cert_pem, struct secbuf *th,
			   struct secbuf *pub)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1), *pb = BIO_new(BIO_s_mem());
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	uint8_t d[DIGEST_BYTES];
	unsigned char *der = NULL;
	char *p;
	long pl;
	int dl, r = -EINVAL;

	if (!x || !pb || PEM_write_bio_PUBKEY(pb, X509_get0_pubkey(x)) != 1 ||
	    (dl = i2d_X509(x, &der)) <= 0)
		goto out;
	digest_sha256(der, (size_t)dl, d);
	pl = BIO_get_mem_data(pb, &p);
	if ((r = jwt_b64url_encode(th, d, sizeof(d))) < 0 ||
	    (r = secbuf_append(pub, p, (size_t)pl)) < 0)
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(pb);
	BIO_free(bio);
	return r;
}

/* RS256 client assertion with the header Entra wants for a certificate
 * credential: {"alg":"RS256","typ":"JWT","x5t#S256":...}; checked
 * against the certificate's public key before it is sent. */
static int cert_assertion(const char *cert_pem, const char *key_pem,
			  const char *client_id, const char *aud, char **out,
			  struct error *e)
{
	static const char bad[] = "certificate and private_key: not a PEM "
				  "certificate with its RSA key";
	struct jwt_key *k = NULL, *pk = NULL;
	struct secbuf th = {0}, pub = {0};
	cJSON *h = NULL, *cl = NULL;
	char jti[33];
	time_t now = time(NULL);
	int r;

	*out = NULL;
	if (cert_thumbprint(cert_pem, &th, &pub) < 0 ||
	    jwt_key_from_pem(key_pem, strlen(key_pem), "private_key", &k,
			     NULL) < 0 ||
	    jwt_key_alg(k) != JWT_RS256 ||
	    jwt_key_public_from_pem(pub.data, pub.len, "certificate", &pk,
				    NULL) < 0) {
		r = error_set(e, EINVAL, "%s", bad);
		goto out;
	}
	r = -ENOMEM;
	oauth_jti(jti);
	if (!(h = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(h, "x5t#S256", th.data) ||
	    !(cl = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(cl, "aud", aud) ||
	    !cJSON_AddStringToObject(cl, "iss", client_id) ||
	    !cJSON_AddStringToObject(cl, "sub", client_id) ||
	    !cJSON_AddStringToObject(cl, "jti", jti) ||
	    !cJSON_AddNumberToObject(cl, "nbf", (double)now) ||
	    !cJSON_AddNumberToObject(cl, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(cl, "exp", (double)(now + 600)))
		goto out;
	if ((r = jwt_sign_ext(k, NULL, h, cl, out, e)) < 0)
		goto out;
	if (jwt_verify(pk, *out, 0, 0, NULL, NULL, NULL) < 0) {
		secmem_free(*out);
		*out = NULL;
		r = error_set(e, EINVAL, "%s", bad);
	}
out:
	cJSON_Delete(h);
	cJSON_Delete(cl);
	secbuf_wipe(&th);
	secbuf_wipe(&pub);
	jwt_key_free(k);
	jwt_key_free(pk);
	return r;
}

static int az_client_fetch(const struct provider_req *req, struct cred **out,
			   struct error *e)
{
	static const char what[] = "Entra token (client_credentials)";
	const struct az_client_cfg *c = az_cfg(req, e);
	struct oauth_conn conn = conn_of(req);
	struct cred *ent = NULL, *res = NULL;
	struct secbuf form = {0};
	char url[1024], *assertion = NULL;
	const char *id, *sec = NULL;
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if (!c)
		return -EINVAL;
	if (c->secret) {
		if (!req->store) {
			error_set(e, ENOKEY,
				  "store entry %s: the store is not open",
				  c->secret);
			r = -ENOKEY;
			goto out;
		}
		if ((r = store_get(req->store, c->secret, &ent, e)) < 0) {
			error_prefix(e, "store entry %s", c->secret);
			goto out;
		}
	}
	id = c->client_id ? c->client_id
			  : (ent ? cred_get(ent, "client_id") : NULL);
	if (!id || !*id) {
		error_set(e, EINVAL, "no client_id (profile or store entry)");
		r = -EINVAL;
		goto out;
	}
	if (req->common->endpoint)
		snprintf(url, sizeof(url), "%s", req->common->endpoint);
	else
		snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/token",
			 c->authority, c->tenant);
	if ((r = oauth_http_form_add(&form, "grant_type",
				     "client_credentials")) < 0 ||
	    (r = oauth_http_form_add(&form, "client_id", id)) < 0 ||
	    (r = oauth_http_form_add(&form, "scope", c->scope)) < 0)
		goto out;
	if (req->source) {
		static const char *const f[] = {"token", "id_token",
						"access_token", NULL};
		for (size_t i = 0; f[i] && !sec; i++)
			sec = cred_get(req->source, f[i]);
		if (!sec || !*sec) {
			error_set(e, ENODATA,
				  "the source credential has no token for "
				  "a federated assertion");
			r = -ENODATA;
			goto out;
		}
		if ((r = oauth_http_form_add(&form, "client_assertion_type",
					     AZ_ASSERTION_TYPE)) < 0 ||
		    (r = oauth_http_form_add(&form, "client_assertion", sec)) <
			0)
			goto out;
	} else if (ent && (sec = cred_get(ent, "client_secret"))) {
		if ((r = oauth_http_form_add(&form, "client_secret", sec)) < 0)
			goto out;
	} else if (ent && cred_get(ent, "certificate") &&
		   cred_get(ent, "private_key")) {
		if ((r = cert_assertion(cred_get(ent, "certificate"),
					cred_get(ent, "private_key"), id, url,
					&assertion, e)) < 0)
			goto out;
		if ((r = oauth_http_form_add(&form, "client_assertion_type",
					     AZ_ASSERTION_TYPE)) < 0 ||
		    (r = oauth_http_form_add(&form, "client_assertion",
					     assertion)) < 0)
			goto out;
	} else {
		error_set(e, EINVAL,
			  "needs source = PROFILE, or secret = STORE_ENTRY "
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
	return r;
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
    .source = PROVIDER_SOURCE_OPTIONAL,
    .cacheable = true,
    .fields = az_token_fields,
    .parse = az_client_parse,
    .free_state = az_client_free,
    .fetch = az_client_fetch,
};

/* ---- azure-managed-identity -------------------------------------------- */

struct az_mi_cfg {
	char *resource, *client_id;
};

static void az_mi_free(void *p)
{
	struct az_mi_cfg *c = p;

	if (!c)
		return;
	free(c->resource);
	free(c->client_id);
	free(c);
}

static int az_mi_parse(const struct cfg_section *p, struct diag *d,
		       void **state)
{
	static const char *const keys[] = {"resource", "client_id", NULL};
	struct az_mi_cfg *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (dup_keys(p, keys, (char **const[]){&c->resource, &c->client_id}) <
	    0) {
		az_mi_free(c);
		return -ENOMEM;
	}
	if (missing(p, "resource", d)) {
		az_mi_free(c);
		return -EINVAL;
	}
	*state = c;
	return 0;
}

static int az_mi_fetch(const struct provider_req *req, struct cred **out,
		       struct error *e)
{
	static const char what[] = "Managed identity token (IMDS)";
	const struct az_mi_cfg *c = az_cfg(req, e);
	const char *resource = c ? c->resource : NULL;
	const char *id = c ? c->client_id : NULL;
	const char *ep = req->common->endpoint;
	static const char *const hdr[] = {"Metadata: true", NULL};
	struct oauth_conn conn = conn_of(req);
	struct secbuf url = {0};
	struct cred *res = NULL;
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if (!c)
		return -EINVAL;
	if ((r = secbuf_printf(&url, "%s?api-version=2018-02-01&resource=",
			       ep ? ep : AZ_IMDS)) < 0 ||
	    (r = http_urlencode(&url, resource)) < 0 ||
	    (id && ((r = secbuf_printf(&url, "&client_id=")) < 0 ||
		    (r = http_urlencode(&url, id)) < 0)) ||
	    (r = secbuf_append(&url, "", 1)) < 0)
		goto out;
	conn.imds = true; /* the one plain-http endpoint off the host */
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
	return r;
}

static const char *const az_mi_keys[] = {"resource", "client_id", NULL};
static const char *const az_mi_required[] = {"resource", NULL};

const struct provider_ops provider_azure_managed_identity = {
    .name = "azure-managed-identity",
    .keys = az_mi_keys,
    .required = az_mi_required,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = az_token_fields,
    .parse = az_mi_parse,
    .free_state = az_mi_free,
    .fetch = az_mi_fetch,
};

/* ---- azure-keyvault ---------------------------------------------------- */

struct az_kv_cfg {
	char *vault, *name, *version;
	int lifetime;
};

static void az_kv_free(void *p)
{
	struct az_kv_cfg *c = p;

	if (!c)
		return;
	free(c->vault);
	free(c->name);
	free(c->version);
	free(c);
}

static int az_kv_parse(const struct cfg_section *p, struct diag *d,
		       void **state)
{
	static const char *const keys[] = {"vault", "name", "version", NULL};
	const char *lt = cfg_get(p, "lifetime");
	struct az_kv_cfg *c = calloc(1, sizeof(*c));
	int r = 0;

	if (!c)
		return -ENOMEM;
	if (dup_keys(p, keys,
		     (char **const[]){&c->vault, &c->name, &c->version}) < 0) {
		az_kv_free(c);
		return -ENOMEM;
	}
	c->lifetime = 3600;
	if (missing(p, "vault", d)) {
		r = -EINVAL;
	} else if (strncmp(c->vault, "http", 4) != 0) {
		cfg_error(d, cfg_line(p, "vault"),
			  "vault: the vault URL, "
			  "https://NAME.vault.azure.net");
		r = -EINVAL;
	}
	if (missing(p, "name", d)) {
		r = -EINVAL;
	} else if (!url_safe(c->name, 127) ||
		   (c->version && !url_safe(c->version, 64))) {
		cfg_error(
		    d, cfg_line(p, url_safe(c->name, 127) ? "version" : "name"),
		    "name, version: letters, digits and '-'");
		r = -EINVAL;
	}
	if (lt &&
	    (util_duration_parse(lt, &c->lifetime) < 0 || c->lifetime < 60)) {
		cfg_error(d, cfg_line(p, "lifetime"),
			  "lifetime: a duration of at least 1m");
		r = -EINVAL;
	}
	if (r < 0) {
		az_kv_free(c);
		return r;
	}
	*state = c;
	return 0;
}

/* The Key Vault answer {value, attributes{enabled, exp}} into *res: the
 * value, expiring at exp or after lifetime seconds, whichever is first. */
int az_kv_answer(const char *what, const cJSON *j, int lifetime, time_t now,
		 struct cred **res, struct error *e)
{
	const cJSON *v, *a, *x;
	struct cred *c;
	time_t exp;
	int r;

	*res = NULL;
	v = cJSON_GetObjectItemCaseSensitive(j, "value");
	if (!cJSON_IsString(v) || strlen(v->valuestring) > AZ_MAX_SECRET) {
		error_set(e, EPROTO,
			  "%s: the answer has no value (or an oversized one)",
			  what);
		return -EPROTO;
	}
	a = cJSON_GetObjectItemCaseSensitive(j, "attributes");
	x = cJSON_GetObjectItemCaseSensitive(a, "enabled");
	if (cJSON_IsFalse(x)) {
		error_set(e, EACCES, "%s: the secret is disabled", what);
		return -EACCES;
	}
	x = cJSON_GetObjectItemCaseSensitive(a, "exp");
	exp = now + lifetime;
	if (cJSON_IsNumber(x) && x->valuedouble > 0 &&
	    util_clamp_ll(x->valuedouble, 0, UTIL_TIME_MAX) < exp)
		exp = util_clamp_ll(x->valuedouble, 0, UTIL_TIME_MAX);
	if (exp <= now) {
		error_set(e, EKEYEXPIRED, "%s: the secret expired", what);
		return -EKEYEXPIRED;
	}
	if (!(c = cred_new()))
		return -ENOMEM;
	if ((r = cred_set(c, "value", v->valuestring)) < 0) {
		cred_unref(c);
		return r;
	}
	cred_set_expiration(c, exp);
	cred_set_obtained(c, now);
	*res = c;
	return 0;
}

static int az_kv_fetch(const struct provider_req *req, struct cred **out,
		       struct error *e)
{
	char what[200];
	const struct az_kv_cfg *c = az_cfg(req, e);
	struct oauth_conn conn = conn_of(req);
	struct secbuf url = {0}, auth = {0};
	struct cred *res = NULL;
	const char *hdr[2], *tok;
	cJSON *j = NULL;
	time_t now = time(NULL);
	size_t n;
	int r;

	*out = NULL;
	if (!c)
		return -EINVAL;
	snprintf(what, sizeof(what), "Key Vault secret %s", c->name);
	tok = req->source ? cred_get(req->source, "access_token") : NULL;
	if (!tok || !*tok) {
		error_set(e, ENODATA,
			  "%s: the source credential has no access_token",
			  what);
		r = -ENODATA;
		goto out;
	}
	n = strlen(c->vault);
	while (n && c->vault[n - 1] == '/')
		n--;
	if ((r = secbuf_printf(&url, "%.*s/secrets/%s%s%s?api-version=7.4",
			       (int)n, c->vault, c->name, c->version ? "/" : "",
			       c->version ? c->version : "")) < 0 ||
	    (r = secbuf_printf(&auth, "Authorization: Bearer %s", tok)) < 0)
		goto out;
	hdr[0] = auth.data;
	hdr[1] = NULL;
	if ((r = oauth_get(what, url.data, &conn, hdr, &j, e)) < 0)
		goto out;
	if ((r = az_kv_answer(what, j, c->lifetime, now, &res, e)) < 0)
		goto out;
	*out = res;
	res = NULL;
out:
	cJSON_Delete(j);
	cred_unref(res);
	secbuf_wipe(&url);
	secbuf_wipe(&auth);
	return r;
}

static const char *const az_kv_keys[] = {"vault", "name", "version", "lifetime",
					 NULL};
static const char *const az_kv_required[] = {"vault", "name", NULL};
static const char *const az_kv_fields[] = {"value", NULL};

const struct provider_ops provider_azure_keyvault = {
    .name = "azure-keyvault",
    .keys = az_kv_keys,
    .required = az_kv_required,
    .source = PROVIDER_SOURCE_REQUIRED,
    .cacheable = true,
    .fields = az_kv_fields,
    .parse = az_kv_parse,
    .free_state = az_kv_free,
    .fetch = az_kv_fetch,
};
