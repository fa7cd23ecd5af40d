/* credfs audit verify|tail|report: reading the log back.
 *
 * The log is untrusted input here: every line is parsed with cJSON, numbers
 * out of range are not cast, and strings printed to a terminal have their
 * control characters replaced.  The writer is access/audit.c.
 */
#include "cli/audit_cmd.h"
#include "cli/audit_segs.h"
#include "access/audit.h"
#include "access/audit_seal.h"
#include "core/util.h"
#include "core/digest.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	if (cJSON_IsObject(j) && audit_seq_ok(seq) && cJSON_IsString(prev) &&
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
		digest_sha256_hex(l->s, l->len, l->hash);
		l->hashed = true;
	}
	return l->hash;
}

/* The chain of path and its kept segments (concatenated). */
static int verify_segs(struct audit_segs *sg, FILE *out)
{
	struct vline *lines = NULL, *tmp;
	size_t n = 0, cap = 0, i, k, pos;
	int status = 1;

#define AT(i) audit_segs_where(sg, (i))
	for (pos = 0; pos < sg->size;) {
		const char *nl = memchr(sg->data + pos, '\n', sg->size - pos);

		if (!nl) {
			fprintf(out,
				"%s: incomplete (no newline): the log "
				"was cut mid-line\n",
				AT(n));
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
		lines[n].s = sg->data + pos;
		lines[n].len = (size_t)(nl - (sg->data + pos));
		audit_segs_index(sg, n, pos);
		n++;
		pos = (size_t)(nl - sg->data) + 1;
	}

	for (i = 0; i < n; i++) {
		struct vline *l = &lines[i];
		uint64_t want_seq;
		const char *want_prev;

		vline_parse(l);
		if (!l->valid) {
			fprintf(out,
				"%s: not a valid audit record (edited or "
				"corrupted)\n",
				AT(i));
			goto out;
		}
		want_seq = i ? lines[i - 1].seq + 1 : 1;
		want_prev = i ? vline_hash(&lines[i - 1]) : AUDIT_CHAIN_START;
		if (i == 0 && sg->anchored) {
			/* Segments before the anchor were rotated away: the
			 * chain is pinned from the newest line back to here. */
			want_seq = l->seq;
			want_prev = l->prev;
		}
		if (l->seq != want_seq) {
			if (i == 0) {
				audit_segs_say_cut(l->s, l->len, AT(0), out);
				goto out;
			}
			/* The next line carries on as if this one had the
			 * right seq: this line's seq was edited. */
			if (i + 1 < n) {
				vline_parse(&lines[i + 1]);
				if (lines[i + 1].valid &&
				    lines[i + 1].seq == want_seq + 1) {
					fprintf(out,
						"%s: edited: seq %llu "
						"where %llu belongs\n",
						AT(i),
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
					"%s: out of order: seq %llu "
					"after seq %llu, seq %llu is at %s "
					"(lines reordered)\n",
					AT(i), (unsigned long long)l->seq,
					(unsigned long long)lines[i - 1].seq,
					(unsigned long long)want_seq, AT(k));
			else if (l->seq > want_seq)
				fprintf(
				    out,
				    "%s: seq jumps from %llu to "
				    "%llu: %llu line(s) removed before "
				    "it\n",
				    AT(i), (unsigned long long)lines[i - 1].seq,
				    (unsigned long long)l->seq,
				    (unsigned long long)(l->seq - want_seq));
			else
				fprintf(out,
					"%s: seq %llu after seq %llu: "
					"lines reordered or duplicated\n",
					AT(i), (unsigned long long)l->seq,
					(unsigned long long)lines[i - 1].seq);
			goto out;
		}
		if (strcmp(l->prev, want_prev)) {
			if (i == 0) {
				fprintf(out,
					"%s: prev is not the chain start "
					"(edited)\n", AT(0));
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
						"%s: edited: its hash "
						"does not match the prev "
						"recorded by %s\n",
						AT(i - 1), AT(i));
				else
					fprintf(out,
						"%s: edited: its prev "
						"does not match %s\n",
						AT(i), AT(i - 1));
			} else {
				fprintf(out,
					"%s: edited (or %s's prev "
					"altered): hash does not match\n",
					AT(i - 1), AT(i));
			}
			goto out;
		}
	}
	if (sg->nseg > 1 || sg->anchored)
		fprintf(out,
			"OK: %zu lines in %zu segment file(s), chain intact%s\n",
			n, sg->nseg,
			sg->anchored ? " from the anchor segment on (older "
				       "ones removed by audit_keep)"
				     : "");
	else
		fprintf(out, "OK: %zu lines, chain intact\n", n);
	status = 0;
out:
#undef AT
	free(lines);
	return status;
}

int audit_cmd_verify(const char *path, FILE *out)
{
	struct audit_segs sg;
	int status;

	if (is_syslog(path, out))
		return 1;
	status = audit_segs_load(path, &sg, out);
	if (status == 0)
		status = verify_segs(&sg, out);
	audit_segs_free(&sg);
	return status;
}


int audit_cmd_verify_key(const char *path, const char *key_hex, FILE *out)
{
	struct audit_segs sg = {0};
	uint8_t vkey[32];
	int status = 1, hi, lo;

	if (!key_hex || strlen(key_hex) != 64) {
		fprintf(out, "credfs: audit verify --key: the verification "
			     "key is 64 hex digits\n");
		return 2;
	}
	for (int i = 0; i < 32; i++) {
		hi = util_unhex_digit(key_hex[2 * i]);
		lo = util_unhex_digit(key_hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			fprintf(out, "credfs: audit verify --key: not a hex "
				     "key\n");
			sodium_memzero(vkey, sizeof(vkey));
			return 2;
		}
		vkey[i] = (uint8_t)(hi << 4 | lo);
	}
	/* The chain first (edits, removals, reordering), then the seals
	 * (forgery, removed epochs, a cut end, a replaced log). */
	if (audit_segs_load(path, &sg, out) != 0 || verify_segs(&sg, out) != 0)
		goto out;
	status = audit_seal_verify(sg.data, sg.size, path, vkey, sg.anchored,
				   out);
out:
	audit_segs_free(&sg);
	sodium_memzero(vkey, sizeof(vkey));
	return status;
}

int audit_cmd_seal_setup(const char *path, FILE *out)
{
	char vkey[65];
	int r;

	if (is_syslog(path, out))
		return 1;
	if ((r = audit_seal_setup(path, vkey)) < 0) {
		fprintf(out, "credfs: audit log %s: cannot start sealing: %s\n",
			path, r == -EEXIST ? "already sealed" : strerror(-r));
		return 1;
	}
	fprintf(out,
		"The audit log %s is sealed from its next line on.\n"
		"Verification key (shown once; keep it off this machine):\n"
		"  %s\n"
		"Check the log with: credfs audit verify --key-file FILE (or - for stdin)\n",
		path, vkey);
	sodium_memzero(vkey, sizeof(vkey));
	return 0;
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
	util_term_safe(jstr(j, "ts"), a, sizeof(a));
	util_term_safe(ev ? ev : "?", d, sizeof(d));
	fprintf(out, "%s %s", a[0] ? a : "-", d);
	if (ev && !strcmp(ev, "open")) {
		util_term_safe(jstr(j, "decision") ? jstr(j, "decision") : "?",
			       a, sizeof(a));
		util_term_safe(jstr(j, "file"), b, sizeof(b));
		util_term_safe(jstr(j, "exe"), c, sizeof(c));
		util_term_safe(jstr(j, "rule"), d, sizeof(d));
		fprintf(out, " %s %s %s pid=%lld uid=%lld rule=\"%s\"", a, b,
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
			util_term_safe(it->string, a, sizeof(a));
			if (cJSON_IsString(it)) {
				util_term_safe(it->valuestring, d, sizeof(d));
				fprintf(out, " %s=%s", a, d);
			} else if (cJSON_IsNumber(it)) {
				fprintf(out, " %s=%lld", a,
					to_ll(it->valuedouble, 0));
			} else if (cJSON_IsBool(it)) {
				fprintf(out, " %s=%s", a,
					cJSON_IsTrue(it) ? "yes" : "no");
			}
		}
	}
	fputc('\n', out);
	cJSON_Delete(j);
}

/* Prints the whole lines of data[0..len). */
static void print_lines(const char *data, size_t len, FILE *out)
{
	const char *nl, *p = data;

	while ((nl = memchr(p, '\n', len - (size_t)(p - data)))) {
		print_human(p, (size_t)(nl - p), out);
		p = nl + 1;
	}
}

/* The kept segments first (all but the log, when following: that is read
 * from fd), then the log, and with follow its new lines, across rotations:
 * a file renamed away is read to its end before its successor. */
int audit_cmd_tail(const char *path, bool follow, FILE *out)
{
	char *buf = NULL, *tmp, *nl, *start;
	size_t cap = 65536, len = 0;
	struct stat st, pst;
	struct audit_segs sg;
	off_t off = 0;
	ssize_t n;
	int fd, next = -1, status = 1, tries = 0;

	if (is_syslog(path, out))
		return 1;
	if (!follow) {
		if (audit_segs_read_all(path, &sg, out) < 0)
			return 1;
		print_lines(sg.data, sg.size, out);
		audit_segs_free(&sg);
		return 0;
	}
again:
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(out, "credfs: audit log %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (audit_segs_read_all(path, &sg, out) < 0) {
		close(fd);
		return 1;
	}
	/* Rotated meanwhile: the log we hold is now a segment; again. */
	if (fstat(fd, &st) < 0 || stat(path, &pst) < 0 ||
	    st.st_ino != pst.st_ino) {
		audit_segs_free(&sg);
		close(fd);
		if (++tries < 5)
			goto again;
		fprintf(out, "credfs: audit log %s keeps changing\n", path);
		return 1;
	}
	print_lines(sg.data, sg.seg[sg.nseg - 1].from, out);
	audit_segs_free(&sg);
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
		if (next >= 0) { /* the old file read to its end: switch */
			close(fd);
			fd = next;
			next = -1;
			off = 0;
			len = 0;
			continue;
		}
		poll(NULL, 0, 200);
		if (fstat(fd, &st) < 0)
			continue;
		if (st.st_size < off) { /* truncated in place: start over */
			off = 0;
			len = 0;
		} else if (stat(path, &pst) == 0 && pst.st_ino != st.st_ino) {
			/* rotated: finish this one first (next round) */
			next = audit_segs_open_next(path, fd);
		}
	}
out:
	free(buf);
	close(fd);
	if (next >= 0)
		close(next);
	return status;
}

/* ---- report ---- */

/* An RFC 3339 time as ms since the epoch: util_time_parse for the
 * seconds, the fraction kept (lines carry milliseconds). */
static int parse_ts_ms(const char *s, long long *ms)
{
	const char *dot;
	long long frac = 0, scale = 100;
	time_t t;

	if (!s || util_time_parse(s, &t) < 0)
		return -EINVAL;
	dot = strchr(s, '.');
	if (dot && dot < s + 25) /* the seconds' fraction, not a zone's */
		for (dot++; isdigit((unsigned char)*dot) && scale; dot++) {
			frac += (*dot - '0') * scale;
			scale /= 10;
		}
	*ms = (long long)t * 1000 + frac;
	return 0;
}

/* --since: a time, or a duration back from now (24h, 30m, 7d). */
static int parse_since(const char *s, long long *ms)
{
	struct timespec now;
	int secs;

	if (parse_ts_ms(s, ms) == 0)
		return 0;
	if (util_duration_parse(s, &secs) < 0)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &now);
	*ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 -
	      (long long)secs * 1000;
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
		util_term_safe(t->name[i], safe, sizeof(safe));
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
	struct audit_segs m;
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
	/* every kept segment, oldest first, then the log */
	if (is_syslog(path, out) || audit_segs_read_all(path, &m, out) < 0)
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
		    parse_ts_ms(ts, &ms) < 0 || ms < since_ms) {
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
		util_term_safe(key_id, safe, sizeof(safe));
		fprintf(out, "key %s: never served in this log\n", safe);
	}
	for (k = 0; k < nkeys; k++) {
		unsigned nd = 0;

		kt = &keys[k];
		util_term_safe(kt->id, safe, sizeof(safe));
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
			util_term_safe(den[i].file, f, sizeof(f));
			util_term_safe(den[i].exe, e, sizeof(e));
			util_term_safe(den[i].rule, r, sizeof(r));
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
	audit_segs_free(&m);
	return status;
}
