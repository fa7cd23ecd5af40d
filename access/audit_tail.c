/* audit_tail: the writer's view of the file's end: the last line at open,
 * another writer's appends, a torn line cut back, a replaced file. */
#include "access/audit_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
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
	audit_hash_line(line, len, a->prev);
	r = 0;
out:
	cJSON_Delete(j);
	free(line);
	return r;
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
	if (a->last_off >= 0 && a->size > a->last_off) {
		len = (size_t)(a->size - a->last_off);
		buf = malloc(len);
		if (!buf)
			return;
		n = pread(a->fd, buf, len, a->last_off);
		if (n == (ssize_t)len && len > 0 && buf[len - 1] == '\n')
			audit_hash_line(buf, len - 1, hex);
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

/* Under a->lock, file targets: reopens the log when its name no longer
 * leads to our file (unlinked, or replaced by another), so lines go where
 * `audit verify` looks.  The new file continues our chain: its first line's
 * prev is not the chain start, and verify says so. */
void audit_reopen_if_replaced(struct audit *a)
{
	struct stat mine, now;
	int fd;

	if (fstat(a->fd, &mine) < 0)
		return;
	if (mine.st_nlink > 0 && stat(a->path, &now) == 0 &&
	    now.st_dev == mine.st_dev && now.st_ino == mine.st_ino)
		return;
	fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || fstat(fd, &now) < 0 || !S_ISREG(now.st_mode)) {
		if (fd >= 0)
			close(fd);
		return; /* keep writing where we can; the next take retries */
	}
	flock(fd, LOCK_EX);
	flock(a->fd, LOCK_UN);
	close(a->fd);
	a->fd = fd;
	a->size = now.st_size;
	a->last_off = -1;
	a->reopened = true;
}
