/* audit: the tamper-evident JSON Lines log of every open and every change.
 *
 * A line is {"ts":...,"seq":N,"event":...,<fields>,"prev":HEX}: prev is the
 * SHA-256 of the previous line's bytes (without its newline), seq counts
 * from 1.  Each line goes out in one write(2) on an O_APPEND descriptor; a
 * short write (ENOSPC) is cut back with ftruncate so the file always ends
 * with a whole line and the chain goes on when space returns.
 *
 * Several processes may append (the daemon and a command run while it is
 * down or up): each write holds flock(LOCK_EX), and a writer that finds the
 * file grown by someone else continues from the new last line, but only
 * if its own last line is still there unchanged, otherwise it keeps its
 * own chain so the tampering shows in `audit verify`.
 *
 * Strings are forced to valid UTF-8 (U+FFFD for bad bytes) and cJSON
 * escapes control characters, so a hostile comm, exe or cmdline stays
 * inside one line and one JSON string.
 */
#include "access/audit.h"
#include "access/caller.h"
#include "access/policy.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define ZERO_HASH                                                              \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct audit {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *path;
	int fd;
	bool use_syslog;
	enum audit_sync sync;
	uint64_t seq;	/* seq of the last line */
	char prev[65];	/* hex SHA-256 of the last line */
	off_t size;	/* file size after the last whole line */
	off_t last_off; /* where our last line starts, -1 if unknown */
	uint64_t synced_seq;
	uint64_t failed_seq; /* lines up to here were hit by a failed sync */
	int failed_err;
	bool syncing;
	/* batch: a syncer thread makes written lines durable within
	 * AUDIT_BATCH_MS, one fdatasync for all of them. */
	pthread_t syncer;
	bool syncer_running;
	bool stopping;
	pthread_cond_t wake;
	int sync_err; /* last background fdatasync failure, 0 if none */
};

#define AUDIT_BATCH_MS 10

static void sha256_hex(const void *data, size_t len, char out[static 65])
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[64] = '\0';
}

static void format_ts(const struct timespec *ts, char out[static 32])
{
	struct tm tm;

	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ",
		 (unsigned)(ts->tv_nsec / 1000000) % 1000u);
}

static void format_time(time_t t, char out[static 32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A copy of s[0..len) with invalid UTF-8 replaced by U+FFFD (malloc'd),
 * or NULL if s is valid (the common case: nothing to copy). */
static char *utf8_fixed(const char *s, size_t len, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, n, j = 0;
	char *copy;

	for (i = 0; i < len; i += n)
		if (!(n = utf8_seq(u + i, len - i)))
			break;
	if (i >= len)
		return NULL;
	if (!(copy = malloc(len * 3 + 1)))
		return NULL;
	for (i = 0; i < len;) {
		n = utf8_seq(u + i, len - i);
		if (!n) {
			memcpy(copy + j, "\xef\xbf\xbd", 3);
			j += 3;
			i++;
		} else {
			memcpy(copy + j, s + i, n);
			j += n;
			i += n;
		}
	}
	copy[j] = '\0';
	*outlen = j;
	return copy;
}

static int make_parent(const char *path)
{
	char *dir = strdup(path), *p;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		goto out;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			r = -errno;
			goto out;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = -errno;
out:
	free(dir);
	return r;
}

/* A seq is a whole number that a double holds exactly. */
static bool seq_ok(const cJSON *seq)
{
	return cJSON_IsNumber(seq) && seq->valuedouble >= 1 &&
	       seq->valuedouble <= 9007199254740992.0 &&
	       seq->valuedouble == (double)(uint64_t)seq->valuedouble;
}

/* Reads the last whole line of fd (size bytes long, ending in '\n') into a
 * malloc'd buffer (no newline); *off = its offset. */
static int read_last_line(int fd, off_t size, char **line, size_t *len,
			  off_t *off)
{
	size_t chunk = 8192;
	char *buf = NULL, *nl;
	off_t start;
	ssize_t n;

	for (;;) {
		if ((off_t)chunk > size)
			chunk = (size_t)size;
		start = size - (off_t)chunk;
		free(buf);
		buf = malloc(chunk + 1);
		if (!buf)
			return -ENOMEM;
		n = pread(fd, buf, chunk, start);
		if (n < 0 || (size_t)n != chunk) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		/* buf[chunk-1] is the final '\n'. */
		buf[chunk - 1] = '\0';
		nl = memrchr(buf, '\n', chunk - 1);
		if (nl || start == 0) {
			size_t from = nl ? (size_t)(nl - buf) + 1 : 0;

			*len = chunk - 1 - from;
			memmove(buf, buf + from, *len + 1);
			*line = buf;
			*off = start + (off_t)from;
			return 0;
		}
		chunk *= 2;
	}
}

/* Loads seq/prev/size from the end of the file.  A torn last line (no
 * newline: a crash or power loss mid-write) is cut off; *torn says how
 * many bytes. */
static int load_tail(struct audit *a, size_t *torn, char *err, size_t errlen)
{
	struct stat st;
	off_t size, keep;
	char buf[4096];
	char *line = NULL;
	size_t len = 0;
	cJSON *j = NULL, *seq;
	int r;

	*torn = 0;
	if (fstat(a->fd, &st) < 0)
		return -errno;
	size = st.st_size;
	/* Find the last '\n'; anything after it is a torn line. */
	keep = size;
	while (keep > 0) {
		size_t want =
		    keep > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)keep;
		ssize_t n = pread(a->fd, buf, want, keep - (off_t)want);
		char *nl;

		if (n != (ssize_t)want)
			return n < 0 ? -errno : -EIO;
		nl = memrchr(buf, '\n', want);
		if (nl) {
			keep = keep - (off_t)want + (nl - buf) + 1;
			break;
		}
		keep -= (off_t)want;
	}
	if (keep != size) {
		if (ftruncate(a->fd, keep) < 0)
			return -errno;
		*torn = (size_t)(size - keep);
		size = keep;
	}
	a->size = size;
	if (size == 0) {
		a->seq = 0;
		memcpy(a->prev, ZERO_HASH, 65);
		a->last_off = -1;
		return 0;
	}
	if ((r = read_last_line(a->fd, size, &line, &len, &a->last_off)) < 0)
		return r;
	j = cJSON_ParseWithLength(line, len);
	seq = j ? cJSON_GetObjectItemCaseSensitive(j, "seq") : NULL;
	if (!seq_ok(seq)) {
		snprintf(err, errlen,
			 "audit log %s: last line is not an audit record "
			 "(see credfs audit verify)",
			 a->path);
		r = -EINVAL;
		goto out;
	}
	a->seq = (uint64_t)seq->valuedouble;
	sha256_hex(line, len, a->prev);
	r = 0;
out:
	cJSON_Delete(j);
	free(line);
	return r;
}

/* Under flock: if someone else appended since our last line, continue
 * from theirs, provided ours is still intact. */
static void resync_locked(struct audit *a)
{
	struct stat st;
	char hex[65];
	char *buf;
	size_t len, torn;
	ssize_t n;
	char dummy[8];

	if (fstat(a->fd, &st) < 0 || st.st_size == a->size)
		return;
	if (a->last_off >= 0 && a->size > a->last_off) {
		len = (size_t)(a->size - a->last_off);
		buf = malloc(len);
		if (!buf)
			return;
		n = pread(a->fd, buf, len, a->last_off);
		if (n == (ssize_t)len && len > 0 && buf[len - 1] == '\n')
			sha256_hex(buf, len - 1, hex);
		else
			hex[0] = '\0';
		free(buf);
		if (strcmp(hex, a->prev)) {
			/* Our line was altered: keep our chain, let verify
			 * show the break, and append from the new end. */
			a->size = st.st_size;
			a->last_off = -1;
			return;
		}
	}
	if (load_tail(a, &torn, dummy, sizeof(dummy)) < 0)
		a->size = st.st_size;
}

static void *syncer_main(void *arg);

int audit_open(const char *target, enum audit_sync sync, struct audit **out,
	       char *err, size_t errlen)
{
	struct audit *a = NULL;
	struct stat st;
	size_t torn = 0;
	bool created = false;
	char dummy[1];
	int r;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	*out = NULL;
	if (!target || !*target) {
		snprintf(err, errlen, "audit log: no target");
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_cond_init(&a->wake, NULL);
	a->fd = -1;
	a->sync = sync;
	a->last_off = -1;
	memcpy(a->prev, ZERO_HASH, 65);
	if (!strcmp(target, "syslog")) {
		a->use_syslog = true;
		openlog("credfs", LOG_PID, LOG_AUTHPRIV);
		*out = a;
		return 0;
	}
	a->path = strdup(target);
	if (!a->path) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = make_parent(target)) < 0) {
		snprintf(err, errlen,
			 "audit log %s: cannot create directory: %s", target,
			 strerror(-r));
		goto out;
	}
	a->fd = open(target, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (a->fd < 0 && errno == ENOENT) {
		a->fd = open(target,
			     O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
				 O_NOFOLLOW,
			     0600);
		created = a->fd >= 0;
	}
	if (a->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "audit log %s: %s", target, strerror(-r));
		goto out;
	}
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "audit log %s: not a regular file",
			 target);
		goto out;
	}
	if ((st.st_mode & 077) && fchmod(a->fd, 0600) < 0) {
		r = -errno;
		snprintf(err, errlen, "audit log %s: chmod 0600: %s", target,
			 strerror(-r));
		goto out;
	}
	if (created) {
		/* The new name must survive a crash too. */
		char *dir = strdup(target), *slash;
		int dfd;

		if (dir && (slash = strrchr(dir, '/'))) {
			*(slash == dir ? slash + 1 : slash) = '\0';
			dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
		free(dir);
	}
	flock(a->fd, LOCK_EX);
	r = load_tail(a, &torn, err, errlen);
	flock(a->fd, LOCK_UN);
	if (r < 0) {
		if (!err[0])
			snprintf(err, errlen, "audit log %s: %s", target,
				 strerror(-r));
		goto out;
	}
	a->synced_seq = a->seq;
	if (sync == AUDIT_SYNC_BATCH) {
		if ((r = -pthread_create(&a->syncer, NULL, syncer_main, a)) <
		    0) {
			snprintf(err, errlen, "audit log %s: syncer: %s",
				 target, strerror(-r));
			goto out;
		}
		a->syncer_running = true;
	}
	if (torn) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "reason",
					"torn last line removed at open");
		cJSON_AddNumberToObject(f, "bytes", (double)torn);
		if ((r = audit_event(a, "integrity", f)) < 0) {
			snprintf(err, errlen, "audit log %s: %s", target,
				 strerror(-r));
			goto out;
		}
	}
	*out = a;
	a = NULL; /* transferred */
	r = 0;
out:
	audit_close(a);
	return r;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	if (a->syncer_running) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_broadcast(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->syncer, NULL);
	}
	pthread_cond_destroy(&a->wake);
	if (a->fd >= 0) {
		if (a->sync != AUDIT_SYNC_NONE)
			fdatasync(a->fd);
		close(a->fd);
	}
	if (a->use_syslog)
		closelog();
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}

/* Background group commit: every AUDIT_BATCH_MS, one fdatasync covers
 * every line written since the last.  A line is written (in the kernel,
 * surviving a daemon crash) before its open is served, and durable on disk
 * within AUDIT_BATCH_MS; `always` waits for the disk on every line. */
static void *syncer_main(void *arg)
{
	struct audit *a = arg;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += AUDIT_BATCH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->wake, &a->lock, &ts);
		if (a->synced_seq >= a->seq || a->syncing)
			continue;
		uint64_t target = a->seq;
		a->syncing = true;
		pthread_mutex_unlock(&a->lock);
		int r = fdatasync(a->fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&a->lock);
		a->syncing = false;
		if (r < 0) {
			a->sync_err = -r;
		} else {
			a->sync_err = 0;
			if (target > a->synced_seq)
				a->synced_seq = target;
		}
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Group commit: returns once line seq is on disk.  One thread syncs for
 * everyone written so far; the others wait for it. */
static int sync_batch(struct audit *a, uint64_t seq)
{
	int r = 0;

	pthread_mutex_lock(&a->lock);
	while (a->synced_seq < seq) {
		if (a->failed_seq >= seq) {
			r = -a->failed_err;
			break;
		}
		if (a->syncing) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		uint64_t target = a->seq;

		a->syncing = true;
		pthread_mutex_unlock(&a->lock);
		r = fdatasync(a->fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&a->lock);
		a->syncing = false;
		/* An fdatasync error is reported once per file: every line
		 * it covered must report it, not only ours. */
		if (r < 0) {
			a->failed_seq = target;
			a->failed_err = -r;
		} else if (target > a->synced_seq) {
			a->synced_seq = target;
		}
		pthread_cond_broadcast(&a->cond);
		if (r < 0)
			break;
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

static bool event_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* Writes one line: body (the inside of a JSON object, no braces, may be
 * empty) between the header and prev. */
static int emit_body(struct audit *a, const char *event, const char *body,
		     size_t bodylen, int priority)
{
	struct timespec now;
	char ts[32], stackline[4096];
	char *line = stackline;
	size_t cap, len;
	uint64_t seq = 0;
	ssize_t n;
	int r;

	if (!event_name_ok(event))
		return -EINVAL;
	cap = bodylen + strlen(event) + 200;
	if (cap > sizeof(stackline) && !(line = malloc(cap)))
		return -ENOMEM;

	pthread_mutex_lock(&a->lock);
	if (!a->use_syslog) {
		flock(a->fd, LOCK_EX);
		resync_locked(a);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	format_ts(&now, ts);
	seq = a->seq + 1;
	len = (size_t)snprintf(line, cap,
			       "{\"ts\":\"%s\",\"seq\":%llu,"
			       "\"event\":\"%s\"%s%.*s,\"prev\":\"%s\"}",
			       ts, (unsigned long long)seq, event,
			       bodylen ? "," : "", (int)bodylen, body, a->prev);
	if (a->use_syslog) {
		syslog(priority, "%s", line);
	} else {
		line[len] = '\n';
		n = write(a->fd, line, len + 1);
		if (n != (ssize_t)(len + 1)) {
			r = n < 0 ? -errno : -ENOSPC;
			/* Never leave half a line: it would break the chain
			 * for every line after it. */
			if (n > 0 && ftruncate(a->fd, a->size) < 0) {
				/* The next resync cuts it at the newline. */
				a->size = -1;
			}
			flock(a->fd, LOCK_UN);
			pthread_mutex_unlock(&a->lock);
			goto out;
		}
		a->last_off = a->size;
		a->size += (off_t)(len + 1);
		flock(a->fd, LOCK_UN);
	}
	a->seq = seq;
	sha256_hex(line, len, a->prev);
	pthread_mutex_unlock(&a->lock);

	r = 0;
	if (a->use_syslog || a->sync == AUDIT_SYNC_NONE)
		goto out;
	if (a->sync == AUDIT_SYNC_ALWAYS) {
		r = fdatasync(a->fd) < 0 ? -errno : 0;
	} else if (!a->syncer_running) {
		r = sync_batch(a, seq);
	} else {
		/* The disk refused the last background sync: this line
		 * waits for a sync of its own, and fails if that fails. */
		pthread_mutex_lock(&a->lock);
		int pending = a->sync_err;
		pthread_mutex_unlock(&a->lock);
		if (pending)
			r = sync_batch(a, seq);
		if (r == 0 && pending) {
			pthread_mutex_lock(&a->lock);
			a->sync_err = 0;
			pthread_mutex_unlock(&a->lock);
		}
	}
out:
	if (line != stackline)
		free(line);
	return r;
}

/* A cJSON object's members as one line (fields owned). */
static int emit(struct audit *a, const char *event, cJSON *fields, int priority)
{
	static const char *const reserved[] = {"ts", "seq", "event", "prev"};
	char *body;
	size_t bodylen, i;
	int r;

	if (!event_name_ok(event)) {
		cJSON_Delete(fields);
		return -EINVAL;
	}
	if (!fields)
		fields = cJSON_CreateObject();
	if (!fields)
		return -ENOMEM;
	if (!cJSON_IsObject(fields)) {
		cJSON_Delete(fields);
		return -EINVAL;
	}
	/* The header's keys are ours alone (cJSON allows duplicates). */
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		while (cJSON_GetObjectItemCaseSensitive(fields, reserved[i]))
			cJSON_DeleteItemFromObjectCaseSensitive(fields,
								reserved[i]);
	body = cJSON_PrintUnformatted(fields);
	cJSON_Delete(fields);
	if (!body)
		return -ENOMEM;
	bodylen = strlen(body);
	/* "{...}": keep the inside. */
	if (bodylen < 2) {
		cJSON_free(body);
		return -EINVAL;
	}
	/* Provider messages and names may hold any bytes: the line stays
	 * valid UTF-8 JSON (invalid bytes only occur inside strings). */
	size_t fixedlen = 0;
	char *fixed = utf8_fixed(body + 1, bodylen - 2, &fixedlen);
	r = fixed ? emit_body(a, event, fixed, fixedlen, priority)
		  : emit_body(a, event, body + 1, bodylen - 2, priority);
	free(fixed);
	cJSON_free(body);
	return r;
}

/* ---- the open event, written directly: it is on every open's path ---- */

struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
	bool first;
	char stack[3072];
};

static void jb_raw(struct jbuf *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap * 2;
		while (cap < j->len + n + 1)
			cap *= 2;
		char *np = j->p == j->stack ? malloc(cap) : realloc(j->p, cap);
		if (!np) {
			j->oom = true;
			return;
		}
		if (j->p == j->stack)
			memcpy(np, j->stack, j->len);
		j->p = np;
		j->cap = cap;
	}
	memcpy(j->p + j->len, s, n);
	j->len += n;
}

static void jb_key(struct jbuf *j, const char *key)
{
	if (!j->first)
		jb_raw(j, ",", 1);
	j->first = false;
	jb_raw(j, "\"", 1);
	jb_raw(j, key, strlen(key));
	jb_raw(j, "\":", 2);
}

/* A JSON string as cJSON escapes it, invalid UTF-8 as U+FFFD. */
static void jb_str(struct jbuf *j, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, i, run;

	if (!s) {
		jb_raw(j, "null", 4);
		return;
	}
	len = strlen(s);
	jb_raw(j, "\"", 1);
	for (i = 0; i < len;) {
		for (run = i; run < len && u[run] >= 0x20 && u[run] < 0x80 &&
			      u[run] != '"' && u[run] != '\\';
		     run++)
			;
		jb_raw(j, s + i, run - i);
		i = run;
		if (i >= len)
			break;
		if (u[i] >= 0x80) {
			size_t n = utf8_seq(u + i, len - i);
			if (n)
				jb_raw(j, s + i, n);
			else
				jb_raw(j, "\xef\xbf\xbd", 3);
			i += n ? n : 1;
			continue;
		}
		char esc[8];
		switch (u[i]) {
		case '"':
			jb_raw(j, "\\\"", 2);
			break;
		case '\\':
			jb_raw(j, "\\\\", 2);
			break;
		case '\b':
			jb_raw(j, "\\b", 2);
			break;
		case '\f':
			jb_raw(j, "\\f", 2);
			break;
		case '\n':
			jb_raw(j, "\\n", 2);
			break;
		case '\r':
			jb_raw(j, "\\r", 2);
			break;
		case '\t':
			jb_raw(j, "\\t", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			jb_raw(j, esc, 6);
		}
		i++;
	}
	jb_raw(j, "\"", 1);
}

static void jb_kstr(struct jbuf *j, const char *key, const char *s)
{
	jb_key(j, key);
	jb_str(j, s);
}

static void jb_kint(struct jbuf *j, const char *key, long long v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", v);
	jb_key(j, key);
	jb_raw(j, buf, (size_t)n);
}

static void jb_knull(struct jbuf *j, const char *key)
{
	jb_key(j, key);
	jb_raw(j, "null", 4);
}

static void jb_kstrs(struct jbuf *j, const char *key, const char *const *v,
		     size_t n)
{
	jb_key(j, key);
	jb_raw(j, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			jb_raw(j, ",", 1);
		jb_str(j, v[i]);
	}
	jb_raw(j, "]", 1);
}

int audit_event(struct audit *a, const char *event, cJSON *fields)
{
	if (!a) {
		cJSON_Delete(fields);
		return 0;
	}
	return emit(a, event, fields, LOG_INFO);
}

int audit_open_event(struct audit *a, const char *file,
		     const char *const *profiles, size_t nprofiles,
		     const struct caller *c, const struct policy_decision *d,
		     const char *const *key_ids, size_t nkeys, time_t expires)
{
	bool allow = d && d->allow;
	bool known = c && c->pid > 0;
	struct jbuf j = {.first = true};
	char buf[32];
	size_t i;
	int r;

	if (!a)
		return 0;
	j.p = j.stack;
	j.cap = sizeof(j.stack);
	jb_kstr(&j, "file", file);
	jb_kstrs(&j, "profiles", profiles, nprofiles);
	jb_kstr(&j, "decision", allow ? "allow" : "deny");
	jb_kstr(&j, "rule", d ? d->rule : "no decision");
	if (d && d->line)
		jb_kint(&j, "line", d->line);
	if (known)
		jb_kint(&j, "pid", c->pid);
	else
		jb_knull(&j, "pid");
	if (c) {
		jb_kint(&j, "tid", c->tid);
		jb_kint(&j, "uid", c->uid);
		jb_kint(&j, "gid", c->gid);
	} else {
		jb_knull(&j, "tid");
		jb_knull(&j, "uid");
		jb_knull(&j, "gid");
	}
	jb_kstr(&j, "exe", known ? c->exe : NULL);
	if (known && c->exe_deleted) {
		jb_key(&j, "exe_deleted");
		jb_raw(&j, "true", 4);
	}
	jb_kstr(&j, "comm", known ? c->comm : NULL);
	jb_kstr(&j, "cmdline",
		known && (c->have & CALLER_NEED_CMDLINE) ? c->cmdline : NULL);
	jb_kstr(&j, "cgroup",
		known && (c->have & CALLER_NEED_CGROUP) ? c->cgroup : NULL);
	if (known && (c->have & CALLER_NEED_ANCESTORS)) {
		const char *anc[CALLER_MAX_ANCESTORS];

		for (i = 0; i < c->nancestors && i < CALLER_MAX_ANCESTORS; i++)
			anc[i] = c->ancestors[i];
		jb_kstrs(&j, "ancestors", anc, i);
	}
	if (known && c->tracer)
		jb_kint(&j, "tracer", c->tracer);
	jb_kstrs(&j, "key_ids", key_ids, nkeys);
	if (expires > 0) {
		format_time(expires, buf);
		jb_kstr(&j, "expires", buf);
	} else {
		jb_knull(&j, "expires");
	}
	r = j.oom ? -ENOMEM
		  : emit_body(a, "open", j.p, j.len,
			      allow ? LOG_INFO : LOG_WARNING);
	if (j.p != j.stack)
		free(j.p);
	return r;
}

/* ---- reading the log back ---- */

struct logmap {
	char *data;
	size_t size;
	int fd;
};

/* The commands read a file; a syslog target has none. */
static bool is_syslog(const char *path, FILE *out)
{
	if (path && strcmp(path, "syslog"))
		return false;
	fprintf(out, "credfs: audit_log = syslog: the lines are in the journal "
		     "(journalctl -t credfs -o cat > FILE, then run this on "
		     "FILE)\n");
	return true;
}

static int map_log(const char *path, struct logmap *m, FILE *out)
{
	struct stat st;

	m->data = NULL;
	m->size = 0;
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0 || fstat(m->fd, &st) < 0) {
		fprintf(out, "credfs: audit log %s: %s\n", path,
			strerror(errno));
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		return -1;
	}
	m->size = (size_t)st.st_size;
	if (m->size) {
		m->data = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, m->fd, 0);
		if (m->data == MAP_FAILED) {
			fprintf(out, "credfs: audit log %s: %s\n", path,
				strerror(errno));
			close(m->fd);
			m->fd = -1;
			m->data = NULL;
			return -1;
		}
	}
	return 0;
}

static void unmap_log(struct logmap *m)
{
	if (m->data)
		munmap(m->data, m->size);
	if (m->fd >= 0)
		close(m->fd);
}

struct vline {
	const char *s;
	size_t len;
	bool parsed, valid;
	uint64_t seq;
	char prev[65];
	char hash[65];
	bool hashed;
};

static void vline_parse(struct vline *l)
{
	cJSON *j, *seq, *prev, *ts, *ev;

	if (l->parsed)
		return;
	l->parsed = true;
	j = cJSON_ParseWithLength(l->s, l->len);
	seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
	prev = cJSON_GetObjectItemCaseSensitive(j, "prev");
	ts = cJSON_GetObjectItemCaseSensitive(j, "ts");
	ev = cJSON_GetObjectItemCaseSensitive(j, "event");
	if (cJSON_IsObject(j) && seq_ok(seq) && cJSON_IsString(prev) &&
	    strlen(prev->valuestring) == 64 && cJSON_IsString(ts) &&
	    cJSON_IsString(ev)) {
		l->valid = true;
		l->seq = (uint64_t)seq->valuedouble;
		memcpy(l->prev, prev->valuestring, 65);
	}
	cJSON_Delete(j);
}

static const char *vline_hash(struct vline *l)
{
	if (!l->hashed) {
		sha256_hex(l->s, l->len, l->hash);
		l->hashed = true;
	}
	return l->hash;
}

int audit_cmd_verify(const char *path, FILE *out)
{
	struct logmap m;
	struct vline *lines = NULL, *tmp;
	size_t n = 0, cap = 0, i, k, pos;
	int status = 1;

	if (is_syslog(path, out) || map_log(path, &m, out) < 0)
		return 1;
	for (pos = 0; pos < m.size;) {
		const char *nl = memchr(m.data + pos, '\n', m.size - pos);

		if (!nl) {
			fprintf(out,
				"line %zu: incomplete (no newline): the log "
				"was cut mid-line\n",
				n + 1);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			tmp = realloc(lines, cap * sizeof(*lines));
			if (!tmp) {
				fprintf(out, "credfs: out of memory\n");
				goto out;
			}
			lines = tmp;
		}
		memset(&lines[n], 0, sizeof(lines[n]));
		lines[n].s = m.data + pos;
		lines[n].len = (size_t)(nl - (m.data + pos));
		n++;
		pos = (size_t)(nl - m.data) + 1;
	}

	for (i = 0; i < n; i++) {
		struct vline *l = &lines[i];
		uint64_t want_seq;
		const char *want_prev;

		vline_parse(l);
		if (!l->valid) {
			fprintf(out,
				"line %zu: not a valid audit record (edited or "
				"corrupted)\n",
				i + 1);
			goto out;
		}
		want_seq = i ? lines[i - 1].seq + 1 : 1;
		want_prev = i ? vline_hash(&lines[i - 1]) : ZERO_HASH;
		if (l->seq != want_seq) {
			if (i == 0) {
				fprintf(out,
					"line 1: chain starts at seq %llu, "
					"not 1: earlier lines removed\n",
					(unsigned long long)l->seq);
				goto out;
			}
			/* The next line carries on as if this one had the
			 * right seq: this line's seq was edited. */
			if (i + 1 < n) {
				vline_parse(&lines[i + 1]);
				if (lines[i + 1].valid &&
				    lines[i + 1].seq == want_seq + 1) {
					fprintf(out,
						"line %zu: edited: seq %llu "
						"where %llu belongs\n",
						i + 1,
						(unsigned long long)l->seq,
						(unsigned long long)want_seq);
					goto out;
				}
			}
			/* The missing seq further on means reordered. */
			for (k = i + 1; k < n && k < i + 4096; k++) {
				vline_parse(&lines[k]);
				if (lines[k].valid && lines[k].seq == want_seq)
					break;
			}
			if (k < n && k < i + 4096)
				fprintf(out,
					"line %zu: out of order: seq %llu "
					"after seq %llu, seq %llu is at line "
					"%zu (lines reordered)\n",
					i + 1, (unsigned long long)l->seq,
					(unsigned long long)lines[i - 1].seq,
					(unsigned long long)want_seq, k + 1);
			else if (l->seq > want_seq)
				fprintf(
				    out,
				    "line %zu: seq jumps from %llu to "
				    "%llu: %llu line(s) removed before "
				    "it\n",
				    i + 1, (unsigned long long)lines[i - 1].seq,
				    (unsigned long long)l->seq,
				    (unsigned long long)(l->seq - want_seq));
			else
				fprintf(out,
					"line %zu: seq %llu after seq %llu: "
					"lines reordered or duplicated\n",
					i + 1, (unsigned long long)l->seq,
					(unsigned long long)lines[i - 1].seq);
			goto out;
		}
		if (strcmp(l->prev, want_prev)) {
			if (i == 0) {
				fprintf(out,
					"line 1: prev is not the chain start "
					"(edited)\n");
				goto out;
			}
			/* Line i-1's bytes differ from what line i recorded.
			 * If line i itself is intact (i+1 agrees with it),
			 * line i-1 was edited; if i+1 disagrees too, line
			 * i's own prev field was altered. */
			if (i + 1 < n) {
				vline_parse(&lines[i + 1]);
				if (lines[i + 1].valid &&
				    !strcmp(lines[i + 1].prev, vline_hash(l)))
					fprintf(out,
						"line %zu: edited: its hash "
						"does not match the prev "
						"recorded by line %zu\n",
						i, i + 1);
				else
					fprintf(out,
						"line %zu: edited: its prev "
						"does not match line %zu\n",
						i + 1, i);
			} else {
				fprintf(out,
					"line %zu: edited (or line %zu's prev "
					"altered): hash does not match\n",
					i, i + 1);
			}
			goto out;
		}
	}
	fprintf(out, "OK: %zu lines, chain intact\n", n);
	status = 0;
out:
	free(lines);
	unmap_log(&m);
	return status;
}

/* Copies s for a terminal: control characters become '?'. */
static void term_safe(const char *s, char *out, size_t outlen)
{
	size_t i;

	if (!outlen)
		return;
	for (i = 0; s && s[i] && i + 1 < outlen; i++)
		out[i] =
		    ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	out[i] = '\0';
}

static const char *jstr(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A log is untrusted input: a number out of range is not cast. */
static long long to_ll(double v, long long dflt)
{
	return v > -9e18 && v < 9e18 ? (long long)v : dflt;
}

static long long jnum(const cJSON *j, const char *key, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsNumber(v) ? to_ll(v->valuedouble, dflt) : dflt;
}

static void print_human(const char *line, size_t len, FILE *out)
{
	char a[64], b[PATH_MAX], c[PATH_MAX], d[512];
	const char *ev;
	cJSON *j, *it;

	j = cJSON_ParseWithLength(line, len);
	if (!j) {
		fprintf(out, "(unparsable line)\n");
		return;
	}
	ev = jstr(j, "event");
	term_safe(jstr(j, "ts"), a, sizeof(a));
	fprintf(out, "%s %s", a[0] ? a : "-", ev ? ev : "?");
	if (ev && !strcmp(ev, "open")) {
		term_safe(jstr(j, "file"), b, sizeof(b));
		term_safe(jstr(j, "exe"), c, sizeof(c));
		term_safe(jstr(j, "rule"), d, sizeof(d));
		fprintf(out, " %s %s %s pid=%lld uid=%lld rule=\"%s\"",
			jstr(j, "decision") ? jstr(j, "decision") : "?", b,
			c[0] ? c : "-", jnum(j, "pid", -1), jnum(j, "uid", -1),
			d);
	} else {
		cJSON_ArrayForEach(it, j)
		{
			if (!it->string || !strcmp(it->string, "ts") ||
			    !strcmp(it->string, "seq") ||
			    !strcmp(it->string, "event") ||
			    !strcmp(it->string, "prev"))
				continue;
			if (cJSON_IsString(it)) {
				term_safe(it->valuestring, d, sizeof(d));
				fprintf(out, " %s=%s", it->string, d);
			} else if (cJSON_IsNumber(it)) {
				fprintf(out, " %s=%lld", it->string,
					to_ll(it->valuedouble, 0));
			} else if (cJSON_IsBool(it)) {
				fprintf(out, " %s=%s", it->string,
					cJSON_IsTrue(it) ? "yes" : "no");
			}
		}
	}
	fputc('\n', out);
	cJSON_Delete(j);
}

int audit_cmd_tail(const char *path, bool follow, FILE *out)
{
	char *buf = NULL, *tmp, *nl, *start;
	size_t cap = 65536, len = 0;
	struct stat st, pst;
	off_t off = 0;
	ssize_t n;
	int fd, status = 1;

	if (is_syslog(path, out))
		return 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(out, "credfs: audit log %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	buf = malloc(cap);
	if (!buf)
		goto out;
	for (;;) {
		if (len == cap) {
			tmp = realloc(buf, cap * 2);
			if (!tmp)
				goto out;
			buf = tmp;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(out, "credfs: audit log %s: %s\n", path,
				strerror(errno));
			goto out;
		}
		if (n > 0) {
			off += n;
			len += (size_t)n;
			start = buf;
			while ((nl = memchr(start, '\n',
					    len - (size_t)(start - buf)))) {
				print_human(start, (size_t)(nl - start), out);
				start = nl + 1;
			}
			len -= (size_t)(start - buf);
			memmove(buf, start, len);
			fflush(out);
			continue;
		}
		if (!follow)
			break;
		poll(NULL, 0, 200);
		/* Truncated or replaced (rotation): start over. */
		if (fstat(fd, &st) == 0 &&
		    (st.st_size < off ||
		     (stat(path, &pst) == 0 && pst.st_ino != st.st_ino))) {
			int nfd = open(path, O_RDONLY | O_CLOEXEC);

			if (nfd >= 0) {
				close(fd);
				fd = nfd;
			}
			off = 0;
			len = 0;
		}
	}
	status = 0;
out:
	free(buf);
	close(fd);
	return status;
}

/* ---- report ---- */

/* "2026-01-02T03:04:05.678Z" (or +HH:MM offset) -> ms since the epoch. */
static int parse_rfc3339(const char *s, long long *ms)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, consumed = 0, oh = 0, om = 0;
	long long frac = 0, scale = 1000;
	const char *p;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
			 &sec, &consumed) != 6)
		return -EINVAL;
	p = s + consumed;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return -EINVAL;
		oh *= sign;
		om *= sign;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = ((long long)t - oh * 3600LL - om * 60LL) * 1000 + frac;
	return 0;
}

static int parse_since(const char *s, long long *ms)
{
	struct timespec now;
	char *end;
	double v;
	long long mult;

	if (parse_rfc3339(s, ms) == 0)
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (!strcmp(end, "s"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (!strcmp(end, "d"))
		mult = 86400;
	else
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &now);
	*ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 -
	      (long long)(v * (double)mult * 1000);
	return 0;
}

struct tally {
	char **name;
	unsigned *count;
	size_t n;
};

static void tally_add(struct tally *t, const char *name)
{
	char **nn;
	unsigned *nc;
	size_t i;

	if (!name)
		name = "-";
	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->name[i], name)) {
			t->count[i]++;
			return;
		}
	}
	nn = realloc(t->name, (t->n + 1) * sizeof(*nn));
	if (!nn)
		return;
	t->name = nn;
	nc = realloc(t->count, (t->n + 1) * sizeof(*nc));
	if (!nc)
		return;
	t->count = nc;
	t->name[t->n] = strdup(name);
	if (!t->name[t->n])
		return;
	t->count[t->n++] = 1;
}

static bool tally_has(const struct tally *t, const char *name)
{
	size_t i;

	for (i = 0; name && i < t->n; i++)
		if (!strcmp(t->name[i], name))
			return true;
	return false;
}

static void tally_print(const struct tally *t, const char *label, FILE *out)
{
	char safe[PATH_MAX];
	size_t i;

	fprintf(out, "  %s:", label);
	for (i = 0; i < t->n; i++) {
		term_safe(t->name[i], safe, sizeof(safe));
		fprintf(out, "%s %s (%u)", i ? "," : "", safe, t->count[i]);
	}
	fprintf(out, "%s\n", t->n ? "" : " -");
}

static void tally_free(struct tally *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->name[i]);
	free(t->name);
	free(t->count);
}

struct keyagg {
	char *id;
	char first[40], last[40];
	long long first_ms, last_ms;
	unsigned reads;
	struct tally exes, uids, cgroups, files, pids;
};

struct denial {
	long long ms;
	char ts[40];
	char *file, *exe, *rule;
	long long uid, pid;
};

int audit_cmd_report(const char *path, const char *key_id, const char *since,
		     FILE *out)
{
	struct logmap m;
	struct keyagg *keys = NULL, *kt;
	struct denial *den = NULL, *dt;
	size_t nkeys = 0, nden = 0, pos, i, k;
	long long since_ms = 0, ms;
	unsigned opens = 0, denials = 0;
	char num[32], safe[PATH_MAX];
	int status = 1;

	if (since && parse_since(since, &since_ms) < 0) {
		fprintf(out,
			"credfs: audit report: since '%s' is neither RFC 3339 "
			"nor a duration (24h, 30m, 7d)\n",
			since);
		return 2;
	}
	if (is_syslog(path, out) || map_log(path, &m, out) < 0)
		return 1;
	for (pos = 0; pos < m.size;) {
		const char *line = m.data + pos;
		const char *nl = memchr(line, '\n', m.size - pos);
		size_t len = nl ? (size_t)(nl - line) : m.size - pos;
		const cJSON *ids, *id;
		const char *ev, *ts, *dec;
		cJSON *j;

		pos += len + 1;
		j = cJSON_ParseWithLength(line, len);
		ev = jstr(j, "event");
		ts = jstr(j, "ts");
		if (!j || !ev || strcmp(ev, "open") || !ts ||
		    parse_rfc3339(ts, &ms) < 0 || ms < since_ms) {
			cJSON_Delete(j);
			continue;
		}
		opens++;
		dec = jstr(j, "decision");
		if (!dec || strcmp(dec, "allow")) {
			denials++;
			dt = realloc(den, (nden + 1) * sizeof(*den));
			if (dt) {
				den = dt;
				den[nden].ms = ms;
				snprintf(den[nden].ts, sizeof(den[nden].ts),
					 "%s", ts);
				den[nden].file = strdup(
				    jstr(j, "file") ? jstr(j, "file") : "-");
				den[nden].exe = strdup(
				    jstr(j, "exe") ? jstr(j, "exe") : "-");
				den[nden].rule = strdup(
				    jstr(j, "rule") ? jstr(j, "rule") : "-");
				den[nden].uid = jnum(j, "uid", -1);
				den[nden].pid = jnum(j, "pid", -1);
				nden++;
			}
			cJSON_Delete(j);
			continue;
		}
		ids = cJSON_GetObjectItemCaseSensitive(j, "key_ids");
		cJSON_ArrayForEach(id, ids)
		{
			if (!cJSON_IsString(id) ||
			    (key_id && strcmp(key_id, id->valuestring)))
				continue;
			for (k = 0; k < nkeys; k++)
				if (!strcmp(keys[k].id, id->valuestring))
					break;
			if (k == nkeys) {
				kt = realloc(keys, (nkeys + 1) * sizeof(*keys));
				if (!kt)
					continue;
				keys = kt;
				memset(&keys[k], 0, sizeof(keys[k]));
				keys[k].id = strdup(id->valuestring);
				keys[k].first_ms = ms;
				snprintf(keys[k].first, sizeof(keys[k].first),
					 "%s", ts);
				nkeys++;
			}
			kt = &keys[k];
			if (ms < kt->first_ms) {
				kt->first_ms = ms;
				snprintf(kt->first, sizeof(kt->first), "%s",
					 ts);
			}
			if (ms >= kt->last_ms) {
				kt->last_ms = ms;
				snprintf(kt->last, sizeof(kt->last), "%s", ts);
			}
			kt->reads++;
			tally_add(&kt->exes, jstr(j, "exe"));
			snprintf(num, sizeof(num), "%lld", jnum(j, "uid", -1));
			tally_add(&kt->uids, num);
			tally_add(&kt->cgroups, jstr(j, "cgroup"));
			tally_add(&kt->files, jstr(j, "file"));
			snprintf(num, sizeof(num), "%lld", jnum(j, "pid", -1));
			tally_add(&kt->pids, num);
		}
		cJSON_Delete(j);
	}

	fprintf(out, "%u opens, %u denied%s%s\n", opens, denials,
		since ? " since " : "", since ? since : "");
	if (key_id && !nkeys) {
		term_safe(key_id, safe, sizeof(safe));
		fprintf(out, "key %s: never served in this log\n", safe);
	}
	for (k = 0; k < nkeys; k++) {
		unsigned nd = 0;

		kt = &keys[k];
		term_safe(kt->id, safe, sizeof(safe));
		fprintf(out, "\nkey %s\n", safe);
		fprintf(out, "  first seen: %s\n  last seen:  %s\n", kt->first,
			kt->last);
		fprintf(out, "  reads: %u by %zu process(es)\n", kt->reads,
			kt->pids.n);
		tally_print(&kt->exes, "executables", out);
		tally_print(&kt->uids, "uids", out);
		tally_print(&kt->cgroups, "cgroups", out);
		tally_print(&kt->files, "files", out);
		for (i = 0; i < nden; i++)
			if (den[i].ms >= kt->first_ms &&
			    den[i].ms <= kt->last_ms &&
			    tally_has(&kt->files, den[i].file))
				nd++;
		fprintf(out, "  denials on these files while served: %u\n", nd);
		for (i = 0; i < nden; i++) {
			char e[PATH_MAX], r[512], f[PATH_MAX];

			if (den[i].ms < kt->first_ms ||
			    den[i].ms > kt->last_ms ||
			    !tally_has(&kt->files, den[i].file))
				continue;
			term_safe(den[i].file, f, sizeof(f));
			term_safe(den[i].exe, e, sizeof(e));
			term_safe(den[i].rule, r, sizeof(r));
			fprintf(out, "    %s %s %s pid=%lld uid=%lld (%s)\n",
				den[i].ts, f, e, den[i].pid, den[i].uid, r);
		}
	}
	status = 0;

	for (k = 0; k < nkeys; k++) {
		free(keys[k].id);
		tally_free(&keys[k].exes);
		tally_free(&keys[k].uids);
		tally_free(&keys[k].cgroups);
		tally_free(&keys[k].files);
		tally_free(&keys[k].pids);
	}
	free(keys);
	for (i = 0; i < nden; i++) {
		free(den[i].file);
		free(den[i].exe);
		free(den[i].rule);
	}
	free(den);
	unmap_log(&m);
	return status;
}
