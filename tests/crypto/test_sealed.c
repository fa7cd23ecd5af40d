/* sealed: roundtrip, tamper/truncate/swap rejection, set-aside, atomicity. */
#include "crypto/sealed.h"
#include "core/secmem.h"
#include "tests/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"

/* The last error of a call under test (its message is what is checked). */
static struct error terr;
#define err terr.msg /* the tests read the message as err */

static char dir[] = "/tmp/credfs-sealed-XXXXXX";
static uint8_t key[32], key2[32];
static const char secret[] =
    "AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRET";

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	*len = (size_t)read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (write(fd, b, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* Names in dir other than the given ones. */
static int count_entries(const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void clean_dir(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char p[512];

	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || strcmp(de->d_name, "..") == 0))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
}

static int read_back(const char *path, const char *kind, const char *name,
		     const uint8_t *k)
{
	char *pt = NULL;
	size_t len;
	int r = sealed_read(path, kind, name, k, &pt, &len, NULL, &terr);

	secmem_free(pt);
	return r;
}

static void test_roundtrip(void)
{
	char path[256], *pt = NULL;
	uint8_t *raw;
	uint64_t gen = 0;
	struct stat st;
	size_t len, rawlen;
	int r;

	snprintf(path, sizeof(path), "%s/a.sealed", dir);
	r = sealed_write(path, "store", "a", key, 7, secret, strlen(secret),
			 &terr);
	ok(r == 0, "write (%s)", r ? err : "ok");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "sealed file is 0600");
	r = sealed_read(path, "store", "a", key, &pt, &len, &gen, &terr);
	ok(r == 0 && len == strlen(secret) && memcmp(pt, secret, len) == 0 &&
	       pt[len] == 0,
	   "read returns the plaintext, NUL-terminated");
	ok(gen == 7, "generation comes back (%llu)", (unsigned long long)gen);
	secmem_free(pt);

	raw = slurp(path, &rawlen);
	ok(raw && rawlen == strlen(secret) + SEALED_OVERHEAD &&
	       memcmp(raw, "CREDFS1", 8) == 0,
	   "file = magic + header + ciphertext + tag (%zu bytes)", rawlen);
	ok(raw && !memmem(raw, rawlen, "wJalrXUtnFEMI", 13),
	   "no plaintext in the file");
	free(raw);

	/* two writes of the same plaintext differ (random nonce) */
	{
		uint8_t *a, *b;
		size_t al, bl;

		ok(sealed_seal(key, "store", "a", 1, secret, strlen(secret), &a,
			       &al) == 0 &&
		       sealed_seal(key, "store", "a", 1, secret, strlen(secret),
				   &b, &bl) == 0 &&
		       al == bl && memcmp(a, b, al) != 0,
		   "a fresh nonce per write");
		free(a);
		free(b);
	}

	pt = NULL;
	snprintf(path, sizeof(path), "%s/missing.sealed", dir);
	r = sealed_read(path, "store", "missing", key, &pt, &len, NULL, &terr);
	ok(r == -ENOENT && !pt, "missing file is -ENOENT");

	/* empty plaintext is fine */
	snprintf(path, sizeof(path), "%s/e.sealed", dir);
	ok(sealed_write(path, "cache", "e", key, 1, "", 0, &terr) == 0 &&
	       sealed_read(path, "cache", "e", key, &pt, &len, NULL, &terr) ==
		   0 &&
	       len == 0,
	   "empty plaintext roundtrips");
	secmem_free(pt);
	clean_dir();
}

/* Every byte flipped, every truncation: -EBADMSG, set aside, no secret in
 * the message. */
static void test_tamper(void)
{
	char path[256];
	uint8_t *raw, *copy;
	size_t rawlen, i, bad_flip = 0, bad_aside = 0, bad_err = 0,
			  bad_trunc = 0;
	int r;

	snprintf(path, sizeof(path), "%s/t.sealed", dir);
	if (sealed_write(path, "store", "t", key, 1, secret, strlen(secret),
			 &terr) < 0)
		abort();
	raw = slurp(path, &rawlen);
	copy = malloc(rawlen);
	for (i = 0; i < rawlen; i++) {
		memcpy(copy, raw, rawlen);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		spit(path, copy, rawlen);
		err[0] = 0;
		r = read_back(path, "store", "t", key);
		if (r != -EBADMSG)
			bad_flip++;
		if (access(path, F_OK) == 0 ||
		    count_entries("t.sealed.bad-") != 1)
			bad_aside++;
		if (strstr(err, "wJalr") || !strstr(err, "set aside as"))
			bad_err++;
		clean_dir();
	}
	ok(bad_flip == 0,
	   "a bit flipped in any of %zu bytes is -EBADMSG "
	   "(%zu missed)",
	   rawlen, bad_flip);
	ok(bad_aside == 0,
	   "each bad file set aside as NAME.bad-TIME (%zu "
	   "not)",
	   bad_aside);
	ok(bad_err == 0, "errors say so and carry no secret (%zu bad)",
	   bad_err);

	for (i = 0; i < rawlen; i++) {
		spit(path, raw, i);
		r = read_back(path, "store", "t", key);
		if (r != -EBADMSG || count_entries("t.sealed.bad-") != 1)
			bad_trunc++;
		clean_dir();
	}
	ok(bad_trunc == 0, "every truncation 0..%zu is -EBADMSG (%zu missed)",
	   rawlen - 1, bad_trunc);

	spit(path, raw, 0);
	r = read_back(path, "store", "t", key);
	ok(r == -EBADMSG && strstr(err, "empty"), "empty file: %s", err);
	clean_dir();

	/* appended garbage */
	memcpy(copy, raw, rawlen);
	spit(path, raw, rawlen);
	{
		int fd = open(path, O_WRONLY | O_APPEND);

		if (write(fd, "x", 1) != 1)
			abort();
		close(fd);
	}
	ok(read_back(path, "store", "t", key) == -EBADMSG,
	   "appended byte is -EBADMSG");
	clean_dir();

	spit(path, raw, rawlen);
	ok(read_back(path, "store", "t", key2) == -EBADMSG,
	   "another key is -EBADMSG");
	clean_dir();
	free(raw);
	free(copy);
}

static void test_swap(void)
{
	char a[256], b[256];
	uint8_t *raw;
	size_t len;

	snprintf(a, sizeof(a), "%s/a.sealed", dir);
	snprintf(b, sizeof(b), "%s/b.sealed", dir);
	if (sealed_write(a, "store", "a", key, 1, secret, strlen(secret),
			 &terr) < 0)
		abort();
	raw = slurp(a, &len);
	spit(b, raw, len);
	ok(read_back(b, "store", "b", key) == -EBADMSG,
	   "a copied over b is rejected: %s", err);
	ok(count_entries("b.sealed.bad-") == 1 && access(b, F_OK) != 0,
	   "the copy is set aside");
	ok(read_back(a, "cache", "a", key) == -EBADMSG,
	   "a store file read as cache is rejected");
	spit(a, raw, len);
	ok(read_back(a, "store", "a", key) == 0, "the original still opens");
	free(raw);
	clean_dir();
}

static void test_atomic(void)
{
	char path[256], sub[256];
	struct dirent *de;
	int i, r = 0, others = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/x.sealed", dir);
	for (i = 0; i < 50; i++)
		r |= sealed_write(path, "cache", "x", key, (uint64_t)i, secret,
				  strlen(secret), &terr);
	d = opendir(dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "x.sealed"))
			others++;
	closedir(d);
	ok(r == 0 && others == 0, "50 rewrites leave no temporary files");

	/* a failed rename (target is a directory) cleans up its temp file */
	snprintf(sub, sizeof(sub), "%s/y.sealed", dir);
	mkdir(sub, 0700);
	r = sealed_write(sub, "cache", "y", key, 1, secret, strlen(secret),
			 &terr);
	others = 0;
	d = opendir(dir);
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp-"))
			others++;
	closedir(d);
	ok(r < 0 && others == 0, "failed write leaves no temp file (%s)", err);
	ok(!strstr(err, "wJalr"), "write error carries no secret");
	rmdir(sub);

	/* sealed_atomic_create refuses to replace */
	snprintf(sub, sizeof(sub), "%s/c.json", dir);
	ok(sealed_atomic_create(sub, "1", 1) == 0 &&
	       sealed_atomic_create(sub, "2", 1) == -EEXIST,
	   "atomic_create is create-only");
	clean_dir();
}

static void test_generation(void)
{
	char path[256];
	uint64_t g = 0;

	snprintf(path, sizeof(path), "%s/g.sealed", dir);
	if (sealed_write(path, "store", "g", key, 42, secret, strlen(secret),
			 &terr) < 0)
		abort();
	ok(sealed_peek_generation(path, &g) == 0 && g == 42,
	   "peek_generation reads the header");
	clean_dir();
}

static void test_latency(void)
{
	char path[256], payload[2048], *pt;
	double t0, tw, tr;
	size_t len;
	int i, n = 100, r = 0;

	memset(payload, 'p', sizeof(payload));
	snprintf(path, sizeof(path), "%s/lat.sealed", dir);
	t0 = now_us();
	for (i = 0; i < n; i++)
		r |= sealed_write(path, "cache", "lat", key, (uint64_t)i,
				  payload, sizeof(payload), &terr);
	tw = (now_us() - t0) / n;
	t0 = now_us();
	for (i = 0; i < n; i++) {
		r |= sealed_read(path, "cache", "lat", key, &pt, &len, NULL,
				 &terr);
		secmem_free(pt);
	}
	tr = (now_us() - t0) / n;
	printf("# sealed 2 KiB: write+fsync+rename %.0f us, read+open %.1f "
	       "us\n",
	       tw, tr);
	ok(r == 0 && tr < 5000, "sealed read is fast (%.1f us)", tr);
	clean_dir();
}

int main(void)
{
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	test_roundtrip();
	test_tamper();
	test_swap();
	test_atomic();
	test_generation();
	test_latency();
	rmdir(dir);
	return tap_done();
}
