/* audit_segs: the audit log and its rotated segments, read back in order
 * for `credfs audit verify` (the writer is access/audit_rotate.c).
 *
 * The current log's first line, "segment_start", gives its segment number
 * H and the anchor A (the oldest segment the writer keeps): segments A to
 * H-1 must all be there ("<log>.seg-NNNNNN", or gzip'd ".gz", read through
 * `gzip -dc`), each beginning with its own segment_start (but segment 1)
 * and ending with its segment_end.  A missing, renamed, reordered or cut
 * segment is named here; the chain across them (a replaced segment) is
 * checked by the caller on the concatenation.
 */
#include "cli/audit_segs.h"
#include "core/util.h"
#include "access/audit.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_SEGS 100000

static int append_fd(struct audit_segs *s, int fd)
{
	for (;;) {
		if (s->size + 65536 > s->cap) {
			size_t ncap = s->cap ? s->cap * 2 : 1 << 20;
			char *n = realloc(s->data, ncap);

			if (!n)
				return -ENOMEM;
			s->data = n;
			s->cap = ncap;
		}
		ssize_t n = read(fd, s->data + s->size, s->cap - s->size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		s->size += (size_t)n;
	}
}

/* Appends a file's bytes (a .gz through gzip -dc); 0, or -errno. */
static int append_file(struct audit_segs *s, const char *path)
{
	size_t l = strlen(path);
	int fd, r, p[2], status;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	if (l < 3 || strcmp(path + l - 3, ".gz")) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return -errno;
		r = append_fd(s, fd);
		close(fd);
		return r;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	char *argv[] = {"gzip", "-dc", "--", (char *)path, NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	r = -posix_spawnp(&pid, "gzip", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return r;
	}
	r = append_fd(s, p[0]);
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		r = r < 0 ? r : -EIO;
	return r;
}

/* The first ("last" false) or last line of data[from..to) parsed. */
static cJSON *edge_line(const char *d, size_t from, size_t to, bool last)
{
	const char *b = d + from, *e;

	if (to <= from)
		return NULL;
	if (!last) {
		e = memchr(b, '\n', to - from);
		return cJSON_ParseWithLength(b, e ? (size_t)(e - b) : to - from);
	}
	e = d + to - 1; /* the final newline */
	const char *p = e;
	while (p > b && p[-1] != '\n')
		p--;
	return cJSON_ParseWithLength(p, (size_t)(e - p));
}

/* Whether j is event ev for segment k (k 0: any); *got its segment. */
static bool is_event(const cJSON *j, const char *ev, unsigned long long k,
		     unsigned long long *got)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "event");
	const cJSON *sg = cJSON_GetObjectItemCaseSensitive(j, "segment");

	*got = audit_seq_ok(sg) ? (unsigned long long)sg->valuedouble : 0;
	return cJSON_IsString(e) && !strcmp(e->valuestring, ev) && *got &&
	       (!k || *got == k);
}

static int add_seg(struct audit_segs *s, const char *name,
		   unsigned long long num)
{
	struct audit_seg *n = realloc(s->seg, (s->nseg + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->seg = n;
	n = &s->seg[s->nseg++];
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->num = num;
	n->from = s->size;
	n->first_line = 0;
	return 0;
}

/* Which of "<seg>" and "<seg>.gz" exists, into path. */
static bool find_seg(const char *log, unsigned long long k, char *path,
		     size_t len)
{
	if (audit_segment_path(log, k, path, len - 3) < 0)
		return false;
	if (access(path, F_OK) == 0)
		return true;
	strcat(path, ".gz");
	return access(path, F_OK) == 0;
}

int audit_segs_load(const char *log, struct audit_segs *s, FILE *out)
{
	char path[PATH_MAX + 4], dir[PATH_MAX], *slash, reason[200];
	unsigned long long head = 0, anchor = 0, k, got, lo = 0, hi = 0;
	const char *base;
	cJSON *j;
	DIR *dp;
	int r;

	memset(s, 0, sizeof(*s));
	/* The current log first: its header says what must precede it. */
	if ((r = add_seg(s, log, 0)) < 0 || (r = append_file(s, log)) < 0) {
		fprintf(out, "credfs: audit log %s: %s\n", log, strerror(-r));
		return 1;
	}
	j = edge_line(s->data, 0, s->size, false);
	{
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "reason");

		util_term_safe(cJSON_IsString(why) ? why->valuestring : "",
			       reason, sizeof(reason));
	}
	if (is_event(j, "segment_start", 0, &head)) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "anchor");

		anchor = audit_seq_ok(a) ? (unsigned long long)a->valuedouble
					 : 0;
	}
	cJSON_Delete(j);
	snprintf(dir, sizeof(dir), "%s", log);
	slash = strrchr(dir, '/');
	base = slash ? log + (slash - dir) + 1 : log;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if ((dp = opendir(dir))) {
		struct dirent *d;

		while ((d = readdir(dp))) {
			k = audit_segment_number(base, d->d_name);
			if (k && (!lo || k < lo))
				lo = k;
			if (k > hi)
				hi = k;
		}
		closedir(dp);
	}
	if (!head) {
		if (!hi)
			return 0; /* one file, never rotated */
		fprintf(out,
			"%s: does not begin with a segment_start line, yet "
			"segments up to %s" ".seg-%06llu lie beside it: the log "
			"was unlinked, replaced or truncated while open%s%s%s\n",
			log, base, hi, reason[0] ? " (its first line: " : "",
			reason, reason[0] ? ")" : "");
		return 1;
	}
	if (!anchor || anchor > head) {
		fprintf(out, "%s line 1: segment_start without a valid anchor "
			     "(edited)\n", log);
		return 1;
	}
	if (hi >= head) {
		find_seg(log, hi, path, sizeof(path));
		fprintf(out,
			"%s: numbered at or after the current log's segment "
			"%llu: segment files renamed or reordered\n",
			path, head);
		return 1;
	}
	/* Read the rotated ones in order, then put the current log last. */
	char *cur = s->data;
	size_t cursize = s->size;

	s->data = NULL;
	s->size = s->cap = 0;
	s->nseg = 0;
	r = 0;
	for (k = anchor; k < head && r == 0; k++) {
		size_t from = s->size;

		if (head - anchor > MAX_SEGS) {
			fprintf(out, "%s: anchor %llu too far back\n", log,
				anchor);
			r = 1;
			break;
		}
		if (!find_seg(log, k, path, sizeof(path))) {
			audit_segment_path(log, k, path, sizeof(path));
			fprintf(out,
				"%s: segment %llu is missing: removed outside "
				"credfs (audit_keep removes only segments "
				"before the anchor, segment %llu)\n",
				path, k, anchor);
			r = 1;
			break;
		}
		if (add_seg(s, path, k) < 0 || (r = append_file(s, path)) < 0) {
			fprintf(out, "credfs: %s: %s\n", path, strerror(-r));
			r = 1;
			break;
		}
		if (s->size == from || s->data[s->size - 1] != '\n') {
			fprintf(out, "%s: empty or cut mid-line\n", path);
			r = 1;
			break;
		}
		j = edge_line(s->data, from, s->size, false);
		if (is_event(j, "segment_start", 0, &got) && got != k) {
			fprintf(out,
				"%s: holds segment %llu, not %llu: segment "
				"files renamed or reordered\n",
				path, got, k);
			r = 1;
		} else if (k > 1 && !is_event(j, "segment_start", k, &got)) {
			fprintf(out,
				"%s line 1: not segment %llu's segment_start: "
				"the segment was replaced, or the log unlinked "
				"while open\n",
				path, k);
			r = 1;
		}
		cJSON_Delete(j);
		if (r)
			break;
		j = edge_line(s->data, from, s->size, true);
		if (!is_event(j, "segment_end", k, &got)) {
			fprintf(out,
				"%s: does not end with segment %llu's "
				"segment_end line: lines removed from its end, "
				"or the segment replaced\n",
				path, k);
			r = 1;
		}
		cJSON_Delete(j);
	}
	if (r == 0 && (r = add_seg(s, log, head)) == 0) {
		if (s->size + cursize > s->cap) {
			char *n = realloc(s->data, s->size + cursize + 1);

			if (!n)
				r = -ENOMEM;
			else
				s->data = n, s->cap = s->size + cursize + 1;
		}
		if (r == 0) {
			memcpy(s->data + s->size, cur, cursize);
			s->size += cursize;
		}
	}
	free(cur);
	if (r < 0)
		fprintf(out, "credfs: out of memory\n");
	s->anchored = anchor > 1;
	s->anchor = anchor;
	if (r == 0 && lo && lo < anchor)
		fprintf(out,
			"note: segments %llu-%llu predate the anchor (left by "
			"a failed delete?): not checked\n",
			lo, anchor - 1);
	return r ? 1 : 0;
}

int audit_segs_read_all(const char *log, struct audit_segs *s, FILE *out)
{
	FILE *sink = fopen("/dev/null", "we");
	int r = audit_segs_load(log, s, sink ? sink : out);

	if (sink)
		fclose(sink);
	if (r == 0)
		return 0;
	audit_segs_free(s);
	if ((r = add_seg(s, log, 0)) < 0 || (r = append_file(s, log)) < 0) {
		fprintf(out, "credfs: audit log %s: %s\n", log, strerror(-r));
		audit_segs_free(s);
		return -1;
	}
	fprintf(out, "note: the rotated segments before %s are missing or "
		     "damaged (see credfs audit verify): this file alone\n",
		log);
	return 0;
}

int audit_segs_open_next(const char *path, int fd)
{
	char link[64], target[PATH_MAX], seg[PATH_MAX];
	const char *base = strrchr(path, '/'), *tb;
	unsigned long long k = 0;
	ssize_t n;
	int nfd;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, target, sizeof(target) - 1)) > 0) {
		target[n] = '\0';
		tb = strrchr(target, '/');
		k = audit_segment_number(base ? base + 1 : path,
					 tb ? tb + 1 : target);
	}
	if (k && audit_segment_path(path, k + 1, seg, sizeof(seg)) == 0 &&
	    (nfd = open(seg, O_RDONLY | O_CLOEXEC)) >= 0)
		return nfd;
	return open(path, O_RDONLY | O_CLOEXEC);
}

void audit_segs_free(struct audit_segs *s)
{
	free(s->data);
	free(s->seg);
	memset(s, 0, sizeof(*s));
}

void audit_segs_index(struct audit_segs *s, size_t line, size_t offset)
{
	for (size_t i = 0; i < s->nseg; i++)
		if (s->seg[i].from == offset && !s->seg[i].first_line)
			s->seg[i].first_line = line + 1;
}

const char *audit_segs_where(const struct audit_segs *s, size_t line)
{
	static char buf[4][PATH_MAX + 32];
	static int next;
	char *b = buf[next++ & 3];
	size_t i, at = s->nseg;

	for (i = 0; i < s->nseg; i++)
		if (s->seg[i].first_line && s->seg[i].first_line <= line + 1)
			at = i;
	if (s->nseg <= 1 || at == s->nseg)
		snprintf(b, sizeof(buf[0]), "line %zu", line + 1);
	else
		snprintf(b, sizeof(buf[0]), "%s line %zu", s->seg[at].name,
			 line + 1 - s->seg[at].first_line + 1);
	return b;
}

void audit_segs_say_cut(const char *line, size_t len, const char *where,
			FILE *out)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "reason");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
	unsigned long long n =
	    audit_seq_ok(seq) ? (unsigned long long)seq->valuedouble : 0;

	if (cJSON_IsString(ev) && !strcmp(ev->valuestring, "integrity") &&
	    cJSON_IsString(why)) {
		char safe[200];

		util_term_safe(why->valuestring, safe, sizeof(safe));
		fprintf(out,
			"%s: chain cut: seq %llu follows lines not in this "
			"file (%s)%s\n",
			where, n, safe,
			strstr(safe, "truncated")
			    ? "; an outside `logrotate copytruncate` breaks "
			      "the chain: use audit_max_size and audit_keep"
			    : "");
	} else {
		fprintf(out,
			"%s: chain starts at seq %llu, not 1: earlier lines "
			"removed\n",
			where, n);
	}
	cJSON_Delete(j);
}
