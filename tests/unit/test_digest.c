/* digest: SHA-256 and HMAC-SHA-256 give the standard's bytes, through
 * OpenSSL and, when OpenSSL cannot allocate, through libsodium; the audit
 * chain and seal depend on both paths agreeing to the bit. */
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdbool.h>

#include "core/util.h"
#include "core/digest.h"
#include "tests/tap.h"

/* OpenSSL's allocations fail while this is set (installed before OpenSSL
 * allocates anything). */
static bool refuse;
static unsigned long refused;

static void *t_malloc(size_t n, const char *file, int line)
{
	(void)file, (void)line;
	if (refuse) {
		refused++;
		return NULL;
	}
	return malloc(n);
}

static void *t_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file, (void)line;
	if (refuse) {
		refused++;
		return NULL;
	}
	return realloc(p, n);
}

static void t_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	free(p);
}

static void hex_of(const uint8_t md[32], char out[65])
{
	util_hex(md, 32, out);
}

static void vectors(const char *how)
{
	uint8_t md[32], key[32] = {0};
	char hex[65];

	digest_sha256("abc", 3, md);
	hex_of(md, hex);
	is_str(hex,
	       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "%s: SHA-256(\"abc\") (FIPS 180-2)", how);
	digest_sha256("", 0, md);
	hex_of(md, hex);
	is_str(hex,
	       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "%s: SHA-256 of nothing", how);
	/* RFC 4231 test cases 1 and 2: keys shorter than the block are
	 * zero-padded, so the 32-byte zero-padded key gives their MACs. */
	memset(key, 0x0b, 20);
	digest_hmac_sha256(key, "Hi There", 8, md);
	hex_of(md, hex);
	is_str(hex,
	       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
	       "%s: HMAC-SHA-256, RFC 4231 case 1", how);
	memset(key, 0, sizeof(key));
	memcpy(key, "Jefe", 4);
	digest_hmac_sha256(key, "what do ya want for nothing?", 28, md);
	hex_of(md, hex);
	is_str(hex,
	       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	       "%s: HMAC-SHA-256, RFC 4231 case 2", how);
}

/* Against libsodium's, over lengths around the 64-byte block. */
static void agree(const char *how)
{
	uint8_t key[32], data[1100], a[32], b[32];
	bool sha_ok = true, mac_ok = true;

	randombytes_buf(data, sizeof(data));
	for (size_t n = 0; n < sizeof(data); n += n < 200 ? 1 : 97) {
		randombytes_buf(key, sizeof(key));
		digest_sha256(data, n, a);
		crypto_hash_sha256(b, data, n);
		sha_ok &= memcmp(a, b, 32) == 0;
		digest_hmac_sha256(key, data, n, a);
		crypto_auth_hmacsha256(b, data, n, key);
		mac_ok &= memcmp(a, b, 32) == 0;
	}
	ok(sha_ok, "%s: SHA-256 equals libsodium's for 0..1099 bytes", how);
	ok(mac_ok, "%s: HMAC-SHA-256 equals libsodium's for 0..1099 bytes",
	   how);
}

int main(void)
{
	if (!CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free) ||
	    sodium_init() < 0) {
		printf("Bail out! cannot hook OpenSSL's allocator\n");
		return 1;
	}
	vectors("OpenSSL");
	agree("OpenSSL");
	ok(refused == 0, "nothing refused while allowed");
	refuse = true;
	vectors("OpenSSL failing");
	agree("OpenSSL failing");
	refuse = false;
	ok(refused > 0, "OpenSSL's allocations were refused (%lu): the "
			"libsodium path ran", refused);
	vectors("OpenSSL again");
	return tap_done();
}
