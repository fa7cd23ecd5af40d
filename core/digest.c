/* digest: SHA-256 and HMAC-SHA-256, OpenSSL's where it answers, else
 * libsodium's (see digest.h). */
#include "core/digest.h"
#include "core/util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

/* SHA-256's implementation, fetched once: an implicit fetch per call
 * (EVP_sha256() in EVP_Digest) costs as much as hashing a line, and the
 * first fetch of a process, which loads OpenSSL's configuration and
 * provider, about 2 ms.  Until it is done, and if it fails, libsodium does
 * the work: the same bytes. */
enum { FETCH_NONE, FETCH_DEFERRED, FETCH_CLAIMED, FETCH_READY };
static _Atomic int fetch_state = FETCH_NONE;
static EVP_MD *sha256;

/* Whoever moves the state from `from` to CLAIMED does the fetch; a fetch
 * that fails leaves it CLAIMED, libsodium's for good. */
static bool claim(int from)
{
	return atomic_compare_exchange_strong(&fetch_state, &from,
					      FETCH_CLAIMED);
}

static void fetch(void)
{
	if ((sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)))
		atomic_store_explicit(&fetch_state, FETCH_READY,
				      memory_order_release);
}

void digest_defer(void)
{
	int none = FETCH_NONE;

	atomic_compare_exchange_strong(&fetch_state, &none, FETCH_DEFERRED);
}

void digest_prepare(void)
{
	if (claim(FETCH_NONE) || claim(FETCH_DEFERRED))
		fetch();
}

/* OpenSSL's SHA-256, NULL while libsodium's is to be used. */
static const EVP_MD *md_sha256(void)
{
	if (claim(FETCH_NONE)) /* nobody loads it: this caller, once */
		fetch();
	return atomic_load_explicit(&fetch_state, memory_order_acquire) ==
		       FETCH_READY
		   ? sha256
		   : NULL;
}

/* SHA-256 of a then b (b may be empty) through OpenSSL; false if it
 * failed, out then unspecified. */
static bool ossl_sha256(const void *a, size_t alen, const void *b, size_t blen,
			uint8_t out[static 32])
{
	const EVP_MD *md = md_sha256();
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	bool ok;

	if (!md || !(ctx = EVP_MD_CTX_new()))
		return false;
	/* EVP_MD_CTX_free wipes the state (OPENSSL_clear_free). */
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
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

void digest_sha256_hex(const void *data, size_t len, char hex[static 65])
{
	uint8_t md[DIGEST_BYTES];

	digest_sha256(data, len, md);
	util_hex(md, sizeof(md), hex);
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
