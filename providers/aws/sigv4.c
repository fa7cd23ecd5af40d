/* sigv4: AWS Signature Version 4 (see sigv4.h). */
#include "core/util.h"
#include "core/digest.h"
#include "providers/aws/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secmem.h"
#include "providers/http.h"

#define SIGV4_MAX_HEADERS 32
#define SIGV4_MAX_PARAMS 128

struct hdr {
	char *name;  /* lowercase, secmem */
	char *value; /* trimmed, spaces collapsed, secmem */
};

struct param {
	char *key; /* canonical (re-encoded), secmem */
	char *value;
};

static int hmac(const void *key, size_t keylen, const void *data, size_t len,
		unsigned char out[static 32])
{
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) ||
	    n != 32)
		return -EIO;
	return 0;
}

/* Percent-decodes s[0..n) and re-encodes it the way AWS canonicalises. */
static char *canon_component(const char *s, size_t n)
{
	struct secbuf dec = {0}, enc = {0};
	char *res = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		int hi, lo;

		if (c == '%' && i + 2 < n && (hi = util_unhex_digit(s[i + 1])) >= 0 &&
		    (lo = util_unhex_digit(s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == 0)
			goto out; /* %00 has no place in a query */
		if (secbuf_append(&dec, &c, 1) < 0)
			goto out;
	}
	if (secbuf_append(&dec, "", 0) < 0)
		goto out;
	if (http_urlencode(&enc, dec.data) < 0)
		goto out;
	if (secbuf_append(&enc, "", 0) < 0)
		goto out;
	res = secbuf_steal(&enc, NULL);
out:
	secbuf_wipe(&dec);
	secbuf_wipe(&enc);
	return res;
}

static int param_cmp(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int canon_query(const char *q, struct secbuf *out)
{
	struct param p[SIGV4_MAX_PARAMS];
	size_t np = 0, i;
	int r = 0;

	memset(p, 0, sizeof(p));
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);

		if (len) {
			if (np == SIGV4_MAX_PARAMS) {
				r = -E2BIG;
				goto out;
			}
			p[np].key =
			    canon_component(q, eq ? (size_t)(eq - q) : len);
			p[np].value =
			    eq ? canon_component(eq + 1, len - (eq - q) - 1)
			       : canon_component("", 0);
			np++;
			if (!p[np - 1].key || !p[np - 1].value) {
				r = -EINVAL;
				goto out;
			}
		}
		q = amp ? amp + 1 : q + len;
	}
	qsort(p, np, sizeof(p[0]), param_cmp);
	for (i = 0; i < np; i++) {
		if ((r = secbuf_printf(out, "%s%s=%s", i ? "&" : "", p[i].key,
				       p[i].value)) < 0)
			goto out;
	}
out:
	for (i = 0; i < np; i++) {
		secmem_free(p[i].key);
		secmem_free(p[i].value);
	}
	return r;
}

/* "Name: value" into a lowercase name and a trimmed, space-collapsed
 * value. */
static int hdr_parse(const char *line, struct hdr *h)
{
	const char *colon = strchr(line, ':');
	const char *v;
	size_t i, n;
	char *d;

	if (!colon || colon == line)
		return -EINVAL;
	h->name = secmem_strndup(line, (size_t)(colon - line));
	if (!h->name)
		return -ENOMEM;
	for (d = h->name; *d; d++) {
		if (*d == ' ' || *d == '\t' || (unsigned char)*d < 0x20)
			return -EINVAL;
		*d = (char)tolower((unsigned char)*d);
	}
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	h->value = secmem_alloc(n + 1);
	if (!h->value)
		return -ENOMEM;
	d = h->value;
	for (i = 0; i < n; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			return -EINVAL;
		if ((v[i] == ' ' || v[i] == '\t') && d > h->value &&
		    d[-1] == ' ')
			continue;
		*d++ = v[i] == '\t' ? ' ' : v[i];
	}
	*d = 0;
	return 0;
}

static int derive_key(const char *secret, const char *date, const char *region,
		      const char *service, unsigned char key[static 32])
{
	size_t sl = strlen(secret);
	char *k4 = secmem_alloc(sl + 5);
	unsigned char a[32], b[32];
	int r;

	if (!k4)
		return -ENOMEM;
	memcpy(k4, "AWS4", 4);
	memcpy(k4 + 4, secret, sl + 1);
	if ((r = hmac(k4, sl + 4, date, strlen(date), a)) < 0 ||
	    (r = hmac(a, 32, region, strlen(region), b)) < 0 ||
	    (r = hmac(b, 32, service, strlen(service), a)) < 0 ||
	    (r = hmac(a, 32, "aws4_request", 12, key)) < 0)
		goto out;
out:
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	secmem_free(k4);
	return r;
}

static int sign(const struct sigv4_req *req, struct sigv4_out *out, bool debug)
{
	struct hdr h[SIGV4_MAX_HEADERS];
	size_t nh = 0, i;
	struct secbuf creq = {0}, sts = {0}, signed_hdrs = {0};
	char date[9], scope[256], payload_hash[65], creq_hash[65], sig[65];
	unsigned char key[32], mac[32];
	struct tm tm;
	int r = 0, n;

	memset(out, 0, sizeof(*out));
	memset(h, 0, sizeof(h));
	if (!req->method || !req->host || !req->region || !req->service ||
	    !req->access_key_id || !req->secret_access_key ||
	    !*req->access_key_id || !*req->secret_access_key)
		return -EINVAL;
	if (!gmtime_r(&req->now, &tm))
		return -EINVAL;
	strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(date, out->amz_date, 8);
	date[8] = 0;
	n = snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date,
		     req->region, req->service);
	if (n < 0 || (size_t)n >= sizeof(scope))
		return -ENAMETOOLONG;
	snprintf(out->date_header, sizeof(out->date_header), "X-Amz-Date: %s",
		 out->amz_date);

	h[nh].name = secmem_strdup("host");
	h[nh++].value = secmem_strdup(req->host);
	h[nh].name = secmem_strdup("x-amz-date");
	h[nh++].value = secmem_strdup(out->amz_date);
	if (req->session_token && *req->session_token) {
		h[nh].name = secmem_strdup("x-amz-security-token");
		h[nh++].value = secmem_strdup(req->session_token);
	}
	for (i = 0; i < nh; i++)
		if (!h[i].name || !h[i].value) {
			r = -ENOMEM;
			goto out;
		}
	for (i = 0; req->headers && req->headers[i]; i++) {
		if (nh == SIGV4_MAX_HEADERS) {
			r = -E2BIG;
			goto out;
		}
		if ((r = hdr_parse(req->headers[i], &h[nh++])) < 0)
			goto out;
	}
	qsort(h, nh, sizeof(h[0]), hdr_cmp);

	digest_sha256_hex(req->body ? req->body : "",
			 req->body ? req->body_len : 0, payload_hash);
	if ((r = secbuf_printf(&creq, "%s\n%s\n", req->method,
			       req->path && *req->path ? req->path : "/")) <
		0 ||
	    (r = canon_query(req->query, &creq)) < 0 ||
	    (r = secbuf_append(&creq, "\n", 1)) < 0)
		goto out;
	for (i = 0; i < nh; i++) {
		if ((r = secbuf_printf(&creq, "%s:%s\n", h[i].name,
				       h[i].value)) < 0 ||
		    (r = secbuf_printf(&signed_hdrs, "%s%s", i ? ";" : "",
				       h[i].name)) < 0)
			goto out;
	}
	if ((r = secbuf_printf(&creq, "\n%s\n%s", signed_hdrs.data,
			       payload_hash)) < 0)
		goto out;
	digest_sha256_hex(creq.data, creq.len, creq_hash);
	if ((r = secbuf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s",
			       out->amz_date, scope, creq_hash)) < 0)
		goto out;
	if ((r = derive_key(req->secret_access_key, date, req->region,
			    req->service, key)) < 0 ||
	    (r = hmac(key, 32, sts.data, sts.len, mac)) < 0)
		goto out;
	util_hex(mac, 32, sig);
	n = snprintf(out->authorization, sizeof(out->authorization),
		     "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, "
		     "SignedHeaders=%s, Signature=%s",
		     req->access_key_id, scope, signed_hdrs.data, sig);
	if (n < 0 || (size_t)n >= sizeof(out->authorization)) {
		r = -ENAMETOOLONG;
		goto out;
	}
	if (req->session_token && *req->session_token) {
		struct secbuf t = {0};

		if ((r = secbuf_printf(&t, "X-Amz-Security-Token: %s",
				       req->session_token)) < 0) {
			secbuf_wipe(&t);
			goto out;
		}
		out->security_token_header = secbuf_steal(&t, NULL);
	}
	if (debug) {
		out->canonical_request = secbuf_steal(&creq, NULL);
		out->string_to_sign = secbuf_steal(&sts, NULL);
	}
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(mac, sizeof(mac));
	for (i = 0; i < SIGV4_MAX_HEADERS; i++) {
		secmem_free(h[i].name);
		secmem_free(h[i].value);
	}
	secbuf_wipe(&creq);
	secbuf_wipe(&sts);
	secbuf_wipe(&signed_hdrs);
	if (r < 0)
		sigv4_out_wipe(out);
	return r;
}

int sigv4_sign(const struct sigv4_req *req, struct sigv4_out *out)
{
	return sign(req, out, false);
}

int sigv4_sign_debug(const struct sigv4_req *req, struct sigv4_out *out)
{
	return sign(req, out, true);
}

void sigv4_out_wipe(struct sigv4_out *out)
{
	if (!out)
		return;
	secmem_free(out->security_token_header);
	secmem_free(out->canonical_request);
	secmem_free(out->string_to_sign);
	out->security_token_header = NULL;
	out->canonical_request = NULL;
	out->string_to_sign = NULL;
}
