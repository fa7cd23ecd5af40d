/* digest: SHA-256 and HMAC-SHA-256, OpenSSL's where it answers, else
 * libsodium's (see digest.h). */
#include "crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Fetched once: an implicit fetch per call (EVP_sha256() in EVP_Digest)
 * costs as much as hashing the line.  A fetch that fails leaves libsodium
 * doing the work for the life of the process: slower, the same bytes. */
static void sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256 of a then b (b may be empty) through OpenSSL; false if it
 * failed, out then unspecified. */
static bool ossl_sha256(const void *a, size_t alen, const void *b, size_t blen,
			uint8_t out[static 32])
{
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	bool ok;

	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256 || !(ctx = EVP_MD_CTX_new()))
		return false;
	/* EVP_MD_CTX_free wipes the state (OPENSSL_clear_free). */
	ok = EVP_DigestInit_ex(ctx, sha256, NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, alen) == 1 &&
	     (!blen || EVP_DigestUpdate(ctx, b, blen) == 1) &&
	     EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(ctx);
	return ok;
}

void digest_sha256(const void *data, size_t len, uint8_t out[static 32])
{
	if (!ossl_sha256(data, len, NULL, 0, out))
		crypto_hash_sha256(out, data, len);
}

void digest_hmac_sha256(const uint8_t key[static 32], const void *data,
			size_t len, uint8_t out[static 32])
{
	uint8_t pad[64], inner[32];
	crypto_auth_hmacsha256_state st;
	bool ok;
	size_t i;

	/* H((K ^ opad) || H((K ^ ipad) || m)), the key zero-padded to the
	 * 64-byte block. */
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < 32; i++)
		pad[i] ^= key[i];
	ok = ossl_sha256(pad, sizeof(pad), data, len, inner);
	if (ok) {
		memset(pad, 0x5c, sizeof(pad));
		for (i = 0; i < 32; i++)
			pad[i] ^= key[i];
		ok = ossl_sha256(pad, sizeof(pad), inner, sizeof(inner), out);
	}
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	if (ok)
		return;
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}
