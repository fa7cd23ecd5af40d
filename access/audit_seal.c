/* audit_seal: forward-secure sealing of the audit log (see audit_seal.h).
 *
 * The state file holds the open epoch's number, its key, its line count
 * and when it began; it is replaced whole (write, fsync, rename, fsync the
 * directory) at each epoch's end, so a crash leaves the old or the new
 * state.  The old key's bytes are wiped in memory; on disk they are gone
 * from the file (a block-level copy may linger until reused: keep the log
 * on an encrypted or trimmed device when that matters).
 */
#include "access/audit_seal.h"
#include "core/secmem.h"
#include "core/util.h"
#include "core/digest.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EVOLVE_LABEL "credfs audit epoch"

struct audit_seal {
	char path[PATH_MAX]; /* <log>.seal */
	uint64_t epoch;
	uint64_t lines; /* in the open epoch */
	time_t began;
	bool fresh; /* nothing sealed yet */
	uint8_t key[32];
	struct stat st; /* the state file as loaded or stored */
};

void audit_seal_mac(const uint8_t key[static 32], const void *data, size_t len,
		    char hex[static 65])
{
	uint8_t md[DIGEST_BYTES];

	digest_hmac_sha256(key, data, len, md);
	util_hex(md, 32, hex);
}

void audit_seal_next_key(uint8_t key[static 32])
{
	uint8_t md[DIGEST_BYTES];

	digest_hmac_sha256(key, EVOLVE_LABEL, sizeof(EVOLVE_LABEL) - 1, md);
	memcpy(key, md, 32);
	sodium_memzero(md, sizeof(md));
}

void audit_seal_key_at(const uint8_t vkey[static 32], uint64_t epoch,
		       uint8_t out[static 32])
{
	memcpy(out, vkey, 32);
	for (uint64_t i = 0; i < epoch; i++)
		audit_seal_next_key(out);
}

static int seal_path(const char *log_path, char out[static PATH_MAX])
{
	if (snprintf(out, PATH_MAX, "%s.seal", log_path) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Replaces the state file with s's state. */
static int seal_store(struct audit_seal *s, bool exclusive)
{
	char tmp[PATH_MAX + 8], hex[65], buf[256], *slash;
	int fd, r = 0, n;

	util_hex(s->key, 32, hex);
	n = snprintf(buf, sizeof(buf),
		     "credfs-audit-seal 1\nepoch %llu\nlines %llu\n"
		     "began %lld\nfresh %d\nkey %s\n",
		     (unsigned long long)s->epoch, (unsigned long long)s->lines,
		     (long long)s->began, s->fresh ? 1 : 0, hex);
	sodium_memzero(hex, sizeof(hex));
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
	if (exclusive && access(s->path, F_OK) == 0)
		return -EEXIST;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	sodium_memzero(buf, sizeof(buf));
	if (r == 0 && rename(tmp, s->path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	stat(s->path, &s->st);
	if ((slash = strrchr(tmp, '/'))) {
		*(slash == tmp ? slash + 1 : slash) = '\0';
		if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

int audit_seal_setup(const char *log_path, char vkey_hex[static 65])
{
	struct audit_seal *s = secmem_alloc(sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	if ((r = seal_path(log_path, s->path)) < 0)
		goto out;
	randombytes_buf(s->key, sizeof(s->key));
	s->began = time(NULL);
	s->fresh = true;
	/* The verification key is epoch 0's; the file keeps epoch 1's, so
	 * the machine never holds a key that could forge the first lines. */
	util_hex(s->key, 32, vkey_hex);
	audit_seal_next_key(s->key);
	s->epoch = 1;
	r = seal_store(s, true);
	if (r < 0)
		sodium_memzero(vkey_hex, 65);
out:
	secmem_free(s);
	return r;
}

int audit_seal_load(const char *log_path, struct audit_seal **out)
{
	struct audit_seal *s;
	unsigned long long ep, lines;
	long long began;
	char hex[65], buf[512];
	int fd, fresh, r;
	ssize_t n;

	*out = NULL;
	{
		char sp[PATH_MAX];

		/* Not sealed: no secret memory spent. */
		if (seal_path(log_path, sp) == 0 && access(sp, F_OK) < 0)
			return -errno;
	}
	if (!(s = secmem_alloc(sizeof(*s))))
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	if ((r = seal_path(log_path, s->path)) < 0)
		goto fail;
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	fstat(fd, &s->st);
	close(fd);
	r = -EINVAL;
	if (n <= 0)
		goto fail;
	buf[n] = '\0';
	if (sscanf(buf,
		   "credfs-audit-seal 1\nepoch %llu\nlines %llu\nbegan %lld\n"
		   "fresh %d\nkey %64[0-9a-f]\n",
		   &ep, &lines, &began, &fresh, hex) != 5 ||
	    strlen(hex) != 64 || ep > AUDIT_SEAL_MAX_EPOCH)
		goto fail;
	for (int i = 0; i < 32; i++)
		s->key[i] = (uint8_t)(util_unhex_digit(hex[2 * i]) << 4 |
				      util_unhex_digit(hex[2 * i + 1]));
	s->epoch = ep;
	s->lines = lines;
	s->began = (time_t)began;
	s->fresh = fresh != 0;
	*out = s;
	s = NULL;
	r = 0;
fail:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(hex, sizeof(hex));
	if (s)
		secmem_free(s);
	return r;
}

int audit_seal_refresh(struct audit_seal *s)
{
	struct audit_seal *n;
	struct stat st;
	char log[PATH_MAX];
	int r;

	if (stat(s->path, &st) < 0)
		return -errno;
	if (st.st_ino == s->st.st_ino && st.st_dev == s->st.st_dev &&
	    st.st_mtim.tv_sec == s->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == s->st.st_mtim.tv_nsec)
		return 0;
	/* Another writer ended an epoch: continue in its. */
	snprintf(log, sizeof(log), "%.*s", (int)(strlen(s->path) - 5), s->path);
	if ((r = audit_seal_load(log, &n)) < 0)
		return r;
	if (n->epoch >= s->epoch) {
		n->lines = n->epoch == s->epoch ? s->lines : n->lines;
		memcpy(s, n, sizeof(*s));
	}
	audit_seal_free(n);
	return 0;
}

void audit_seal_free(struct audit_seal *s)
{
	if (s)
		secmem_free(s); /* wipes */
}

bool audit_seal_due(const struct audit_seal *s, bool by_time)
{
	if (!s || !s->lines)
		return false;
	return s->lines >= AUDIT_SEAL_EPOCH_LINES ||
	       (by_time && time(NULL) - s->began >= AUDIT_SEAL_EPOCH_SECONDS);
}

uint64_t audit_seal_epoch(const struct audit_seal *s)
{
	return s->epoch;
}

uint64_t audit_seal_lines(const struct audit_seal *s)
{
	return s->lines;
}

bool audit_seal_fresh(const struct audit_seal *s)
{
	return s->fresh;
}

int audit_seal_line(struct audit_seal *s, char *line, size_t *len, size_t cap)
{
	char hex[65];
	int n;

	if (*len < 2 || line[*len - 1] != '}')
		return -EINVAL;
	n = snprintf(line + *len - 1, cap - (*len - 1), ",\"ep\":%llu",
		     (unsigned long long)s->epoch);
	if (n < 0 || (size_t)n >= cap - (*len - 1))
		return -ENOSPC;
	*len = *len - 1 + (size_t)n;
	audit_seal_mac(s->key, line, *len, hex);
	n = snprintf(line + *len, cap - *len, ",\"mac\":\"%s\"}", hex);
	if (n < 0 || (size_t)n >= cap - *len)
		return -ENOSPC;
	*len += (size_t)n;
	s->lines++;
	s->fresh = false;
	return 0;
}

int audit_seal_advance(struct audit_seal *s)
{
	audit_seal_next_key(s->key);
	s->epoch++;
	s->lines = 0;
	s->began = time(NULL);
	return seal_store(s, false);
}

/* ---- verification (credfs audit verify --key) ---- */

#define MAC_TAIL 74 /* ,"mac":"<64 hex>"} */

/* The epoch and MAC of a sealed line; false if the line carries none. */
static bool sealed_fields(const char *line, size_t len, const cJSON *j,
			  uint64_t *ep, const char **mac)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "ep");

	if (!cJSON_IsNumber(e) || e->valuedouble < 0 ||
	    e->valuedouble > (double)AUDIT_SEAL_MAX_EPOCH ||
	    len < MAC_TAIL + 2 ||
	    memcmp(line + len - MAC_TAIL, ",\"mac\":\"", 8) ||
	    memcmp(line + len - 2, "\"}", 2))
		return false;
	*ep = (uint64_t)e->valuedouble;
	*mac = line + len - MAC_TAIL + 8;
	return true;
}

int audit_seal_verify(const char *data, size_t size, const char *log_path,
		      const uint8_t vkey[static 32], bool anchored, FILE *out)
{
	struct audit_seal *st = NULL;
	uint8_t key[32];
	uint64_t epoch = 1, ep, first_ep = 1;
	size_t pos, n = 0, first = 0, sealed = 0;
	const char *mac;
	char want[65];
	int status = 1;

	audit_seal_key_at(vkey, 1, key);
	for (pos = 0; pos < size;) {
		const char *line = data + pos, *nl;
		size_t len;
		cJSON *j;

		nl = memchr(line, '\n', size - pos);
		len = nl ? (size_t)(nl - line) : size - pos;
		pos += len + 1;
		n++;
		j = cJSON_ParseWithLength(line, len);
		if (!j || !sealed_fields(line, len, j, &ep, &mac)) {
			cJSON_Delete(j);
			if (!first)
				continue;
			fprintf(out,
				"line %zu: not sealed inside the sealed "
				"log: inserted or edited\n",
				n);
			goto out;
		}
		if (!first && anchored && ep > 1) {
			/* Older epochs were in segments rotated away. */
			audit_seal_key_at(vkey, ep, key);
			epoch = ep;
		}
		if (!first) {
			first = n;
			first_ep = ep;
			if (ep != epoch) {
				fprintf(out,
					"line %zu: the sealed log begins in "
					"epoch %llu, not 1: its first epochs "
					"were removed (or the log replaced)\n",
					n, (unsigned long long)ep);
				cJSON_Delete(j);
				goto out;
			}
		}
		if (ep != epoch) {
			fprintf(out,
				ep > epoch ? "line %zu: epoch %llu begins "
					     "without epoch %llu's seal: lines "
					     "removed\n"
					   : "line %zu: epoch %llu after epoch "
					     "%llu: reordered or inserted\n",
				n, (unsigned long long)ep,
				(unsigned long long)epoch);
			cJSON_Delete(j);
			goto out;
		}
		audit_seal_mac(key, line, len - MAC_TAIL, want);
		if (sodium_memcmp(want, mac, 64)) {
			fprintf(out,
				"line %zu (epoch %llu): the MAC does not "
				"verify: edited, forged%s\n",
				n, (unsigned long long)epoch,
				sealed ? "" : ", or the wrong key");
			cJSON_Delete(j);
			goto out;
		}
		sealed++;
		const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
		const cJSON *ee = cJSON_GetObjectItemCaseSensitive(j, "epoch");
		if (cJSON_IsString(ev) &&
		    !strcmp(ev->valuestring, "epoch_end") &&
		    cJSON_IsNumber(ee) && ee->valuedouble == (double)epoch) {
			audit_seal_next_key(key);
			epoch++;
		}
		cJSON_Delete(j);
	}
	if (!first) {
		fprintf(out, "no sealed line: the log is not sealed, or its "
			     "sealed part was removed\n");
		goto out;
	}
	/* The writer's state anchors the tail: its key must be the one the
	 * verification key gives for its epoch, and the log must reach it. */
	int lr = audit_seal_load(log_path, &st);
	if (lr < 0 && lr != -ENOENT) {
		fprintf(out,
			"seal state next to the log: %s: edited, or not a "
			"seal state\n",
			lr == -EINVAL ? "malformed or an implausible epoch"
				      : strerror(-lr));
		goto out;
	}
	if (lr == 0) {
		uint8_t at[32];

		audit_seal_key_at(vkey, st->epoch, at);
		if (sodium_memcmp(at, st->key, 32)) {
			fprintf(out,
				"seal state %s: its key is not epoch "
				"%llu's: forged or another log's\n",
				st->path, (unsigned long long)st->epoch);
			sodium_memzero(at, sizeof(at));
			goto out;
		}
		sodium_memzero(at, sizeof(at));
		if (st->epoch != epoch) {
			fprintf(out,
				"end of log: it ends in epoch %llu but the "
				"writer has reached epoch %llu: lines removed "
				"from the end\n",
				(unsigned long long)epoch,
				(unsigned long long)st->epoch);
			goto out;
		}
	} else {
		fprintf(out, "note: no seal state next to the log: its end "
			     "is not checked\n");
	}
	fprintf(out,
		"sealed: lines %zu-%zu, epochs %llu-%llu verified (epoch %llu "
		"open)%s\n",
		first, n, (unsigned long long)first_ep,
		(unsigned long long)epoch, (unsigned long long)epoch,
		first > 1 ? "; earlier lines predate sealing" : "");
	status = 0;
out:
	sodium_memzero(key, sizeof(key));
	audit_seal_free(st);
	return status;
}
