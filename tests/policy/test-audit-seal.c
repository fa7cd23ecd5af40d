/* audit seal: the forward-secure keyed chain (issue 14, item 3) and a log
 * unlinked or replaced while open. */
#include "access/audit.h"
#include "access/audit_seal.h"
#include "cli/audit_cmd.h"
#include "tests/tap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sys/stat.h>
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

static char tmpdir[] = "/tmp/credfs-audit-seal-XXXXXX";

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, k;

	if (!f)
		return NULL;
	do {
		if (n + 65536 > cap && !(buf = realloc(buf, cap += 1 << 20)))
			abort();
		k = fread(buf + n, 1, 65536, f);
		n += k;
	} while (k);
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

/* Runs a command into a string (first line), returns its status. */
static int run_key(const char *path, const char *key, char *out, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int st = key ? audit_cmd_verify_key(path, key, f)
		     : audit_cmd_verify(path, f);

	fclose(f);
	snprintf(out, n, "%s", buf ? buf : "");
	/* verify --key prints the chain's line, then the seal's. */
	for (char *nl; (nl = strchr(out, '\n'));)
		if (nl[1])
			*nl = '|';
		else
			*nl = '\0';
	free(buf);
	return st;
}

/* Only the seal pass, on bytes whose chain an attacker recomputed or
 * that the chain pass already rejects. */
static int seal_only(const char *data, size_t len, const char *path,
		     const uint8_t vkey[32], char *out, size_t n)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	int st = audit_seal_verify(data, len, path, vkey, false, f);

	fclose(f);
	snprintf(out, n, "%s", buf ? buf : "");
	out[strcspn(out, "\n")] = '\0';
	free(buf);
	return st;
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

/* Start (byte offset) of line no (1-based) in buf. */
static char *line_at(char *buf, size_t no)
{
	for (size_t i = 1; buf && i < no; i++)
		if ((buf = strchr(buf, '\n')))
			buf++;
	return buf;
}

static void test_sealed(void)
{
	char path[300], copy[300], vkey[65], out[1024], err[256], bad[65];
	uint8_t vk[32];
	struct audit *a;
	char *buf, *p, *q;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/sealed.log", tmpdir);
	snprintf(copy, sizeof(copy), "%s/copy.log", tmpdir);
	/* Lines from before sealing stay verifiable by the chain. */
	r = audit_open_buf(path, AUDIT_SYNC_NONE, &a, err, sizeof(err));
	ok(r == 0 && write_events(a, 3) == 0, "3 unsealed lines");
	audit_close(a);
	{
		FILE *f = fopen("/dev/null", "w");

		ok(audit_cmd_seal_setup(path, f) == 0, "seal setup");
		ok(audit_cmd_seal_setup(path, f) == 1,
		   "a second setup refused");
		fclose(f);
	}
	/* The key printed once is epoch 0's: take it from a fresh setup on
	 * another log to check the format, and here from the API. */
	unlink(strcat(strcpy(out, path), ".seal"));
	ok(audit_seal_setup(path, vkey) == 0 && strlen(vkey) == 64,
	   "verification key: 64 hex digits");
	for (int i = 0; i < 32; i++)
		vk[i] = (uint8_t)(strtoul(
		    (char[]){vkey[2 * i], vkey[2 * i + 1], 0}, NULL, 16));
	buf = slurp(strcat(strcpy(out, path), ".seal"), NULL);
	ok(buf && !strstr(buf, vkey), "the machine does not keep that key");
	free(buf);

	r = audit_open_buf(path, AUDIT_SYNC_NONE, &a, err, sizeof(err));
	ok(r == 0, "open sealed log: %s", err);
	r = write_events(a, 2 * AUDIT_SEAL_EPOCH_LINES + 100);
	audit_close(a);
	ok(r == 0, "%d sealed lines", 2 * AUDIT_SEAL_EPOCH_LINES + 100);
	buf = slurp(path, &len);
	ok(buf && strstr(buf, "\"event\":\"epoch_end\",\"epoch\":1,") &&
	       strstr(buf, "\"event\":\"epoch_end\",\"epoch\":2,"),
	   "epochs 1 and 2 ended with a seal line");
	r = run_key(path, NULL, out, sizeof(out));
	ok(r == 0 && !strncmp(out, "OK:", 3), "the unkeyed chain verifies: %s",
	   out);
	r = run_key(path, vkey, out, sizeof(out));
	ok(r == 0 && strstr(out, "epochs 1-3 verified") &&
	       strstr(out, "sealed: lines 4-"),
	   "verify --key: %s", out);
	memcpy(bad, vkey, 65);
	bad[0] = bad[0] == '0' ? '1' : '0';
	r = run_key(path, bad, out, sizeof(out));
	ok(r == 1 && strstr(out, "line 4 (epoch 1)") &&
	       strstr(out, "wrong key"),
	   "a wrong key: %s", out);

	/* An edit in epoch 1: the chain sees it; so does the MAC, even if
	 * the chain were recomputed. */
	p = strstr(line_at(buf, 10), "\"prod\"");
	p[4] = 'x';
	spit(copy, buf, len);
	p[4] = 'd';
	r = run_key(copy, vkey, out, sizeof(out));
	ok(r == 1 && !strncmp(out, "line 10: edited", 15) && !strchr(out, '|'),
	   "edit: the chain names line 10: %s", out);
	p[4] = 'x';
	r = seal_only(buf, len, path, vk, out, sizeof(out));
	p[4] = 'd';
	ok(r == 1 && strstr(out, "line 10 (epoch 1): the MAC does not verify"),
	   "edit: the MAC names line 10, epoch 1: %s", out);

	/* Cut after epoch 1's seal: the chain is intact, the writer's state
	 * says the log went further. */
	p = strstr(buf, "\"event\":\"epoch_end\",\"epoch\":1,");
	q = strchr(p, '\n') + 1;
	spit(copy, buf, (size_t)(q - buf));
	{
		char st[320], cst[320];

		snprintf(st, sizeof(st), "%s.seal", path);
		snprintf(cst, sizeof(cst), "%s.seal", copy);
		free(slurp(st, &len));
		char *sb = slurp(st, &len);
		spit(cst, sb, len);
		free(sb);
		r = run_key(copy, NULL, out, sizeof(out));
		ok(r == 0, "cut at a seal: the unkeyed chain still says OK");
		r = run_key(copy, vkey, out, sizeof(out));
		ok(r == 1 && strstr(out, "ends in epoch 2") &&
		       strstr(out, "epoch 3"),
		   "cut at a seal: verify --key finds it: %s", out);
		unlink(cst);
	}
	free(buf);
	buf = slurp(path, &len);

	/* Epoch 2 removed whole (its seal too). */
	p = strchr(strstr(buf, "\"event\":\"epoch_end\",\"epoch\":1,"), '\n') +
	    1;
	q = strchr(strstr(buf, "\"event\":\"epoch_end\",\"epoch\":2,"), '\n') +
	    1;
	memmove(p, q, len - (size_t)(q - buf) + 1);
	r = seal_only(buf, strlen(buf), path, vk, out, sizeof(out));
	ok(r == 1 && strstr(out, "epoch 3 begins without epoch 2's seal"),
	   "a removed epoch: %s", out);
	free(buf);

	/* Replaced by a log written without the key. */
	{
		char other[300];

		snprintf(other, sizeof(other), "%s/other.log", tmpdir);
		r = audit_open_buf(other, AUDIT_SYNC_NONE, &a, err, sizeof(err));
		r |= write_events(a, 5);
		audit_close(a);
		buf = slurp(other, &len);
		spit(copy, buf, len);
		free(buf);
		r |= run_key(copy, vkey, out, sizeof(out)) != 1;
		ok(!r && strstr(out, "no sealed line"), "replaced: %s", out);
	}
	unlink(copy);
}

/* The daemon notices its log unlinked or replaced, reopens the name, and
 * says so there; verify of the new file shows the break. */
static void test_replaced(void)
{
	char path[300], moved[300], out[1024], err[256];
	struct audit *a;
	char *buf;
	int r;

	snprintf(path, sizeof(path), "%s/gone.log", tmpdir);
	snprintf(moved, sizeof(moved), "%s/gone.old", tmpdir);
	r = audit_open_buf(path, AUDIT_SYNC_NONE, &a, err, sizeof(err));
	r |= write_events(a, 3);
	unlink(path);
	usleep(20 * 1000); /* the lease lapses */
	r |= write_events(a, 2);
	buf = slurp(path, NULL);
	ok(!r && buf && strstr(buf, "\"event\":\"integrity\"") &&
	       strstr(buf, "unlinked while open"),
	   "unlinked: the name is recreated and the reopen said");
	free(buf);
	r = run_key(path, NULL, out, sizeof(out));
	ok(r == 1 && !strncmp(out, "line 1: ", 8),
	   "verify shows the break at line 1: %s", out);
	rename(path, moved);
	spit(path, "", 0);
	usleep(20 * 1000);
	r = write_events(a, 1);
	buf = slurp(path, NULL);
	ok(!r && buf && strstr(buf, "replaced by another file"),
	   "replaced by another file: written to the new one");
	free(buf);
	audit_close(a);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(tmpdir)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_sealed();
	test_replaced();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return tap_done();
}
