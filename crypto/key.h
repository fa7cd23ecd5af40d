/* key: the master key that seals the store and the cache.
 *
 * key = passphrase: Argon2id (crypto_pwhash) over the passphrase with a salt
 * and parameters kept in state_dir; the passphrase comes from
 * passphrase_file, or a no-echo prompt on a tty.  key = keyfile:PATH: 32
 * random bytes in a file no one but the owner can read.  The derived key is
 * cached in the user keyring with a timeout so commands and restarts do not
 * prompt again; `credfs lock` drops it.
 */
#ifndef CREDFS_KEY_H
#define CREDFS_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_BYTES 32

struct config;
struct error; /* core/error.h: e->msg names the object and the cause */

/* *key is sodium_malloc'd KEY_BYTES (key_free it).  interactive: may prompt
 * on the tty.  create: may create salt/keyfile on first use. */
int key_load(const struct config *cfg, bool interactive, uint8_t **key,
	     struct error *e) __attribute__((warn_unused_result));
void key_free(uint8_t *key);
/* mkdir path 0700 unless it exists (and is a directory). */
int key_ensure_dir(const char *path, struct error *e)
    __attribute__((warn_unused_result));
/* Prompts on the controlling terminal with echo off; *out is secmem
 * (secmem_free it).  -ENOTTY without a terminal. */
int key_prompt_secret(const char *prompt, char **out, struct error *e)
    __attribute__((warn_unused_result));
/* Drops the cached key from the keyring (credfs lock). */
void key_forget(const struct config *cfg);

#endif
