/* store rollback anchor (issue 14, Degraded): the manifest's generation is
 * recorded in the audit chain; a state directory rolled back with its
 * manifest, or a deleted manifest, is refused, not served, also by a new
 * process; `store reanchor` accepts it; without an anchor nothing
 * changes. */
#include "access/audit.h"
#include "core/cred.h"
#include "core/error.h"
#include "core/secmem.h"
#include "crypto/store.h"
#include "tests/tap.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/credfs-anchor-XXXXXX";
static uint8_t key[32];

static unsigned long long get(void *a)
{
	return audit_manifest_gen(a);
}

static int put(void *a, unsigned long long g)
{
	return audit_manifest_put(a, g);
}

static struct cred *mk(const char *id)
{
	struct cred *c = cred_new();

	if (!c || cred_set(c, "access_key_id", id) < 0 ||
	    cred_set(c, "secret_access_key", "s3cr3t") < 0)
		abort();
	return c;
}

static struct audit *open_audit(const char *log)
{
	struct audit *a = NULL;
	struct error e = {0};
	struct store_anchor an = {.get = get, .put = put};

	if (audit_open(log, AUDIT_SYNC_NONE, &a, &e) < 0) {
		diag("audit_open: %s", e.msg);
		return NULL;
	}
	an.arg = a;
	store_set_anchor(&an);
	return a;
}

#define SH(...)                                                                \
	do {                                                                   \
		char c_[1024];                                                 \
		snprintf(c_, sizeof(c_), __VA_ARGS__);                         \
		if (system(c_) != 0)                                           \
			diag("failed: %s", c_);                                \
	} while (0)

int main(void)
{
	char state[300], log[300];
	struct store *s = NULL;
	struct audit *a;
	struct error e = {0};
	struct cred *c1 = mk("AKIDOLD"), *c2 = mk("AKIDNEW"), *got = NULL;
	int r;

	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	secmem_init_cjson();
	randombytes_buf(key, sizeof(key));
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(log, sizeof(log), "%s/audit.log", dir);
	SH("mkdir -m 700 '%s'", state);
	a = open_audit(log);
	ok(a && store_open(state, key, &s, &e) == 0, "store and audit open");
	r = store_put(s, "base", c1, &e);
	r |= store_cache_save(s, "prod", c1, &e);
	ok(r == 0, "entry and cache written: %s", e.msg);
	SH("grep -q '\"event\":\"manifest\",\"manifest_gen\":2' '%s'", log);
	ok(audit_manifest_gen(a) == 2,
	   "the manifest's generation is in the audit chain (%llu)",
	   audit_manifest_gen(a));
	/* An attacker's snapshot, then the state moves on. */
	SH("cp -a '%s' '%s/old'", state, dir);
	r = store_put(s, "base", c2, &e);
	r |= store_cache_save(s, "prod", c2, &e);
	ok(r == 0, "the state advances");
	/* The whole state directory rolled back at once. */
	SH("rm -rf '%s' && cp -a '%s/old' '%s'", state, dir, state);
	memset(&e, 0, sizeof(e));
	r = store_cache_load(s, "prod", &got, &e);
	ok(r == -EBADMSG && !got && strstr(e.msg, "rolled back") &&
	       strstr(e.msg, "older than anchored"),
	   "an old cache with its old manifest is refused: %s", e.msg);
	r = store_get(s, "base", &got, &e);
	ok(r == -EBADMSG && !got, "an old source entry too");
	r = store_put(s, "other", c1, &e);
	ok(r == -EBADMSG, "and writes until reanchored");
	/* A new process (the daemon restarted) finds the anchor in the log. */
	audit_close(a);
	a = open_audit(log);
	r = store_cache_load(s, "prod", &got, &e);
	ok(r == -EBADMSG && !got, "a new process refuses it too");
	/* The manifest deleted. */
	SH("rm -f '%s/manifest.sealed'", state);
	r = store_cache_load(s, "prod", &got, &e);
	ok(r == -EBADMSG && !got && strstr(e.msg, "missing"),
	   "a deleted manifest is refused, not reset: %s", e.msg);
	/* The operator accepts the restore. */
	r = store_reanchor(s, &e);
	r |= store_get(s, "base", &got, &e);
	ok(r == 0 && got && !strcmp(cred_get(got, "access_key_id"), "AKIDOLD"),
	   "store reanchor accepts the state as it is");
	cred_unref(got);
	got = NULL;
	r = store_put(s, "base", c2, &e);
	ok(r == 0, "writes go on after reanchor");
	/* Without an anchor: the old behaviour (a reset, an event). */
	store_set_anchor(NULL);
	SH("rm -f '%s/manifest.sealed'", state);
	r = store_get(s, "base", &got, &e);
	ok(r == 0 && got, "no anchor: a deleted manifest resets the check");
	cred_unref(got);
	store_free(s);
	audit_close(a);
	cred_unref(c1);
	cred_unref(c2);
	SH("rm -rf '%s'", dir);
	return tap_done();
}
