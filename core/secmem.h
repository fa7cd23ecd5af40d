/* secmem: memory for secret bytes.
 *
 * Every allocation is wiped before it is returned to the system, is kept
 * out of core dumps (MADV_DONTDUMP) and, while RLIMIT_MEMLOCK allows, out
 * of swap (mlock).  Small blocks are carved from locked slabs so that
 * thousands of cached credentials do not each cost a guarded page set.
 *
 * WARNING: memory from secmem_* must be released with secmem_free (or
 * secmem_realloc), never free(3).
 */
#ifndef CREDFS_SECMEM_H
#define CREDFS_SECMEM_H

#include <stddef.h>
#include <stdbool.h>

void *secmem_alloc(size_t n) __attribute__((warn_unused_result, malloc));
void *secmem_calloc(size_t n, size_t size)
    __attribute__((warn_unused_result, malloc));
/* Grows or shrinks; the old block is wiped.  NULL p acts as alloc. */
void *secmem_realloc(void *p, size_t n) __attribute__((warn_unused_result));
/* Wipes and frees; NULL is a no-op. */
void secmem_free(void *p);
/* Copies of C strings into secret memory; NULL on ENOMEM. */
char *secmem_strdup(const char *s) __attribute__((warn_unused_result));
char *secmem_strndup(const char *s, size_t n)
    __attribute__((warn_unused_result));
/* Usable size of a block from secmem_alloc. */
size_t secmem_size(const void *p);

/* Growable byte buffer in secret memory (HTTP bodies, rendered files). */
struct secbuf {
	char *data; /* NUL-terminated, secmem; owned by the buffer */
	size_t len;
	size_t cap;
};
int secbuf_append(struct secbuf *b, const void *p, size_t n)
    __attribute__((warn_unused_result));
/* Makes room for n more bytes (and the NUL) without changing len. */
int secbuf_reserve(struct secbuf *b, size_t n)
    __attribute__((warn_unused_result));
int secbuf_printf(struct secbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
/* Wipes and frees the data; the struct itself is left zeroed. */
void secbuf_wipe(struct secbuf *b);
/* Hands the data to the caller (secmem_free it); b is left empty. */
char *secbuf_steal(struct secbuf *b, size_t *len);

/* Statistics for `credfs status` and the memory benchmark. */
struct secmem_stats {
	size_t bytes_in_use;
	size_t bytes_locked;
	size_t slabs;
	bool lock_failed;     /* RLIMIT_MEMLOCK reached: newer slabs unlocked */
	size_t lock_failures; /* mappings left unlocked */
	size_t bytes_mapped;  /* all mappings, locked or not */
	size_t allocs;	      /* live blocks */
};
void secmem_get_stats(struct secmem_stats *st);

/* Tests only: fn sees every block right after it is wiped on free (with
 * the allocator's lock held: fn must not call secmem).  NULL clears it. */
void secmem_test_set_free_hook(void (*fn)(const void *p, size_t n));

/* Routes cJSON's allocations through secmem (call once at start). */
void secmem_init_cjson(void);

#endif
