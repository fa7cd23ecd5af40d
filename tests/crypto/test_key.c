/* key: keyfile and passphrase modes, refusals, kdf.json, keyring cache. */
#include "crypto/key.h"
#include "core/secmem.h"
#include "core/config.h"
#include "tests/tap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <keyutils.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"

/* The last error of a call under test (its message is what is checked). */
static struct error terr;
#define err terr.msg /* the tests read the message as err */

static char base[] = "/tmp/credfs-key-XXXXXX";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void put_file(const char *path, const char *data, size_t len,
		     mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	fchmod(fd, mode);
	close(fd);
}

static cJSON *read_kdf(const char *state)
{
	char path[512], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/kdf.json", state);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return cJSON_Parse(buf);
}

static void test_keyfile(void)
{
	char state[512], kf[600], spec[700];
	struct config cfg = {0};
	uint8_t *k1 = NULL, *k2 = NULL;
	struct stat st;
	cJSON *j;
	int r;

	snprintf(state, sizeof(state), "%s/deep/er/kf", base);
	snprintf(kf, sizeof(kf), "%s/key", state);
	snprintf(spec, sizeof(spec), "keyfile:%s", kf);
	cfg.state_dir = state;
	cfg.key_spec = spec;

	r = key_load(&cfg, false, &k1, &terr);
	ok(r == 0, "keyfile created on first use (%s)", r ? err : "ok");
	ok(stat(kf, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	       st.st_size == 32,
	   "keyfile is 32 bytes, 0600");
	ok(stat(state, &st) == 0 && (st.st_mode & 0777) == 0700,
	   "state_dir created 0700");
	j = read_kdf(state);
	ok(j &&
	       strcmp(cJSON_GetObjectItem(j, "kdf")->valuestring, "keyfile") ==
		   0 &&
	       cJSON_IsString(cJSON_GetObjectItem(j, "check")),
	   "kdf.json records keyfile + check value");
	cJSON_Delete(j);

	r = key_load(&cfg, false, &k2, &terr);
	ok(r == 0 && k1 && k2 && sodium_memcmp(k1, k2, 32) == 0,
	   "second load gives the same key");
	{
		uint8_t raw[32];
		int fd = open(kf, O_RDONLY);

		ok(fd >= 0 && read(fd, raw, 32) == 32 &&
		       sodium_memcmp(raw, k1, 32) == 0,
		   "key = the keyfile's bytes");
		close(fd);
	}
	key_free(k2);
	k2 = NULL;

	chmod(kf, 0640);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r < 0 && strstr(err, "group or others"),
	   "group-readable keyfile refused: %s", err);
	chmod(kf, 0604);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r < 0 && strstr(err, "group or others"),
	   "other-readable keyfile refused");
	chmod(kf, 0600);

	{
		char wrong[600];

		snprintf(wrong, sizeof(wrong), "%s/short", base);
		put_file(wrong, "0123456789", 10, 0600);
		snprintf(spec, sizeof(spec), "keyfile:%s", wrong);
		r = key_load(&cfg, false, &k2, &terr);
		ok(r < 0 && strstr(err, "expected 32"),
		   "wrong-size keyfile refused: %s", err);

		uint8_t other[32];

		randombytes_buf(other, 32);
		snprintf(wrong, sizeof(wrong), "%s/other", base);
		put_file(wrong, (char *)other, 32, 0600);
		snprintf(spec, sizeof(spec), "keyfile:%s", wrong);
		r = key_load(&cfg, false, &k2, &terr);
		ok(r == -EKEYREJECTED && strstr(err, "not the key"),
		   "another keyfile is reported as such: %s", err);
		snprintf(spec, sizeof(spec), "keyfile:%s", kf);
	}

	unlink(kf);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r < 0 && strstr(err, "missing") && access(kf, F_OK) != 0,
	   "a lost keyfile is reported, not silently replaced: %s", err);

	cfg.key_spec = "passphrase";
	r = key_load(&cfg, false, &k2, &terr);
	ok(r == -EINVAL && strstr(err, "set up with key = keyfile"),
	   "key mode mismatch reported: %s", err);
	cfg.key_spec = "bogus";
	r = key_load(&cfg, false, &k2, &terr);
	ok(r == -EINVAL, "unknown key spec refused");
	key_free(k1);
	key_free(NULL);
}

static void test_passphrase(void)
{
	char state[512], pf[600];
	struct config cfg = {0};
	uint8_t *k1 = NULL, *k2 = NULL;
	struct stat st;
	cJSON *j;
	double t0;
	int r;

	snprintf(state, sizeof(state), "%s/pp", base);
	snprintf(pf, sizeof(pf), "%s/pass", base);
	cfg.state_dir = state;
	cfg.key_spec = "passphrase";
	cfg.passphrase_file = pf;
	put_file(pf, "correct horse battery staple\n", 29, 0600);

	setenv("CREDFS_KDF", "min", 1);
	r = key_load(&cfg, false, &k1, &terr);
	ok(r == 0, "passphrase_file unlocks a new state_dir (%s)",
	   r ? err : "ok");
	j = read_kdf(state);
	ok(j &&
	       strcmp(cJSON_GetObjectItem(j, "kdf")->valuestring,
		      "argon2id13") == 0 &&
	       cJSON_GetObjectItem(j, "opslimit")->valuedouble ==
		   crypto_pwhash_OPSLIMIT_MIN &&
	       cJSON_GetObjectItem(j, "memlimit")->valuedouble ==
		   crypto_pwhash_MEMLIMIT_MIN &&
	       strcmp(cJSON_GetObjectItem(j, "limits")->valuestring, "min") ==
		   0 &&
	       strlen(cJSON_GetObjectItem(j, "salt")->valuestring) >= 22,
	   "kdf.json records salt and the min limits");
	cJSON_Delete(j);
	{
		char p[600];

		snprintf(p, sizeof(p), "%s/kdf.json", state);
		ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600,
		   "kdf.json is 0600");
	}

	/* the recorded limits are used even without CREDFS_KDF */
	unsetenv("CREDFS_KDF");
	t0 = now_ms();
	r = key_load(&cfg, false, &k2, &terr);
	ok(r == 0 && sodium_memcmp(k1, k2, 32) == 0,
	   "same passphrase, same key, recorded limits (%.0f ms)",
	   now_ms() - t0);
	key_free(k2);
	k2 = NULL;

	/* without the trailing newline it is the same passphrase */
	put_file(pf, "correct horse battery staple", 28, 0600);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r == 0 && sodium_memcmp(k1, k2, 32) == 0,
	   "one trailing newline is not part of the passphrase");
	key_free(k2);
	k2 = NULL;

	put_file(pf, "Tr0ub4dor&3\n", 12, 0600);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r == -EKEYREJECTED && strstr(err, "wrong passphrase") &&
	       !strstr(err, "Tr0ub4dor"),
	   "wrong passphrase reported as such: %s", err);

	put_file(pf, "correct horse battery staple\n", 29, 0644);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r < 0 && strstr(err, "group or others"),
	   "world-readable passphrase_file refused: %s", err);
	put_file(pf, "", 0, 0600);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r < 0 && strstr(err, "empty"), "empty passphrase_file refused");

	cfg.passphrase_file = NULL;
	r = key_load(&cfg, false, &k2, &terr);
	ok(r < 0 && strstr(err, "passphrase_file"),
	   "no passphrase source: clear error: %s", err);
	key_free(k1);
}

static void test_interactive_limits(void)
{
	char state[512], pf[600];
	struct config cfg = {0};
	uint8_t *k = NULL;
	double t0, ms;
	cJSON *j;
	int r;

	snprintf(state, sizeof(state), "%s/inter", base);
	snprintf(pf, sizeof(pf), "%s/pass2", base);
	put_file(pf, "interactive limits\n", 19, 0600);
	cfg.state_dir = state;
	cfg.key_spec = "passphrase";
	cfg.passphrase_file = pf;
	unsetenv("CREDFS_KDF");
	t0 = now_ms();
	r = key_load(&cfg, false, &k, &terr);
	ms = now_ms() - t0;
	j = read_kdf(state);
	ok(r == 0 && j &&
	       cJSON_GetObjectItem(j, "opslimit")->valuedouble ==
		   crypto_pwhash_OPSLIMIT_INTERACTIVE &&
	       cJSON_GetObjectItem(j, "memlimit")->valuedouble ==
		   crypto_pwhash_MEMLIMIT_INTERACTIVE,
	   "default limits are INTERACTIVE");
	printf("# KDF Argon2id at INTERACTIVE (ops %llu, mem %zu MiB): %.0f "
	       "ms\n",
	       (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE,
	       (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20, ms);
	cJSON_Delete(j);
	key_free(k);
}

static void test_keyring(void)
{
	char state[512], pf[600];
	struct config cfg = {0};
	uint8_t *k1 = NULL, *k2 = NULL;
	key_serial_t probe;
	int r;

	probe =
	    add_key("user", "credfs-test-probe", "x", 1, KEY_SPEC_USER_KEYRING);
	if (probe < 0)
		probe = add_key("user", "credfs-test-probe", "x", 1,
				KEY_SPEC_SESSION_KEYRING);
	if (probe < 0 && !getenv("CREDFS_TEST_NO_KEYRING")) {
		tap_skip("kernel keyring unavailable (set "
			 "CREDFS_TEST_NO_KEYRING=1 to acknowledge)");
		return;
	}
	if (probe >= 0)
		keyctl_invalidate(probe);

	snprintf(state, sizeof(state), "%s/ring", base);
	snprintf(pf, sizeof(pf), "%s/pass3", base);
	put_file(pf, "keyring passphrase\n", 19, 0600);
	cfg.state_dir = state;
	cfg.key_spec = "passphrase";
	cfg.passphrase_file = pf;
	setenv("CREDFS_KDF", "min", 1);
	unsetenv("CREDFS_KEYRING");

	r = key_load(&cfg, false, &k1, &terr);
	ok(r == 0, "load with keyring enabled (%s)", r ? err : "ok");
	if (probe < 0) {
		/* no keyring: must still work, just without caching */
		unlink(pf);
		r = key_load(&cfg, false, &k2, &terr);
		ok(r < 0, "without a keyring nothing is cached");
		key_free(k1);
		return;
	}
	unlink(pf);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r == 0 && sodium_memcmp(k1, k2, 32) == 0,
	   "second load comes from the keyring (no passphrase needed)");
	key_free(k2);
	k2 = NULL;

	key_forget(&cfg);
	r = key_load(&cfg, false, &k2, &terr);
	ok(r < 0, "after key_forget the passphrase is needed again");

	/* a stale cached key (wrong one) is ignored, not trusted */
	{
		char desc[128];
		uint8_t h[32], junk[32];
		char *rp = realpath(state, NULL);

		crypto_hash_sha256(h, (uint8_t *)rp, strlen(rp));
		free(rp);
		strcpy(desc, "credfs:");
		sodium_bin2hex(desc + 7, sizeof(desc) - 7, h, 32);
		randombytes_buf(junk, 32);
		add_key("user", desc, junk, 32, KEY_SPEC_USER_KEYRING);
		put_file(pf, "keyring passphrase\n", 19, 0600);
		r = key_load(&cfg, false, &k2, &terr);
		ok(r == 0 && sodium_memcmp(k1, k2, 32) == 0,
		   "a wrong key in the keyring is ignored");
	}
	key_forget(&cfg);
	key_free(k1);
	key_free(k2);
}

int main(void)
{
	if (sodium_init() < 0 || !mkdtemp(base))
		return 1;
	secmem_init_cjson();
	setenv("CREDFS_KEYRING", "off", 1);
	test_keyfile();
	test_passphrase();
	test_interactive_limits();
	test_keyring();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
