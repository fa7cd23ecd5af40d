/* audit_tail: the writer's view of the file's end: the last line at open,
 * another writer's appends, a torn line cut back, a replaced file. */
#include "access/audit_int.h"
#include "core/digest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
int audit_load_tail(struct audit *a, size_t *torn, char *err, size_t errlen)
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
		memcpy(a->prev, AUDIT_CHAIN_START, 65);
		a->last_off = -1;
		return 0;
	}
	if ((r = read_last_line(a->fd, size, &line, &len, &a->last_off)) < 0)
		return r;
	j = cJSON_ParseWithLength(line, len);
	seq = j ? cJSON_GetObjectItemCaseSensitive(j, "seq") : NULL;
	if (!audit_seq_ok(seq)) {
		snprintf(err, errlen,
			 "audit log %s: last line is not an audit record "
			 "(see credfs audit verify)",
			 a->path);
		r = -EINVAL;
		goto out;
	}
	a->seq = (uint64_t)seq->valuedouble;
	{
		const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
		const cJSON *ep = cJSON_GetObjectItemCaseSensitive(j, "epoch");

		a->last_epoch_end =
		    cJSON_IsString(ev) &&
			    !strcmp(ev->valuestring, "epoch_end") &&
			    cJSON_IsNumber(ep) && ep->valuedouble >= 0
			? (uint64_t)ep->valuedouble
			: 0;
	}
	digest_sha256_hex(line, len, a->prev);
	r = 0;
out:
	cJSON_Delete(j);
	free(line);
	return r;
}

#define MG_KEY ",\"manifest_gen\":"

static uint64_t mg_in(const char *buf, size_t n, bool last)
{
	const size_t kl = sizeof(MG_KEY) - 1;
	uint64_t best = 0, v;
	const char *p = buf, *q;

	while ((q = memmem(p, n - (size_t)(p - buf), MG_KEY, kl))) {
		q += kl;
		for (v = 0; q < buf + n && *q >= '0' && *q <= '9'; q++)
			v = v * 10 + (uint64_t)(*q - '0');
		if (v > best || last)
			best = last && v < best ? best : v;
		p = q;
	}
	return best;
}

uint64_t audit_scan_manifest_gen(int fd, off_t from, off_t to)
{
	const off_t chunk = 1 << 16, overlap = 40;
	uint64_t best = 0;
	char *buf = malloc((size_t)(chunk + overlap));
	off_t at;
	ssize_t n;

	if (!buf)
		return 0;
	if (from >= 0) {
		for (at = from; at < to; at += chunk) {
			n = pread(fd, buf, (size_t)(chunk + overlap), at);
			if (n <= 0)
				break;
			uint64_t v = mg_in(buf, (size_t)n, false);
			best = v > best ? v : best;
		}
	} else {
		/* Backwards: the last anchor is the highest (it only grows). */
		for (at = to; at > 0 && !best; at -= chunk) {
			off_t s = at > chunk ? at - chunk : 0;
			off_t len = at - s + (at < to ? overlap : 0);

			n = pread(fd, buf, (size_t)len, s);
			if (n <= 0)
				break;
			best = mg_in(buf, (size_t)n, false);
		}
	}
	free(buf);
	return best;
}

/* Under flock: if someone else appended since our last line, continue
 * from theirs, provided ours is still intact. */
void audit_resync_locked(struct audit *a)
{
	struct stat st;
	char hex[65];
	char *buf;
	size_t len, torn;
	ssize_t n;
	char dummy[8];

	if (fstat(a->fd, &st) < 0 || st.st_size == a->size)
		return;
	if (a->size >= 0 && st.st_size > a->size) {
		/* Another writer's lines: the store's anchor may have moved. */
		uint64_t mg = audit_scan_manifest_gen(a->fd, a->size, st.st_size);

		if (mg > a->manifest_gen)
			a->manifest_gen = mg;
	}
	if (a->size > 0 && st.st_size < a->size) {
		/* Cut in place (an outside `logrotate copytruncate`):
		 * continue our chain, and say so in the line it begins. */
		a->reopen_why = "log file truncated in place while open (an "
				"outside copytruncate?): lines before this one "
				"are not in this file";
		a->size = st.st_size;
		a->last_off = -1;
		if (st.st_size == 0)
			return;
	}
	if (a->last_off >= 0 && a->size > a->last_off) {
		len = (size_t)(a->size - a->last_off);
		buf = malloc(len);
		if (!buf)
			return;
		n = pread(a->fd, buf, len, a->last_off);
		if (n == (ssize_t)len && len > 0 && buf[len - 1] == '\n')
			digest_sha256_hex(buf, len - 1, hex);
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
	if (audit_load_tail(a, &torn, dummy, sizeof(dummy)) < 0)
		a->size = st.st_size;
}

/* Whether our fd is a segment file another writer of ours renamed it to. */
static bool rotated_by_us(const struct audit *a, const struct stat *mine)
{
	char link[64], target[PATH_MAX], seg[PATH_MAX];
	const char *base = strrchr(a->path, '/'), *tb;
	unsigned long long k;
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", a->fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	tb = strrchr(target, '/');
	k = audit_segment_number(base ? base + 1 : a->path, tb ? tb + 1 : target);
	return k && audit_segment_path(a->path, k, seg, sizeof(seg)) == 0 &&
	       stat(seg, &st) == 0 && st.st_dev == mine->st_dev &&
	       st.st_ino == mine->st_ino;
}

/* Whether the file fd begins as a writer of ours begins one it takes over:
 * empty, or a segment_start or integrity line past seq 1. */
static bool continues_ours(int fd)
{
	char buf[4096], *nl;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	const cJSON *ev, *seq;
	bool ok = false;
	cJSON *j;

	if (n == 0)
		return true;
	if (n < 0 || !(nl = memchr(buf, '\n', (size_t)n)))
		return false;
	j = cJSON_ParseWithLength(buf, (size_t)(nl - buf));
	ev = cJSON_GetObjectItemCaseSensitive(j, "event");
	seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
	ok = cJSON_IsString(ev) && audit_seq_ok(seq) && seq->valuedouble > 1 &&
	     (!strcmp(ev->valuestring, "segment_start") ||
	      !strcmp(ev->valuestring, "integrity"));
	cJSON_Delete(j);
	return ok;
}

/* Under a->lock, file targets: reopens the log when its name no longer
 * leads to our file, so lines go where `audit verify` looks.
 *  - unlinked (nothing there): a new file, continuing our chain, its first
 *    line an integrity line; verify names the cut.
 *  - renamed to a segment by another writer of ours: its successor,
 *    silently, continuing from its last line.
 *  - replaced by a foreign file: with opts.required, refused (every line
 *    fails, so every open) until the file is moved aside; otherwise
 *    continued in, our chain and an integrity line showing the seam. */
int audit_reopen_if_replaced(struct audit *a)
{
	struct stat mine, now;
	bool gone, ours = false;
	int fd;

	if (fstat(a->fd, &mine) < 0)
		return 0;
	gone = stat(a->path, &now) < 0;
	if (gone && errno != ENOENT)
		return a->refusing ? -a->refusing : 0;
	if (!gone && now.st_dev == mine.st_dev && now.st_ino == mine.st_ino) {
		if (a->refusing) {
			a->refusing = 0;
			a->reopen_why = "the replacing file was moved aside "
					"and the log put back: refusal ended";
		}
		return 0;
	}
	if (!gone && rotated_by_us(a, &mine)) {
		ours = true;
	} else if (!gone) {
		fd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		ours = fd >= 0 && continues_ours(fd);
		if (fd >= 0)
			close(fd);
		if (!ours && a->opts.required) {
			if (!a->refusing) {
				a->refusing = ESTALE;
				snprintf(a->refuse_why, sizeof(a->refuse_why),
					 "audit log %s was replaced by another "
					 "file while open: refusing opens "
					 "(audit_required = yes) until it is "
					 "moved aside",
					 a->path);
				fprintf(stderr, "credfs: integrity: %s\n",
					a->refuse_why);
			}
			return -a->refusing;
		}
	}
	fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || fstat(fd, &now) < 0 || !S_ISREG(now.st_mode)) {
		if (fd >= 0)
			close(fd);
		/* keep writing where we can; the next take retries */
		return a->refusing ? -a->refusing : 0;
	}
	flock(fd, LOCK_EX);
	flock(a->fd, LOCK_UN);
	close(a->fd);
	a->fd = fd;
	a->last_off = -1;
	if (ours && now.st_size > 0) {
		/* Continue from its last line (audit_resync_locked). */
		a->size = -1;
		audit_read_head(a);
	} else {
		a->size = now.st_size;
		a->reopen_why =
		    a->refusing ? "the replacing file was moved aside: a new "
				  "log, refusal ended"
		    : gone      ? "log file unlinked while open: reopened"
				: "log file replaced by another file while "
				  "open: continued in it";
		a->seg_began = time(NULL);
	}
	a->refusing = 0;
	return 0;
}
