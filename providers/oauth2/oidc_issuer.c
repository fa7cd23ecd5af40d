/* oidc-issuer: short-lived JWTs signed with a key in the sealed store.
 * See oidc_issuer.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
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
#include "providers/oauth2/oidc_issuer.h"

#define DEFAULT_LIFETIME (15 * 60)
#define RETIRE_GRACE 300

struct issuer_cfg {
	const char *issuer, *audience, *subject, *jwks_uri;
	int lifetime;
	enum jwt_alg alg;
	char entry[160];
	const char *bad; /* the key a parse error is about */
};

static int issuer_parse(const char *name, const struct cfg_section *p,
			struct issuer_cfg *c, struct error *e)
{
	const char *lt = cfg_get(p, "lifetime"), *alg = cfg_get(p, "alg");
	const char *key = cfg_get(p, "key");

	memset(c, 0, sizeof(*c));
	c->issuer = cfg_get(p, "issuer");
	c->audience = cfg_get(p, "audience");
	c->subject = cfg_get(p, "subject");
	c->jwks_uri = cfg_get(p, "jwks_uri");
	c->lifetime = DEFAULT_LIFETIME;
	c->alg = JWT_ES256;
	if (!c->issuer || !*c->issuer || !c->audience || !*c->audience) {
		error_set(e, EINVAL, "needs issuer and audience");
		return -EINVAL;
	}
	if (strncmp(c->issuer, "https://", 8) != 0 &&
	    strncmp(c->issuer, "http://", 7) != 0) {
		c->bad = "issuer";
		error_set(e, EINVAL, "issuer: an https:// URL");
		return -EINVAL;
	}
	if (lt && (util_duration_parse(lt, &c->lifetime) < 0 ||
		   c->lifetime < 60 || c->lifetime > 86400)) {
		c->bad = "lifetime";
		error_set(e, EINVAL, "lifetime: a duration from 1m to 24h");
		return -EINVAL;
	}
	if (alg && !strcmp(alg, "RS256"))
		c->alg = JWT_RS256;
	else if (alg && strcmp(alg, "ES256") != 0) {
		c->bad = "alg";
		error_set(e, EINVAL, "alg: ES256 or RS256");
		return -EINVAL;
	}
	snprintf(c->entry, sizeof(c->entry), "%s%s", key ? "" : "oidc-",
		 key ? key : name);
	if (!store_name_valid(c->entry)) {
		c->bad = "key";
		error_set(e, EINVAL, "key: not a valid store entry name");
		return -EINVAL;
	}
	return 0;
}

/* ---- keys --------------------------------------------------------------- */

static int add_b64_bn(cJSON *o, const char *name, const BIGNUM *bn, int pad)
{
	unsigned char buf[1024];
	int n = pad ? pad : BN_num_bytes(bn);
	struct secbuf b = {0};
	int r = -ENOMEM;

	if (n <= 0 || n > (int)sizeof(buf) || BN_bn2binpad(bn, buf, n) != n)
		return -EINVAL;
	if (jwt_b64url_encode(&b, buf, (size_t)n) == 0 &&
	    cJSON_AddStringToObject(o, name, b.data))
		r = 0;
	secbuf_wipe(&b);
	return r;
}

/* The public JWK of pkey without kid; members in RFC 7638 order. */
static cJSON *jwk_of(EVP_PKEY *pkey)
{
	cJSON *o = cJSON_CreateObject();
	BIGNUM *a = NULL, *b = NULL;
	int r = -EINVAL;

	if (!o)
		return NULL;
	if (EVP_PKEY_is_a(pkey, "EC")) {
		/* RFC 7518 6.2.1.2: x and y are exactly 32 bytes. */
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) &&
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b) &&
		    cJSON_AddStringToObject(o, "crv", "P-256") &&
		    cJSON_AddStringToObject(o, "kty", "EC") &&
		    (r = add_b64_bn(o, "x", a, 32)) == 0)
			r = add_b64_bn(o, "y", b, 32);
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &b) &&
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &a) &&
		    (r = add_b64_bn(o, "e", b, 0)) == 0 &&
		    cJSON_AddStringToObject(o, "kty", "RSA"))
			r = add_b64_bn(o, "n", a, 0);
	}
	BN_free(a);
	BN_free(b);
	if (r < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* RFC 7638 thumbprint of jwk (members already in order) into kid. */
static int thumbprint(const cJSON *jwk, char *kid, size_t len)
{
	uint8_t d[DIGEST_BYTES];
	char *s = cJSON_PrintUnformatted(jwk);
	struct secbuf b = {0};
	int r = -ENOMEM;

	if (!s)
		return r;
	digest_sha256(s, strlen(s), d);
	cJSON_free(s);
	if (jwt_b64url_encode(&b, d, sizeof(d)) == 0 && b.len < len) {
		memcpy(kid, b.data, b.len + 1);
		r = 0;
	}
	secbuf_wipe(&b);
	return r;
}

static EVP_PKEY *pkey_from_pem(const char *pem, bool priv)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = NULL;

	if (bio)
		k = priv ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
			 : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return k;
}

static char *pem_of(EVP_PKEY *k, bool priv)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data, *out = NULL;
	long n;

	if (!bio)
		return NULL;
	if ((priv ? PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_bio_PUBKEY(bio, k)) == 1 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0)
		out = secmem_strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

/* A new current key in ent (the previous one retired until `until`). */
static int new_key(struct cred *ent, enum jwt_alg alg, time_t until,
		   struct error *e)
{
	EVP_PKEY *k =
	    alg == JWT_RS256 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	const char *oldpem = cred_get(ent, "private_key");
	const char *oldkid = cred_get(ent, "kid");
	cJSON *jwk = NULL;
	char kid[64], *pem = NULL, *pub = NULL;
	int r = -ENOMEM;

	if (!k) {
		error_set(e, EIO, "cannot generate a %s key",
			  jwt_alg_name(alg));
		return -EIO;
	}
	if (!(jwk = jwk_of(k)) || thumbprint(jwk, kid, sizeof(kid)) < 0 ||
	    !(pem = pem_of(k, true)))
		goto out;
	if (oldpem && oldkid) {
		EVP_PKEY *ok = pkey_from_pem(oldpem, true);
		char name[96], when[32];
		if (ok)
			pub = pem_of(ok, false);
		EVP_PKEY_free(ok);
		snprintf(name, sizeof(name), "old.%s", oldkid);
		snprintf(when, sizeof(when), "%lld", (long long)until);
		if (!pub || (r = cred_set(ent, name, pub)) < 0)
			goto out;
		snprintf(name, sizeof(name), "old.%s.until", oldkid);
		if ((r = cred_set(ent, name, when)) < 0)
			goto out;
	}
	if ((r = cred_set(ent, "alg", jwt_alg_name(alg))) < 0 ||
	    (r = cred_set(ent, "kid", kid)) < 0 ||
	    (r = cred_set(ent, "private_key", pem)) < 0)
		goto out;
	r = 0;
out:
	cJSON_Delete(jwk);
	secmem_free(pem);
	secmem_free(pub);
	EVP_PKEY_free(k);
	return r;
}

/* A copy of ent without retired keys past their time. */
static struct cred *pruned(const struct cred *ent, time_t now)
{
	struct cred *n = cred_new();

	for (size_t i = 0; n && i < cred_count(ent); i++) {
		const char *f = cred_name_at(ent, i);
		if (!strncmp(f, "old.", 4)) {
			char name[96];
			const char *u;
			size_t fl = strlen(f);
			bool isu = fl > 6 && !strcmp(f + fl - 6, ".until");
			snprintf(name, sizeof(name), "%.*s.until",
				 (int)(isu ? fl - 6 : fl), f);
			u = cred_get(ent, name);
			if (!u || atoll(u) < (long long)now)
				continue;
		}
		if (cred_set(n, f, cred_value_at(ent, i)) < 0) {
			cred_unref(n);
			return NULL;
		}
	}
	return n;
}

static int save(struct store *st, const char *entry, const struct cred *c,
		struct error *e)
{
	int r = store_put(st, entry, c, e);

	if (r < 0)
		error_prefix(e, "store entry %s", entry);
	return r;
}

/* The entry, its key generated (and sealed) on first use. */
static int load_key(struct store *st, const struct issuer_cfg *c,
		    struct cred **out, struct error *e)
{
	int r;

	*out = NULL;
	if (!st) {
		error_set(e, ENOKEY, "store entry %s: the store is not open",
			  c->entry);
		return -ENOKEY;
	}
	r = store_get(st, c->entry, out, e);
	if (r == -ENOENT) {
		/* Per-caller mints run at once: one generates the key, the
		 * others then read it (never two keys, one lost). */
		static pthread_mutex_t gen_mu = PTHREAD_MUTEX_INITIALIZER;
		error_clear(e);
		pthread_mutex_lock(&gen_mu);
		if ((r = store_get(st, c->entry, out, e)) == -ENOENT) {
			error_clear(e);
			if (!(*out = cred_new()))
				r = -ENOMEM;
			else if ((r = new_key(*out, c->alg, 0, e)) < 0 ||
				 (r = save(st, c->entry, *out, e)) < 0) {
				cred_unref(*out);
				*out = NULL;
			}
			pthread_mutex_unlock(&gen_mu);
			return r;
		}
		pthread_mutex_unlock(&gen_mu);
	}
	if (r < 0) {
		error_prefix(e, "store entry %s", c->entry);
		return r;
	}
	if (!cred_get(*out, "private_key") || !cred_get(*out, "kid")) {
		error_set(e, EINVAL, "store entry %s: no private_key or kid",
			  c->entry);
		cred_unref(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* ---- the provider ------------------------------------------------------ */

/* sub from the subject template: {profile}, and for a per-caller mint
 * {uid}, {exe}, {exe_sha256} and {cgroup}; a per-caller template naming
 * none of those gets ":uid:UID:exe_sha256:HEX" appended, so two readers
 * never share a sub. */
static int subject_of(const struct issuer_cfg *c, const char *profile,
		      const struct provider_caller *who, char *buf, size_t len)
{
	const char *t = c->subject ? c->subject : "{profile}";
	char uid[24];
	const struct {
		const char *name, *value;
	} vars[] = {
	    {"{profile}", profile},
	    {"{uid}", who ? uid : NULL},
	    {"{exe}", who ? who->exe : NULL},
	    {"{exe_sha256}", who && who->exe_sha256 ? who->exe_sha256 : NULL},
	    {"{cgroup}", who ? who->cgroup : NULL},
	};
	bool named = false;
	size_t o = 0;

	if (who)
		snprintf(uid, sizeof(uid), "%u", who->uid);
	while (*t) {
		size_t i, n, vl = 0;
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (vars[i].value &&
			    !strncmp(t, vars[i].name,
				     (vl = strlen(vars[i].name))))
				break;
		if (i < sizeof(vars) / sizeof(vars[0])) {
			n = strlen(vars[i].value);
			if (o + n >= len)
				return -ENAMETOOLONG;
			memcpy(buf + o, vars[i].value, n);
			o += n;
			t += vl;
			named |= i > 0;
			continue;
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		buf[o++] = *t++;
	}
	buf[o] = 0;
	if (who && !named &&
	    snprintf(buf + o, len - o, ":uid:%s:exe_sha256:%s", uid,
		     who->exe_sha256 ? who->exe_sha256 : "-") >= (int)(len - o))
		return -ENAMETOOLONG;
	return 0;
}

/* The reader's identity as claims of a per-caller token. */
static bool add_caller(cJSON *claims, const struct provider_caller *who)
{
	return !who ||
	       (cJSON_AddNumberToObject(claims, "uid", (double)who->uid) &&
		cJSON_AddStringToObject(claims, "exe", who->exe) &&
		(!who->exe_sha256 ||
		 cJSON_AddStringToObject(claims, "exe_sha256",
					 who->exe_sha256)) &&
		cJSON_AddStringToObject(claims, "cgroup",
					who->cgroup ? who->cgroup : ""));
}

static int issuer_fetch(const struct provider_req *req, struct cred **out,
			struct error *e)
{
	struct issuer_cfg c;
	struct cred *ent = NULL, *res = NULL;
	struct jwt_key *k = NULL;
	cJSON *claims = NULL;
	char *tok = NULL, sub[512], jti[33], what[200];
	time_t now = time(NULL);
	const char *pem;
	int r;

	*out = NULL;
	if (!req->state) {
		r = error_set(e, EINVAL, "the profile was not parsed");
		goto out;
	}
	c = *(const struct issuer_cfg *)req->state;
	if ((r = load_key(req->store, &c, &ent, e)) < 0)
		goto out;
	if ((r = subject_of(&c, req->profile_name, req->caller, sub,
			    sizeof(sub))) < 0) {
		error_set(e, -r, "subject: too long");
		goto out;
	}
	pem = cred_get(ent, "private_key");
	snprintf(what, sizeof(what), "store entry %s: private_key", c.entry);
	if ((r = jwt_key_from_pem(pem, strlen(pem), what, &k, e)) < 0)
		goto out;
	oauth_jti(jti);
	r = -ENOMEM;
	if (!(claims = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(claims, "iss", c.issuer) ||
	    !cJSON_AddStringToObject(claims, "sub", sub) ||
	    !cJSON_AddStringToObject(claims, "aud", c.audience) ||
	    !cJSON_AddNumberToObject(claims, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(claims, "nbf", (double)now) ||
	    !cJSON_AddNumberToObject(claims, "exp",
				     (double)(now + c.lifetime)) ||
	    !cJSON_AddStringToObject(claims, "jti", jti) ||
	    !add_caller(claims, req->caller))
		goto out;
	if ((r = jwt_sign(k, cred_get(ent, "kid"), claims, &tok, e)) < 0)
		goto out;
	if (!(res = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = cred_set(res, "token", tok)) < 0 ||
	    (r = cred_set(res, "id_token", tok)) < 0)
		goto out;
	cred_set_expiration(res, now + c.lifetime);
	cred_set_obtained(res, now);
	*out = res;
	res = NULL;
out:
	cJSON_Delete(claims);
	secmem_free(tok);
	jwt_key_free(k);
	cred_unref(ent);
	cred_unref(res);
	return r;
}

/* cJSON's printer allocates with the secmem hooks: a malloc'd copy. */
static int print_json(const cJSON *o, char **json)
{
	char *s = cJSON_PrintUnformatted(o);

	*json = s ? strdup(s) : NULL;
	cJSON_free(s);
	return *json ? 0 : -ENOMEM;
}

static int add_jwk(cJSON *keys, const char *pem, bool priv, const char *kid,
		   const char *alg)
{
	EVP_PKEY *k = pkey_from_pem(pem, priv);
	cJSON *j = k ? jwk_of(k) : NULL;

	EVP_PKEY_free(k);
	if (!j || !cJSON_AddStringToObject(j, "kid", kid) ||
	    !cJSON_AddStringToObject(j, "use", "sig") ||
	    !cJSON_AddStringToObject(j, "alg", alg)) {
		cJSON_Delete(j);
		return -EINVAL;
	}
	cJSON_AddItemToArray(keys, j);
	return 0;
}

int oidc_issuer_jwks(struct store *st, const char *profile_name,
		     const struct cfg_section *profile, char **json,
		     struct error *e)
{
	struct issuer_cfg c;
	struct cred *ent = NULL;
	cJSON *o = NULL, *keys;
	time_t now = time(NULL);
	int r;

	*json = NULL;
	if ((r = issuer_parse(profile_name, profile, &c, e)) < 0 ||
	    (r = load_key(st, &c, &ent, e)) < 0)
		return r;
	r = -ENOMEM;
	if (!(o = cJSON_CreateObject()) ||
	    !(keys = cJSON_AddArrayToObject(o, "keys")))
		goto out;
	if ((r = add_jwk(keys, cred_get(ent, "private_key"), true,
			 cred_get(ent, "kid"), cred_get(ent, "alg"))) < 0) {
		error_set(e, -r, "store entry %s: private_key unreadable",
			  c.entry);
		goto out;
	}
	for (size_t i = 0; i < cred_count(ent); i++) {
		const char *f = cred_name_at(ent, i), *u;
		char name[96];
		if (strncmp(f, "old.", 4) != 0 ||
		    (strlen(f) > 6 && !strcmp(f + strlen(f) - 6, ".until")))
			continue;
		snprintf(name, sizeof(name), "%s.until", f);
		u = cred_get(ent, name);
		if (!u || atoll(u) < (long long)now)
			continue;
		/* Retired keys keep their algorithm: EC keys are ES256. */
		EVP_PKEY *k = pkey_from_pem(cred_value_at(ent, i), false);
		bool ec = k && EVP_PKEY_is_a(k, "EC");
		EVP_PKEY_free(k);
		if (add_jwk(keys, cred_value_at(ent, i), false, f + 4,
			    ec ? "ES256" : "RS256") < 0)
			continue;
	}
	r = print_json(o, json);
out:
	cJSON_Delete(o);
	cred_unref(ent);
	return r;
}

int oidc_issuer_discovery(const char *profile_name,
			  const struct cfg_section *profile, char **json,
			  struct error *e)
{
	static const char *const claims[] = {"iss", "sub", "aud", "exp",
					     "iat", "nbf", "jti"};
	struct issuer_cfg c;
	cJSON *o = NULL, *a;
	char jwks[2048];
	size_t n;
	int r;

	*json = NULL;
	if ((r = issuer_parse(profile_name, profile, &c, e)) < 0)
		return r;
	n = strlen(c.issuer);
	while (n && c.issuer[n - 1] == '/')
		n--;
	snprintf(jwks, sizeof(jwks), "%.*s/.well-known/jwks.json", (int)n,
		 c.issuer);
	r = -ENOMEM;
	if (!(o = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(o, "issuer", c.issuer) ||
	    !cJSON_AddStringToObject(o, "jwks_uri",
				     c.jwks_uri ? c.jwks_uri : jwks) ||
	    !(a = cJSON_AddArrayToObject(o, "response_types_supported")))
		goto out;
	cJSON_AddItemToArray(a, cJSON_CreateString("id_token"));
	if (!(a = cJSON_AddArrayToObject(o, "subject_types_supported")))
		goto out;
	cJSON_AddItemToArray(a, cJSON_CreateString("public"));
	if (!(a = cJSON_AddArrayToObject(
		  o, "id_token_signing_alg_values_supported")))
		goto out;
	cJSON_AddItemToArray(a, cJSON_CreateString(jwt_alg_name(c.alg)));
	if (!(a = cJSON_AddArrayToObject(o, "claims_supported")))
		goto out;
	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(claims[i]));
	r = print_json(o, json);
out:
	cJSON_Delete(o);
	return r;
}

int oidc_issuer_rotate(struct store *st, const char *profile_name,
		       const struct cfg_section *profile, struct error *e)
{
	struct issuer_cfg c;
	struct cred *ent = NULL, *n = NULL;
	time_t now = time(NULL);
	int r;

	if ((r = issuer_parse(profile_name, profile, &c, e)) < 0 ||
	    (r = load_key(st, &c, &ent, e)) < 0)
		return r;
	if (!(n = pruned(ent, now)))
		r = -ENOMEM;
	else if ((r = new_key(n, c.alg, now + c.lifetime + RETIRE_GRACE, e)) ==
		 0)
		r = save(st, c.entry, n, e);
	cred_unref(n);
	cred_unref(ent);
	return r;
}

/* The provider's state: the parsed profile with its own copies of the
 * strings (c's pointers point at own[]). */
struct issuer_state {
	struct issuer_cfg c;
	char *own[4];
};

static void issuer_free(void *p)
{
	struct issuer_state *st = p;

	if (!st)
		return;
	for (size_t i = 0; i < 4; i++)
		free(st->own[i]);
	free(st);
}

static int issuer_load(const struct cfg_section *s, struct diag *d,
		       void **state)
{
	struct issuer_state *st;
	struct issuer_cfg c;
	struct error e = {0};

	if (!cfg_get(s, "issuer") || !cfg_get(s, "audience"))
		return -EINVAL; /* required: the config has said so */
	if (issuer_parse(s->name, s, &c, &e) < 0) {
		cfg_error(d, c.bad ? cfg_line(s, c.bad) : s->line, "%s", e.msg);
		return -EINVAL;
	}
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	st->c = c;
	const char **f[4] = {&st->c.issuer, &st->c.audience, &st->c.subject,
			     &st->c.jwks_uri};
	for (size_t i = 0; i < 4; i++) {
		if (!*f[i])
			continue;
		if (!(st->own[i] = strdup(*f[i]))) {
			issuer_free(st);
			return -ENOMEM;
		}
		*f[i] = st->own[i];
	}
	*state = st;
	return 0;
}

static const char *const issuer_keys[] = {"issuer",   "audience", "subject",
					  "lifetime", "alg",	  "key",
					  "jwks_uri", NULL};
static const char *const issuer_required[] = {"issuer", "audience", NULL};
static const char *const issuer_fields[] = {"token", "id_token", NULL};

const struct provider_ops provider_oidc_issuer = {
    .name = "oidc-issuer",
    .keys = issuer_keys,
    .required = issuer_required,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = issuer_fields,
    .parse = issuer_load,
    .free_state = issuer_free,
    .fetch = issuer_fetch,
    .per_caller = true,
};
