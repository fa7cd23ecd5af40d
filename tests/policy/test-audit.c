/* audit: chain, tamper detection, hostile strings, ENOSPC, concurrency. */
#include "access/audit.h"
#include "cli/audit_cmd.h"
#include "access/caller.h"
#include "access/policy.h"
#include "tests/tap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"

/* audit_open with the message in a buffer, as these tests print it. */
static int audit_open_buf(const char *t, enum audit_sync s, struct audit **a,
			  char *err, size_t len)
{
	struct error e = {0};
	int r = audit_open(t, s, a, &e);

	snprintf(err, len, "%.*s", (int)(len ? len - 1 : 0), e.msg);
	return r;
}

static char tmpdir[] = "/tmp/credfs-audit-XXXXXX";

static struct caller *mk(uid_t uid, const char *exe)
{
	static struct caller c;

	memset(&c, 0, sizeof(c));
	c.tid = 4243;
	c.pid = 4242;
	c.uid = uid;
	c.gid = uid;
	c.starttime = 1;
	snprintf(c.exe, sizeof(c.exe), "%s", exe);
	snprintf(c.comm, sizeof(c.comm), "aws");
	snprintf(c.cmdline, sizeof(c.cmdline), "%s s3 ls", exe);
	snprintf(c.cgroup, sizeof(c.cgroup), "/user.slice/user-%u.slice",
		 (unsigned)uid);
	c.have = CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP;
	return &c;
}

static struct policy_decision *dec(bool allow, const char *rule, int line)
{
	static struct policy_decision d;

	memset(&d, 0, sizeof(d));
	d.allow = allow;
	d.line = line;
	snprintf(d.rule, sizeof(d.rule), "%s", rule);
	return &d;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(data, 1, len, f);
	fclose(f);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Runs verify; returns exit status, output in out. */
static int verify(const char *path, char *out, size_t outlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int st = audit_cmd_verify(path, f);

	fclose(f);
	snprintf(out, outlen, "%s", buf ? buf : "");
	out[strcspn(out, "\n")] = '\0';
	free(buf);
	return st;
}

static int write_sample(struct audit *a, int n, int base)
{
	const char *profiles[] = {"prod", "default"};
	const char *keys[] = {"ASIAEXAMPLE1", "sha256:ab12"};
	int i, r = 0;

	for (i = 0; i < n && !r; i++) {
		if ((base + i) % 3 == 2) {
			cJSON *f = cJSON_CreateObject();

			cJSON_AddStringToObject(f, "profile", "prod");
			cJSON_AddNumberToObject(f, "n", base + i);
			r = audit_event(a, "refresh", f);
		} else {
			r = audit_open_event(
			    a, "credentials", profiles, 2,
			    mk(1000, "/usr/bin/aws"),
			    dec(true, "allow uid:1000 exe:/usr/bin/aws", 12),
			    keys, 2, time(NULL) + 3600);
		}
	}
	return r;
}

/* Lines of the file as an array (pointers into buf, NUL-terminated). */
static size_t split(char *buf, char **lines, size_t max)
{
	size_t n = 0;
	char *p = buf, *nl;

	while (n < max && (nl = strchr(p, '\n'))) {
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

static void join_write(const char *path, char **lines, size_t n)
{
	FILE *f = fopen(path, "wb");
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	fclose(f);
}

static void test_chain(void)
{
	char path[256], bad[256], out[512], err[256];
	char *buf, *lines[64], *copy[64];
	struct audit *a;
	struct stat st;
	size_t n, len, i;
	cJSON *j, *prev_j;
	int r;

	snprintf(path, sizeof(path), "%s/state/sub/audit.log", tmpdir);
	snprintf(bad, sizeof(bad), "%s/tampered.log", tmpdir);
	r = audit_open_buf(path, AUDIT_SYNC_ALWAYS, &a, err, sizeof(err));
	ok(r == 0, "open creates log and parents: %s", err);
	if (r)
		return;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "log is 0600");
	snprintf(bad, sizeof(bad), "%s/state/sub", tmpdir);
	ok(stat(bad, &st) == 0 && (st.st_mode & 0777) == 0700,
	   "new parent is 0700");
	snprintf(bad, sizeof(bad), "%s/tampered.log", tmpdir);
	ok(write_sample(a, 10, 0) == 0, "10 events written");
	audit_close(a);
	r = verify(path, out, sizeof(out));
	ok(r == 0 && !strcmp(out, "OK: 10 lines, chain intact"), "verify: %s",
	   out);

	buf = slurp(path, &len);
	n = split(buf, lines, 64);
	ok(n == 10, "10 lines");
	j = cJSON_Parse(lines[0]);
	ok(j &&
	       !strcmp(cJSON_GetObjectItem(j, "prev")->valuestring,
		       "0000000000000000000000000000000000000000000000000000000"
		       "000000000") &&
	       cJSON_GetObjectItem(j, "seq")->valuedouble == 1,
	   "first line: seq 1, prev zeros");
	{
		const char *ts =
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "ts"));

		ok(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[19] == '.' &&
		       ts[23] == 'Z',
		   "ts is RFC 3339 UTC with ms: %s", ts ? ts : "(null)");
	}
	ok(!strncmp(lines[0], "{\"ts\":", 6) &&
	       strstr(lines[0], ",\"seq\":1,\"event\":\"open\","),
	   "key order ts, seq, event");
	{
		static const char *const keys[] = {
		    "file",   "profiles", "decision", "rule", "pid",
		    "tid",    "uid",	  "gid",      "exe",  "cmdline",
		    "cgroup", "key_ids",  "expires",  "prev",
		};
		bool all = true;

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!cJSON_GetObjectItem(j, keys[i])) {
				printf("# missing %s\n", keys[i]);
				all = false;
			}
		ok(all, "open event carries every SPEC field");
		ok(!strcmp(
		       cJSON_GetStringValue(cJSON_GetObjectItem(j, "decision")),
		       "allow") &&
		       cJSON_GetObjectItem(j, "pid")->valuedouble == 4242 &&
		       cJSON_GetObjectItem(j, "tid")->valuedouble == 4243 &&
		       cJSON_GetArraySize(cJSON_GetObjectItem(j, "key_ids")) ==
			   2 &&
		       cJSON_IsString(cJSON_GetObjectItem(j, "expires")),
		   "open event values");
	}
	prev_j = j;
	for (i = 1; i < n; i++) {
		j = cJSON_Parse(lines[i]);
		if (!j || cJSON_GetObjectItem(j, "seq")->valuedouble != i + 1)
			break;
		cJSON_Delete(j);
	}
	ok(i == n, "seq 1..10 in order");
	cJSON_Delete(prev_j);
	free(buf);

	/* Restart continues the chain. */
	r = audit_open_buf(path, AUDIT_SYNC_BATCH, &a, err, sizeof(err));
	ok(r == 0 && write_sample(a, 2, 10) == 0, "reopened, 2 more");
	audit_close(a);
	r = verify(path, out, sizeof(out));
	ok(r == 0 && !strcmp(out, "OK: 12 lines, chain intact"),
	   "chain continues across restart: %s", out);
	buf = slurp(path, &len);
	n = split(buf, lines, 64);
	ok(n == 12 && strstr(lines[10], "\"seq\":11,"), "seq 11 after restart");

	/* Edited line 3 (a different exe, still valid JSON). */
	memcpy(copy, lines, sizeof(lines));
	{
		char *e = strdup(lines[2]), *p = strstr(e, "/usr/bin/aws");

		if (p)
			memcpy(p, "/usr/bin/xyz", 12);
		else
			p = strstr(e, "\"n\":2"), p[4] = '7';
		copy[2] = e;
		join_write(bad, copy, n);
		r = verify(bad, out, sizeof(out));
		ok(r == 1 && !strncmp(out, "line 3: edited", 14),
		   "edited line 3: %s", out);
		free(e);
	}
	/* Edited line 12, the last: nothing after it records its hash, but
	 * an edit that breaks the JSON shows. */
	memcpy(copy, lines, sizeof(lines));
	copy[11] = "{\"ts\":\"x\",";
	join_write(bad, copy, n);
	r = verify(bad, out, sizeof(out));
	ok(r == 1 && !strncmp(out, "line 12: not a valid", 20),
	   "broken JSON at line 12: %s", out);
	/* Removed line 5. */
	memcpy(copy, lines, sizeof(lines));
	memmove(copy + 4, copy + 5, (n - 5) * sizeof(char *));
	join_write(bad, copy, n - 1);
	r = verify(bad, out, sizeof(out));
	ok(r == 1 &&
	       !strncmp(out, "line 5: seq jumps from 4 to 6: 1 line(s) removed",
			47),
	   "removed line 5: %s", out);
	/* Seq of line 6 edited. */
	memcpy(copy, lines, sizeof(lines));
	{
		char *e = strdup(lines[5]), *p = strstr(e, "\"seq\":6,");

		p[6] = '9';
		copy[5] = e;
		join_write(bad, copy, n);
		r = verify(bad, out, sizeof(out));
		ok(r == 1 && !strncmp(out, "line 6: edited: seq 9", 21),
		   "seq of line 6 edited: %s", out);
		free(e);
	}
	/* Removed the first line. */
	join_write(bad, lines + 1, n - 1);
	r = verify(bad, out, sizeof(out));
	ok(r == 1 && !strncmp(out, "line 1:", 7), "removed line 1: %s", out);
	/* Swapped lines 7 and 8. */
	memcpy(copy, lines, sizeof(lines));
	copy[6] = lines[7];
	copy[7] = lines[6];
	join_write(bad, copy, n);
	r = verify(bad, out, sizeof(out));
	ok(r == 1 && !strncmp(out, "line 7: out of order", 20),
	   "swapped 7/8: %s", out);
	/* A line's prev rewritten to hide an edit of the line before it
	 * moves the break one line on, but still names the line. */
	memcpy(copy, lines, sizeof(lines));
	{
		char *e = strdup(lines[3]), *p = strstr(e, "\"prev\":\"");

		p[8] = p[8] == 'a' ? 'b' : 'a';
		copy[3] = e;
		join_write(bad, copy, n);
		r = verify(bad, out, sizeof(out));
		ok(r == 1 && !strncmp(out, "line 4: edited", 14),
		   "prev of line 4 altered: %s", out);
		free(e);
	}
	/* Torn tail (crash mid-line): repaired at open, recorded. */
	join_write(bad, lines, n);
	{
		FILE *f = fopen(bad, "ab");

		fputs("{\"ts\":\"2026-01-01T00:00:00.000Z\",\"seq\":13,\"ev",
		      f);
		fclose(f);
	}
	r = verify(bad, out, sizeof(out));
	ok(r == 1 && strstr(out, "incomplete"), "torn tail seen by verify: %s",
	   out);
	r = audit_open_buf(bad, AUDIT_SYNC_NONE, &a, err, sizeof(err));
	ok(r == 0, "open repairs the torn tail: %s", err);
	if (!r) {
		ok(write_sample(a, 1, 20) == 0, "write after repair");
		audit_close(a);
	}
	r = verify(bad, out, sizeof(out));
	ok(r == 0 && !strcmp(out, "OK: 14 lines, chain intact"),
	   "chain intact after repair: %s", out);
	free(buf);
	buf = slurp(bad, &len);
	ok(strstr(buf, "\"event\":\"integrity\"") && strstr(buf, "\"seq\":13,"),
	   "integrity event recorded the repair");
	free(buf);
	/* Garbage last line: refuse to continue a chain we cannot read. */
	spit(bad, "not json\n", 9);
	r = audit_open_buf(bad, AUDIT_SYNC_NONE, &a, err, sizeof(err));
	ok(r == -EINVAL && strstr(err, "last line"), "garbage log refused: %s",
	   err);
	/* A missing log. */
	snprintf(bad, sizeof(bad), "%s/nope.log", tmpdir);
	r = verify(bad, out, sizeof(out));
	ok(r == 1 && strstr(out, "No such file"), "missing log: %s", out);
}

static void test_hostile(void)
{
	char path[256], out[512], err[256];
	const char *profiles[] = {"prod\nevil"};
	const char *keys[] = {"AKIA\"\n{}"};
	struct caller *c;
	struct audit *a;
	char *buf, *lines[8];
	size_t n, len, i;
	cJSON *j;
	int r, bad_utf8 = 0;

	snprintf(path, sizeof(path), "%s/hostile.log", tmpdir);
	r = audit_open_buf(path, AUDIT_SYNC_NONE, &a, err, sizeof(err));
	ok(r == 0, "open hostile.log");
	if (r)
		return;
	c = mk(1000, "/tmp/a\nb\"c\x01"
		     "d\xff\xfe\\e\xe2\x82");
	snprintf(c->comm, sizeof(c->comm), "x\n{\"seq\":1}\x1b[31m");
	snprintf(c->cmdline, sizeof(c->cmdline),
		 "sh -c 'echo hi\n\r\t'\x7f\xc3\xa9");
	r = audit_open_event(a, "cred\nentials", profiles, 1, c,
			     dec(false, "deny exe:/x\n", 3), keys, 1, 0);
	ok(r == 0, "hostile open event written");
	{
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "seq", "forged");
		cJSON_AddStringToObject(f, "seq", "forged again");
		cJSON_AddStringToObject(f, "prev", "forged");
		cJSON_AddStringToObject(f, "detail", "a\nb\x80");
		r = audit_event(a, "store", f);
		ok(r == 0, "event with forged seq/prev keys written");
	}
	ok(audit_event(a, "bad event\n", NULL) == -EINVAL,
	   "event name is checked");
	ok(audit_event(a, "store", cJSON_CreateArray()) == -EINVAL,
	   "fields must be an object");
	audit_close(a);
	buf = slurp(path, &len);
	ok(count_lines(buf) == 2 && buf[len - 1] == '\n',
	   "exactly 2 lines, newline-terminated");
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch < 0x20 && ch != '\n')
			bad_utf8++;
	}
	ok(!bad_utf8, "no raw control characters in the file");
	n = split(buf, lines, 8);
	j = cJSON_Parse(lines[0]);
	ok(j != NULL, "line 1 parses");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "exe")),
	       "/tmp/a\nb\"c\x01"
	       "d\xef\xbf\xbd\xef\xbf\xbd\\e\xef\xbf\xbd"
	       "\xef\xbf\xbd",
	       "exe round-trips, invalid UTF-8 as U+FFFD");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "cmdline")),
	       "sh -c 'echo hi\n\r\t'\x7f\xc3\xa9",
	       "cmdline round-trips (valid UTF-8 kept)");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "decision")), "deny",
	       "deny decision");
	ok(cJSON_IsNull(cJSON_GetObjectItem(j, "expires")), "expires null");
	cJSON_Delete(j);
	j = n > 1 ? cJSON_Parse(lines[1]) : NULL;
	ok(j && cJSON_GetObjectItem(j, "seq")->valuedouble == 2 &&
	       strlen(cJSON_GetStringValue(cJSON_GetObjectItem(j, "prev"))) ==
		   64,
	   "forged seq/prev replaced by the real ones");
	ok(j &&
	       strstr(lines[1], "\"seq\":") == strstr(lines[1], "\"seq\":2,") &&
	       !strstr(lines[1], "forged"),
	   "  and appear once");
	cJSON_Delete(j);
	free(buf);
	r = verify(path, out, sizeof(out));
	ok(r == 0, "hostile log verifies: %s", out);

	/* tail prints it on one line per event, control chars masked. */
	{
		char *tb = NULL;
		size_t tl = 0;
		FILE *f = open_memstream(&tb, &tl);

		r = audit_cmd_tail(path, false, f);
		fclose(f);
		ok(r == 0 && count_lines(tb) == 2 && !strchr(tb, '\x1b') &&
		       strstr(tb, " open deny cred?entials /tmp/a?b\"c?d"),
		   "tail: 2 lines, masked");
		diag_block(tb);
		free(tb);
	}
}

static void test_nospace(void)
{
	char mnt[256], path[300], filler[300], out[512], err[256];
	struct audit *a;
	int r, i, fails = 0, fd;
	char block[4096];
	char *buf;
	size_t len;

	snprintf(mnt, sizeof(mnt), "%s/small", tmpdir);
	mkdir(mnt, 0700);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		char why[300];

		snprintf(why, sizeof(why), "mount tmpfs: %s (needs root)",
			 strerror(errno));
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			ok(0, "ENOSPC test: %s", why);
		else
			printf("ok %d # SKIP ENOSPC test: %s\n", ++tap_n, why);
		return;
	}
	snprintf(path, sizeof(path), "%s/audit.log", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	r = audit_open_buf(path, AUDIT_SYNC_BATCH, &a, err, sizeof(err));
	ok(r == 0, "open on a 64k tmpfs");
	if (r)
		goto out;
	ok(write_sample(a, 5, 0) == 0, "5 events");
	memset(block, 'x', sizeof(block));
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	/* Leave some bytes free so a line lands half-written. */
	while (write(fd, block, 100) == 100)
		;
	close(fd);
	for (i = 0; i < 200 && fails < 3; i++)
		if (write_sample(a, 1, 5 + i) < 0)
			fails++;
	ok(fails == 3, "writes fail when the disk is full (%d written first)",
	   i - fails);
	buf = slurp(path, &len);
	ok(len > 0 && buf[len - 1] == '\n', "no partial line left behind");
	free(buf);
	r = verify(path, out, sizeof(out));
	ok(r == 0, "chain intact while full: %s", out);
	unlink(filler);
	ok(write_sample(a, 5, 300) == 0, "writes resume once space returns");
	audit_close(a);
	r = verify(path, out, sizeof(out));
	ok(r == 0, "chain intact after ENOSPC: %s", out);
out:
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* Two writers on one log (the daemon and a command): each continues from
 * the other's last line; an edit of a writer's own last line is not
 * adopted, so verify shows it. */
static void test_two_writers(void)
{
	char path[256], out[512], err[256];
	struct audit *a1, *a2;
	char *buf, *p;
	size_t len;
	int i, r = 0;

	snprintf(path, sizeof(path), "%s/two.log", tmpdir);
	if (audit_open_buf(path, AUDIT_SYNC_NONE, &a1, err, sizeof(err)) < 0 ||
	    audit_open_buf(path, AUDIT_SYNC_NONE, &a2, err, sizeof(err)) < 0) {
		ok(0, "open two writers: %s", err);
		return;
	}
	for (i = 0; i < 10; i++) {
		r |= write_sample(i % 2 ? a2 : a1, 1, i);
		if (i % 3 == 0)
			r |= write_sample(a1, 1, i);
	}
	ok(r == 0, "two writers interleaved");
	r = verify(path, out, sizeof(out));
	ok(r == 0 && !strcmp(out, "OK: 14 lines, chain intact"),
	   "interleaved chain intact: %s", out);

	/* Edit a1's last line (longer), then a1 writes again. */
	r = write_sample(a1, 1, 0);
	buf = slurp(path, &len);
	p = strstr(buf + len - 600 > buf ? buf + len - 600 : buf,
		   "/usr/bin/aws\"");
	if (p) {
		FILE *f = fopen(path, "wb");

		fwrite(buf, 1, (size_t)(p - buf), f);
		fputs("/usr/bin/awsX", f);
		fputs(p + 12, f);
		fclose(f);
	}
	free(buf);
	r |= write_sample(a1, 1, 0);
	ok(p && r == 0, "own last line edited behind the writer's back");
	r = verify(path, out, sizeof(out));
	ok(r == 1 && !strncmp(out, "line 15: edited", 15),
	   "the edit is not adopted: %s", out);
	audit_close(a1);
	audit_close(a2);
}

static struct audit *shared;
static int thread_errors;

static void *writer(void *arg)
{
	const char *keys[] = {"ASIAEXAMPLE1"};
	const char *prof[] = {"prod"};
	struct caller *c = malloc(sizeof(*c));
	struct policy_decision d = {.allow = true, .line = 5};
	int i, bad = 0;

	memset(c, 0, sizeof(*c));
	c->pid = c->tid = 100 + (int)(intptr_t)arg;
	c->uid = c->gid = 1000;
	c->starttime = 1;
	strcpy(c->exe, "/usr/bin/aws");
	strcpy(c->cmdline, "aws sts get-caller-identity");
	strcpy(c->cgroup, "/user.slice");
	c->have = CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP;
	strcpy(d.rule, "allow uid:1000");
	for (i = 0; i < 2000; i++)
		bad += audit_open_event(shared, "credentials", prof, 1, c, &d,
					keys, 1, 0) != 0;
	__atomic_add_fetch(&thread_errors, bad, __ATOMIC_RELAXED);
	free(c);
	return NULL;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double run_threads(const char *path, enum audit_sync mode)
{
	pthread_t th[4];
	char err[256];
	double t0;
	intptr_t i;

	unlink(path);
	if (audit_open_buf(path, mode, &shared, err, sizeof(err)) < 0)
		return -1;
	thread_errors = 0;
	t0 = now_us();
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, writer, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	t0 = (now_us() - t0) / 8000;
	audit_close(shared);
	return t0;
}

static void test_concurrency(void)
{
	char path[256], out[512], err[256];
	double per, per_none;
	struct audit *a;
	char *buf, *p;
	unsigned long long last = 0, seq;
	bool mono = true;
	int i, r;
	double t0;

	snprintf(path, sizeof(path), "%s/conc.log", tmpdir);
	per = run_threads(path, AUDIT_SYNC_BATCH);
	ok(per > 0 && thread_errors == 0, "4 threads x 2000 events, BATCH");
	r = verify(path, out, sizeof(out));
	ok(r == 0 && !strcmp(out, "OK: 8000 lines, chain intact"), "verify: %s",
	   out);
	buf = slurp(path, NULL);
	for (p = buf; p && (p = strstr(p, "\"seq\":")); p++) {
		seq = strtoull(p + 6, NULL, 10);
		if (seq != last + 1)
			mono = false;
		last = seq;
	}
	ok(mono && last == 8000, "seq strictly increasing to %llu", last);
	free(buf);
	diag(
	    "BATCH, 4 threads: %.2f us per event (wall, incl. group fdatasync)",
	    per);
	per_none = run_threads(path, AUDIT_SYNC_NONE);
	diag("NONE, 4 threads: %.2f us per event (wall)", per_none);

	/* Single-thread cost of one open line, no sync. */
	unlink(path);
	r = audit_open_buf(path, AUDIT_SYNC_NONE, &a, err, sizeof(err));
	if (!r) {
		const char *keys[] = {"ASIAEXAMPLE1"};
		const char *prof[] = {"prod"};
		struct caller *c = mk(1000, "/usr/bin/aws");

		t0 = now_us();
		for (i = 0; i < 20000; i++)
			r |= audit_open_event(a, "credentials", prof, 1, c,
					      dec(true, "allow uid:1000", 4),
					      keys, 1, time(NULL) + 900);
		t0 = (now_us() - t0) / 20000;
		audit_close(a);
		diag("NONE, 1 thread: %.2f us per open line", t0);
		ok(r == 0 && t0 < 100, "one open line costs %.2f us", t0);
	} else {
		ok(0, "open for timing");
	}
}

static void test_syslog(void)
{
	struct audit *a;
	char err[256];
	int r;

	r = audit_open_buf("syslog", AUDIT_SYNC_ALWAYS, &a, err, sizeof(err));
	ok(r == 0, "syslog target opens");
	if (!r) {
		ok(write_sample(a, 2, 0) == 0, "syslog lines written");
		audit_close(a);
	}
	ok(audit_event(NULL, "mount", NULL) == 0, "NULL audit is a no-op");
}

static void test_tail_follow(void)
{
	char path[256], line[1024], err[256];
	struct audit *a;
	int pfd[2], r;
	pid_t pid;
	FILE *in;
	bool seen = false;

	snprintf(path, sizeof(path), "%s/follow.log", tmpdir);
	if (audit_open_buf(path, AUDIT_SYNC_NONE, &a, err, sizeof(err)) < 0) {
		ok(0, "open follow.log");
		return;
	}
	(void)!write_sample(a, 1, 0);
	if (pipe(pfd) < 0) {
		ok(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		FILE *o = fdopen(pfd[1], "w");

		close(pfd[0]);
		alarm(10);
		_exit(audit_cmd_tail(path, true, o));
	}
	close(pfd[1]);
	in = fdopen(pfd[0], "r");
	ok(fgets(line, sizeof(line), in) && strstr(line, " open allow "),
	   "follow prints the existing line");
	{
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "profile", "prod");
		r = audit_event(a, "revoke", f);
	}
	alarm(5);
	while (!seen && fgets(line, sizeof(line), in))
		seen = strstr(line, " revoke profile=prod") != NULL;
	alarm(0);
	ok(r == 0 && seen, "follow prints a line appended later");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fclose(in);
	audit_close(a);
}

static void test_report(void)
{
	char path[256], err[256];
	const char *k1[] = {"AKIAKEY1"}, *k2[] = {"AKIAKEY2"};
	const char *prof[] = {"prod"};
	struct audit *a;
	char *rb = NULL;
	size_t rl = 0;
	FILE *f;
	int r, i;

	snprintf(path, sizeof(path), "%s/report.log", tmpdir);
	if (audit_open_buf(path, AUDIT_SYNC_NONE, &a, err, sizeof(err)) < 0) {
		ok(0, "open report.log");
		return;
	}
	for (i = 0; i < 3; i++)
		r = audit_open_event(a, "credentials", prof, 1,
				     mk(1000, "/usr/bin/aws"),
				     dec(true, "allow uid:1000", 1), k1, 1, 0);
	r |= audit_open_event(
	    a, "credentials", prof, 1, mk(1000, "/usr/bin/curl"),
	    dec(false, "deny exe:/usr/bin/curl", 2), NULL, 0, 0);
	r |= audit_open_event(a, "credentials", prof, 1,
			      mk(1001, "/usr/bin/python3.11"),
			      dec(true, "allow uid:1001", 3), k1, 1, 0);
	r |= audit_open_event(a, "other", prof, 1, mk(1000, "/usr/bin/aws"),
			      dec(true, "allow uid:1000", 1), k2, 1, 0);
	audit_close(a);
	ok(r == 0, "report sample written");

	f = open_memstream(&rb, &rl);
	r = audit_cmd_report(path, "AKIAKEY1", NULL, f);
	fclose(f);
	ok(r == 0 && strstr(rb, "key AKIAKEY1") && strstr(rb, "reads: 4") &&
	       strstr(rb, "/usr/bin/aws (3)") &&
	       strstr(rb, "/usr/bin/python3.11 (1)") &&
	       strstr(rb, "1000 (3), 1001 (1)") &&
	       strstr(rb, "denials on these files while served: 1") &&
	       strstr(rb, "/usr/bin/curl") && !strstr(rb, "AKIAKEY2"),
	   "report for one key");
	diag_block(rb);
	free(rb);
	rb = NULL;
	f = open_memstream(&rb, &rl);
	r = audit_cmd_report(path, NULL, "1h", f);
	fclose(f);
	ok(r == 0 && strstr(rb, "key AKIAKEY1") && strstr(rb, "key AKIAKEY2") &&
	       strstr(rb, "6 opens, 1 denied"),
	   "report all keys, since 1h");
	free(rb);
	rb = NULL;
	f = open_memstream(&rb, &rl);
	r = audit_cmd_report(path, NULL, "2999-01-01T00:00:00Z", f);
	fclose(f);
	ok(r == 0 && strstr(rb, "0 opens") && !strstr(rb, "key "),
	   "since in the future: nothing");
	free(rb);
	rb = NULL;
	f = open_memstream(&rb, &rl);
	r = audit_cmd_report(path, NULL, "yesterday", f);
	fclose(f);
	ok(r == 2, "bad since is a usage error");
	free(rb);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(tmpdir)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_chain();
	test_hostile();
	test_nospace();
	test_two_writers();
	test_concurrency();
	test_syslog();
	test_tail_follow();
	test_report();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return tap_done();
}
