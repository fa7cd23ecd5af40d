/* sealed: XChaCha20-Poly1305 files with kind and name bound in the AD. */
#include "crypto/sealed.h"
#include "core/error.h"
#include "core/secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

_Static_assert(NONCE_BYTES == 24, "nonce size");
_Static_assert(TAG_BYTES == 16, "tag size");
_Static_assert(8 + 2 + 2 + 4 + 8 + NONCE_BYTES == SEALED_HEADER_BYTES,
	       "header layout");

static void put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* header || kind "\0" name "\0" */
static uint8_t *make_ad(const uint8_t *hdr, const char *kind, const char *name,
			size_t *adlen)
{
	size_t kl = strlen(kind), nl = strlen(name);
	uint8_t *ad;

	*adlen = SEALED_HEADER_BYTES + kl + 1 + nl + 1;
	ad = malloc(*adlen);
	if (!ad)
		return NULL;
	memcpy(ad, hdr, SEALED_HEADER_BYTES);
	memcpy(ad + SEALED_HEADER_BYTES, kind, kl + 1);
	memcpy(ad + SEALED_HEADER_BYTES + kl + 1, name, nl + 1);
	return ad;
}

int sealed_seal(const uint8_t key[static SEALED_KEY_BYTES], const char *kind,
		const char *name, uint64_t generation, const void *pt,
		size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = NULL, *ad = NULL;
	unsigned long long clen;
	size_t adlen;
	int r;

	if (sodium_init() < 0)
		return -EIO;
	if (len > SEALED_MAX_FILE - SEALED_OVERHEAD)
		return -EFBIG;
	buf = malloc(SEALED_OVERHEAD + len);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(buf, SEALED_MAGIC, 8); /* includes the NUL */
	put_le(buf + 8, SEALED_VERSION, 2);
	put_le(buf + 10, 0, 2);
	put_le(buf + 12, 0, 4);
	put_le(buf + 16, generation, 8);
	randombytes_buf(buf + 24, NONCE_BYTES);
	ad = make_ad(buf, kind, name, &adlen);
	if (!ad) {
		r = -ENOMEM;
		goto out;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf + SEALED_HEADER_BYTES,
						   &clen, pt, len, ad, adlen,
						   NULL, buf + 24, key);
	*outlen = SEALED_HEADER_BYTES + (size_t)clen;
	*out = buf;
	buf = NULL; /* transferred */
	r = 0;
out:
	free(ad);
	free(buf);
	return r;
}

int sealed_open(const uint8_t key[static SEALED_KEY_BYTES], const char *kind,
		const char *name, const uint8_t *in, size_t inlen, char **pt,
		size_t *len, uint64_t *gen, struct error *e)
{
	uint8_t *ad = NULL;
	char *plain = NULL;
	unsigned long long plen;
	unsigned version;
	size_t adlen;
	int r = -EBADMSG;

	if (sodium_init() < 0)
		return -EIO;
	if (inlen == 0) {
		error_set(e, EBADMSG, "empty file");
		goto out;
	}
	if (inlen < 8 || memcmp(in, SEALED_MAGIC, 8) != 0) {
		error_set(e, EBADMSG, "not a credfs sealed file");
		goto out;
	}
	if (inlen < SEALED_OVERHEAD) {
		error_set(e, EBADMSG, "truncated (%zu bytes)", inlen);
		goto out;
	}
	version = (unsigned)get_le(in + 8, 2);
	if (version != SEALED_VERSION) {
		error_set(e, EBADMSG, "unsupported format version %u", version);
		goto out;
	}
	ad = make_ad(in, kind, name, &adlen);
	plain = secmem_alloc(inlen - SEALED_OVERHEAD + 1);
	if (!ad || !plain) {
		r = -ENOMEM;
		error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		(uint8_t *)plain, &plen, NULL, in + SEALED_HEADER_BYTES,
		inlen - SEALED_HEADER_BYTES, ad, adlen, in + 24, key) != 0) {
		error_set(e, EBADMSG,
			  "authentication failed (edited, truncated, copied "
			  "from another name or kind, or sealed with another "
			  "key)");
		goto out;
	}
	plain[plen] = 0;
	if (gen)
		*gen = get_le(in + 16, 8);
	*len = (size_t)plen;
	*pt = plain;
	plain = NULL; /* transferred */
	r = 0;
out:
	secmem_free(plain);
	free(ad);
	return r;
}

static int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
out:
	free(copy);
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Temp file next to path, then rename (replace) or link (create only). */
static int atomic_put(const char *path, const void *data, size_t len,
		      bool replace)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	int fd = -1, r, tries;

	for (tries = 0;; tries++) {
		uint32_t rnd = randombytes_random();

		if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp-%08x", (int)dirlen,
			     path, path + dirlen, rnd) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 16)
			return -errno;
	}
	if ((r = write_all(fd, data, len)) < 0)
		goto out;
	if (fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto out;
	}
	fd = -1;
	if (replace) {
		if (rename(tmp, path) < 0) {
			r = -errno;
			goto out;
		}
	} else {
		if (link(tmp, path) < 0) {
			r = -errno;
			goto out;
		}
		unlink(tmp);
	}
	tmp[0] = 0; /* nothing to clean up */
	r = fsync_parent(path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	return r;
}

int sealed_atomic_write(const char *path, const void *data, size_t len)
{
	return atomic_put(path, data, len, true);
}

int sealed_atomic_create(const char *path, const void *data, size_t len)
{
	return atomic_put(path, data, len, false);
}

int sealed_write(const char *path, const char *kind, const char *name,
		 const uint8_t key[static SEALED_KEY_BYTES],
		 uint64_t generation, const void *pt, size_t len,
		 struct error *e)
{
	uint8_t *blob = NULL;
	size_t blen;
	int r;

	if ((r = sealed_seal(key, kind, name, generation, pt, len, &blob,
			     &blen)) < 0) {
		error_set(e, r, "%s: sealing failed: %s", path, strerror(-r));
		goto out;
	}
	if ((r = sealed_atomic_write(path, blob, blen)) < 0)
		error_set(e, r, "%s: write failed: %s", path, strerror(-r));
out:
	free(blob);
	return r;
}

static int read_file(const char *path, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (st.st_size > SEALED_MAX_FILE) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*out = buf;
	*outlen = got;
	buf = NULL; /* transferred */
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int sealed_set_aside(const char *path, char *newpath, size_t newlen)
{
	char dst[PATH_MAX];
	long long now = (long long)time(NULL);
	int i;

	for (i = 0; i < 100; i++) {
		int n =
		    i ? snprintf(dst, sizeof(dst), "%s.bad-%lld-%d", path, now,
				 i)
		      : snprintf(dst, sizeof(dst), "%s.bad-%lld", path, now);

		if (n >= (int)sizeof(dst))
			return -ENAMETOOLONG;
		if (renameat2(AT_FDCWD, path, AT_FDCWD, dst,
			      RENAME_NOREPLACE) == 0)
			goto done;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		/* no RENAME_NOREPLACE on this filesystem: link + unlink */
		if (link(path, dst) == 0) {
			unlink(path);
			goto done;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
done:
	(void)fsync_parent(path);
	if (newpath)
		snprintf(newpath, newlen, "%s", dst);
	return 0;
}

int sealed_read(const char *path, const char *kind, const char *name,
		const uint8_t key[static SEALED_KEY_BYTES], char **pt,
		size_t *len, uint64_t *gen, struct error *e)
{
	uint8_t *blob = NULL;
	char why[sizeof(e->msg)], aside[PATH_MAX];
	struct error oe = {0};
	size_t blen = 0;
	int r, q;

	r = read_file(path, &blob, &blen);
	if (r == -ENOENT) {
		error_set(e, ENOENT, "%s: does not exist", path);
		goto out;
	}
	if (r == -EFBIG || r == -EINVAL) {
		snprintf(why, sizeof(why),
			 r == -EFBIG ? "too large" : "not a regular file");
		r = -EBADMSG;
	} else if (r < 0) {
		error_set(e, r, "%s: %s", path, strerror(-r));
		goto out;
	} else {
		r = sealed_open(key, kind, name, blob, blen, pt, len, gen, &oe);
		if (r == 0 || r != -EBADMSG) {
			if (r < 0)
				error_set(e, r, "%s: %s", path, oe.msg);
			goto out;
		}
		snprintf(why, sizeof(why), "%s", oe.msg);
	}
	/* Bad file: move it out of the way so that the next write starts
	 * afresh, and keep it for inspection. */
	q = sealed_set_aside(path, aside, sizeof(aside));
	if (q == 0)
		error_set(e, EBADMSG, "%s: %s; set aside as %s", path, why,
			  aside);
	else
		error_set(e, EBADMSG, "%s: %s; could not set it aside: %s",
			  path, why, strerror(-q));
out:
	free(blob);
	return r;
}

int sealed_peek_generation(const char *path, uint64_t *gen)
{
	uint8_t hdr[SEALED_HEADER_BYTES];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, SEALED_MAGIC, 8) != 0)
		return -EBADMSG;
	*gen = get_le(hdr + 16, 8);
	return 0;
}
