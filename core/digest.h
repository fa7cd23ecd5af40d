/* digest: SHA-256 and HMAC-SHA-256 of the audit chain and its seal, two of
 * each on every open's path.
 *
 * OpenSSL's code is used where it answers (SHA extensions or AVX2 where the
 * CPU has them: about four times libsodium's portable code on a 500-byte
 * audit line); where OpenSSL fails (it allocates a context, which can fail)
 * libsodium's gives the same bytes, and it cannot fail.  So neither function
 * fails, and a caller never holds an unset digest. */
#ifndef CREDFS_DIGEST_H
#define CREDFS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_BYTES 32

/* OpenSSL's SHA-256 takes about 2 ms of CPU to load, once per process.
 * By default the first call loads it and waits.  A daemon, whose start is
 * timed to its first read, calls digest_defer() first: libsodium's then
 * hashes until a thread off the open path calls digest_prepare(), which
 * loads it there (and is a no-op once loaded or being loaded). */
void digest_defer(void);
void digest_prepare(void);

void digest_sha256(const void *data, size_t len, uint8_t out[static 32]);
/* The same as lowercase hex, NUL-terminated. */
void digest_sha256_hex(const void *data, size_t len, char hex[static 65]);

/* HMAC-SHA-256 (RFC 2104) under a 32-byte key; the key's pads and the
 * inner hash are wiped before return. */
void digest_hmac_sha256(const uint8_t key[static 32], const void *data,
			size_t len, uint8_t out[static 32]);

#endif
