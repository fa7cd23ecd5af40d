/* key: the master key from a passphrase (Argon2id) or a keyfile, cached in
 * the kernel keyring.
 *
 * state_dir/kdf.json (0600, not secret) records how the key is made and a
 * check value: a sealed known string.  It lets a wrong passphrase or the
 * wrong keyfile be reported as such instead of as every sealed file being
 * corrupt (and set aside), and it validates a key found in the keyring.
 *
 *	{"version":1, "kdf":"argon2id13", "salt":"...", "opslimit":N,
 *	 "memlimit":N, "limits":"interactive", "check":"..."}
 *	{"version":1, "kdf":"keyfile", "check":"..."}
 *
 * The Argon2id limits are read back from the file, so a state_dir made with
 * CREDFS_KDF=min keeps working without it and the limits can be raised for
 * a new state_dir without touching old ones.
 */
#include "core/util.h"
#include "core/digest.h"
#include "crypto/key.h"
#include "core/error.h"
#include "crypto/sealed.h"
#include "core/secmem.h"
#include "core/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <keyutils.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

_Static_assert(KEY_BYTES == SEALED_KEY_BYTES, "key size");

#define KDF_FILE "kdf.json"
#define CHECK_TEXT "credfs key check v1"
#define KEYRING_TIMEOUT (8 * 3600)
#define PASS_MAX 4096

struct kdf {
	bool present;
	bool keyfile;
	uint8_t salt[crypto_pwhash_SALTBYTES];
	unsigned long long opslimit;
	size_t memlimit;
	char limits[16];
	uint8_t *check;
	size_t checklen;
};

static void kdf_clear(struct kdf *k)
{
	free(k->check);
	memset(k, 0, sizeof(*k));
}

/* mkdir -p; missing parents are made 0700 too (~/.local/state may not
 * exist yet). */
static int ensure_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int r;

	if ((r = util_mkdir_p(path, 0700)) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path,
			 strerror(-r));
		return r;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", path);
		return -ENOTDIR;
	}
	return 0;
}

static int kdf_path(const struct config *cfg, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/%s", cfg->state_dir, KDF_FILE) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int kdf_load(const char *path, struct kdf *k, char *err, size_t errlen)
{
	char buf[8192];
	const cJSON *v;
	cJSON *j = NULL;
	size_t blen;
	ssize_t n;
	int fd, r = -EINVAL;

	memset(k, 0, sizeof(*k));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	buf[n] = 0;
	j = cJSON_Parse(buf);
	if (!j || !cJSON_IsObject(j))
		goto bad;
	v = cJSON_GetObjectItemCaseSensitive(j, "kdf");
	if (!cJSON_IsString(v))
		goto bad;
	if (strcmp(v->valuestring, "keyfile") == 0) {
		k->keyfile = true;
	} else if (strcmp(v->valuestring, "argon2id13") == 0) {
		v = cJSON_GetObjectItemCaseSensitive(j, "salt");
		if (!cJSON_IsString(v) ||
		    sodium_base642bin(k->salt, sizeof(k->salt), v->valuestring,
				      strlen(v->valuestring), NULL, &blen, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    blen != sizeof(k->salt))
			goto bad;
		v = cJSON_GetObjectItemCaseSensitive(j, "opslimit");
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
		    v->valuedouble > 1e6)
			goto bad;
		k->opslimit = (unsigned long long)v->valuedouble;
		v = cJSON_GetObjectItemCaseSensitive(j, "memlimit");
		if (!cJSON_IsNumber(v) || v->valuedouble < 8192 ||
		    v->valuedouble > 4398046511104.0)
			goto bad;
		k->memlimit = (size_t)v->valuedouble;
		v = cJSON_GetObjectItemCaseSensitive(j, "limits");
		snprintf(k->limits, sizeof(k->limits), "%s",
			 cJSON_IsString(v) ? v->valuestring : "custom");
	} else {
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "check");
	if (!cJSON_IsString(v))
		goto bad;
	blen = strlen(v->valuestring);
	k->check = malloc(blen + 1);
	if (!k->check) {
		r = -ENOMEM;
		goto out;
	}
	if (sodium_base642bin(k->check, blen + 1, v->valuestring, blen, NULL,
			      &k->checklen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		goto bad;
	k->present = true;
	r = 0;
	goto out;
bad:
	snprintf(err, errlen, "%s: malformed key parameters file", path);
	r = -EINVAL;
out:
	if (r < 0)
		kdf_clear(k);
	cJSON_Delete(j);
	return r;
}

static char *b64(const uint8_t *p, size_t n)
{
	size_t len =
	    sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);

	if (s)
		sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* Writes kdf.json for a new state_dir.  -EEXIST if another process was
 * first (the caller then loads theirs). */
static int kdf_create(const char *path, struct kdf *k, const uint8_t *key,
		      char *err, size_t errlen)
{
	char *txt = NULL, *s;
	cJSON *j = cJSON_CreateObject();
	int r = -ENOMEM;

	if ((r = sealed_seal(key, "check", "credfs-key", 0, CHECK_TEXT,
			     strlen(CHECK_TEXT), &k->check, &k->checklen)) < 0)
		goto out;
	r = -ENOMEM;
	if (!j || !cJSON_AddNumberToObject(j, "version", 1))
		goto out;
	if (k->keyfile) {
		if (!cJSON_AddStringToObject(j, "kdf", "keyfile"))
			goto out;
	} else {
		if (!cJSON_AddStringToObject(j, "kdf", "argon2id13"))
			goto out;
		if (!(s = b64(k->salt, sizeof(k->salt))))
			goto out;
		if (!cJSON_AddStringToObject(j, "salt", s)) {
			free(s);
			goto out;
		}
		free(s);
		if (!cJSON_AddNumberToObject(j, "opslimit",
					     (double)k->opslimit) ||
		    !cJSON_AddNumberToObject(j, "memlimit",
					     (double)k->memlimit) ||
		    !cJSON_AddStringToObject(j, "limits", k->limits))
			goto out;
	}
	if (!(s = b64(k->check, k->checklen)))
		goto out;
	if (!cJSON_AddStringToObject(j, "check", s)) {
		free(s);
		goto out;
	}
	free(s);
	if (!(txt = cJSON_Print(j)))
		goto out;
	r = sealed_atomic_create(path, txt, strlen(txt));
	if (r < 0 && r != -EEXIST)
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(-r));
out:
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (txt)
		cJSON_free(txt);
	cJSON_Delete(j);
	return r;
}

static bool kdf_check(const struct kdf *k, const uint8_t *key)
{
	char *pt = NULL;
	size_t len;
	bool ok;

	if (sealed_open(key, "check", "credfs-key", k->check, k->checklen, &pt,
			&len, NULL, NULL) < 0)
		return false;
	ok = len == strlen(CHECK_TEXT) && memcmp(pt, CHECK_TEXT, len) == 0;
	secmem_free(pt);
	return ok;
}

static bool keyring_enabled(void)
{
	const char *e = getenv("CREDFS_KEYRING");

	return !e || (strcmp(e, "off") != 0 && strcmp(e, "0") != 0 &&
		      strcmp(e, "no") != 0);
}

/* "credfs:" + hex SHA-256 of realpath(state_dir). */
static int keyring_desc(const struct config *cfg, char *desc, size_t len)
{
	uint8_t h[DIGEST_BYTES];
	char *rp = realpath(cfg->state_dir, NULL);

	if (!rp)
		return -errno;
	digest_sha256(rp, strlen(rp), h);
	free(rp);
	if (len < 8 + 2 * sizeof(h))
		return -ENAMETOOLONG;
	memcpy(desc, "credfs:", 7);
	sodium_bin2hex(desc + 7, len - 7, h, sizeof(h));
	return 0;
}

static key_serial_t keyring_find(const char *desc)
{
	key_serial_t id;

	id = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (id < 0)
		id = keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", desc, 0);
	return id;
}

static bool keyring_get(const char *desc, uint8_t *key)
{
	key_serial_t id = keyring_find(desc);

	if (id < 0)
		return false;
	return keyctl_read(id, (char *)key, KEY_BYTES) == KEY_BYTES;
}

static void keyring_put(const char *desc, const uint8_t *key)
{
	key_serial_t id;

	id = add_key("user", desc, key, KEY_BYTES, KEY_SPEC_USER_KEYRING);
	if (id < 0)
		id = add_key("user", desc, key, KEY_BYTES,
			     KEY_SPEC_SESSION_KEYRING);
	if (id < 0)
		return; /* no keyring (container, seccomp): no caching */
	(void)keyctl_setperm(id, KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ |
				     KEY_USR_SEARCH | KEY_USR_WRITE |
				     KEY_USR_SETATTR);
	(void)keyctl_set_timeout(id, KEYRING_TIMEOUT);
}

void key_forget(const struct config *cfg)
{
	char desc[128];
	key_serial_t id;
	int i;

	if (!cfg || !cfg->state_dir ||
	    keyring_desc(cfg, desc, sizeof(desc)) < 0)
		return;
	for (i = 0; i < 4 && (id = keyring_find(desc)) >= 0; i++) {
		if (keyctl_invalidate(id) < 0) {
			(void)keyctl_unlink(id, KEY_SPEC_USER_KEYRING);
			(void)keyctl_unlink(id, KEY_SPEC_SESSION_KEYRING);
		}
	}
}

static int expand_home(const char *p, char *buf, size_t len)
{
	const char *home = getenv("HOME");

	if (p[0] == '~' && p[1] == '/' && home) {
		if (snprintf(buf, len, "%s%s", home, p + 1) >= (int)len)
			return -ENAMETOOLONG;
	} else if (snprintf(buf, len, "%s", p) >= (int)len) {
		return -ENAMETOOLONG;
	}
	return 0;
}

static int load_keyfile(const char *path, uint8_t *key, bool *created,
			char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, r;

	*created = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			return load_keyfile(path, key, created, err, errlen);
		if (fd < 0) {
			r = -errno;
			snprintf(err, errlen, "keyfile %s: cannot create: %s",
				 path, strerror(errno));
			return r;
		}
		randombytes_buf(key, KEY_BYTES);
		if (write(fd, key, KEY_BYTES) != KEY_BYTES || fsync(fd) < 0) {
			r = errno ? -errno : -EIO;
			snprintf(err, errlen, "keyfile %s: cannot write: %s",
				 path, strerror(-r));
			close(fd);
			unlink(path);
			return r;
		}
		close(fd);
		*created = true;
		return 0;
	}
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "keyfile %s: %s", path, strerror(errno));
		return r;
	}
	r = -EPERM;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "keyfile %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "keyfile %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "keyfile %s: accessible by group or others (mode "
			 "%04o); chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != KEY_BYTES) {
		r = -EINVAL;
		snprintf(err, errlen,
			 "keyfile %s: %lld bytes, expected %d random bytes",
			 path, (long long)st.st_size, KEY_BYTES);
		goto out;
	}
	n = read(fd, key, KEY_BYTES);
	if (n != KEY_BYTES) {
		r = -EIO;
		snprintf(err, errlen, "keyfile %s: short read", path);
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

/* Reads a passphrase into secmem; strips one trailing newline. */
static int read_passphrase_file(const char *path, char **out, char *err,
				size_t errlen)
{
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	int fd, r = -EPERM;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "passphrase_file %s: %s", path,
			 strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "passphrase_file %s: not a regular file",
			 path);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "passphrase_file %s: accessible by group or others "
			 "(mode %04o); chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	p = secmem_alloc(PASS_MAX + 1);
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, p + got, PASS_MAX - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "passphrase_file %s: %s", path,
				 strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == PASS_MAX) {
			r = -EINVAL;
			snprintf(err, errlen, "passphrase_file %s: too long",
				 path);
			goto out;
		}
	}
	p[got] = 0;
	if (got && p[got - 1] == '\n')
		p[--got] = 0;
	if (got && p[got - 1] == '\r')
		p[--got] = 0;
	if (!got) {
		r = -EINVAL;
		snprintf(err, errlen, "passphrase_file %s: empty", path);
		goto out;
	}
	*out = p;
	p = NULL; /* transferred */
	r = 0;
out:
	secmem_free(p);
	close(fd);
	return r;
}

static int prompt_secret(const char *prompt, char **out, char *err,
			 size_t errlen)
{
	struct termios old, noecho;
	char *p = NULL, c;
	size_t got = 0;
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "no terminal to ask on");
		return -ENOTTY;
	}
	if (tcgetattr(fd, &old) < 0) {
		close(fd);
		snprintf(err, errlen, "no terminal to ask on");
		return -ENOTTY;
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	noecho.c_lflag |= ICANON;
	/* echo off before the prompt: whatever is typed after it is secret */
	tcsetattr(fd, TCSAFLUSH, &noecho);
	(void)!write(fd, prompt, strlen(prompt));
	p = secmem_alloc(PASS_MAX + 1);
	r = -ENOMEM;
	if (!p)
		goto out;
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (got < PASS_MAX)
			p[got++] = c;
	}
	c = 0;
	p[got] = 0;
	*out = p;
	p = NULL; /* transferred */
	r = 0;
out:
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	secmem_free(p);
	return r;
}

static int get_passphrase(const struct config *cfg, bool interactive,
			  bool confirm, char **out, char *err, size_t errlen)
{
	char *again = NULL;
	int r;

	if (cfg->passphrase_file && cfg->passphrase_file[0]) {
		char path[PATH_MAX];

		if ((r = expand_home(cfg->passphrase_file, path,
				     sizeof(path))) < 0) {
			snprintf(err, errlen, "passphrase_file: path too long");
			return r;
		}
		return read_passphrase_file(path, out, err, errlen);
	}
	if (!interactive) {
		snprintf(err, errlen,
			 "no passphrase: set passphrase_file in the config or "
			 "run this on a terminal");
		return -ENOKEY;
	}
	if ((r = prompt_secret(confirm ? "New credfs passphrase: "
				       : "credfs passphrase: ",
			       out, err, errlen)) < 0) {
		if (r == -ENOTTY)
			snprintf(err, errlen,
				 "no terminal to ask for the passphrase (set "
				 "passphrase_file in the config)");
		return r;
	}
	if (!(*out)[0]) {
		snprintf(err, errlen, "empty passphrase");
		r = -EINVAL;
		goto fail;
	}
	if (!confirm)
		return 0;
	if ((r = prompt_secret("Repeat passphrase: ", &again, err, errlen)) < 0)
		goto fail;
	if (strlen(again) != strlen(*out) ||
	    sodium_memcmp(again, *out, strlen(again)) != 0) {
		snprintf(err, errlen, "passphrases do not match");
		r = -EINVAL;
		goto fail;
	}
	secmem_free(again);
	return 0;
fail:
	secmem_free(again);
	secmem_free(*out);
	*out = NULL;
	return r;
}

static void kdf_limits_from_env(struct kdf *k)
{
	const char *e = getenv("CREDFS_KDF");

	if (e && strcmp(e, "min") == 0) {
		k->opslimit = crypto_pwhash_OPSLIMIT_MIN;
		k->memlimit = crypto_pwhash_MEMLIMIT_MIN;
		snprintf(k->limits, sizeof(k->limits), "min");
	} else if (e && strcmp(e, "moderate") == 0) {
		k->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
		k->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
		snprintf(k->limits, sizeof(k->limits), "moderate");
	} else {
		k->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		k->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		snprintf(k->limits, sizeof(k->limits), "interactive");
	}
}

static int derive(uint8_t *key, const char *pass, const struct kdf *k,
		  char *err, size_t errlen)
{
	if (crypto_pwhash(key, KEY_BYTES, pass, strlen(pass), k->salt,
			  k->opslimit, k->memlimit,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		snprintf(err, errlen,
			 "key derivation failed (out of memory for "
			 "memlimit %zu?)",
			 k->memlimit);
		return -ENOMEM;
	}
	return 0;
}

static int load(const struct config *cfg, bool interactive, uint8_t **keyp,
		char *err, size_t errlen)
{
	const char *spec = cfg->key_spec ? cfg->key_spec : "passphrase";
	bool want_keyfile, use_keyring = keyring_enabled(), created;
	char path[PATH_MAX], kfpath[PATH_MAX], desc[128];
	struct kdf k = {0};
	uint8_t *key = NULL;
	char *pass = NULL;
	int r, tries;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	if (!cfg->state_dir || !cfg->state_dir[0]) {
		snprintf(err, errlen, "no state_dir configured");
		return -EINVAL;
	}
	if (strcmp(spec, "passphrase") == 0) {
		want_keyfile = false;
	} else if (strncmp(spec, "keyfile:", 8) == 0 && spec[8]) {
		want_keyfile = true;
		if (expand_home(spec + 8, kfpath, sizeof(kfpath)) < 0) {
			snprintf(err, errlen, "keyfile path too long");
			return -ENAMETOOLONG;
		}
	} else {
		snprintf(err, errlen,
			 "key must be \"passphrase\" or \"keyfile:PATH\"");
		return -EINVAL;
	}
	if ((r = ensure_dir(cfg->state_dir, err, errlen)) < 0)
		return r;
	if ((r = kdf_path(cfg, path, sizeof(path))) < 0) {
		snprintf(err, errlen, "state_dir path too long");
		return r;
	}
	key = sodium_malloc(KEY_BYTES);
	if (!key) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (use_keyring && keyring_desc(cfg, desc, sizeof(desc)) < 0)
		use_keyring = false;

	for (tries = 0; tries < 2; tries++) {
		if ((r = kdf_load(path, &k, err, errlen)) < 0)
			goto out;
		if (k.present && k.keyfile != want_keyfile) {
			r = -EINVAL;
			snprintf(err, errlen,
				 "%s was set up with key = %s but the config "
				 "says key = %s",
				 cfg->state_dir,
				 k.keyfile ? "keyfile:..." : "passphrase",
				 want_keyfile ? "keyfile:..." : "passphrase");
			goto out;
		}
		/* A cached key counts only if it opens the check value. */
		if (k.present && use_keyring && keyring_get(desc, key) &&
		    kdf_check(&k, key)) {
			r = 0;
			goto out;
		}
		if (want_keyfile) {
			if ((r = load_keyfile(kfpath, key, &created, err,
					      errlen)) < 0)
				goto out;
			if (k.present && !kdf_check(&k, key)) {
				r = -EKEYREJECTED;
				if (created) {
					/* the real keyfile went missing */
					unlink(kfpath);
					snprintf(err, errlen,
						 "keyfile %s is missing; %s "
						 "was sealed with it",
						 kfpath, cfg->state_dir);
				} else {
					snprintf(err, errlen,
						 "keyfile %s is not the key "
						 "that sealed %s",
						 kfpath, cfg->state_dir);
				}
				goto out;
			}
		} else {
			if (!k.present) {
				randombytes_buf(k.salt, sizeof(k.salt));
				kdf_limits_from_env(&k);
			}
			if ((r = get_passphrase(cfg, interactive, !k.present,
						&pass, err, errlen)) < 0)
				goto out;
			r = derive(key, pass, &k, err, errlen);
			secmem_free(pass);
			pass = NULL;
			if (r < 0)
				goto out;
			if (k.present && !kdf_check(&k, key)) {
				r = -EKEYREJECTED;
				snprintf(err, errlen, "wrong passphrase for %s",
					 cfg->state_dir);
				goto out;
			}
		}
		if (k.present)
			break;
		k.keyfile = want_keyfile;
		r = kdf_create(path, &k, key, err, errlen);
		if (r == 0)
			break;
		if (r != -EEXIST)
			goto out;
		/* another process set up state_dir first: use its params */
		kdf_clear(&k);
	}
	if (tries == 2) {
		r = -EAGAIN;
		snprintf(err, errlen, "%s: key parameters keep changing", path);
		goto out;
	}
	if (use_keyring)
		keyring_put(desc, key);
	r = 0;
out:
	secmem_free(pass);
	kdf_clear(&k);
	if (r < 0) {
		sodium_free(key);
		return r;
	}
	*keyp = key;
	return 0;
}

void key_free(uint8_t *key)
{
	if (key)
		sodium_free(key); /* wipes */
}

/* The public functions fill a struct error from the messages above. */
static int to_error(struct error *e, int r, const char *msg)
{
	if (r >= 0)
		return r;
	return error_set(e, r, "%s", msg[0] ? msg : strerror(-r));
}

int key_load(const struct config *cfg, bool interactive, uint8_t **keyp,
	     struct error *e)
{
	char err[PATH_MAX + 512] = "";

	return to_error(e, load(cfg, interactive, keyp, err, sizeof(err)), err);
}

int key_ensure_dir(const char *path, struct error *e)
{
	char err[PATH_MAX + 64] = "";

	return to_error(e, ensure_dir(path, err, sizeof(err)), err);
}

int key_prompt_secret(const char *prompt, char **out, struct error *e)
{
	char err[PATH_MAX] = "";

	return to_error(e, prompt_secret(prompt, out, err, sizeof(err)), err);
}
