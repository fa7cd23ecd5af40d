/* audit rotation (issue 14, Missing): segments by size and age, each
 * chained from the one before; verify across them names a missing,
 * reordered, replaced or cut segment; audit_keep moves the anchor; gzip'd
 * segments verify; copytruncate and a replaced log (audit_required) are
 * reported; the status warns on a short filesystem. */
#include "access/audit.h"
#include "access/audit_seal.h"
#include "cli/audit_cmd.h"
#include "core/config.h"
#include "core/error.h"
#include "providers/registry.h"
#include "tests/tap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/credfs-audit-rotate-XXXXXX";

static int open_log(const char *path, const struct audit_opts *o,
		    struct audit **a)
{
	struct error e = {0};
	int r = audit_open(path, AUDIT_SYNC_NONE, a, &e);

	if (r < 0)
		diag("audit_open: %s", e.msg);
	else
		audit_set_opts(*a, o);
	return r;
}

static int write_events(struct audit *a, int n)
{
	int r = 0;

	for (int i = 0; i < n && !r; i++) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "profile", "prod");
		cJSON_AddNumberToObject(f, "n", i);
		r = audit_event(a, "refresh", f);
	}
	return r;
}

/* verify (with key if not NULL) into out, lines joined by '|'. */
static int verify(const char *path, const char *key, char *out, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int st = key ? audit_cmd_verify_key(path, key, f)
		     : audit_cmd_verify(path, f);

	fclose(f);
	snprintf(out, n, "%s", buf ? buf : "");
	for (char *nl; (nl = strchr(out, '\n'));)
		*nl = nl[1] ? '|' : '\0';
	free(buf);
	return st;
}

#define SH(...)                                                                \
	do {                                                                   \
		char c_[1024];                                                 \
		snprintf(c_, sizeof(c_), __VA_ARGS__);                         \
		if (system(c_) != 0)                                           \
			diag("failed: %s", c_);                                \
	} while (0)

static bool exists(const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void test_size(void)
{
	struct audit_opts o = {.max_size = 4096, .keep = 3};
	char dir[300], path[400], out[2048], vk[65], kf[400];
	struct audit *a;
	int r;

	snprintf(dir, sizeof(dir), "%s/size", tmpdir);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	mkdir(dir, 0700);
	r = audit_seal_setup(path, vk);
	ok(r == 0, "sealed before the first line");
	snprintf(kf, sizeof(kf), "%s", vk);
	r = open_log(path, &o, &a);
	r |= write_events(a, 200); /* ~30 KB: several segments */
	ok(r == 0, "200 lines written across rotations");
	struct stat st;
	ok(stat(path, &st) == 0 && st.st_size < 4096 + 1024,
	   "the current log stays near audit_max_size (%lld bytes)",
	   (long long)st.st_size);
	cJSON *s = audit_status(a);
	char *txt = cJSON_PrintUnformatted(s);
	const cJSON *jo = cJSON_GetObjectItem(s, "oldest_segment");
	const cJSON *jh = cJSON_GetObjectItem(s, "segment");
	int lo = cJSON_IsNumber(jo) ? jo->valueint : 0;
	int hi = cJSON_IsNumber(jh) ? jh->valueint : 0;
	ok(txt && strstr(txt, "\"free_bytes\":") && hi > 5 && lo == hi - 3,
	   "status names the segment, the oldest kept and the free space: %s",
	   txt);
	free(txt);
	cJSON_Delete(s);
	char n1[64], nlo[64];
	snprintf(n1, sizeof(n1), "audit.log.seg-%06d", lo - 1);
	snprintf(nlo, sizeof(nlo), "audit.log.seg-%06d", lo);
	ok(!exists(dir, "audit.log.seg-000001") && !exists(dir, n1) &&
	       exists(dir, nlo),
	   "audit_keep = 3 deleted the oldest segments (kept %d-%d)", lo,
	   hi - 1);
	audit_close(a);
	r = verify(path, NULL, out, sizeof(out));
	ok(r == 0 && strstr(out, "from the anchor segment"),
	   "verify across segments from the anchor: %s", out);
	r = verify(path, kf, out, sizeof(out));
	ok(r == 0 && strstr(out, "sealed:"),
	   "verify with the key across segments: %s", out);

	/* The oldest kept segment gzip'd: still verifies. */
	SH("gzip -n '%s/%s'", dir, nlo);
	r = verify(path, kf, out, sizeof(out));
	ok(r == 0, "a gzip'd segment verifies: %s", out);

	/* A kept segment removed by someone else: named. */
	int m = lo + 1, m2 = lo + 2;
	char want[200];
	SH("cp -p '%s'/audit.log.seg-%06d '%s'/keep", dir, m, dir);
	SH("rm '%s'/audit.log.seg-%06d", dir, m);
	r = verify(path, NULL, out, sizeof(out));
	snprintf(want, sizeof(want), "seg-%06d: segment %d is missing", m, m);
	ok(r == 1 && strstr(out, want), "a missing segment is named: %s", out);
	/* Two segments swapped by name: reordered. */
	SH("mv '%s'/audit.log.seg-%06d '%s'/audit.log.seg-%06d", dir, m2, dir,
	   m);
	SH("cp -p '%s'/keep '%s'/audit.log.seg-%06d", dir, dir, m2);
	r = verify(path, NULL, out, sizeof(out));
	snprintf(want, sizeof(want), "holds segment %d, not %d", m2, m);
	ok(r == 1 && strstr(out, want), "swapped segments are named: %s", out);
	SH("mv '%s'/audit.log.seg-%06d '%s'/x", dir, m, dir);
	SH("mv '%s'/audit.log.seg-%06d '%s'/audit.log.seg-%06d", dir, m2, dir,
	   m);
	SH("mv '%s'/x '%s'/audit.log.seg-%06d", dir, dir, m2);
	r = verify(path, NULL, out, sizeof(out));
	ok(r == 0, "put back: verifies again: %s", out);
	/* A segment's line edited: named by file and line. */
	SH("cp -p '%s'/audit.log.seg-%06d '%s'/keep2", dir, m2, dir);
	SH("sed -i '3s/,/, /' '%s'/audit.log.seg-%06d", dir, m2);
	r = verify(path, NULL, out, sizeof(out));
	snprintf(want, sizeof(want), "seg-%06d line 3", m2);
	ok(r == 1 && strstr(out, want),
	   "an edited segment is named by file and line: %s", out);
	/* The last line of a segment cut. */
	SH("cp -p '%s'/keep2 '%s'/audit.log.seg-%06d", dir, dir, m2);
	SH("sed -i '$d' '%s'/audit.log.seg-%06d", dir, m);
	r = verify(path, NULL, out, sizeof(out));
	snprintf(want, sizeof(want), "does not end with segment %d's", m);
	ok(r == 1 && strstr(out, want), "a segment cut at its end is named: %s",
	   out);
}

static void test_age_and_truncate(void)
{
	struct audit_opts o = {.max_age = 1};
	char dir[300], path[400], out[2048];
	struct audit *a;
	int r;

	snprintf(dir, sizeof(dir), "%s/age", tmpdir);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	mkdir(dir, 0700);
	r = open_log(path, &o, &a);
	r |= write_events(a, 3);
	sleep(2);
	r |= write_events(a, 1);
	ok(r == 0 && exists(dir, "audit.log.seg-000001"),
	   "audit_max_age: the old segment is rotated by age");
	r = verify(path, NULL, out, sizeof(out));
	ok(r == 0 && strstr(out, "segment file(s)"), "and verifies: %s",
	   out);
	/* An outside logrotate copytruncate: copy, then cut in place. */
	o.max_age = 0;
	audit_set_opts(a, &o);
	SH("cp '%s' '%s.1'", path, path);
	SH("truncate -s 0 '%s'", path);
	usleep(20 * 1000);
	r = write_events(a, 2);
	audit_close(a);
	r = verify(path, NULL, out, sizeof(out));
	ok(r == 1 && strstr(out, "copytruncate"),
	   "copytruncate is reported by verify: %s", out);
}

static void test_replaced_required(void)
{
	struct audit_opts o = {.required = true};
	char dir[300], path[400], moved[400], out[2048];
	struct audit *a;
	int r;

	snprintf(dir, sizeof(dir), "%s/req", tmpdir);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(moved, sizeof(moved), "%s/audit.log.theirs", dir);
	mkdir(dir, 0700);
	r = open_log(path, &o, &a);
	r |= write_events(a, 2);
	/* Replaced by a foreign file (renamed over it). */
	SH("printf '{\"forged\":1}\\n' > '%s.new'", path);
	char np[420];
	snprintf(np, sizeof(np), "%s.new", path);
	rename(np, path);
	usleep(20 * 1000);
	r = write_events(a, 1);
	ok(r == -ESTALE, "audit_required: a replaced log refuses the line (%d)",
	   r);
	cJSON *s = audit_status(a);
	char *txt = cJSON_PrintUnformatted(s);
	ok(txt && strstr(txt, "\"state\":\"refusing\"") &&
	       strstr(txt, "replaced by another file"),
	   "status says why: %s", txt);
	free(txt);
	cJSON_Delete(s);
	rename(path, moved);
	usleep(20 * 1000);
	r = write_events(a, 1);
	ok(r == 0, "moved aside: lines go to a new log");
	audit_close(a);
	r = verify(path, NULL, out, sizeof(out));
	ok(r == 1 && strstr(out, "chain cut") && strstr(out, "moved aside"),
	   "verify names the cut: %s", out);
}

static void test_unlinked(void)
{
	struct audit_opts o = {.required = true};
	char dir[300], path[400], out[2048];
	struct audit *a;
	int r;

	snprintf(dir, sizeof(dir), "%s/rm", tmpdir);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	mkdir(dir, 0700);
	r = open_log(path, &o, &a);
	r |= write_events(a, 4);
	unlink(path);
	usleep(20 * 1000);
	r |= write_events(a, 1);
	ok(r == 0 && access(path, F_OK) == 0,
	   "unlinked while open: a new log at the name (even when required)");
	audit_close(a);
	r = verify(path, NULL, out, sizeof(out));
	ok(r == 1 && strstr(out, "line 1: chain cut: seq 5") &&
	       strstr(out, "unlinked"),
	   "verify says where the chain was cut: %s", out);
}

/* Two writers (the daemon and a command) on one rotating log: the one
 * that did not rotate follows into the new segment, one chain. */
static void test_two_writers(void)
{
	struct audit_opts o = {.max_size = 4096};
	char dir[300], path[400], out[2048];
	struct audit *a, *b;
	int r;

	snprintf(dir, sizeof(dir), "%s/two", tmpdir);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	mkdir(dir, 0700);
	r = open_log(path, &o, &a);
	r |= open_log(path, &o, &b);
	for (int i = 0; i < 60 && !r; i++) {
		r |= write_events(a, 1);
		if (i % 3 == 0) {
			usleep(8 * 1000); /* a's lease lapses */
			r |= write_events(b, 1);
		}
	}
	ok(r == 0 && exists(dir, "audit.log.seg-000002"),
	   "two writers across rotations");
	audit_close(a);
	audit_close(b);
	r = verify(path, NULL, out, sizeof(out));
	ok(r == 0, "one chain: %s", out);
}

/* The keys at their lines: good values taken, bad ones named. */
static void test_config(void)
{
	char p[400];
	struct config *c = NULL;
	struct diag d = {0};
	FILE *f;
	int r;

	snprintf(p, sizeof(p), "%s/good.conf", tmpdir);
	f = fopen(p, "w");
	fprintf(f, "[credfs]\naudit_max_size = 64M\naudit_max_age = 1d\n"
		   "audit_keep = 7\n");
	fclose(f);
	r = config_load(p, providers_all, &c, &d);
	ok(r == 0 && c && c->audit_max_size == 64LL << 20 &&
	       c->audit_max_age == 86400 && c->audit_keep == 7,
	   "audit_max_size 64M, audit_max_age 1d, audit_keep 7");
	config_free(c);
	c = NULL;
	diag_free(&d);
	snprintf(p, sizeof(p), "%s/bad.conf", tmpdir);
	f = fopen(p, "w");
	fprintf(f, "[credfs]\naudit_max_size = 10Q\naudit_max_age = soon\n"
		   "audit_keep = -1\naudit_max_size = 100\n");
	fclose(f);
	memset(&d, 0, sizeof(d));
	r = config_load(p, providers_all, &c, &d);
	bool l2 = false, l3 = false, l4 = false;
	for (size_t i = 0; i < d.n; i++) {
		l2 |= d.lines[i] == 2 && strstr(d.msgs[i], "audit_max_size");
		l3 |= d.lines[i] == 3 && strstr(d.msgs[i], "audit_max_age");
		l4 |= d.lines[i] == 4 && strstr(d.msgs[i], "audit_keep");
	}
	for (size_t i = 0; i < d.n; i++)
		diag("%d: %s", d.lines[i], d.msgs[i]);
	ok(r < 0 && l2 && l3 && l4, "bad values named at their lines (%zu)",
	   d.n);
	config_free(c);
	diag_free(&d);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(tmpdir)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_config();
	test_size();
	test_age_and_truncate();
	test_replaced_required();
	test_unlinked();
	test_two_writers();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return tap_done();
}
