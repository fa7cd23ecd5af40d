/* secmem: a size-class slab allocator for secret bytes.
 *
 * Small blocks (up to SLAB_MAX bytes) are carved from CHUNK-sized slabs, one
 * slab list per size class; larger blocks get a mapping of their own.  Every
 * mapping is CHUNK-aligned and starts with a header, so the owner of any
 * pointer is found by masking its low bits.  Mappings are mlock'ed while
 * RLIMIT_MEMLOCK allows (then unlocked, and the failure is counted) and are
 * always MADV_DONTDUMP.  A freed block is wiped before its slot is reused or
 * its mapping is returned.
 *
 * One mutex guards everything: the allocator is not on a hot path (a few
 * allocations per credential refresh or per open).
 */
#include "core/secmem.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK ((size_t)32768)
#define HDR ((size_t)512) /* slab header + bitmap; slots start here */
#define LARGE_HDR ((size_t)64)
#define SLAB_MAGIC 0x5ec5ab5ec5ab0001ULL
#define LARGE_MAGIC 0x5ec1a46e5ec10002ULL

/* Up to 8 KiB from slabs: a rendered file or an HTTP body is one block,
 * and a mapping of its own per open (mmap, mlock, munmap) costs more than
 * the open itself. */
static const size_t classes[] = {16,   32,   48,   64,	 96,   128,
				 192,  256,  384,  512,	 768,  1024,
				 1536, 2048, 3072, 4096, 6144, 8192};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))
#define SLAB_MAX 8192
#define MAX_SLOTS ((CHUNK - HDR) / 16)
#define BITMAP_WORDS ((MAX_SLOTS + 63) / 64)

struct slab {
	uint64_t magic; /* SLAB_MAGIC ^ cookie ^ address */
	struct slab *next, *prev;
	size_t map_len; /* bytes mapped (CHUNK) */
	unsigned cls;
	unsigned nslots;
	unsigned nused;
	unsigned hint; /* first bitmap word that may have a free slot */
	bool locked;
	uint64_t used[BITMAP_WORDS];
};

struct large {
	uint64_t magic; /* LARGE_MAGIC ^ cookie ^ address */
	size_t map_len;
	size_t size; /* usable bytes */
	bool locked;
};

_Static_assert(sizeof(struct slab) <= HDR, "slab header too big");
_Static_assert(sizeof(struct large) <= LARGE_HDR, "large header too big");

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab *partial[NCLASSES]; /* slabs with free slots */
static struct slab *full[NCLASSES];
static uint64_t cookie;
static struct secmem_stats stats;
static void (*test_hook)(const void *p, size_t n);

/* A fork while another thread holds the lock would leave the child's copy
 * locked forever (the daemon forks for exec providers). */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void atfork_release(void)
{
	pthread_mutex_unlock(&lock);
}

static __attribute__((constructor)) void secmem_register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

static unsigned class_of(size_t n)
{
	unsigned i;

	for (i = 0; i < NCLASSES; i++)
		if (n <= classes[i])
			return i;
	return NCLASSES;
}

static void init_cookie(void)
{
	if (cookie)
		return;
	/* randombytes_buf never fails; sodium_init makes it safe to call
	 * from any thread later. */
	if (sodium_init() < 0)
		abort();
	while (!cookie)
		randombytes_buf(&cookie, sizeof(cookie));
}

/* A CHUNK-aligned anonymous mapping of len bytes (a multiple of the page). */
static void *map_aligned(size_t len, bool *locked)
{
	uint8_t *p, *a;
	size_t extra = CHUNK;

	p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + len + extra)
		munmap(a + len, (size_t)(p + len + extra - (a + len)));

	(void)madvise(a, len, MADV_DONTDUMP);
	*locked = false;
	if (mlock(a, len) == 0) {
		*locked = true;
		stats.bytes_locked += len;
	} else {
		stats.lock_failed = true;
		stats.lock_failures++;
	}
	stats.bytes_mapped += len;
	return a;
}

static void unmap(void *a, size_t len, bool locked)
{
	if (locked) {
		munlock(a, len);
		stats.bytes_locked -= len;
	}
	stats.bytes_mapped -= len;
	munmap(a, len);
}

static void list_del(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void list_add(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static struct slab *slab_new(unsigned cls)
{
	struct slab *s;
	bool locked;

	s = map_aligned(CHUNK, &locked);
	if (!s)
		return NULL;
	/* fresh anonymous memory is zero */
	s->magic = SLAB_MAGIC ^ cookie ^ (uintptr_t)s;
	s->map_len = CHUNK;
	s->cls = cls;
	s->nslots = (unsigned)((CHUNK - HDR) / classes[cls]);
	s->locked = locked;
	stats.slabs++;
	return s;
}

static void *slab_take(struct slab *s)
{
	unsigned w, b, words = (s->nslots + 63) / 64;

	for (w = s->hint; w < words; w++) {
		uint64_t free_bits = ~s->used[w];

		if (w == words - 1 && s->nslots % 64)
			free_bits &= (1ULL << (s->nslots % 64)) - 1;
		if (!free_bits)
			continue;
		b = (unsigned)__builtin_ctzll(free_bits);
		s->used[w] |= 1ULL << b;
		s->nused++;
		s->hint = w;
		return (uint8_t *)s + HDR +
		       (size_t)(w * 64 + b) * classes[s->cls];
	}
	abort(); /* the caller checked nused < nslots */
}

static void *alloc_small(size_t n)
{
	unsigned cls = class_of(n);
	struct slab *s = partial[cls];
	void *p;

	if (!s) {
		s = slab_new(cls);
		if (!s)
			return NULL;
		list_add(&partial[cls], s);
	}
	p = slab_take(s);
	if (s->nused == s->nslots) {
		list_del(&partial[cls], s);
		list_add(&full[cls], s);
	}
	stats.bytes_in_use += classes[cls];
	stats.allocs++;
	return p;
}

static void *alloc_large(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len;
	struct large *l;
	bool locked;

	if (n > SIZE_MAX - LARGE_HDR - page)
		return NULL;
	len = (n + LARGE_HDR + page - 1) & ~(page - 1);
	l = map_aligned(len, &locked);
	if (!l)
		return NULL;
	l->magic = LARGE_MAGIC ^ cookie ^ (uintptr_t)l;
	l->map_len = len;
	l->size = len - LARGE_HDR;
	l->locked = locked;
	stats.bytes_in_use += l->size;
	stats.allocs++;
	return (uint8_t *)l + LARGE_HDR;
}

/* Fault injection (tests/fault/fault_shim.c): a preloaded library that
 * defines credfs_fault_secmem makes this allocation fail when it returns
 * nonzero.  Looked up once; absent (NULL) in every normal run. */
static int (*fault_hook)(const void *caller);
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_lookup(void)
{
	fault_hook = (int (*)(const void *))dlsym(RTLD_DEFAULT,
						  "credfs_fault_secmem");
}

void *secmem_alloc(size_t n)
{
	void *p;

	pthread_once(&fault_once, fault_lookup);
	if (fault_hook && fault_hook(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&lock);
	init_cookie();
	if (n <= SLAB_MAX)
		p = alloc_small(n);
	else
		p = alloc_large(n);
	pthread_mutex_unlock(&lock);
	if (!p)
		errno = ENOMEM;
	return p;
}

void *secmem_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	p = secmem_alloc(n * size);
	/* slots are wiped on free and mappings start zeroed, but be explicit:
	 * this is not a hot path */
	if (p)
		memset(p, 0, n * size);
	return p;
}

/* Which mapping does p belong to?  Aborts on a pointer secmem never
 * handed out: freeing one with the wrong allocator is a bug that would
 * otherwise corrupt memory silently. */
static void *owner(const void *p, bool *is_slab)
{
	uintptr_t base = (uintptr_t)p & ~(uintptr_t)(CHUNK - 1);
	uint64_t magic = *(const uint64_t *)base ^ cookie ^ base;

	if (magic == SLAB_MAGIC) {
		*is_slab = true;
		return (void *)base;
	}
	if (magic == LARGE_MAGIC && (uintptr_t)p == base + LARGE_HDR) {
		*is_slab = false;
		return (void *)base;
	}
	fprintf(stderr, "secmem: invalid pointer %p\n", p);
	abort();
}

static size_t size_locked(const void *p)
{
	bool is_slab;
	void *o = owner(p, &is_slab);

	if (is_slab)
		return classes[((struct slab *)o)->cls];
	return ((struct large *)o)->size;
}

size_t secmem_size(const void *p)
{
	size_t n;

	if (!p)
		return 0;
	pthread_mutex_lock(&lock);
	n = size_locked(p);
	pthread_mutex_unlock(&lock);
	return n;
}

static void free_slab_block(struct slab *s, void *p)
{
	size_t sz = classes[s->cls];
	size_t off = (size_t)((uint8_t *)p - (uint8_t *)s) - HDR;
	size_t idx = off / sz;
	unsigned w = (unsigned)(idx / 64), b = (unsigned)(idx % 64);
	bool was_full = s->nused == s->nslots;

	if (off % sz || idx >= s->nslots || !(s->used[w] & (1ULL << b))) {
		fprintf(stderr, "secmem: invalid or double free %p\n", p);
		abort();
	}
	sodium_memzero(p, sz);
	if (test_hook)
		test_hook(p, sz);
	s->used[w] &= ~(1ULL << b);
	s->nused--;
	if (w < s->hint)
		s->hint = w;
	stats.bytes_in_use -= sz;
	stats.allocs--;

	if (was_full) {
		list_del(&full[s->cls], s);
		list_add(&partial[s->cls], s);
	}
	/* Keep one empty slab per class so a free/alloc pair at the edge
	 * does not map and unmap each time; release the others. */
	if (s->nused == 0 && (partial[s->cls] != s || s->next)) {
		list_del(&partial[s->cls], s);
		stats.slabs--;
		unmap(s, s->map_len, s->locked);
	}
}

static void free_large(struct large *l)
{
	void *p = (uint8_t *)l + LARGE_HDR;

	sodium_memzero(p, l->size);
	if (test_hook)
		test_hook(p, l->size);
	stats.bytes_in_use -= l->size;
	stats.allocs--;
	l->magic = 0;
	unmap(l, l->map_len, l->locked);
}

void secmem_free(void *p)
{
	bool is_slab;
	void *o;

	if (!p)
		return;
	pthread_mutex_lock(&lock);
	o = owner(p, &is_slab);
	if (is_slab)
		free_slab_block(o, p);
	else
		free_large(o);
	pthread_mutex_unlock(&lock);
}

void *secmem_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return secmem_alloc(n);
	old = secmem_size(p);
	/* Same block if it still fits and is not wastefully large. */
	if (n <= old && (old <= SLAB_MAX ? class_of(n) == class_of(old)
					 : n > SLAB_MAX && n >= old / 2)) {
		if (n < old)
			sodium_memzero((uint8_t *)p + n, old - n);
		return p;
	}
	q = secmem_alloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	secmem_free(p);
	return q;
}

char *secmem_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = secmem_alloc(len + 1);

	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

char *secmem_strdup(const char *s)
{
	return secmem_strndup(s, strlen(s));
}

int secbuf_append(struct secbuf *b, const void *p, size_t n)
{
	if (n > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	if (!b->data || b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = secmem_realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int secbuf_reserve(struct secbuf *b, size_t n)
{
	if (b->data && b->len + n + 1 <= b->cap)
		return 0;
	size_t len = b->len;
	int r = secbuf_append(b, "", 0); /* allocate on first use */
	if (r < 0)
		return r;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = secmem_realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	b->len = len;
	return 0;
}

int secbuf_printf(struct secbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	/* Format straight into the buffer's spare room (secret memory: the
	 * arguments may be secrets); grow and format again if short. */
	if ((r = secbuf_reserve(b, 128)) < 0)
		return r;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = 0;
		return -EINVAL;
	}
	if ((size_t)n >= b->cap - b->len) {
		b->data[b->len] = 0;
		if ((r = secbuf_reserve(b, (size_t)n)) < 0)
			return r;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

void secbuf_wipe(struct secbuf *b)
{
	secmem_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *secbuf_steal(struct secbuf *b, size_t *len)
{
	char *d = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void secmem_get_stats(struct secmem_stats *st)
{
	pthread_mutex_lock(&lock);
	*st = stats;
	pthread_mutex_unlock(&lock);
}

void secmem_test_set_free_hook(void (*fn)(const void *p, size_t n))
{
	pthread_mutex_lock(&lock);
	test_hook = fn;
	pthread_mutex_unlock(&lock);
}

static void *cjson_malloc(size_t n)
{
	return secmem_alloc(n);
}

void secmem_init_cjson(void)
{
	/* With custom malloc/free cJSON never calls realloc, so every byte
	 * of a parsed or printed document lives in secmem. */
	cJSON_Hooks h = {.malloc_fn = cjson_malloc, .free_fn = secmem_free};

	cJSON_InitHooks(&h);
}
