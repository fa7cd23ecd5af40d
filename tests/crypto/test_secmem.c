/* secmem: slab allocator behaviour, wiping, stats, threads, mlock limit. */
#include "core/secmem.h"
#include "tests/tap.h"

#include <cjson/cJSON.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* wipe hook: records whether every freed block was all zero */
static size_t hook_calls, hook_nonzero;
static const void *hook_last;
static size_t hook_last_n;

static void hook(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	hook_calls++;
	hook_last = p;
	hook_last_n = n;
	for (i = 0; i < n; i++)
		if (b[i]) {
			hook_nonzero++;
			break;
		}
}

static void test_basic(void)
{
	size_t n, bad = 0;
	void *p;

	p = secmem_alloc(0);
	ok(p != NULL, "alloc(0) returns a block");
	secmem_free(p);
	secmem_free(NULL);
	for (n = 1; n <= 9000; n += (n < 300 ? 1 : 97)) {
		unsigned char *q = secmem_alloc(n);

		if (!q || secmem_size(q) < n || ((uintptr_t)q & 15)) {
			bad++;
		} else {
			memset(q, 0xa5, n);
		}
		secmem_free(q);
	}
	ok(bad == 0, "every size 1..9000 fits, 16-aligned (%zu bad)", bad);
	ok(secmem_size(NULL) == 0, "secmem_size(NULL) == 0");

	p = secmem_calloc(10, 30);
	ok(p && secmem_size(p) >= 300, "calloc 10x30");
	n = 0;
	for (size_t i = 0; p && i < 300; i++)
		n += ((unsigned char *)p)[i];
	ok(n == 0, "calloc zeroes");
	secmem_free(p);
	ok(secmem_calloc(SIZE_MAX / 2, 4) == NULL, "calloc overflow refused");
}

static void test_wipe(void)
{
	unsigned char *p;

	secmem_test_set_free_hook(hook);
	hook_calls = hook_nonzero = 0;
	p = secmem_alloc(40);
	memset(p, 'S', 40);
	secmem_free(p);
	ok(hook_calls == 1 && hook_last == p && hook_last_n >= 40,
	   "free hook saw the small block");
	ok(hook_nonzero == 0, "small block wiped before release");

	p = secmem_alloc(100000);
	memset(p, 'S', 100000);
	secmem_free(p);
	ok(hook_calls == 2 && hook_last == p && hook_last_n >= 100000,
	   "free hook saw the large block");
	ok(hook_nonzero == 0, "large block wiped before unmap");

	/* realloc that moves wipes the old block */
	p = secmem_alloc(20);
	memset(p, 'S', 20);
	hook_calls = 0;
	p = secmem_realloc(p, 3000);
	ok(p && hook_calls == 1 && hook_nonzero == 0,
	   "realloc wipes the old block");
	secmem_free(p);

	{
		struct secbuf b = {0};
		int r = 0;

		for (int i = 0; i < 200; i++)
			r |= secbuf_printf(&b, "secret-%d;", i);
		ok(r == 0 && b.len > 1000 &&
		       strncmp(b.data, "secret-0;", 9) == 0,
		   "secbuf grows (%zu bytes)", b.len);
		ok(hook_nonzero == 0, "every intermediate secbuf block wiped");
		secbuf_wipe(&b);
		ok(!b.data && !b.len && !b.cap, "secbuf_wipe empties");
	}
	secmem_test_set_free_hook(NULL);
}

static void test_realloc(void)
{
	unsigned char *p = secmem_realloc(NULL, 10);
	size_t i, bad = 0;
	unsigned char *q;

	for (i = 0; i < 10; i++)
		p[i] = (unsigned char)i;
	q = secmem_realloc(p, 12);
	ok(q == p, "realloc within the size class keeps the block");
	p = secmem_realloc(q, 5000);
	for (i = 0; i < 10; i++)
		bad += p[i] != i;
	ok(bad == 0, "realloc to a large block keeps the contents");
	memset(p, 7, 5000);
	p = secmem_realloc(p, 100);
	bad = 0;
	for (i = 0; i < 100; i++)
		bad += p[i] != 7;
	ok(bad == 0 && secmem_size(p) < 5000,
	   "realloc shrinks to a small block, keeps the prefix");
	secmem_free(p);
}

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_many(void)
{
	enum { N = 50000 };
	unsigned char **v = calloc(N, sizeof(*v));
	size_t *len = calloc(N, sizeof(*len));
	struct secmem_stats before, mid, after;
	size_t i, bad = 0;

	secmem_get_stats(&before);
	for (i = 0; i < N; i++) {
		len[i] = 1 + rnd() % 400;
		v[i] = secmem_alloc(len[i]);
		if (!v[i]) {
			bad++;
			continue;
		}
		memset(v[i], (int)(i & 0xff), len[i]);
	}
	secmem_get_stats(&mid);
	for (i = 0; i < N; i++)
		for (size_t j = 0; v[i] && j < len[i]; j++)
			if (v[i][j] != (i & 0xff)) {
				bad++;
				break;
			}
	ok(bad == 0, "%d live blocks do not overlap", N);
	ok(mid.allocs == before.allocs + N &&
	       mid.bytes_in_use > before.bytes_in_use,
	   "stats count live blocks (%zu) and bytes (%zu)", mid.allocs,
	   mid.bytes_in_use);
	ok(mid.slabs > before.slabs, "slabs grew to %zu", mid.slabs);
	/* free in random order */
	for (i = N - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		unsigned char *t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
	for (i = 0; i < N; i++)
		secmem_free(v[i]);
	secmem_get_stats(&after);
	ok(after.allocs == before.allocs &&
	       after.bytes_in_use == before.bytes_in_use,
	   "everything returned");
	ok(after.slabs <= before.slabs + 14,
	   "empty slabs released (%zu left, %zu before)", after.slabs,
	   before.slabs);
	free(v);
	free(len);
}

/* Bytes mapped per 1000 small allocations and per cached credential. */
static void test_footprint(void)
{
	enum { CREDS = 10000 };
	static const size_t shape[] = {20, 40, 28, 900, 20};
	static void *v[CREDS * 5];
	struct secmem_stats a, b;
	size_t i, sizes[] = {16, 32, 64, 128};

	/* amortised over 20 x 1000 blocks so partly used slabs from
	 * earlier tests do not hide the cost */
	for (size_t k = 0; k < 4; k++) {
		size_t per;

		secmem_get_stats(&a);
		for (i = 0; i < 20000; i++)
			v[i] = secmem_alloc(sizes[k]);
		secmem_get_stats(&b);
		per = (b.bytes_mapped - a.bytes_mapped) / 20;
		printf("# 1000 allocs of %zu bytes: %zu bytes mapped (%.1f "
		       "per alloc)\n",
		       sizes[k], per, (double)per / 1000);
		ok(per <= 1000 * sizes[k] * 11 / 10 + 32768 / 20,
		   "1000 x %zu bytes cost at most 10%% overhead", sizes[k]);
		for (i = 0; i < 20000; i++)
			secmem_free(v[i]);
	}

	secmem_get_stats(&a);
	for (i = 0; i < CREDS * 5; i++)
		v[i] = secmem_alloc(shape[i % 5] + 1);
	secmem_get_stats(&b);
	printf("# %d credentials of 5 fields (20,40,28,900,20 bytes): "
	       "%zu bytes mapped, %.0f per credential; locked %zu, "
	       "lock failures %zu\n",
	       CREDS, b.bytes_mapped - a.bytes_mapped,
	       (double)(b.bytes_mapped - a.bytes_mapped) / CREDS,
	       b.bytes_locked, b.lock_failures);
	ok((b.bytes_mapped - a.bytes_mapped) / CREDS <= 1536,
	   "a cached credential costs <= 1.5 KiB");
	for (i = 0; i < CREDS * 5; i++)
		secmem_free(v[i]);
}

static void *thread_main(void *arg)
{
	uint32_t seed = (uint32_t)(uintptr_t)arg;
	unsigned char *held[64] = {0};
	size_t lens[64] = {0};
	long bad = 0;

	for (int i = 0; i < 40000; i++) {
		unsigned slot;

		seed = seed * 1103515245 + 12345;
		slot = (seed >> 16) % 64;
		if (held[slot]) {
			for (size_t j = 0; j < lens[slot]; j++)
				if (held[slot][j] != (unsigned char)slot) {
					bad++;
					break;
				}
			secmem_free(held[slot]);
			held[slot] = NULL;
		} else {
			lens[slot] = 1 + (seed >> 8) % 3000;
			held[slot] = secmem_alloc(lens[slot]);
			if (!held[slot])
				bad++;
			else
				memset(held[slot], (int)slot, lens[slot]);
		}
	}
	for (int i = 0; i < 64; i++)
		secmem_free(held[i]);
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t t[4];
	long bad = 0;
	struct secmem_stats a, b;

	secmem_get_stats(&a);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_main,
			       (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < 4; i++) {
		void *rv;

		pthread_join(t[i], &rv);
		bad += (long)rv;
	}
	secmem_get_stats(&b);
	ok(bad == 0, "4 threads x 40000 alloc/free: no corruption");
	ok(a.allocs == b.allocs && a.bytes_in_use == b.bytes_in_use,
	   "threads returned everything");
}

/* Without CAP_IPC_LOCK and with a small RLIMIT_MEMLOCK, allocation goes on
 * unlocked and the failure shows in the stats. */
static void test_lock_limit(void)
{
	pid_t pid;
	int status;

#if defined(__SANITIZE_ADDRESS__)
	/* ASan turns mlock into a no-op that always succeeds: the plain
	 * build of the suite runs this check. */
	printf("# RLIMIT_MEMLOCK check: mlock is a no-op under "
	       "AddressSanitizer; run by the plain build\n");
	return;
#endif
	pid = fork();

	if (pid == 0) {
		struct __user_cap_header_struct h = {
		    _LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		struct rlimit rl = {65536, 65536};
		struct secmem_stats st, st0;
		void *v[200];

		if (syscall(SYS_capget, &h, d) == 0) {
			d[0].effective &= ~(1u << CAP_IPC_LOCK);
			d[0].permitted &= ~(1u << CAP_IPC_LOCK);
			syscall(SYS_capset, &h, d);
		}
		if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
			_exit(3);
		secmem_get_stats(&st0); /* the parent's counters */
		for (int i = 0; i < 200; i++) {
			v[i] = secmem_alloc(2000);
			if (!v[i])
				_exit(4);
			memset(v[i], 1, 2000);
		}
		secmem_get_stats(&st);
		if (!st.lock_failed || !st.lock_failures)
			_exit(5);
		if (st.bytes_locked - st0.bytes_locked > 65536)
			_exit(6);
		for (int i = 0; i < 200; i++)
			secmem_free(v[i]);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "over RLIMIT_MEMLOCK: still allocates, lock_failed set (child "
	   "status %d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void test_double_free(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		void *p = secmem_alloc(30);

		/* silence the abort message */
		if (!freopen("/dev/null", "w", stderr))
			_exit(1);
		secmem_free(p);
		secmem_free(p);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	   "double free aborts");
}

static void test_cjson(void)
{
	struct secmem_stats a, b;
	cJSON *j;

	secmem_init_cjson();
	secmem_get_stats(&a);
	j = cJSON_Parse("{\"secret\":\"hunter2\",\"n\":[1,2,3]}");
	secmem_get_stats(&b);
	ok(j && b.allocs > a.allocs, "cJSON allocates through secmem (%zu)",
	   b.allocs - a.allocs);
	cJSON_Delete(j);
	secmem_get_stats(&b);
	ok(b.allocs == a.allocs, "cJSON frees through secmem");
}

int main(void)
{
	struct secmem_stats st;

	test_basic();
	test_wipe();
	test_realloc();
	test_many();
	test_footprint();
	test_threads();
	test_lock_limit();
	test_double_free();
	test_cjson();
	secmem_get_stats(&st);
	printf("# final: in use %zu, mapped %zu, locked %zu, slabs %zu, "
	       "lock_failed %d\n",
	       st.bytes_in_use, st.bytes_mapped, st.bytes_locked, st.slabs,
	       st.lock_failed);
	return tap_done();
}
