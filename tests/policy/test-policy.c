/* policy: rule parsing and decisions over synthetic callers. */
#include "access/caller.h"
#include "access/policy.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <time.h>
#include <unistd.h>

static struct caller *mk(uid_t uid, gid_t gid, const char *exe)
{
	static struct caller c;

	memset(&c, 0, sizeof(c));
	c.tid = c.pid = 4242;
	c.uid = uid;
	c.gid = gid;
	c.starttime = 1;
	snprintf(c.exe, sizeof(c.exe), "%s", exe);
	snprintf(c.comm, sizeof(c.comm), "test");
	/* Synthetic: everything "read", so policy never goes to /proc. */
	c.have =
	    CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP | CALLER_NEED_ANCESTORS;
	return &c;
}

static void expect_error(const char *spec, bool allow, const char *want)
{
	struct rules *p = rules_new(1000);
	char err[256] = "";
	int r = rules_add(p, allow, spec, 7, err, sizeof(err));

	ok(r == -EINVAL && strstr(err, want), "'%s' rejected: %s", spec, err);
	ok(rules_count(p) == 0, "  and not added");
	rules_free(p);
}

static struct rules *mkpolicy(uid_t owner, const char *const *rules)
{
	struct rules *p = rules_new(owner);
	char err[256];
	int line = 10;

	for (; *rules; rules++, line++) {
		bool allow = !strncmp(*rules, "allow ", 6);
		const char *spec = *rules + (allow ? 6 : 5);

		if (rules_add(p, allow, spec, line, err, sizeof(err))) {
			printf("# bad rule %s: %s\n", *rules, err);
			abort();
		}
	}
	return p;
}

static void decide(struct rules *p, struct caller *c, bool want_allow,
		   const char *want_rule, int want_line, const char *name)
{
	struct policy_decision d;

	policy_decide(p, c, &d);
	if (!ok(d.allow == want_allow && !strcmp(d.rule, want_rule) &&
		    (want_line < 0 || d.line == want_line),
		"%s -> %s by '%s'", name, want_allow ? "allow" : "deny",
		want_rule))
		printf("#   got %s by '%s' line %d\n",
		       d.allow ? "allow" : "deny", d.rule, d.line);
}

static void test_parse(void)
{
	struct rules *p;
	struct policy_decision d;
	char err[256];

	expect_error("foo:bar", true, "unknown matcher 'foo:'");
	expect_error("uid:1000 foo:bar", true, "unknown matcher 'foo:'");
	expect_error("uid:no_such_user_xq", true,
		     "uid 'no_such_user_xq' is not a user");
	expect_error("gid:no_such_group_xq", true,
		     "gid 'no_such_group_xq' is not a group");
	expect_error("", true, "empty rule");
	expect_error("   \t ", false, "empty rule");
	expect_error("uid:", true, "has no value");
	expect_error("justaword", true, "is not a matcher");
	expect_error("exe_sha256:abcd", true, "64 hex digits");
	expect_error(
	    "exe_sha256:"
	    "zz00000000000000000000000000000000000000000000000000000000000000",
	    true, "64 hex digits");
	expect_error("exe:usr/bin/aws", true, "absolute path");
	expect_error("cgroup:docker", true, "absolute path");
	expect_error("profiles:prod", true, "no matcher");
	expect_error("uid:1000 profiles:prod,,dev", true, "empty profile");
	expect_error("uid:1000 profiles:prod,prod", true, "listed twice");
	expect_error("uid:1000 profiles:prod", false, "allow rule");

	p = rules_new(1000);
	ok(rules_add(p, true, "uid:root gid:root", 3, err, sizeof(err)) == 0,
	   "names resolve: uid:root gid:root");
	ok(rules_add(p, true, "  uid:1000\t exe:/usr/bin/aws  ", 4, err,
		     sizeof(err)) == 0,
	   "whitespace tolerated");
	ok(rules_count(p) == 2, "two rules");
	policy_decide(p, mk(0, 0, "/bin/sh"), &d);
	ok(d.allow && d.line == 3 && !strcmp(d.rule, "allow uid:root gid:root"),
	   "uid:root admits uid 0 (line %d, '%s')", d.line, d.rule);
	policy_decide(p, mk(1000, 1000, "/usr/bin/aws"), &d);
	is_str(d.rule, "allow uid:1000 exe:/usr/bin/aws",
	       "rule text normalised");
	rules_free(p);
	rules_free(NULL);
}

static void test_basic(void)
{
	static const char *const rules[] = {
	    "allow uid:1000 exe:/usr/bin/aws",
	    "allow uid:1000 exe:/usr/bin/python3*",
	    "deny exe:/usr/bin/curl",
	    NULL,
	};
	struct rules *p = rules_new(1000);
	struct caller *c;

	decide(p, mk(1000, 1000, "/usr/bin/cat"), true, "default: owner uid", 0,
	       "no rules: owner");
	decide(p, mk(1001, 1000, "/usr/bin/cat"), false, "default: owner uid",
	       0, "no rules: other uid");
	decide(p, NULL, false, "unidentified caller", 0, "NULL caller");
	rules_free(p);

	p = mkpolicy(1000, rules);
	decide(p, mk(1000, 1000, "/usr/bin/aws"), true,
	       "allow uid:1000 exe:/usr/bin/aws", 10, "aws");
	decide(p, mk(1000, 1000, "/usr/bin/python3.11"), true,
	       "allow uid:1000 exe:/usr/bin/python3*", 11, "python3.11");
	decide(p, mk(1000, 1000, "/usr/bin/python3"), true,
	       "allow uid:1000 exe:/usr/bin/python3*", 11, "python3");
	decide(p, mk(1000, 1000, "/usr/bin/python3/../../../tmp/x"), false,
	       "default: no rule matched", 0, "* does not cross '/'");
	decide(p, mk(1000, 1000, "/usr/bin/curl"), false,
	       "deny exe:/usr/bin/curl", 12, "curl");
	decide(p, mk(1001, 1001, "/usr/bin/aws"), false,
	       "default: no rule matched", 0, "other uid with aws");
	decide(p, mk(1000, 1000, "/usr/local/bin/aws"), false,
	       "default: no rule matched", 0, "aws elsewhere");
	c = mk(1000, 1000, "/usr/bin/aws");
	c->exe_deleted = true;
	decide(p, c, false, "default: no rule matched", 0,
	       "deleted aws never matches exe:");
	c = mk(1000, 1000, "/usr/bin/curl");
	c->exe_deleted = true;
	decide(p, c, false, "deny exe:/usr/bin/curl", 12,
	       "deleted curl still hits the deny");
	decide(p, NULL, false, "unidentified caller", 0, "NULL caller");
	c = mk(1000, 1000, "");
	c->pid = 0;
	decide(p, c, false, "unidentified caller", 0,
	       "failed identification (pid 0, no exe) is never trusted");
	rules_free(p);
}

static void test_order(void)
{
	static const char *const deny_first[] = {
	    "deny uid:1000 exe:/usr/bin/curl",
	    "allow uid:1000",
	    NULL,
	};
	static const char *const allow_first[] = {
	    "allow uid:1000",
	    "deny uid:1000 exe:/usr/bin/curl",
	    NULL,
	};
	struct rules *p;

	p = mkpolicy(1000, deny_first);
	decide(p, mk(1000, 1000, "/usr/bin/curl"), false,
	       "deny uid:1000 exe:/usr/bin/curl", 10, "deny first: curl");
	decide(p, mk(1000, 1000, "/usr/bin/aws"), true, "allow uid:1000", 11,
	       "deny first: aws");
	rules_free(p);
	p = mkpolicy(1000, allow_first);
	decide(p, mk(1000, 1000, "/usr/bin/curl"), true, "allow uid:1000", 10,
	       "first match wins: curl allowed");
	rules_free(p);
}

static void test_gid_groups(void)
{
	static const char *const rules[] = {"allow gid:2000", NULL};
	struct rules *p = mkpolicy(1000, rules);
	struct caller *c;

	decide(p, mk(1000, 2000, "/bin/x"), true, "allow gid:2000", 10,
	       "request gid");
	c = mk(1000, 1000, "/bin/x");
	c->ngroups = 3;
	c->groups[0] = 5;
	c->groups[1] = 2000;
	c->groups[2] = 7;
	decide(p, c, true, "allow gid:2000", 10, "supplementary group");
	c->groups[1] = 2001;
	decide(p, c, false, "default: no rule matched", 0, "not in group");
	c->groups_truncated = true;
	decide(p, c, false, "default: no rule matched", 0,
	       "groups cut short: allow gid: does not hold");
	rules_free(p);
	{
		static const char *const deny[] = {"deny gid:2000",
						   "allow uid:1000", NULL};

		p = mkpolicy(1000, deny);
		decide(p, c, false, "deny gid:2000", 10,
		       "groups cut short: deny gid: holds");
		c->groups_truncated = false;
		decide(p, c, true, "allow uid:1000", 11,
		       "full group list, not in it: allowed");
		rules_free(p);
	}
}

static void test_traced(void)
{
	static const char *const rules[] = {"allow uid:1000", NULL};
	struct rules *p = mkpolicy(1000, rules);
	struct caller *c = mk(1000, 1000, "/usr/bin/aws");

	c->tracer = 999;
	decide(p, c, true, "allow uid:1000", 10, "traced, deny_traced off");
	rules_set_deny_traced(p, true);
	decide(p, c, false, "deny_traced", 0, "traced, deny_traced on");
	c->tracer = 0;
	decide(p, c, true, "allow uid:1000", 10, "untraced, deny_traced on");
	rules_free(p);

	p = rules_new(1000);
	rules_set_deny_traced(p, true);
	c = mk(1000, 1000, "/usr/bin/aws");
	c->tracer = 1;
	decide(p, c, false, "deny_traced", 0, "traced owner, no rules");
	rules_free(p);
}

static void test_preload(void)
{
	static const char *const rules[] = {"allow uid:1000", NULL};
	struct rules *p = mkpolicy(1000, rules);
	struct caller *c = mk(1000, 1000, "/usr/bin/aws");

	snprintf(c->preload, sizeof(c->preload), "LD_PRELOAD");
	decide(p, c, true, "allow uid:1000", 10, "preloaded, deny_preload off");
	rules_set_deny_preload(p, true);
	ok(rules_needs(p) & CALLER_NEED_ENVIRON, "deny_preload needs environ");
	decide(p, c, false, "deny_preload: environment unreadable", 0,
	       "environment not read: fail closed");
	c->have |= CALLER_NEED_ENVIRON;
	decide(p, c, false, "deny_preload: LD_PRELOAD", 0,
	       "LD_PRELOAD, deny_preload on");
	c->preload[0] = '\0';
	decide(p, c, true, "allow uid:1000", 10, "clean, deny_preload on");
	rules_set_deny_preload(p, false);
	ok(!(rules_needs(p) & CALLER_NEED_ENVIRON), "off: environ not needed");
	rules_free(p);
}

static void test_ancestors_cgroup(void)
{
	static const char *const rules[] = {
	    "allow uid:1000 ancestor:/usr/sbin/sshd",
	    "allow cgroup:/system.slice/docker-*.scope",
	    "allow uid:1001 cgroup:/user.slice/**",
	    NULL,
	};
	struct rules *p = mkpolicy(1000, rules);
	struct caller *c;

	ok(rules_needs(p) == (CALLER_NEED_ANCESTORS | CALLER_NEED_CGROUP),
	   "rules_needs: ancestors and cgroup (0x%x)", rules_needs(p));
	c = mk(1000, 1000, "/bin/cat");
	c->nancestors = 2;
	strcpy(c->ancestors[0], "/bin/bash");
	strcpy(c->ancestors[1], "/usr/sbin/sshd");
	decide(p, c, true, "allow uid:1000 ancestor:/usr/sbin/sshd", 10,
	       "ancestor sshd");
	c->ancestors_deleted = 2;
	decide(p, c, false, "default: no rule matched", 0,
	       "deleted ancestor never matches allow");
	c->ancestors_deleted = 0;
	c->nancestors = 1;
	decide(p, c, false, "default: no rule matched", 0, "no sshd ancestor");

	c = mk(5000, 5000, "/bin/cat");
	strcpy(c->cgroup, "/system.slice/docker-0123abcd.scope");
	decide(p, c, true, "allow cgroup:/system.slice/docker-*.scope", 11,
	       "docker cgroup");
	strcpy(c->cgroup, "/system.slice/docker-0123abcd.scope/sub");
	decide(p, c, false, "default: no rule matched", 0,
	       "nested cgroup does not match single *");
	c = mk(1001, 1001, "/bin/cat");
	strcpy(c->cgroup, "/user.slice/user-1001.slice/session-3.scope");
	decide(p, c, true, "allow uid:1001 cgroup:/user.slice/**", 12,
	       "** crosses '/'");

	/* Not read yet and unreadable (no such process): fail closed. */
	c = mk(1001, 1001, "/bin/cat");
	c->have = 0;
	c->tid = c->pid = 0;
	decide(p, c, false, "unidentified caller", 0,
	       "cgroup needed but caller gone");
	rules_free(p);

	p = rules_new(1000);
	ok(rules_add(p, true, "uid:1000 exe:/x", 1, NULL, 0) == 0 &&
	       rules_needs(p) == 0,
	   "rules_needs: uid/exe need nothing optional");
	rules_free(p);
}

static void sha_of_file(const char *path, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536];
	unsigned int len;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	close(fd);
}

static void hex(const uint8_t *h, char *out)
{
	int i;

	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

static void test_sha256(void)
{
	struct rules *p = rules_new(getuid());
	struct policy_decision d;
	struct caller *c, self;
	uint8_t h[32];
	char spec[128], hx[65], err[256];
	int r;

	memset(h, 0xab, sizeof(h));
	hex(h, hx);
	snprintf(spec, sizeof(spec), "uid:1000 exe_sha256:%s", hx);
	ok(rules_add(p, true, spec, 20, err, sizeof(err)) == 0,
	   "exe_sha256 rule parses");
	c = mk(1000, 1000, "/bin/x");
	c->have_sha256 = true;
	memcpy(c->exe_sha256, h, 32);
	decide(
	    p, c, true,
	    "allow uid:1000 "
	    "exe_sha256:"
	    "abababababababababababababababababababababababababababababababab",
	    20, "hash match");
	c->exe_sha256[31] ^= 1;
	decide(p, c, false, "default: no rule matched", 0, "hash mismatch");
	c = mk(1000, 1000, "/bin/x");
	decide(p, c, false, "unidentified caller", 0,
	       "hash needed, process gone");
	c = mk(1001, 1000, "/bin/x");
	decide(p, c, false, "default: no rule matched", 0,
	       "uid checked before hashing");
	ok(!c->have_sha256, "  and nothing was hashed");
	rules_free(p);

	/* The real thing: this process's own binary, hashed lazily. */
	sha_of_file("/proc/self/exe", h);
	hex(h, hx);
	p = rules_new(getuid());
	snprintf(spec, sizeof(spec), "exe_sha256:%s", hx);
	ok(rules_add(p, true, spec, 21, err, sizeof(err)) == 0,
	   "own hash rule");
	r = caller_identify_need(gettid(), geteuid(), getegid(), 0, &self);
	ok(r == 0, "identify self (need 0): %d", r);
	/* policy_decide reads nothing: what the rules need is filled first. */
	r = caller_complete(&self, policy_needs(p));
	ok(r == 0 && self.have_sha256,
	   "caller_complete(policy_needs) hashes the binary: %d", r);
	policy_decide(p, &self, &d);
	ok(d.allow && d.line == 21 && self.have_sha256,
	   "own binary matches its exe_sha256 (%s)", d.rule);
	rules_free(p);
}

static void test_profiles(void)
{
	static const char *const rules[] = {
	    "allow uid:1000 exe:/usr/bin/aws profiles:prod,dev",
	    "allow uid:1000",
	    "deny uid:1001",
	    NULL,
	};
	static const char *const labels[] = {"prod", "dev", "default"};
	static const char *const fewer[] = {"prod"};
	struct rules *p = mkpolicy(1000, rules);
	struct policy_decision d;
	char err[256];
	int line = 0;

	policy_decide(p, mk(1000, 1000, "/usr/bin/aws"), &d);
	ok(d.allow && d.nprofiles == 2, "per-caller: aws gets 2 profiles");
	ok(policy_admits_profile(&d, "prod") &&
	       policy_admits_profile(&d, "dev"),
	   "  prod and dev admitted");
	ok(!policy_admits_profile(&d, "default"), "  default not admitted");
	policy_decide(p, mk(1000, 1000, "/usr/bin/cat"), &d);
	ok(d.allow && !d.profiles && policy_admits_profile(&d, "default"),
	   "rule without profiles: all admitted");
	policy_decide(p, mk(1001, 1001, "/usr/bin/aws"), &d);
	ok(!d.allow && !policy_admits_profile(&d, "prod"),
	   "denied: nothing admitted");
	ok(rules_check_profiles(p, labels, 3, &line, err, sizeof(err)) == 0,
	   "check_profiles: all known");
	ok(rules_check_profiles(p, fewer, 1, &line, err, sizeof(err)) ==
		   -EINVAL &&
	       line == 10 && strstr(err, "'dev'"),
	   "check_profiles: unknown 'dev' at line %d: %s", line, err);
	rules_free(p);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void test_timing(void)
{
	static const char *const rules[] = {
	    "allow uid:1000 exe:/usr/bin/aws",
	    "allow uid:1000 exe:/usr/bin/python3*",
	    "deny exe:/usr/bin/curl",
	    "allow uid:0 gid:0",
	    NULL,
	};
	static struct caller c;
	static const unsigned needs[3] = {
	    0, CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP,
	    CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP | CALLER_NEED_ANCESTORS};
	struct rules *p;
	struct policy_decision d;
	const int n = 500;
	double t0, t[3] = {1e9, 1e9, 1e9}, t_pol = 1e9, x;
	double t_core, t_audit, t_all;
	int i, k, round, bad = 0;

	p = mkpolicy(getuid(), rules);
	/* Best of 5 rounds: the machine is shared, the minimum is the
	 * cost, the rest is other people's load. */
	for (round = 0; round < 5; round++) {
		for (k = 0; k < 3; k++) {
			t0 = now_us();
			for (i = 0; i < n; i++)
				bad += caller_identify_need(gettid(), geteuid(),
							    getegid(), needs[k],
							    &c) != 0;
			x = (now_us() - t0) / n;
			if (x < t[k])
				t[k] = x;
		}
		t0 = now_us();
		for (i = 0; i < n * 10; i++)
			policy_decide(p, &c, &d);
		x = (now_us() - t0) / (n * 10);
		if (x < t_pol)
			t_pol = x;
	}
	t_core = t[0];
	t_audit = t[1];
	t_all = t[2];
	ok(!bad, "timing loops identified every time");
	diag("identify core (pin + status + exe): %.2f us", t_core);
	diag("identify + cmdline + cgroup (audit fields): %.2f us", t_audit);
	diag("identify all (with %zu ancestors): %.2f us", c.nancestors, t_all);
	diag("policy_decide, 4 rules, last one matches: %.3f us", t_pol);
	/* Generous bound: catches an accidental O(n) or a syscall storm,
	 * not a slow CI machine. */
	ok(t_core + t_pol < 200, "identity + policy well under 200 us");
	rules_free(p);
}

/* policy_decide reads nothing: a part a rule reaches that the caller did
 * not fill denies as unidentified; an executable out of sight (another
 * user's process seen by a non-root daemon) only fails the rules that
 * look at it; a substituted executable fails exe:/ancestor: allows. */
static void test_needs_filled(void)
{
	static const char *const rules[] = {
	    "allow uid:1000 exe:/usr/bin/aws",
	    "allow uid:1001",
	    "deny exe:/usr/bin/curl",
	    "allow uid:1002 cgroup:/user.slice/**",
	    "allow uid:1003 ancestor:/usr/bin/bash",
	    NULL,
	};
	struct rules *p = mkpolicy(1000, rules);
	struct caller *c;

	c = mk(1001, 1001, "");
	decide(p, c, true, "allow uid:1001", 11, "no exe: uid rule decides");
	c = mk(1000, 1000, "");
	decide(p, c, false, "unidentified caller", 0,
	       "no exe: an exe rule that is reached fails closed");
	c = mk(1000, 1000, "/usr/bin/aws");
	c->exe_mismatch = true;
	decide(p, c, false, "default: no rule matched", 0,
	       "exe path not what runs: the allow does not hold");
	c = mk(1005, 1005, "/usr/bin/curl");
	c->exe_mismatch = true;
	decide(p, c, false, "deny exe:/usr/bin/curl", 12,
	       "exe path not what runs: a deny still holds");
	c = mk(1002, 1002, "/bin/x");
	snprintf(c->cgroup, sizeof(c->cgroup), "/user.slice/u");
	c->have &= ~CALLER_NEED_CGROUP;
	decide(p, c, false, "unidentified caller", 0,
	       "cgroup not filled: denied, nothing read");
	c->have |= CALLER_NEED_CGROUP;
	decide(p, c, true, "allow uid:1002 cgroup:/user.slice/**", 13,
	       "cgroup filled: allowed");
	c = mk(1003, 1003, "/bin/x");
	c->nancestors = 1;
	snprintf(c->ancestors[0], sizeof(c->ancestors[0]), "/usr/bin/bash");
	c->ancestors_mismatch = 1;
	decide(p, c, false, "default: no rule matched", 0,
	       "ancestor path not what runs: the allow does not hold");
	c->ancestors_mismatch = 0;
	decide(p, c, true, "allow uid:1003 ancestor:/usr/bin/bash", 14,
	       "ancestor verified: allowed");
	rules_free(p);
}

int main(void)
{
	test_parse();
	test_basic();
	test_order();
	test_gid_groups();
	test_traced();
	test_preload();
	test_ancestors_cgroup();
	test_sha256();
	test_profiles();
	test_needs_filled();
	test_timing();
	return tap_done();
}
