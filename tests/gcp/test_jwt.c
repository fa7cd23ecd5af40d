/* providers/jwt: base64url, RS256 and ES256 signing and verification.
 *
 * Without arguments: TAP unit tests with keys made here.  With arguments,
 * a tool for jwt_crosscheck.py (PyJWT on the other side):
 *   test-gcp-jwt sign KEY.pem KID CLAIMS_JSON   prints the token
 *   test-gcp-jwt verify KEY.pem TOKEN [NOW]     prints the claims, exit 1
 *                                               with the error if refused
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/provider.h"
#include "core/secmem.h"
#include "providers/jwt.h"
#include "tests/tap.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct secbuf b = {0};
	char buf[4096];
	size_t n;

	if (!f) {
		perror(path);
		exit(2);
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (secbuf_append(&b, buf, n) < 0)
			abort();
	fclose(f);
	return secbuf_steal(&b, len);
}

static int tool(int argc, char **argv)
{
	struct jwt_key *k = NULL;
	struct error e = {0};
	size_t len;
	char *pem, *tok = NULL;
	int r;

	pem = slurp(argv[2], &len);
	if (strcmp(argv[1], "sign") == 0 && argc == 5) {
		cJSON *claims = cJSON_Parse(argv[4]);
		if ((r = jwt_key_from_pem(pem, len, "key", &k, &e)) < 0 ||
		    (r = jwt_sign(k, *argv[3] ? argv[3] : NULL, claims, &tok,
				  &e)) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		printf("%s\n", tok);
		cJSON_Delete(claims);
	} else if (strcmp(argv[1], "verify") == 0 && argc >= 4) {
		cJSON *claims = NULL;
		long long now = argc > 4 ? atoll(argv[4]) : 0;
		if ((r = jwt_key_public_from_pem(pem, len, "key", &k, &e)) <
			0 ||
		    (r = jwt_verify(k, argv[3], now, 0, NULL, &claims, &e)) <
			0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		char *s = cJSON_PrintUnformatted(claims);
		printf("%s\n", s);
		cJSON_free(s);
		cJSON_Delete(claims);
	} else {
		fprintf(stderr, "usage: test-gcp-jwt sign|verify ...\n");
		return 2;
	}
	secmem_free(tok);
	secmem_free(pem);
	jwt_key_free(k);
	return 0;
}

/* PEM of a fresh key in secmem: "rsa2048", "rsa1024", "ec256", "ec384". */
static char *genkey(const char *kind, size_t *len)
{
	EVP_PKEY *p = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	struct secbuf out = {0};
	char *data;
	long n;

	if (strncmp(kind, "rsa", 3) == 0)
		p = EVP_RSA_gen((unsigned)atoi(kind + 3));
	else
		p = EVP_EC_gen(strcmp(kind, "ec256") == 0 ? "P-256" : "P-384");
	if (!p || !PEM_write_bio_PrivateKey(b, p, NULL, NULL, 0, NULL, NULL))
		abort();
	n = BIO_get_mem_data(b, &data);
	if (secbuf_append(&out, data, (size_t)n) < 0)
		abort();
	BIO_free(b);
	EVP_PKEY_free(p);
	return secbuf_steal(&out, len);
}

static void test_b64url(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"", ""},
	    {"f", "Zg"},
	    {"fo", "Zm8"},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"},
	    {"fooba", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy"},
	    {"\xfb\xff\xbf", "-_-_"},
	};
	int all = 1;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct secbuf a = {0}, b = {0};
		int r1 = jwt_b64url_encode(&a, v[i].in, strlen(v[i].in));
		int r2 = jwt_b64url_decode(&b, v[i].out, strlen(v[i].out));
		if (r1 < 0 || r2 < 0 ||
		    strcmp(a.data ? a.data : "", v[i].out) != 0 ||
		    b.len != strlen(v[i].in) ||
		    (b.len && memcmp(b.data, v[i].in, b.len) != 0)) {
			all = 0;
			printf("# vector %zu\n", i);
		}
		secbuf_wipe(&a);
		secbuf_wipe(&b);
	}
	tap_ok(all, "base64url: RFC 4648 vectors, url alphabet, no padding");
	static const char *bad[] = {"Zg==", "Z",  "Zm9v+",
				    "Zm/v", "Zh", "Zm 9v"};
	all = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct secbuf b = {0};
		if (jwt_b64url_decode(&b, bad[i], strlen(bad[i])) != -EINVAL) {
			all = 0;
			printf("# accepted %s\n", bad[i]);
		}
		secbuf_wipe(&b);
	}
	tap_ok(all, "base64url: padding, std alphabet, stray bits, bad "
		    "length refused");
}

static cJSON *claims_now(long long exp)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "iss", "sa@p.iam.gserviceaccount.com");
	cJSON_AddStringToObject(c, "aud",
				"https://oauth2.googleapis.com/token");
	cJSON_AddNumberToObject(c, "iat", (double)time(NULL));
	cJSON_AddNumberToObject(c, "exp", (double)exp);
	return c;
}

/* Flips one character of part (0 header, 1 payload, 2 signature). */
static char *tamper(const char *tok, int part)
{
	char *t = strdup(tok), *p = t;

	for (int i = 0; i < part; i++)
		p = strchr(p, '.') + 1;
	p[1] = p[1] == 'A' ? 'B' : 'A';
	return t;
}

static void test_alg(const char *kind, enum jwt_alg want)
{
	struct jwt_key *k = NULL, *pub = NULL, *other = NULL;
	struct error e = {0};
	size_t len, olen;
	char *pem = genkey(kind, &len), *opem = genkey(kind, &olen);
	char *tok = NULL;
	cJSON *c = claims_now(time(NULL) + 600), *got = NULL, *hdr = NULL;
	long long now = time(NULL);
	int r;

	r = jwt_key_from_pem(pem, len, "key", &k, &e);
	tap_ok(r == 0 && jwt_key_alg(k) == want, "%s: key loads as %s (%s)",
	       kind, jwt_alg_name(want), e.msg);
	if (r < 0)
		exit(1);
	r = jwt_key_public_from_pem(pem, len, "key", &pub, &e);
	tap_ok(r == 0, "%s: public half from the private PEM", kind);
	r = jwt_key_from_pem(opem, olen, "other", &other, &e);
	r = jwt_sign(k, "kid-1", c, &tok, &e);
	tap_ok(r == 0 && tok && strchr(tok, '.') && !strchr(tok, '='),
	       "%s: signs (%s)", kind, e.msg);
	r = jwt_verify(pub, tok, now, 0, &hdr, &got, &e);
	tap_ok(r == 0 && got &&
		   strcmp(cJSON_GetObjectItem(got, "iss")->valuestring,
			  "sa@p.iam.gserviceaccount.com") == 0 &&
		   strcmp(cJSON_GetObjectItem(hdr, "kid")->valuestring,
			  "kid-1") == 0 &&
		   strcmp(cJSON_GetObjectItem(hdr, "alg")->valuestring,
			  jwt_alg_name(want)) == 0,
	       "%s: verifies, claims and kid read back (%s)", kind, e.msg);
	cJSON_Delete(got);
	cJSON_Delete(hdr);
	if (want == JWT_ES256) {
		const char *s = strrchr(tok, '.') + 1;
		tap_ok(strlen(s) == 86, "ES256: signature is JOSE r||s (64 "
					"bytes, 86 chars), not DER");
	}
	for (int part = 0; part < 3; part++) {
		char *t = tamper(tok, part);
		r = jwt_verify(pub, t, now, 0, NULL, NULL, &e);
		tap_ok(r == -EKEYREJECTED || r == -EBADMSG,
		       "%s: tampered %s refused: %s", kind,
		       part == 0   ? "header"
		       : part == 1 ? "payload"
				   : "signature",
		       e.msg);
		free(t);
	}
	r = jwt_verify(other, tok, now, 0, NULL, NULL, &e);
	tap_ok(r == -EKEYREJECTED, "%s: another key's token refused: %s", kind,
	       e.msg);
	r = jwt_verify(pub, tok, now + 601, 0, NULL, NULL, &e);
	tap_ok(r == -EKEYEXPIRED, "%s: expired refused: %s", kind, e.msg);
	r = jwt_verify(pub, tok, now + 601, 60, NULL, NULL, &e);
	tap_ok(r == 0, "%s: within leeway accepted", kind);
	secmem_free(tok);
	cJSON_Delete(c);

	/* alg "none" with an empty signature. */
	{
		struct secbuf b = {0};
		const char *h = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
		const char *p = "{\"exp\":9999999999}";
		if (jwt_b64url_encode(&b, h, strlen(h)) < 0 ||
		    secbuf_append(&b, ".", 1) < 0 ||
		    jwt_b64url_encode(&b, p, strlen(p)) < 0 ||
		    secbuf_append(&b, ".", 1) < 0)
			abort();
		r = jwt_verify(pub, b.data, now, 0, NULL, NULL, &e);
		tap_ok(r == -EKEYREJECTED, "%s: alg none refused: %s", kind,
		       e.msg);
		secbuf_wipe(&b);
	}
	jwt_key_free(k);
	jwt_key_free(pub);
	jwt_key_free(other);
	secmem_free(pem);
	secmem_free(opem);
}

static void test_bad_keys(void)
{
	struct jwt_key *k = NULL;
	struct error e = {0};
	size_t len;
	char *pem;
	int r;

	pem = genkey("rsa1024", &len);
	r = jwt_key_from_pem(pem, len, "store entry x: private_key", &k, &e);
	tap_ok(r == -EINVAL && !k && strstr(e.msg, "1024 bits"),
	       "RSA 1024 refused: %s", e.msg);
	secmem_free(pem);
	pem = genkey("ec384", &len);
	r = jwt_key_from_pem(pem, len, "store entry x: private_key", &k, &e);
	tap_ok(r == -EINVAL && !k && strstr(e.msg, "P-256"),
	       "EC P-384 refused: %s", e.msg);
	/* Garbage and a truncated key: an error naming the key, no PEM. */
	pem[len / 2] = 0;
	r = jwt_key_from_pem(pem, len / 2, "store entry x: private_key", &k,
			     &e);
	tap_ok(r == -EINVAL && !k && strstr(e.msg, "store entry x") &&
		   !strstr(e.msg, "BEGIN"),
	       "truncated PEM refused without quoting it: %s", e.msg);
	secmem_free(pem);
	r = jwt_key_from_pem("hello", 5, "k", &k, &e);
	tap_ok(r == -EINVAL && !k, "garbage refused: %s", e.msg);
	r = jwt_decode_unverified("a.b", NULL, NULL);
	tap_ok(r == -EBADMSG, "two-part token refused");
	r = jwt_decode_unverified("e30.e30.", NULL, NULL);
	tap_ok(r == 0, "decode without verifying: {}.{}");
	r = jwt_decode_unverified("W10.e30.", NULL, NULL);
	tap_ok(r == -EBADMSG, "a header that is not an object refused");
}

int main(int argc, char **argv)
{
	secmem_init_cjson();
	if (argc > 1)
		return tool(argc, argv);
	test_b64url();
	test_alg("rsa2048", JWT_RS256);
	test_alg("ec256", JWT_ES256);
	test_bad_keys();
	return tap_done();
}
