/* cred: one credential, a small set of named fields plus its expiry.
 *
 * Field values are secrets and live in secmem.  A cred is immutable once
 * published by the engine and is shared by reference count, so a reader
 * that holds one keeps a consistent snapshot while a refresh replaces it.
 */
#ifndef CREDFS_CRED_H
#define CREDFS_CRED_H

#include <stddef.h>
#include <stdbool.h>
#include <time.h>

struct cred;

struct cred *cred_new(void) __attribute__((warn_unused_result));
/* Drops one reference; wipes everything on the last.  NULL is a no-op. */
void cred_unref(struct cred *c);
struct cred *cred_ref(struct cred *c);

/* Copies name and value (value into secmem); replaces an existing field. */
int cred_set(struct cred *c, const char *field, const char *value)
    __attribute__((warn_unused_result));
int cred_setn(struct cred *c, const char *field, const char *value, size_t len)
    __attribute__((warn_unused_result));
/* Borrowed pointer valid while the caller holds a reference; NULL if unset. */
const char *cred_get(const struct cred *c, const char *field);
size_t cred_count(const struct cred *c);
const char *cred_name_at(const struct cred *c, size_t i);
const char *cred_value_at(const struct cred *c, size_t i);

/* 0 = does not expire. */
void cred_set_expiration(struct cred *c, time_t t);
time_t cred_expiration(const struct cred *c);
/* When this credential was obtained (mtime of the files that show it). */
void cred_set_obtained(struct cred *c, time_t t);
time_t cred_obtained(const struct cred *c);

/* A non-secret identifier for audit and status: the access key id when
 * there is one, else "sha256:" and the first 12 hex digits of the hash of
 * the main secret field.  Written into buf (at least 64 bytes). */
void cred_key_id(const struct cred *c, char *buf, size_t len);

/* Serialisation for the sealed cache: JSON in secmem (secmem_free it). */
char *cred_to_json(const struct cred *c, size_t *len)
    __attribute__((warn_unused_result));
int cred_from_json(const char *json, size_t len, struct cred **out)
    __attribute__((warn_unused_result));


struct error;
/* Fills c from an owner-only (mode 0600) file of `field = value` lines:
 * `secret_file =`, for tests.  -EPERM for a file others may read. */
int cred_read_file(const char *path, struct cred *c, struct error *e)
    __attribute__((warn_unused_result));

#endif
