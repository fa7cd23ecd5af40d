/* store: entries, cache, names, replay, integrity events. */
#include "crypto/sealed.h"
#include "core/secmem.h"
#include "crypto/store.h"
#include "core/cred.h"
#include "tests/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/error.h"

/* The last error of a call under test (its message is what is checked). */
static struct error terr;
#define err terr.msg /* the tests read the message as err */

static char dir[] = "/tmp/credfs-store-XXXXXX";
static uint8_t key[32];
static char events[4096];

static void hook(const char *event, const char *name, void *arg)
{
	size_t n = strlen(events);

	snprintf(events + n, sizeof(events) - n, "%s:%s;", event, name);
	(*(int *)arg)++;
}

static struct cred *mk(const char *id, const char *secret)
{
	struct cred *c = cred_new();

	if (!c || cred_set(c, "access_key_id", id) < 0 ||
	    cred_set(c, "secret_access_key", secret) < 0)
		abort();
	return c;
}

static void cp(const char *from, const char *to)
{
	char buf[65536];
	int a = open(from, O_RDONLY), b;
	ssize_t n;

	b = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (a < 0 || b < 0)
		abort();
	while ((n = read(a, buf, sizeof(buf))) > 0)
		if (write(b, buf, (size_t)n) != n)
			abort();
	close(a);
	close(b);
}

static int count_bad(const char *sub, const char *name)
{
	char path[512], prefix[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	snprintf(prefix, sizeof(prefix), "%s.sealed.bad-", name);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_basic(struct store *s)
{
	char path[512];
	struct cred *c = mk("AKIDBASIC", "s3cr3t-basic"), *got = NULL;
	char **names = NULL;
	size_t n = 0;
	struct stat st;
	int r;

	r = store_put(s, "aws-base", c, &terr);
	ok(r == 0, "put (%s)", r ? err : "ok");
	r = store_get(s, "aws-base", &got, &terr);
	ok(r == 0 && got && cred_count(got) == 2 &&
	       strcmp(cred_get(got, "access_key_id"), "AKIDBASIC") == 0 &&
	       strcmp(cred_get(got, "secret_access_key"), "s3cr3t-basic") == 0,
	   "get returns the fields");
	cred_unref(got);
	got = NULL;
	snprintf(path, sizeof(path), "%s/store/aws-base.sealed", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "entry file is 0600");
	snprintf(path, sizeof(path), "%s/store", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700,
	   "store dir is 0700");

	/* replace */
	cred_unref(c);
	c = mk("AKIDNEW", "s3cr3t-new");
	ok(store_put(s, "aws-base", c, &terr) == 0 &&
	       store_get(s, "aws-base", &got, &terr) == 0 &&
	       strcmp(cred_get(got, "access_key_id"), "AKIDNEW") == 0,
	   "put replaces");
	cred_unref(got);
	got = NULL;

	ok(store_put(s, "b@x.example", c, &terr) == 0 &&
	       store_put(s, "a_1.2-3", c, &terr) == 0,
	   "names with @ . _ - allowed");
	r = store_list(s, &names, &n);
	ok(r == 0 && n == 3 && strcmp(names[0], "a_1.2-3") == 0 &&
	       strcmp(names[1], "aws-base") == 0 &&
	       strcmp(names[2], "b@x.example") == 0,
	   "list is sorted names only (%zu)", n);
	store_list_free(names, n);

	ok(store_remove(s, "a_1.2-3") == 0, "remove");
	ok(store_get(s, "a_1.2-3", &got, &terr) == -ENOENT,
	   "removed entry is -ENOENT");
	ok(store_remove(s, "a_1.2-3") == -ENOENT, "remove twice is -ENOENT");
	ok(store_get(s, "never", &got, &terr) == -ENOENT,
	   "missing entry is -ENOENT");

	{
		static const char *bad[] = {"",	    ".hidden", "a/b",
					    "../x", "a b",     "x\n",
					    "é",    "a:b",     ".."};
		int nbad = 0;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (store_put(s, bad[i], c, &terr) != -EINVAL ||
			    store_get(s, bad[i], &got, &terr) != -EINVAL)
				nbad++;
		}
		ok(nbad == 0, "invalid names refused (%d accepted)", nbad);
		char longname[200];

		memset(longname, 'a', 199);
		longname[199] = 0;
		ok(!store_name_valid(longname) && store_name_valid("a") &&
		       store_name_valid("aws-prod@123"),
		   "store_name_valid length and charset");
	}
	cred_unref(c);
}

static void test_cache(struct store *s)
{
	struct cred *c = mk("ASIACACHE", "cache-secret"), *got = NULL;
	int r;

	if (cred_set(c, "session_token", "FwoGZXIvYXdzEtoken") < 0)
		abort();
	cred_set_expiration(c, 1900000000);
	cred_set_obtained(c, 1800000000);
	r = store_cache_save(s, "prod", c, &terr);
	ok(r == 0, "cache save (%s)", r ? err : "ok");
	r = store_cache_load(s, "prod", &got, &terr);
	ok(r == 0 && got && cred_count(got) == 3 &&
	       strcmp(cred_get(got, "session_token"), "FwoGZXIvYXdzEtoken") ==
		   0 &&
	       cred_expiration(got) == 1900000000 &&
	       cred_obtained(got) == 1800000000,
	   "cache load gives fields, expiration, obtained");
	cred_unref(got);
	got = NULL;
	ok(store_get(s, "prod", &got, &terr) == -ENOENT,
	   "cache and store are separate namespaces");
	ok(store_cache_remove(s, "prod") == 0 &&
	       store_cache_load(s, "prod", &got, &terr) == -ENOENT,
	   "cache remove");
	ok(store_cache_remove(s, "prod") == 0, "cache remove of nothing is 0");
	cred_unref(c);
}

static void test_integrity(struct store *s, int *nev)
{
	char a[512], b[512], old[512];
	struct cred *c1 = mk("AKIDV1", "secret-v1"),
		    *c2 = mk("AKIDV2", "secret-v2"), *got = NULL;
	int r;

	snprintf(a, sizeof(a), "%s/store/rot.sealed", dir);
	snprintf(old, sizeof(old), "%s/old-copy", dir);

	/* replay an older version of the same entry */
	if (store_put(s, "rot", c1, &terr) < 0)
		abort();
	cp(a, old);
	if (store_put(s, "rot", c2, &terr) < 0)
		abort();
	cp(old, a);
	events[0] = 0;
	r = store_get(s, "rot", &got, &terr);
	ok(r == -EBADMSG && strstr(err, "older copy replayed") &&
	       !strstr(err, "secret-v"),
	   "replayed older copy rejected: %s", err);
	ok(count_bad("store", "rot") == 1 && access(a, F_OK) != 0,
	   "replayed copy set aside");
	ok(strstr(events, "integrity:store/rot;") != NULL,
	   "integrity event raised (%s)", events);
	/* a fresh put replaces it */
	ok(store_put(s, "rot", c2, &terr) == 0 &&
	       store_get(s, "rot", &got, &terr) == 0 &&
	       strcmp(cred_get(got, "access_key_id"), "AKIDV2") == 0,
	   "a fresh write after set-aside works");
	cred_unref(got);
	got = NULL;

	/* a removed entry must not come back from a copy */
	cp(a, old);
	if (store_remove(s, "rot") < 0)
		abort();
	cp(old, a);
	r = store_get(s, "rot", &got, &terr);
	ok(r == -EBADMSG, "restored copy of a removed entry rejected");

	/* swapped between names and kinds */
	if (store_put(s, "one", c1, &terr) < 0 ||
	    store_put(s, "two", c2, &terr) < 0)
		abort();
	snprintf(a, sizeof(a), "%s/store/one.sealed", dir);
	snprintf(b, sizeof(b), "%s/store/two.sealed", dir);
	cp(a, b);
	events[0] = 0;
	r = store_get(s, "two", &got, &terr);
	ok(r == -EBADMSG && strstr(events, "integrity:store/two;"),
	   "entry copied over another name rejected: %s", err);
	snprintf(b, sizeof(b), "%s/cache/one.sealed", dir);
	cp(a, b);
	r = store_cache_load(s, "one", &got, &terr);
	ok(r == -EBADMSG, "store entry copied into the cache rejected");

	/* edited */
	{
		int fd = open(a, O_RDWR);
		char ch;

		if (pread(fd, &ch, 1, 60) != 1)
			abort();
		ch ^= 1;
		if (pwrite(fd, &ch, 1, 60) != 1)
			abort();
		close(fd);
	}
	r = store_get(s, "one", &got, &terr);
	ok(r == -EBADMSG && count_bad("store", "one") == 1,
	   "edited entry rejected and set aside");

	/* manifest removed: entries still open, integrity event */
	snprintf(a, sizeof(a), "%s/manifest.sealed", dir);
	unlink(a);
	events[0] = 0;
	if (store_put(s, "one", c1, &terr) < 0)
		abort();
	r = store_get(s, "one", &got, &terr);
	ok(r == 0 && strstr(events, "integrity:manifest;"),
	   "lost manifest: reads go on, integrity event (%s)", events);
	cred_unref(got);
	got = NULL;
	unlink(a);
	events[0] = 0;
	r = store_get(s, "one", &got, &terr);
	cred_unref(got);
	got = NULL;
	ok(r == 0 && strcmp(events, "integrity:manifest;") == 0,
	   "lost manifest on read: one event (%s)", events);
	events[0] = 0;
	r = store_get(s, "one", &got, &terr);
	cred_unref(got);
	got = NULL;
	ok(r == 0 && events[0] == 0 && access(a, F_OK) == 0,
	   "... replaced at once, not repeated");

	ok(*nev > 0, "hook called (%d events)", *nev);
	cred_unref(c1);
	cred_unref(c2);
}

static void test_events(struct store *s)
{
	struct cred *c = mk("AKIDEV", "ev");

	events[0] = 0;
	if (store_put(s, "ev", c, &terr) < 0 || store_remove(s, "ev") < 0 ||
	    store_cache_save(s, "evc", c, &terr) < 0)
		abort();
	ok(strcmp(events, "store:ev;store_rm:ev;") == 0,
	   "put/remove events (%s)", events);
	cred_unref(c);
}

int main(void)
{
	struct store *s = NULL;
	char cmd[600];
	int nev = 0;

	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	secmem_init_cjson();
	randombytes_buf(key, sizeof(key));
	store_set_event_hook(hook, &nev);
	ok(store_open(dir, key, &s, &terr) == 0, "store_open");
	test_basic(s);
	test_cache(s);
	test_integrity(s, &nev);
	test_events(s);
	store_free(s);
	store_free(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
