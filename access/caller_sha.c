/* caller_sha: the SHA-256 of the executable a caller runs (exe_sha256:).
 *
 * Read through /proc/PID/exe, which opens the file the process runs even
 * if its path now names another file or none.
 */
#include "access/caller_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hashing a 10 MB interpreter on every open would dominate; the hash of an
 * unchanged file is cached.  The key includes ctime, which no user can set
 * and every write changes, so a binary modified in place misses. */
#define SHA_CACHE_SIZE 32

struct sha_entry {
	bool used;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	uint8_t hash[32];
};

static pthread_mutex_t sha_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sha_entry sha_cache[SHA_CACHE_SIZE];
static unsigned sha_next;

static bool sha_key_eq(const struct sha_entry *e, const struct stat *st)
{
	return e->used && e->dev == st->st_dev && e->ino == st->st_ino &&
	       e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctime.tv_sec == st->st_ctim.tv_sec &&
	       e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static bool sha_cache_get(const struct stat *st, uint8_t out[static 32])
{
	bool hit = false;
	unsigned i;

	pthread_mutex_lock(&sha_lock);
	for (i = 0; i < SHA_CACHE_SIZE; i++) {
		if (sha_key_eq(&sha_cache[i], st)) {
			memcpy(out, sha_cache[i].hash, 32);
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&sha_lock);
	return hit;
}

static void sha_cache_put(const struct stat *st, const uint8_t hash[static 32])
{
	struct sha_entry *e;

	pthread_mutex_lock(&sha_lock);
	e = &sha_cache[sha_next++ % SHA_CACHE_SIZE];
	e->used = true;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
	memcpy(e->hash, hash, 32);
	pthread_mutex_unlock(&sha_lock);
}

static int hash_fd(int fd, uint8_t out[static 32])
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	unsigned int len = 0;
	ssize_t n;
	int r = -ENOMEM;

	buf = malloc(1 << 16);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx)
		goto out;
	r = -EIO;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		n = read(fd, buf, 1 << 16);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return r;
}

int caller_exe_sha256(struct caller *c)
{
	struct caller_stat sf;
	struct stat st;
	uint8_t hash[32];
	int dirfd, fd = -1, r;

	if (c->have_sha256)
		return 0;
	dirfd = caller_reopen_pinned(c, &sf);
	if (dirfd < 0)
		return dirfd;
	/* /proc/PID/exe opens the file the process runs, even if the path
	 * now names another file or none. */
	fd = openat(dirfd, "exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? -ESRCH : -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!sha_cache_get(&st, hash)) {
		if ((r = hash_fd(fd, hash)) < 0)
			goto out;
		sha_cache_put(&st, hash);
	}
	/* Still the same process after the (possibly long) read. */
	if ((r = caller_read_stat(dirfd, &sf)) < 0)
		goto out;
	if (c->starttime && sf.starttime != c->starttime) {
		r = -ESRCH;
		goto out;
	}
	memcpy(c->exe_sha256, hash, 32);
	c->have_sha256 = true;
	c->have |= CALLER_NEED_SHA256;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return r;
}
