/* store: sealed source secrets and the sealed credential cache.
 *
 *	state_dir/            0700
 *	state_dir/kdf.json    key parameters (key.c)
 *	state_dir/manifest.sealed   highest generation per file
 *	state_dir/lock        flock(2) for writers
 *	state_dir/store/NAME.sealed     kind "store", a cred as JSON
 *	state_dir/cache/PROFILE.sealed  kind "cache", a cred as JSON
 *
 * Replay.  Every write gives the file a generation one above the highest
 * this state_dir has seen for it and records that in the sealed manifest
 * (file first, manifest second, so a crash leaves the file ahead, which is
 * accepted).  A removal records a tombstone generation.  A read rejects a
 * file whose authenticated generation is below the manifest's: an older
 * copy of the same entry put back (an old cache entry, a source key that
 * was rotated, a removed entry restored) is set aside like a corrupt file.
 * A rollback of the whole state_dir at once (manifest and files together)
 * or a deleted manifest is caught by the anchor (store.h): each manifest
 * write records its generation in the audit chain, and a manifest behind
 * it is refused.  Without an anchor (audit_log = syslog, or none) a deleted
 * or corrupt manifest resets the check (an "integrity" event is raised
 * when that happens with entries present).
 */
#include "crypto/store.h"
#include "core/error.h"
#include "crypto/key.h"
#include "crypto/sealed.h"
#include "core/secmem.h"
#include "core/config.h"
#include "core/cred.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST "manifest"
#define NAME_MAX_LEN STORE_NAME_MAX

struct store {
	char *dir;
	const uint8_t *key;
};

static store_event_fn event_fn;
static void *event_arg;
static struct store_anchor anchor;

void store_set_anchor(const struct store_anchor *a)
{
	if (a)
		anchor = *a;
	else
		memset(&anchor, 0, sizeof(anchor));
}

void store_set_event_hook(store_event_fn fn, void *arg)
{
	event_fn = fn;
	event_arg = arg;
}

static void emit(const char *event, const char *name)
{
	if (event_fn)
		event_fn(event, name, event_arg);
}

bool store_name_valid(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '@' || c == '-'))
			return false;
	}
	return true;
}

static int lock_state(const struct store *s);
static void unlock_state(int fd);

/* A writer killed between creating its temp file and renaming it leaves
 * ".NAME.sealed.tmp-XXXXXX" behind (ciphertext only): swept here, under the
 * writers' lock so no live write loses its file. */
static void sweep_temp_files(const struct store *s)
{
	static const char *const sub[] = {"", "/store", "/cache"};
	char dir[PATH_MAX];
	int lk = lock_state(s);

	if (lk < 0)
		return;
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(dir, sizeof(dir), "%s%s", s->dir, sub[i]);
		DIR *d = opendir(dir);
		struct dirent *de;
		if (!d)
			continue;
		while ((de = readdir(d)))
			if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp-"))
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	unlock_state(lk);
}

int store_open(const char *state_dir, const uint8_t *key, struct store **out,
	       struct error *e)
{
	struct store *s = NULL;
	char path[PATH_MAX];
	int r;

	if ((r = key_ensure_dir(state_dir, e)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/store", state_dir);
	if ((r = key_ensure_dir(path, e)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/cache", state_dir);
	if ((r = key_ensure_dir(path, e)) < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(state_dir))) {
		free(s);
		return error_set(e, ENOMEM, "out of memory");
	}
	s->key = key;
	sweep_temp_files(s);
	*out = s;
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

static int entry_path(const struct store *s, const char *kind, const char *name,
		      char *buf, size_t len)
{
	int n;

	if (strcmp(kind, MANIFEST) == 0)
		n = snprintf(buf, len, "%s/manifest.sealed", s->dir);
	else
		n = snprintf(buf, len, "%s/%s/%s.sealed", s->dir, kind, name);
	return n >= (int)len ? -ENAMETOOLONG : 0;
}

static int lock_state(const struct store *s)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/lock", s->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	return fd;
}

static void unlock_state(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* Newest PATH.bad-* next to path, if any. */
static bool find_set_aside(const char *path, char *out, size_t outlen)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 8];
	const char *slash = strrchr(path, '/');
	bool found = false;

	if (!slash)
		return false;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(prefix, sizeof(prefix), "%s.bad-", slash + 1);
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		char cand[PATH_MAX + NAME_MAX + 2];
		snprintf(cand, sizeof(cand), "%s/%s", dir, de->d_name);
		size_t cl = strlen(cand);
		if (cl >= outlen)
			continue;
		if (!found || strcmp(cand, out) > 0)
			memcpy(out, cand, cl + 1);
		found = true;
	}
	closedir(d);
	return found;
}

static bool dir_has_entries(const char *dir)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		found = de->d_name[0] != '.' && n > 7 &&
			strcmp(de->d_name + n - 7, ".sealed") == 0;
	}
	closedir(d);
	return found;
}

static int write_empty_manifest(const struct store *s, uint64_t mgen)
{
	char path[PATH_MAX];

	entry_path(s, MANIFEST, MANIFEST, path, sizeof(path));
	return sealed_write(path, MANIFEST, MANIFEST, s->key, mgen + 1, "{}", 2,
			    NULL);
}

static int lock_state(const struct store *s);
static void unlock_state(int fd);

/* The manifest, or an empty one when it is missing or bad: replay detection
 * then restarts from what is written next.  A lost manifest while entries
 * exist raises one "integrity" event and is replaced by an empty one at
 * once, so that the event is not repeated on every read.  have_lock: the
 * caller holds the state lock. */
static cJSON *manifest_load(const struct store *s, uint64_t *mgen,
			    bool have_lock)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct error e = {0};
	char *pt = NULL;
	cJSON *m = NULL;
	size_t len;
	bool lost = false;
	int r, lock;

	*mgen = 0;
	entry_path(s, MANIFEST, MANIFEST, path, sizeof(path));
	r = sealed_read(path, MANIFEST, MANIFEST, s->key, &pt, &len, mgen, &e);
	if (r == 0) {
		m = cJSON_ParseWithLength(pt, len);
		secmem_free(pt);
		if (m && cJSON_IsObject(m))
			return m;
		cJSON_Delete(m);
		lost = true;
	} else if (r == -EBADMSG) {
		fprintf(stderr, "credfs: %s\n", e.msg);
		lost = true;
	} else if (r == -ENOENT) {
		snprintf(sub, sizeof(sub), "%s/store", s->dir);
		lost = dir_has_entries(sub);
		snprintf(sub, sizeof(sub), "%s/cache", s->dir);
		lost = lost || dir_has_entries(sub);
	}
	if (lost) {
		emit("integrity", MANIFEST);
		/* a writer rewrites the manifest itself right away */
		if (!have_lock && (lock = lock_state(s)) >= 0) {
			if (access(path, F_OK) != 0)
				(void)write_empty_manifest(s, 0);
			unlock_state(lock);
		}
	}
	return cJSON_CreateObject();
}

static uint64_t manifest_get(const cJSON *m, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0
		   ? (uint64_t)v->valuedouble
		   : 0;
}

/* A manifest (generation mgen, 0: missing or bad) behind the anchor. */
static int anchor_check(const struct store *s, uint64_t mgen, struct error *e)
{
	unsigned long long want = anchor.get ? anchor.get(anchor.arg) : 0;

	if (want <= mgen)
		return 0;
	emit("integrity", MANIFEST);
	return error_set(e, EBADMSG,
			 "%s/manifest.sealed: %s (generation %llu, the audit "
			 "log records %llu): the state directory was rolled "
			 "back; its sealed files are refused (`credfs store "
			 "reanchor` accepts them as they are)",
			 s->dir, mgen ? "older than anchored" : "missing",
			 (unsigned long long)mgen, want);
}

static int manifest_set(const struct store *s, cJSON *m, uint64_t mgen,
			const char *key, uint64_t gen, struct error *e)
{
	char path[PATH_MAX], *txt;
	cJSON *n = cJSON_CreateNumber((double)gen);
	uint64_t peek = 0;
	int r;

	if (!n)
		return error_set(e, ENOMEM, "out of memory");
	if (cJSON_GetObjectItemCaseSensitive(m, key))
		cJSON_ReplaceItemInObjectCaseSensitive(m, key, n);
	else
		cJSON_AddItemToObject(m, key, n);
	txt = cJSON_PrintUnformatted(m);
	if (!txt)
		return error_set(e, ENOMEM, "out of memory");
	entry_path(s, MANIFEST, MANIFEST, path, sizeof(path));
	if (sealed_peek_generation(path, &peek) == 0 && peek > mgen)
		mgen = peek;
	r = sealed_write(path, MANIFEST, MANIFEST, s->key, mgen + 1, txt,
			 strlen(txt), e);
	cJSON_free(txt);
	if (r == 0 && anchor.put && (r = anchor.put(anchor.arg, mgen + 1)) < 0)
		error_set(e, -r,
			  "%s: written, but its generation could not be "
			  "anchored in the audit log",
			  path);
	return r;
}

static int write_entry(struct store *s, const char *kind, const char *name,
		       const struct cred *c, struct error *e)
{
	char path[PATH_MAX], mkey[NAME_MAX_LEN + 16], *json = NULL;
	uint64_t gen, peek = 0, mgen;
	cJSON *m = NULL;
	size_t len;
	int lock = -1, r;

	if (!store_name_valid(name)) {
		return error_set(e, EINVAL,
				 "invalid name (use letters, digits, _ . @ -; "
				 "no leading dot)");
	}
	entry_path(s, kind, name, path, sizeof(path));
	snprintf(mkey, sizeof(mkey), "%s/%s", kind, name);
	json = cred_to_json(c, &len);
	if (!json)
		return error_set(e, ENOMEM, "out of memory");
	if ((lock = lock_state(s)) < 0) {
		r = error_set(e, lock, "cannot lock %s: %s", s->dir,
			      strerror(-lock));
		goto out;
	}
	m = manifest_load(s, &mgen, true);
	if (!m) {
		r = error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = anchor_check(s, mgen, e)) < 0)
		goto out;
	gen = manifest_get(m, mkey);
	if (sealed_peek_generation(path, &peek) == 0 && peek > gen)
		gen = peek;
	gen++;
	if ((r = sealed_write(path, kind, name, s->key, gen, json, len, e)) < 0)
		goto out;
	if ((r = manifest_set(s, m, mgen, mkey, gen, e)) < 0)
		goto out;
	r = 0;
out:
	unlock_state(lock);
	cJSON_Delete(m);
	secmem_free(json);
	return r;
}

static int read_entry(struct store *s, const char *kind, const char *name,
		      struct cred **out, struct error *e)
{
	char path[PATH_MAX], mkey[NAME_MAX_LEN + 16], aside[PATH_MAX];
	char *json = NULL;
	uint64_t gen = 0, want, mgen;
	cJSON *m = NULL;
	size_t len;
	int r;

	if (!store_name_valid(name))
		return error_set(e, EINVAL, "invalid name");
	entry_path(s, kind, name, path, sizeof(path));
	snprintf(mkey, sizeof(mkey), "%s/%s", kind, name);
	r = sealed_read(path, kind, name, s->key, &json, &len, &gen, e);
	if (r == -EBADMSG)
		emit("integrity", mkey);
	if (r == -ENOENT && strcmp(kind, "store") == 0) {
		/* Gone because it was set aside as corrupt: the cause, not
		 * "does not exist", is what the user needs. */
		char bad[PATH_MAX];
		if (find_set_aside(path, bad, sizeof(bad)))
			error_set(e, ENOENT,
				  "%s failed its integrity check and was set "
				  "aside as %s; store it again with `credfs "
				  "store add %s`",
				  path, bad, name);
	}
	if (r < 0)
		goto out;
	m = manifest_load(s, &mgen, false);
	if ((r = anchor_check(s, mgen, e)) < 0)
		goto out;
	want = m ? manifest_get(m, mkey) : 0;
	if (gen < want) {
		r = -EBADMSG;
		emit("integrity", mkey);
		if (sealed_set_aside(path, aside, sizeof(aside)) == 0)
			error_set(e, EBADMSG,
				  "%s: older copy replayed (generation %llu, "
				  "expected %llu); set aside as %s",
				  path, (unsigned long long)gen,
				  (unsigned long long)want, aside);
		else
			error_set(e, EBADMSG,
				  "%s: older copy replayed (generation %llu, "
				  "expected %llu)",
				  path, (unsigned long long)gen,
				  (unsigned long long)want);
		goto out;
	}
	if ((r = cred_from_json(json, len, out)) < 0) {
		error_set(e, r, "%s: malformed contents", path);
		goto out;
	}
	r = 0;
out:
	cJSON_Delete(m);
	secmem_free(json);
	return r;
}

static int remove_entry(struct store *s, const char *kind, const char *name)
{
	char path[PATH_MAX], mkey[NAME_MAX_LEN + 16];
	uint64_t gen, peek = 0, mgen;
	cJSON *m = NULL;
	int lock, r;

	if (!store_name_valid(name))
		return -EINVAL;
	entry_path(s, kind, name, path, sizeof(path));
	snprintf(mkey, sizeof(mkey), "%s/%s", kind, name);
	if ((lock = lock_state(s)) < 0)
		return lock;
	m = manifest_load(s, &mgen, true);
	if (!m) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = anchor_check(s, mgen, NULL)) < 0)
		goto out;
	gen = manifest_get(m, mkey);
	if (sealed_peek_generation(path, &peek) == 0 && peek > gen)
		gen = peek;
	if (unlink(path) < 0) {
		r = -errno;
		goto out;
	}
	/* tombstone: a copy of the removed file must not come back */
	r = manifest_set(s, m, mgen, mkey, gen + 1, NULL);
out:
	unlock_state(lock);
	cJSON_Delete(m);
	return r;
}

int store_get(struct store *s, const char *name, struct cred **out,
	       struct error *e)
{
	return read_entry(s, "store", name, out, e);
}

int store_put(struct store *s, const char *name, const struct cred *c,
	      struct error *e)
{
	int r = write_entry(s, "store", name, c, e);

	if (r == 0)
		emit("store", name);
	return r;
}

int store_remove(struct store *s, const char *name)
{
	int r = remove_entry(s, "store", name);

	if (r == 0)
		emit("store_rm", name);
	return r;
}

int store_cache_load(struct store *s, const char *profile, struct cred **out,
		      struct error *e)
{
	return read_entry(s, "cache", profile, out, e);
}

int store_cache_save(struct store *s, const char *profile,
		      const struct cred *c, struct error *e)
{
	return write_entry(s, "cache", profile, c, e);
}

int store_reanchor(struct store *s, struct error *e)
{
	char path[PATH_MAX], *txt;
	unsigned long long want = anchor.get ? anchor.get(anchor.arg) : 0;
	uint64_t mgen = 0, peek = 0;
	cJSON *m;
	int lock, r;

	if ((lock = lock_state(s)) < 0)
		return error_set(e, -lock, "cannot lock %s: %s", s->dir,
				 strerror(-lock));
	m = manifest_load(s, &mgen, true);
	txt = m ? cJSON_PrintUnformatted(m) : NULL;
	entry_path(s, MANIFEST, MANIFEST, path, sizeof(path));
	if (sealed_peek_generation(path, &peek) == 0 && peek > mgen)
		mgen = peek;
	if (want > mgen)
		mgen = want;
	r = txt ? sealed_write(path, MANIFEST, MANIFEST, s->key, mgen + 1, txt,
			       strlen(txt), e)
		: error_set(e, ENOMEM, "out of memory");
	if (r == 0 && anchor.put && (r = anchor.put(anchor.arg, mgen + 1)) < 0)
		error_set(e, -r, "%s: not anchored in the audit log", path);
	cJSON_free(txt);
	cJSON_Delete(m);
	unlock_state(lock);
	return r;
}

int store_cache_remove(struct store *s, const char *profile)
{
	int r = remove_entry(s, "cache", profile);

	return r == -ENOENT ? 0 : r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_list(struct store *s, char ***names, size_t *n)
{
	char path[PATH_MAX], **v = NULL, **nv;
	struct dirent *de;
	size_t cnt = 0, cap = 0;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "%s/store", s->dir);
	d = opendir(path);
	if (!d) {
		if (errno != ENOENT)
			return -errno;
		goto done;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *name;

		if (len <= 7 || strcmp(de->d_name + len - 7, ".sealed") != 0)
			continue;
		name = strndup(de->d_name, len - 7);
		if (!name) {
			r = -ENOMEM;
			break;
		}
		if (!store_name_valid(name)) {
			free(name);
			continue;
		}
		if (cnt + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(name);
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[cnt++] = name;
	}
	closedir(d);
	if (r < 0) {
		store_list_free(v, cnt);
		return r;
	}
done:
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;
}

void store_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
