/* jwt: RS256 / ES256 JSON Web Tokens with OpenSSL (see jwt.h). */
#include "providers/jwt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <sodium.h>
#include <string.h>

#include "core/provider.h"
#include "core/secmem.h"

/* A JWT larger than this is not one we sign or accept. */
#define JWT_MAX_LEN (64 * 1024)

struct jwt_key {
	EVP_PKEY *pkey;
	enum jwt_alg alg;
};

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int jwt_b64url_encode(struct secbuf *b, const void *data, size_t len)
{
	const unsigned char *p = data;
	char q[4];
	size_t i;
	int r;

	if ((r = secbuf_reserve(b, (len + 2) / 3 * 4)) < 0)
		return r;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v =
		    (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		q[0] = b64url[v >> 18 & 63];
		q[1] = b64url[v >> 12 & 63];
		q[2] = b64url[v >> 6 & 63];
		q[3] = b64url[v & 63];
		if ((r = secbuf_append(b, q, 4)) < 0)
			return r;
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		q[0] = b64url[v >> 18 & 63];
		q[1] = b64url[v >> 12 & 63];
		r = secbuf_append(b, q, 2);
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		q[0] = b64url[v >> 18 & 63];
		q[1] = b64url[v >> 12 & 63];
		q[2] = b64url[v >> 6 & 63];
		r = secbuf_append(b, q, 3);
	}
	sodium_memzero(q, sizeof(q));
	return r < 0 ? r : 0;
}

static int b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int jwt_b64url_decode(struct secbuf *b, const char *s, size_t len)
{
	unsigned char out[3];
	unsigned v = 0;
	size_t i, n = 0;
	int r = 0;

	if (len % 4 == 1)
		return -EINVAL;
	if ((r = secbuf_reserve(b, len / 4 * 3 + 3)) < 0)
		return r;
	for (i = 0; i < len; i++) {
		int d = b64url_val((unsigned char)s[i]);
		if (d < 0) {
			r = -EINVAL;
			goto out;
		}
		v = v << 6 | (unsigned)d;
		if (++n == 4) {
			out[0] = (unsigned char)(v >> 16);
			out[1] = (unsigned char)(v >> 8);
			out[2] = (unsigned char)v;
			if ((r = secbuf_append(b, out, 3)) < 0)
				goto out;
			n = 0;
			v = 0;
		}
	}
	if (n == 2) {
		/* 12 bits, 8 used: the low 4 must be zero (canonical). */
		if (v & 0xf) {
			r = -EINVAL;
			goto out;
		}
		out[0] = (unsigned char)(v >> 4);
		r = secbuf_append(b, out, 1);
	} else if (n == 3) {
		if (v & 0x3) {
			r = -EINVAL;
			goto out;
		}
		out[0] = (unsigned char)(v >> 10);
		out[1] = (unsigned char)(v >> 2);
		r = secbuf_append(b, out, 2);
	}
out:
	sodium_memzero(out, sizeof(out));
	v = 0;
	return r < 0 ? r : 0;
}

const char *jwt_alg_name(enum jwt_alg alg)
{
	return alg == JWT_ES256 ? "ES256" : alg == JWT_RS256 ? "RS256" : "?";
}

enum jwt_alg jwt_key_alg(const struct jwt_key *k)
{
	return k->alg;
}

void jwt_key_free(struct jwt_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* RS256 for RSA of at least 2048 bits, ES256 for P-256; else -EINVAL. */
static int key_alg(EVP_PKEY *pkey, const char *what, enum jwt_alg *alg,
		   struct error *e)
{
	char group[64] = "";
	size_t glen = 0;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < 2048) {
			error_set(e, EINVAL,
				  "%s: RSA key of %d bits (RS256 needs 2048 "
				  "or more)",
				  what, EVP_PKEY_get_bits(pkey));
			return -EINVAL;
		}
		*alg = JWT_RS256;
		return 0;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(pkey, "group", group,
						    sizeof(group), &glen) ||
		    (strcmp(group, "prime256v1") != 0 &&
		     strcmp(group, "P-256") != 0)) {
			error_set(e, EINVAL,
				  "%s: EC key on curve %s (ES256 needs "
				  "P-256)",
				  what, group[0] ? group : "unknown");
			return -EINVAL;
		}
		*alg = JWT_ES256;
		return 0;
	default:
		error_set(e, EINVAL, "%s: not an RSA or EC P-256 key", what);
		return -EINVAL;
	}
}

static int key_load(const char *pem, size_t len, const char *what, bool private,
		    struct jwt_key **out, struct error *e)
{
	struct jwt_key *k = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int r;

	*out = NULL;
	if (!pem || len == 0 || len > INT_MAX) {
		error_set(e, EINVAL, "%s: empty key", what);
		return -EINVAL;
	}
	/* Read in place: no copy of the PEM outside secmem. */
	if (!(bio = BIO_new_mem_buf(pem, (int)len)))
		return -ENOMEM;
	if (private) {
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	} else {
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		if (!pkey) {
			/* A private key also gives its public half. */
			BIO_free(bio);
			ERR_clear_error();
			if (!(bio = BIO_new_mem_buf(pem, (int)len)))
				return -ENOMEM;
			pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL,
						       (void *)"");
		}
	}
	ERR_clear_error();
	if (!pkey) {
		error_set(e, EINVAL,
			  "%s: not a PEM %s key (or an encrypted one)", what,
			  private ? "private" : "public");
		r = -EINVAL;
		goto out;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = key_alg(pkey, what, &k->alg, e)) < 0)
		goto out;
	k->pkey = pkey;
	pkey = NULL; /* transferred */
	*out = k;
	k = NULL;
	r = 0;
out:
	jwt_key_free(k);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

int jwt_key_from_pem(const char *pem, size_t len, const char *what,
		     struct jwt_key **out, struct error *e)
{
	return key_load(pem, len, what, true, out, e);
}

int jwt_key_public_from_pem(const char *pem, size_t len, const char *what,
			    struct jwt_key **out, struct error *e)
{
	return key_load(pem, len, what, false, out, e);
}

/* DER ECDSA-Sig-Value into r || s, 32 bytes each. */
static int es256_der_to_jose(const unsigned char *der, size_t len,
			     unsigned char jose[static 64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (!sig)
		return -EINVAL;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, jose, 32) == 32 &&
	     BN_bn2binpad(s, jose + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -EINVAL;
}

/* r || s into DER; *der is OPENSSL_malloc'd. */
static int es256_jose_to_der(const unsigned char jose[static 64],
			     unsigned char **der, int *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(jose, 32, NULL),
	       *s = BN_bin2bn(jose + 32, 32, NULL);

	*der = NULL;
	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		ECDSA_SIG_free(sig);
		BN_free(r);
		BN_free(s);
		return -ENOMEM;
	}
	*len = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	return *len > 0 ? 0 : -EINVAL;
}

int jwt_sign(const struct jwt_key *k, const char *kid,
	     const struct cJSON *claims, char **out, struct error *e)
{
	return jwt_sign_ext(k, kid, NULL, claims, out, e);
}

int jwt_sign_ext(const struct jwt_key *k, const char *kid,
		 const struct cJSON *extra_header, const struct cJSON *claims,
		 char **out, struct error *e)
{
	const cJSON *m;
	struct secbuf tok = {0};
	cJSON *hdr = NULL;
	char *hs = NULL, *cs = NULL;
	unsigned char *sig = NULL, jose[64];
	size_t siglen = 0;
	EVP_MD_CTX *md = NULL;
	int r;

	*out = NULL;
	if (!cJSON_IsObject(claims)) {
		error_set(e, EINVAL, "JWT: claims are not a JSON object");
		return -EINVAL;
	}
	if (!(hdr = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(hdr, "alg", jwt_alg_name(k->alg)) ||
	    !cJSON_AddStringToObject(hdr, "typ", "JWT") ||
	    (kid && !cJSON_AddStringToObject(hdr, "kid", kid))) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(m, extra_header)
	{
		if (!m->string ||
		    cJSON_GetObjectItemCaseSensitive(hdr, m->string)) {
			error_set(e, EINVAL,
				  "JWT: header member %s is set by the signer",
				  m->string ? m->string : "(unnamed)");
			r = -EINVAL;
			goto out;
		}
		if (!cJSON_AddItemToObject(hdr, m->string,
					   cJSON_Duplicate(m, true))) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (!(hs = cJSON_PrintUnformatted(hdr)) ||
	    !(cs = cJSON_PrintUnformatted(claims))) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = jwt_b64url_encode(&tok, hs, strlen(hs))) < 0 ||
	    (r = secbuf_append(&tok, ".", 1)) < 0 ||
	    (r = jwt_b64url_encode(&tok, cs, strlen(cs))) < 0)
		goto out;
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)tok.data,
			   tok.len) != 1 ||
	    !(sig = OPENSSL_malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)tok.data,
			   tok.len) != 1) {
		ERR_clear_error();
		error_set(e, EINVAL,
			  "JWT: %s signing failed (is it a private key?)",
			  jwt_alg_name(k->alg));
		r = -EINVAL;
		goto out;
	}
	if ((r = secbuf_append(&tok, ".", 1)) < 0)
		goto out;
	if (k->alg == JWT_ES256) {
		if (es256_der_to_jose(sig, siglen, jose) < 0) {
			error_set(e, EINVAL, "JWT: ES256 signature is not DER");
			r = -EINVAL;
			goto out;
		}
		r = jwt_b64url_encode(&tok, jose, sizeof(jose));
	} else {
		r = jwt_b64url_encode(&tok, sig, siglen);
	}
	if (r < 0)
		goto out;
	*out = secbuf_steal(&tok, NULL);
	r = 0;
out:
	sodium_memzero(jose, sizeof(jose));
	OPENSSL_free(sig);
	EVP_MD_CTX_free(md);
	if (cs)
		cJSON_free(cs); /* secmem through the hooks: wiped */
	if (hs)
		cJSON_free(hs);
	cJSON_Delete(hdr);
	secbuf_wipe(&tok);
	return r;
}

/* Splits a compact JWS into its three parts: the two JSON objects parsed,
 * the signature decoded; *signed_len is the length of "h.p". */
static int split(const char *token, cJSON **header, cJSON **claims,
		 struct secbuf *sig, size_t *signed_len)
{
	struct secbuf h = {0}, p = {0};
	const char *d1, *d2;
	size_t len;
	int r;

	*header = *claims = NULL;
	if (!token || (len = strlen(token)) > JWT_MAX_LEN)
		return -EBADMSG;
	d1 = strchr(token, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return -EBADMSG;
	if (jwt_b64url_decode(&h, token, (size_t)(d1 - token)) < 0 ||
	    jwt_b64url_decode(&p, d1 + 1, (size_t)(d2 - d1 - 1)) < 0 ||
	    (sig && jwt_b64url_decode(sig, d2 + 1, strlen(d2 + 1)) < 0) ||
	    !h.data || !p.data) {
		r = -EBADMSG;
		goto out;
	}
	*header = cJSON_ParseWithLength(h.data, h.len);
	*claims = cJSON_ParseWithLength(p.data, p.len);
	if (!cJSON_IsObject(*header) || !cJSON_IsObject(*claims)) {
		cJSON_Delete(*header);
		cJSON_Delete(*claims);
		*header = *claims = NULL;
		r = -EBADMSG;
		goto out;
	}
	if (signed_len)
		*signed_len = (size_t)(d2 - token);
	r = 0;
out:
	secbuf_wipe(&h);
	secbuf_wipe(&p);
	return r;
}

int jwt_decode_unverified(const char *token, cJSON **header, cJSON **claims)
{
	cJSON *h, *c;
	int r = split(token, &h, &c, NULL, NULL);

	if (r < 0)
		return r;
	if (header)
		*header = h;
	else
		cJSON_Delete(h);
	if (claims)
		*claims = c;
	else
		cJSON_Delete(c);
	return 0;
}

static int check_times(const cJSON *claims, long long now, int leeway,
		       struct error *e)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");

	if (!cJSON_IsNumber(exp)) {
		error_set(e, EBADMSG, "JWT: no numeric exp claim");
		return -EBADMSG;
	}
	if (exp->valuedouble <= (double)(now - leeway)) {
		error_set(e, EKEYEXPIRED, "JWT: expired at %.0f (now %lld)",
			  exp->valuedouble, now);
		return -EKEYEXPIRED;
	}
	if (nbf && !cJSON_IsNumber(nbf)) {
		error_set(e, EBADMSG, "JWT: nbf is not a number");
		return -EBADMSG;
	}
	if (nbf && nbf->valuedouble > (double)(now + leeway)) {
		error_set(e, EKEYEXPIRED,
			  "JWT: not valid before %.0f (now %lld)",
			  nbf->valuedouble, now);
		return -EKEYEXPIRED;
	}
	return 0;
}

int jwt_verify(const struct jwt_key *k, const char *token, long long now,
	       int leeway, cJSON **header, cJSON **claims, struct error *e)
{
	struct secbuf sig = {0};
	cJSON *h = NULL, *c = NULL;
	const cJSON *alg;
	unsigned char *der = NULL;
	const unsigned char *s;
	size_t signed_len = 0, slen;
	int derlen = 0, r;
	EVP_MD_CTX *md = NULL;

	if (header)
		*header = NULL;
	if (claims)
		*claims = NULL;
	if ((r = split(token, &h, &c, &sig, &signed_len)) < 0) {
		error_set(e, -r, "JWT: not a signed compact JWT");
		goto out;
	}
	alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
	if (!cJSON_IsString(alg) ||
	    strcmp(alg->valuestring, jwt_alg_name(k->alg)) != 0) {
		error_set(e, EKEYREJECTED,
			  "JWT: header alg %s (the key needs %s)",
			  cJSON_IsString(alg) ? "is another" : "missing",
			  jwt_alg_name(k->alg));
		r = -EKEYREJECTED;
		goto out;
	}
	/* RFC 7515 4.1.11: extensions we do not implement must be refused. */
	if (cJSON_GetObjectItemCaseSensitive(h, "crit")) {
		error_set(e, EKEYREJECTED,
			  "JWT: critical header extensions are not supported");
		r = -EKEYREJECTED;
		goto out;
	}
	s = (const unsigned char *)sig.data;
	slen = sig.len;
	if (k->alg == JWT_ES256) {
		if (slen != 64) {
			error_set(e, EKEYREJECTED,
				  "JWT: ES256 signature of %zu bytes (64 "
				  "expected)",
				  slen);
			r = -EKEYREJECTED;
			goto out;
		}
		if (es256_jose_to_der(s, &der, &derlen) < 0) {
			r = -ENOMEM;
			goto out;
		}
		s = der;
		slen = (size_t)derlen;
	}
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1) {
		ERR_clear_error();
		r = -ENOMEM;
		goto out;
	}
	if (slen == 0 ||
	    EVP_DigestVerify(md, s, slen, (const unsigned char *)token,
			     signed_len) != 1) {
		ERR_clear_error();
		error_set(e, EKEYREJECTED, "JWT: bad %s signature",
			  jwt_alg_name(k->alg));
		r = -EKEYREJECTED;
		goto out;
	}
	if (now && (r = check_times(c, now, leeway, e)) < 0)
		goto out;
	if (header) {
		*header = h;
		h = NULL;
	}
	if (claims) {
		*claims = c;
		c = NULL;
	}
	r = 0;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	cJSON_Delete(h);
	cJSON_Delete(c);
	secbuf_wipe(&sig);
	return r;
}
