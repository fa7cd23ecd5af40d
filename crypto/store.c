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
 * Not caught: a rollback of the whole state_dir at once (manifest and files
 * together), and a deleted or corrupt manifest, which resets the check (an
 * "integrity" event is raised when that happens with entries present).
 */
#include "crypto/store.h"
#include "crypto/key.h"
#include "crypto/sealed.h"
#include "core/secmem.h"
#include "core/config.h"
#include "core/cred.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST "manifest"
#define NAME_MAX_LEN 128

struct store {
	char *dir;
	const uint8_t *key;
};

static store_event_fn event_fn;
static void *event_arg;

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
	       char *err, size_t errlen)
{
	struct store *s = NULL;
	char path[PATH_MAX];
	int r;

	if ((r = key_ensure_dir(state_dir, err, errlen)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/store", state_dir);
	if ((r = key_ensure_dir(path, err, errlen)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/cache", state_dir);
	if ((r = key_ensure_dir(path, err, errlen)) < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(state_dir))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
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
	char path[PATH_MAX], err[PATH_MAX + 128];

	entry_path(s, MANIFEST, MANIFEST, path, sizeof(path));
	return sealed_write(path, MANIFEST, MANIFEST, s->key, mgen + 1, "{}", 2,
			    err, sizeof(err));
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
	char path[PATH_MAX], err[PATH_MAX + 256], sub[PATH_MAX];
	char *pt = NULL;
	cJSON *m = NULL;
	size_t len;
	bool lost = false;
	int r, lock;

	*mgen = 0;
	entry_path(s, MANIFEST, MANIFEST, path, sizeof(path));
	r = sealed_read(path, MANIFEST, MANIFEST, s->key, &pt, &len, mgen, err,
			sizeof(err));
	if (r == 0) {
		m = cJSON_ParseWithLength(pt, len);
		secmem_free(pt);
		if (m && cJSON_IsObject(m))
			return m;
		cJSON_Delete(m);
		lost = true;
	} else if (r == -EBADMSG) {
		fprintf(stderr, "credfs: %s\n", err);
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

static int manifest_set(const struct store *s, cJSON *m, uint64_t mgen,
			const char *key, uint64_t gen, char *err, size_t errlen)
{
	char path[PATH_MAX], *txt;
	cJSON *n = cJSON_CreateNumber((double)gen);
	uint64_t peek = 0;
	int r;

	if (!n)
		return -ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(m, key))
		cJSON_ReplaceItemInObjectCaseSensitive(m, key, n);
	else
		cJSON_AddItemToObject(m, key, n);
	txt = cJSON_PrintUnformatted(m);
	if (!txt)
		return -ENOMEM;
	entry_path(s, MANIFEST, MANIFEST, path, sizeof(path));
	if (sealed_peek_generation(path, &peek) == 0 && peek > mgen)
		mgen = peek;
	r = sealed_write(path, MANIFEST, MANIFEST, s->key, mgen + 1, txt,
			 strlen(txt), err, errlen);
	cJSON_free(txt);
	return r;
}

static int write_entry(struct store *s, const char *kind, const char *name,
		       const struct cred *c, char *err, size_t errlen)
{
	char path[PATH_MAX], mkey[NAME_MAX_LEN + 16], *json = NULL;
	uint64_t gen, peek = 0, mgen;
	cJSON *m = NULL;
	size_t len;
	int lock = -1, r;

	if (!store_name_valid(name)) {
		snprintf(err, errlen,
			 "invalid name (use letters, digits, _ . @ -; no "
			 "leading dot)");
		return -EINVAL;
	}
	entry_path(s, kind, name, path, sizeof(path));
	snprintf(mkey, sizeof(mkey), "%s/%s", kind, name);
	json = cred_to_json(c, &len);
	if (!json) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((lock = lock_state(s)) < 0) {
		r = lock;
		snprintf(err, errlen, "cannot lock %s: %s", s->dir,
			 strerror(-r));
		goto out;
	}
	m = manifest_load(s, &mgen, true);
	if (!m) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	gen = manifest_get(m, mkey);
	if (sealed_peek_generation(path, &peek) == 0 && peek > gen)
		gen = peek;
	gen++;
	if ((r = sealed_write(path, kind, name, s->key, gen, json, len, err,
			      errlen)) < 0)
		goto out;
	if ((r = manifest_set(s, m, mgen, mkey, gen, err, errlen)) < 0)
		goto out;
	r = 0;
out:
	unlock_state(lock);
	cJSON_Delete(m);
	secmem_free(json);
	return r;
}

static int read_entry(struct store *s, const char *kind, const char *name,
		      struct cred **out, char *err, size_t errlen)
{
	char path[PATH_MAX], mkey[NAME_MAX_LEN + 16], aside[PATH_MAX];
	char *json = NULL;
	uint64_t gen = 0, want, mgen;
	cJSON *m = NULL;
	size_t len;
	int r;

	if (!store_name_valid(name)) {
		snprintf(err, errlen, "invalid name");
		return -EINVAL;
	}
	entry_path(s, kind, name, path, sizeof(path));
	snprintf(mkey, sizeof(mkey), "%s/%s", kind, name);
	r = sealed_read(path, kind, name, s->key, &json, &len, &gen, err,
			errlen);
	if (r == -EBADMSG)
		emit("integrity", mkey);
	if (r == -ENOENT && strcmp(kind, "store") == 0) {
		/* Gone because it was set aside as corrupt: the cause, not
		 * "does not exist", is what the user needs. */
		char bad[PATH_MAX];
		if (find_set_aside(path, bad, sizeof(bad)))
			snprintf(err, errlen,
				 "%s failed its integrity check and was set "
				 "aside as %s; store it again with `credfs "
				 "store add %s`",
				 path, bad, name);
	}
	if (r < 0)
		goto out;
	m = manifest_load(s, &mgen, false);
	want = m ? manifest_get(m, mkey) : 0;
	if (gen < want) {
		r = -EBADMSG;
		emit("integrity", mkey);
		if (sealed_set_aside(path, aside, sizeof(aside)) == 0)
			snprintf(err, errlen,
				 "%s: older copy replayed (generation %llu, "
				 "expected %llu); set aside as %s",
				 path, (unsigned long long)gen,
				 (unsigned long long)want, aside);
		else
			snprintf(err, errlen,
				 "%s: older copy replayed (generation %llu, "
				 "expected %llu)",
				 path, (unsigned long long)gen,
				 (unsigned long long)want);
		goto out;
	}
	if ((r = cred_from_json(json, len, out)) < 0) {
		snprintf(err, errlen, "%s: malformed contents", path);
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
	char path[PATH_MAX], mkey[NAME_MAX_LEN + 16], err[PATH_MAX + 128];
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
	gen = manifest_get(m, mkey);
	if (sealed_peek_generation(path, &peek) == 0 && peek > gen)
		gen = peek;
	if (unlink(path) < 0) {
		r = -errno;
		goto out;
	}
	/* tombstone: a copy of the removed file must not come back */
	r = manifest_set(s, m, mgen, mkey, gen + 1, err, sizeof(err));
out:
	unlock_state(lock);
	cJSON_Delete(m);
	return r;
}

int store_get(struct store *s, const char *name, struct cred **out, char *err,
	      size_t errlen)
{
	return read_entry(s, "store", name, out, err, errlen);
}

int store_put(struct store *s, const char *name, const struct cred *c,
	      char *err, size_t errlen)
{
	int r = write_entry(s, "store", name, c, err, errlen);

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
		     char *err, size_t errlen)
{
	return read_entry(s, "cache", profile, out, err, errlen);
}

int store_cache_save(struct store *s, const char *profile, const struct cred *c,
		     char *err, size_t errlen)
{
	return write_entry(s, "cache", profile, c, err, errlen);
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

/* ---- credfs store ... ---- */

static void fields_line(const struct cred *c, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < cred_count(c) && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? ", " : "", cred_name_at(c, i));
}

static bool field_name_valid(const char *f)
{
	size_t i, n = strlen(f);

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = f[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool value_valid(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return n > 0;
}

/* Whole stdin into secmem. */
static int read_stdin(struct secbuf *b)
{
	char *chunk = secmem_alloc(4096);
	int r = 0;

	if (!chunk)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(0, chunk, 4096);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if ((r = secbuf_append(b, chunk, (size_t)n)) < 0)
			break;
		if (b->len > (1u << 20)) {
			r = -EFBIG;
			break;
		}
	}
	secmem_free(chunk);
	if (r == 0 && !b->data)
		r = secbuf_append(b, "", 0);
	return r;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = 0;
	*end = 0;
	return s;
}

/* FIELD=VALUE lines from stdin.  Never echoes a line: it may be a secret
 * pasted in the wrong place. */
static int add_from_stdin(struct cred *c, char **fields, int nfields, char *err,
			  size_t errlen)
{
	struct secbuf b = {0};
	char *line, *next, *eq;
	int lineno = 0, i, r;

	if ((r = read_stdin(&b)) < 0) {
		snprintf(err, errlen, "reading stdin: %s", strerror(-r));
		goto out;
	}
	for (line = b.data; line && *line; line = next) {
		char *name, *val;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		name = trim(line, line + strlen(line));
		if (!*name || *name == '#')
			continue;
		eq = strchr(name, '=');
		if (!eq) {
			r = -EINVAL;
			snprintf(err, errlen,
				 "stdin line %d: expected FIELD=VALUE", lineno);
			goto out;
		}
		*eq = 0;
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		name = trim(name, eq);
		if (!field_name_valid(name)) {
			r = -EINVAL;
			snprintf(err, errlen,
				 "stdin line %d: invalid field name", lineno);
			goto out;
		}
		if (nfields) {
			for (i = 0; i < nfields; i++)
				if (strcmp(fields[i], name) == 0)
					break;
			if (i == nfields) {
				r = -EINVAL;
				snprintf(err, errlen,
					 "stdin line %d: field %s was not "
					 "asked for",
					 lineno, name);
				goto out;
			}
		}
		if (cred_get(c, name)) {
			r = -EINVAL;
			snprintf(err, errlen, "field %s given twice", name);
			goto out;
		}
		if (!value_valid(val, strlen(val))) {
			r = -EINVAL;
			snprintf(err, errlen,
				 "field %s: empty or contains control "
				 "characters",
				 name);
			goto out;
		}
		if ((r = cred_set(c, name, val)) < 0) {
			snprintf(err, errlen, "field %s: %s", name,
				 strerror(-r));
			goto out;
		}
	}
	r = 0;
out:
	secbuf_wipe(&b);
	return r;
}

static int add_from_tty(struct cred *c, char **fields, int nfields, char *err,
			size_t errlen)
{
	char prompt[128], name[80], *val = NULL;
	int i, r = 0;

	for (i = 0;; i++) {
		if (nfields) {
			if (i == nfields)
				break;
			snprintf(name, sizeof(name), "%s", fields[i]);
		} else {
			/* field names are not secret: read with echo */
			fprintf(stderr, "field name (empty to finish): ");
			fflush(stderr);
			if (!fgets(name, sizeof(name), stdin))
				break;
			name[strcspn(name, "\r\n")] = 0;
			if (!name[0])
				break;
			if (!field_name_valid(name)) {
				fprintf(stderr, "invalid field name\n");
				continue;
			}
		}
		snprintf(prompt, sizeof(prompt), "%s: ", name);
		if ((r = key_prompt_secret(prompt, &val, err, errlen)) < 0)
			return r;
		if (!value_valid(val, strlen(val))) {
			secmem_free(val);
			snprintf(err, errlen,
				 "field %s: empty or contains control "
				 "characters",
				 name);
			return -EINVAL;
		}
		r = cred_set(c, name, val);
		secmem_free(val);
		if (r < 0) {
			snprintf(err, errlen, "out of memory");
			return r;
		}
	}
	return 0;
}

static int cmd_add(struct store *s, int argc, char **argv)
{
	const char *name = argv[1];
	char err[512], fl[1024];
	struct cred *c = NULL;
	int i, r, rc = 1;

	for (i = 2; i < argc; i++) {
		if (!field_name_valid(argv[i])) {
			fprintf(stderr,
				"credfs: store %s: invalid field name "
				"%s\n",
				name, argv[i]);
			return 2;
		}
	}
	c = cred_new();
	if (!c) {
		fprintf(stderr, "credfs: store %s: out of memory\n", name);
		return 1;
	}
	if (isatty(0))
		r = add_from_tty(c, argv + 2, argc - 2, err, sizeof(err));
	else
		r = add_from_stdin(c, argv + 2, argc - 2, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "credfs: store %s: %s\n", name, err);
		goto out;
	}
	for (i = 2; i < argc; i++) {
		if (!cred_get(c, argv[i])) {
			fprintf(stderr,
				"credfs: store %s: no value for field "
				"%s\n",
				name, argv[i]);
			goto out;
		}
	}
	if (cred_count(c) == 0) {
		fprintf(stderr,
			"credfs: store %s: no fields given (FIELD=VALUE "
			"lines on stdin)\n",
			name);
		goto out;
	}
	if ((r = store_put(s, name, c, err, sizeof(err))) < 0) {
		fprintf(stderr, "credfs: store %s: %s\n", name, err);
		goto out;
	}
	fields_line(c, fl, sizeof(fl));
	printf("stored %s (fields: %s)\n", name, fl);
	rc = 0;
out:
	cred_unref(c);
	return rc;
}

static int cmd_list(struct store *s)
{
	char **names = NULL, err[512], fl[1024];
	size_t n = 0, i;
	int r, rc = 0;

	if ((r = store_list(s, &names, &n)) < 0) {
		fprintf(stderr, "credfs: store: cannot list: %s\n",
			strerror(-r));
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct cred *c = NULL;

		if (store_get(s, names[i], &c, err, sizeof(err)) < 0) {
			fprintf(stderr, "credfs: store %s: %s\n", names[i],
				err);
			rc = 1;
			continue;
		}
		fields_line(c, fl, sizeof(fl));
		printf("%s: %s\n", names[i], fl);
		cred_unref(c);
	}
	store_list_free(names, n);
	return rc;
}

static int cmd_rm(struct store *s, const char *name)
{
	int r = store_remove(s, name);

	if (r == -ENOENT) {
		fprintf(stderr, "credfs: store %s: no such entry\n", name);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "credfs: store %s: %s\n", name, strerror(-r));
		return 1;
	}
	printf("removed %s\n", name);
	return 0;
}

/* import-aws: one entry per profile of a shared credentials file. */
struct aws_profile {
	char section[NAME_MAX_LEN + 1];
	struct cred *c;
	bool bad;
};

struct aws_import {
	struct aws_profile *p;
	size_t n;
	bool oom;
};

static int aws_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	static const char *const map[][2] = {
	    {"aws_access_key_id", "access_key_id"},
	    {"aws_secret_access_key", "secret_access_key"},
	    {"aws_session_token", "session_token"},
	    {"aws_security_token", "session_token"},
	};
	struct aws_import *im = user;
	struct aws_profile *p = NULL;
	size_t i;

	for (i = 0; i < im->n; i++)
		if (strcmp(im->p[i].section, section) == 0)
			p = &im->p[i];
	if (!p) {
		struct aws_profile *np;

		np = realloc(im->p, (im->n + 1) * sizeof(*np));
		if (!np) {
			im->oom = true;
			return 0;
		}
		im->p = np;
		p = &im->p[im->n++];
		memset(p, 0, sizeof(*p));
		if (strlen(section) > NAME_MAX_LEN - 4)
			p->bad = true;
		snprintf(p->section, sizeof(p->section), "%s", section);
		p->c = cred_new();
		if (!p->c) {
			im->oom = true;
			return 0;
		}
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(name, map[i][0]) != 0)
			continue;
		if (!value_valid(value, strlen(value))) {
			p->bad = true;
			break;
		}
		if (cred_set(p->c, map[i][1], value) < 0)
			im->oom = true;
		break;
	}
	return 1;
}

/* inih keeps its line buffer on the stack: scrub what it left behind. */
static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char buf[65536];

	sodium_memzero((void *)buf, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
}

static int read_file_secret(const char *path, struct secbuf *b)
{
	char *chunk;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	chunk = secmem_alloc(4096);
	if (!chunk) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, 4096);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if ((r = secbuf_append(b, chunk, (size_t)n)) < 0)
			break;
	}
	secmem_free(chunk);
	close(fd);
	if (r == 0 && !b->data)
		r = secbuf_append(b, "", 0);
	return r;
}

static int cmd_import_aws(struct store *s, const char *file)
{
	char path[PATH_MAX], entry[NAME_MAX_LEN + 8], err[512], fl[1024];
	struct aws_import im = {0};
	struct secbuf b = {0};
	const char *env = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	int saved_max, line, r, rc = 1;
	size_t i, imported = 0;

	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/.aws/credentials",
			 home ? home : "");
	if ((r = read_file_secret(path, &b)) < 0) {
		fprintf(stderr, "credfs: store import-aws: %s: %s\n", path,
			strerror(-r));
		goto out;
	}
	/* session tokens are longer than inih's default line */
	saved_max = ini_max_line;
	ini_max_line = 16384;
	line = ini_parse_string(b.data, aws_handler, &im);
	ini_max_line = saved_max;
	scrub_stack();
	if (im.oom) {
		fprintf(stderr, "credfs: store import-aws: out of memory\n");
		goto out;
	}
	if (line != 0) {
		fprintf(stderr,
			"credfs: store import-aws: %s:%d: not valid "
			"INI\n",
			path, line);
		goto out;
	}
	for (i = 0; i < im.n; i++) {
		struct aws_profile *p = &im.p[i];

		snprintf(entry, sizeof(entry), "aws-%s", p->section);
		if (p->bad || !store_name_valid(entry)) {
			fprintf(stderr,
				"credfs: store import-aws: profile %s "
				"skipped: invalid name or value\n",
				store_name_valid(entry) ? p->section
							: "(bad name)");
			continue;
		}
		if (!cred_get(p->c, "access_key_id") ||
		    !cred_get(p->c, "secret_access_key")) {
			fprintf(stderr,
				"credfs: store import-aws: profile %s "
				"skipped: no aws_access_key_id and "
				"aws_secret_access_key\n",
				p->section);
			continue;
		}
		if (store_put(s, entry, p->c, err, sizeof(err)) < 0) {
			fprintf(stderr, "credfs: store %s: %s\n", entry, err);
			goto out;
		}
		fields_line(p->c, fl, sizeof(fl));
		printf("imported %s (fields: %s)\n", entry, fl);
		imported++;
	}
	if (!imported) {
		fprintf(stderr,
			"credfs: store import-aws: %s: no profile with "
			"keys found\n",
			path);
		goto out;
	}
	printf("The plaintext copy is still at %s: remove it, e.g.\n"
	       "  shred -u %s\n",
	       path, path);
	rc = 0;
out:
	for (i = 0; i < im.n; i++)
		cred_unref(im.p[i].c);
	free(im.p);
	secbuf_wipe(&b);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: credfs store add NAME [FIELD...]\n"
			"       credfs store list\n"
			"       credfs store rm NAME\n"
			"       credfs store import-aws [FILE]\n");
}

int store_cmd(const struct config *cfg, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;
	struct store *s = NULL;
	uint8_t *key = NULL;
	char err[1024];
	int rc = 1;

	if (!sub) {
		usage();
		return 2;
	}
	if (strcmp(sub, "add") == 0) {
		if (argc < 2) {
			usage();
			return 2;
		}
		if (!store_name_valid(argv[1])) {
			fprintf(stderr, "credfs: store: invalid name (use "
					"letters, digits, _ . @ -; no leading "
					"dot)\n");
			return 2;
		}
	} else if (strcmp(sub, "rm") == 0) {
		if (argc != 2) {
			usage();
			return 2;
		}
		if (!store_name_valid(argv[1])) {
			fprintf(stderr, "credfs: store: invalid name\n");
			return 2;
		}
	} else if (strcmp(sub, "list") == 0) {
		if (argc != 1) {
			usage();
			return 2;
		}
	} else if (strcmp(sub, "import-aws") == 0) {
		if (argc > 2) {
			usage();
			return 2;
		}
	} else {
		fprintf(stderr, "credfs: store: unknown subcommand %s\n", sub);
		usage();
		return 2;
	}

	/* The key prompt needs a terminal; FIELD=VALUE lines may still come
	 * from a pipe (then only passphrase_file or a keyfile can unlock). */
	if (key_load(cfg, isatty(0), &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "credfs: store: key: %s\n", err);
		goto out;
	}
	if (store_open(cfg->state_dir, key, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "credfs: store: %s\n", err);
		goto out;
	}
	if (strcmp(sub, "add") == 0)
		rc = cmd_add(s, argc, argv);
	else if (strcmp(sub, "list") == 0)
		rc = cmd_list(s);
	else if (strcmp(sub, "rm") == 0)
		rc = cmd_rm(s, argv[1]);
	else
		rc = cmd_import_aws(s, argc > 1 ? argv[1] : NULL);
out:
	store_free(s);
	key_free(key);
	return rc;
}
