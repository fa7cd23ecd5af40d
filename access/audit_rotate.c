/* audit_rotate: the log in segments (see audit.h, struct audit_opts).
 *
 * Under the writer's lock and flock lease: the current file gets a
 * "segment_end" line, is fdatasync'd and renamed "<log>.seg-NNNNNN" (never
 * over an existing file), and a new file is created at the log's name with
 * the lease taken on it before the old one is let go, so another writer
 * waiting on the old file follows (audit_reopen_if_replaced sees its file
 * renamed to a segment).  The new file's first line, "segment_start",
 * continues the chain (its prev is the segment_end's hash) and names the
 * segment it follows and the anchor: the oldest segment kept.  The chain
 * pins every kept line backwards from the newest, so the anchor is all
 * `audit verify` needs to tell segments removed by audit_keep (before the
 * anchor) from segments removed by someone else (missing at or after it).
 * A sealed log ends the epoch right after the header, so the anchor is
 * MAC'd under a key the machine no longer holds.
 *
 * Rotated segments may be compressed by gzip (FILE.gz); verify reads them
 * through `gzip -dc`.  The writer never reads them: the anchor is a number.
 */
#include "access/audit_int.h"
#include "access/audit_seal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

#define SEG_INFIX ".seg-"
#define ROTATE_RETRY_MS 60000 /* after a failed rename or create */
#define FREE_FLOOR (64LL << 20)

void audit_set_opts(struct audit *a, const struct audit_opts *o)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->opts = *o;
	pthread_mutex_unlock(&a->lock);
}

int audit_segment_path(const char *log, unsigned long long k, char *out,
		       size_t len)
{
	int n = snprintf(out, len, "%s" SEG_INFIX "%06llu", log, k);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

unsigned long long audit_segment_number(const char *logbase, const char *name)
{
	size_t bl = strlen(logbase), il = strlen(SEG_INFIX);
	unsigned long long k = 0;
	const char *p;

	if (strncmp(name, logbase, bl) || strncmp(name + bl, SEG_INFIX, il))
		return 0;
	p = name + bl + il;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (k > 1000000000000ULL)
			return 0;
		k = k * 10 + (unsigned long long)(*p - '0');
	}
	return !*p || !strcmp(p, ".gz") ? k : 0;
}

/* The lowest and highest segment numbers beside the log (0 if none). */
static void scan_segments(const char *log, unsigned long long *lo,
			  unsigned long long *hi)
{
	char dir[PATH_MAX], *slash;
	const char *base;
	struct dirent *d;
	DIR *dp;

	*lo = *hi = 0;
	snprintf(dir, sizeof(dir), "%s", log);
	slash = strrchr(dir, '/');
	if (slash) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		base = log + (slash - dir) + 1;
	} else {
		snprintf(dir, sizeof(dir), ".");
		base = log;
	}
	if (!(dp = opendir(dir)))
		return;
	while ((d = readdir(dp))) {
		unsigned long long k = audit_segment_number(base, d->d_name);

		if (!k)
			continue;
		if (!*lo || k < *lo)
			*lo = k;
		if (k > *hi)
			*hi = k;
	}
	closedir(dp);
}

void audit_read_head(struct audit *a)
{
	char buf[4096], *nl;
	ssize_t n = pread(a->fd, buf, sizeof(buf) - 1, 0);
	const cJSON *ev, *seg, *anc, *ts;
	unsigned long long lo, hi;
	time_t t;
	cJSON *j = NULL;

	a->segment = a->anchor = 0;
	a->seg_began = time(NULL);
	if (n > 0 && (nl = memchr(buf, '\n', (size_t)n)))
		j = cJSON_ParseWithLength(buf, (size_t)(nl - buf));
	ev = cJSON_GetObjectItemCaseSensitive(j, "event");
	seg = cJSON_GetObjectItemCaseSensitive(j, "segment");
	anc = cJSON_GetObjectItemCaseSensitive(j, "anchor");
	ts = cJSON_GetObjectItemCaseSensitive(j, "ts");
	if (cJSON_IsString(ts) && util_time_parse(ts->valuestring, &t) == 0)
		a->seg_began = t;
	if (cJSON_IsString(ev) && !strcmp(ev->valuestring, "segment_start") &&
	    audit_seq_ok(seg) && audit_seq_ok(anc) &&
	    anc->valuedouble <= seg->valuedouble) {
		a->segment = (uint64_t)seg->valuedouble;
		a->anchor = (uint64_t)anc->valuedouble;
	}
	cJSON_Delete(j);
	if (a->segment)
		return;
	/* A log that never rotated (segment 1), or one begun again after an
	 * unlink: numbered after the segments beside it. */
	scan_segments(a->path, &lo, &hi);
	a->segment = hi + 1;
	a->anchor = lo ? lo : a->segment;
}

bool audit_rotate_due(const struct audit *a)
{
	if (a->use_syslog || a->refusing || a->fd < 0 ||
	    (a->rotate_retry_ms && util_mono_ms() < a->rotate_retry_ms))
		return false;
	if (a->opts.max_size && a->size >= a->opts.max_size)
		return true;
	return a->opts.max_age && a->size > 0 &&
	       time(NULL) - a->seg_began >= a->opts.max_age;
}

static void fsync_dir(const char *path)
{
	char dir[PATH_MAX], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/')))
		return;
	*(slash == dir ? slash + 1 : slash) = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

int audit_header_locked(struct audit *a)
{
	char body[PATH_MAX + 160], prev[PATH_MAX], line[PATH_MAX + 600];
	const char *base;
	uint64_t seq;
	int n, r;

	if (audit_segment_path(a->path, a->segment - 1, prev, sizeof(prev)) < 0)
		return -ENAMETOOLONG;
	base = strrchr(prev, '/');
	n = snprintf(body, sizeof(body),
		     "\"segment\":%llu,\"after\":\"%s\",\"anchor\":%llu",
		     (unsigned long long)a->segment, base ? base + 1 : prev,
		     (unsigned long long)a->anchor);
	if (a->manifest_gen)
		n += snprintf(body + n, sizeof(body) - (size_t)n,
			      ",\"manifest_gen\":%llu",
			      (unsigned long long)a->manifest_gen);
	r = audit_write_locked(a, "segment_start", body, (size_t)n, LOG_INFO,
			       line, sizeof(line), &seq);
	if (r < 0)
		return r;
	a->header_pending = false;
	a->seg_began = time(NULL);
	/* The anchor under a key this machine will not hold again. */
	if (a->seal && (r = audit_seal_epoch_locked(a)) < 0)
		return r;
	return 0;
}

/* Deletes the segments before the anchor that keep allows. */
static void drop_old(struct audit *a)
{
	char p[PATH_MAX + 4];

	if (a->opts.keep <= 0)
		return;
	while (a->anchor + (uint64_t)a->opts.keep < a->segment) {
		if (audit_segment_path(a->path, a->anchor, p, sizeof(p) - 3) ==
		    0) {
			unlink(p);
			strcat(p, ".gz");
			unlink(p);
		}
		a->anchor++;
	}
}

int audit_rotate_locked(struct audit *a, const char *why)
{
	char body[128], line[512], seg[PATH_MAX];
	uint64_t seq;
	int fd, n, r;

	if (a->header_pending)
		return 0; /* the new segment has not begun yet */
	if ((r = audit_segment_path(a->path, a->segment, seg, sizeof(seg))) <
	    0)
		goto fail;
	n = snprintf(body, sizeof(body), "\"segment\":%llu,\"reason\":\"%s\"",
		     (unsigned long long)a->segment, why);
	if ((r = audit_write_locked(a, "segment_end", body, (size_t)n,
				    LOG_INFO, line, sizeof(line), &seq)) < 0)
		goto fail;
	fdatasync(a->fd);
	if (renameat2(AT_FDCWD, a->path, AT_FDCWD, seg, RENAME_NOREPLACE) < 0) {
		r = -errno;
		goto fail;
	}
	fd = open(a->path,
		  O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		r = -errno;
		/* Put it back: the lines keep going where they were. */
		(void)renameat2(AT_FDCWD, seg, AT_FDCWD, a->path,
				RENAME_NOREPLACE);
		goto fail;
	}
	flock(fd, LOCK_EX);
	fsync_dir(a->path);
	flock(a->fd, LOCK_UN);
	close(a->fd);
	a->fd = fd;
	a->size = 0;
	a->last_off = -1;
	a->synced_seq = a->seq;
	a->segment++;
	drop_old(a);
	a->header_pending = true;
	a->rotate_retry_ms = 0;
	return audit_header_locked(a);
fail:
	fprintf(stderr,
		"credfs: audit log %s: cannot rotate (%s): %s; lines continue "
		"in it, retried in %d s\n",
		a->path, why, strerror(-r), ROTATE_RETRY_MS / 1000);
	a->rotate_retry_ms = util_mono_ms() + ROTATE_RETRY_MS;
	return r;
}

cJSON *audit_status(struct audit *a)
{
	cJSON *o = cJSON_CreateObject();
	long long need, avail;
	struct statvfs vs;

	if (!a || !o)
		return o;
	pthread_mutex_lock(&a->lock);
	cJSON_AddStringToObject(o, "log", a->use_syslog ? "syslog" : a->path);
	if (a->use_syslog)
		goto out;
	cJSON_AddNumberToObject(o, "segment", (double)a->segment);
	cJSON_AddNumberToObject(o, "oldest_segment", (double)a->anchor);
	cJSON_AddNumberToObject(o, "size", (double)a->size);
	cJSON_AddStringToObject(o, "state", a->refusing ? "refusing" : "ok");
	if (a->refusing)
		cJSON_AddStringToObject(o, "error", a->refuse_why);
	if (fstatvfs(a->fd, &vs) == 0) {
		avail = (long long)vs.f_bavail * (long long)vs.f_frsize;
		need = 2 * a->opts.max_size > FREE_FLOOR ? 2 * a->opts.max_size
							 : FREE_FLOOR;
		cJSON_AddNumberToObject(o, "free_bytes", (double)avail);
		if (avail < need) {
			char w[PATH_MAX + 200];

			snprintf(w, sizeof(w),
				 "the filesystem of %s has %lld MiB free, "
				 "less than %lld MiB: %s",
				 a->path, avail >> 20, need >> 20,
				 a->opts.required
				     ? "when it fills, every open is refused "
				       "(audit_required = yes)"
				     : "when it fills, opens go unaudited");
			cJSON_AddStringToObject(o, "warning", w);
		}
	}
out:
	pthread_mutex_unlock(&a->lock);
	return o;
}
