/* sealed: authenticated encryption of whole files at rest.
 *
 * A sealed file is
 *
 *	magic "CREDFS1\0" (8) | version u16le | flags u16le | reserved u32
 *	| generation u64le | nonce (24) | XChaCha20-Poly1305 ciphertext + tag
 *
 * The associated data is the whole 48-byte header followed by
 * kind "\0" name "\0", so a file that is edited anywhere, truncated, or
 * copied over another name or kind fails to open.  The nonce is random per
 * write.  The generation is chosen by the caller (store.c keeps a sealed
 * manifest of the highest generation written per file, which catches the
 * replay of an older copy); sealed itself only authenticates it.
 */
#ifndef CREDFS_SEALED_H
#define CREDFS_SEALED_H

#include <stddef.h>
#include <stdint.h>

struct error; /* core/error.h */

#define SEALED_MAGIC "CREDFS1"
#define SEALED_VERSION 1
#define SEALED_HEADER_BYTES 48
#define SEALED_OVERHEAD (SEALED_HEADER_BYTES + 16)
#define SEALED_KEY_BYTES 32
#define SEALED_MAX_FILE (16u << 20)

/* Seals pt into *out (malloc'd, not secret: free(3) it). */
int sealed_seal(const uint8_t key[static SEALED_KEY_BYTES], const char *kind,
		const char *name, uint64_t generation, const void *pt,
		size_t len, uint8_t **out, size_t *outlen)
    __attribute__((warn_unused_result));

/* Opens a sealed blob.  *pt is secmem (secmem_free it), NUL-terminated
 * after *len bytes.  -EBADMSG with e set (never containing plaintext) if
 * the blob is malformed or fails authentication.  gen may be NULL. */
int sealed_open(const uint8_t key[static SEALED_KEY_BYTES], const char *kind,
		const char *name, const uint8_t *in, size_t inlen, char **pt,
		size_t *len, uint64_t *gen, struct error *e)
    __attribute__((warn_unused_result));

/* Seals pt and replaces path atomically: a temporary file in the same
 * directory (O_EXCL, 0600), write, fsync, rename, fsync of the directory. */
int sealed_write(const char *path, const char *kind, const char *name,
		 const uint8_t key[static SEALED_KEY_BYTES],
		 uint64_t generation, const void *pt, size_t len,
		 struct error *e) __attribute__((warn_unused_result));

/* Reads and opens path.  -ENOENT if it does not exist.  -EBADMSG if it is
 * empty, truncated, edited or belongs to another kind or name: the file is
 * then set aside as PATH.bad-UNIXTIME (so a fresh write replaces it) and e
 * says so.  *pt as for sealed_open. */
int sealed_read(const char *path, const char *kind, const char *name,
		const uint8_t key[static SEALED_KEY_BYTES], char **pt,
		size_t *len, uint64_t *gen, struct error *e)
    __attribute__((warn_unused_result));

/* Renames path to PATH.bad-UNIXTIME (-N appended if taken); the new path
 * into newpath if not NULL. */
int sealed_set_aside(const char *path, char *newpath, size_t newlen);

/* The generation in path's header WITHOUT authenticating it: only for
 * choosing a larger generation for the next write. */
int sealed_peek_generation(const char *path, uint64_t *gen);

/* Atomic replace of path with data (same protocol as sealed_write), file
 * mode 0600.  For other small state files (kdf.json). */
int sealed_atomic_write(const char *path, const void *data, size_t len)
    __attribute__((warn_unused_result));
/* Same, but -EEXIST (and nothing written) if path already exists. */
int sealed_atomic_create(const char *path, const void *data, size_t len)
    __attribute__((warn_unused_result));

#endif
