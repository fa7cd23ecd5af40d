/* The AWS providers against a real moto_server (started by moto_test.py,
 * which passes everything through the environment).  TAP.
 *
 * Env: ENDPOINT (recording proxy in front of moto), FLAKY_ENDPOINT (proxy
 * that answers 503 and Throttling before forwarding), SILENT_ENDPOINT
 * (accepts, never answers), WEB_ENDPOINT (proxy in front of a second
 * moto without auth enforcement), ALICE_AK/ALICE_SK, ROLE_ARN, EXTERNAL_ID,
 * OTHER_ROLE_ARN, WEB_ROLE_ARN, JWT_FILE, JWT_SOURCE_TOKEN, ROT_AK/ROT_SK,
 * SSO_ENDPOINT, SSO_CACHE, OUT_DIR (creds for the python side to use).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/secmem.h"
#include "core/config.h"
#include "core/cred.h"
#include "providers/aws/iam.h"
#include "providers/aws/sts.h"
#include "core/provider.h"
#include "tests/tap.h"

extern const struct provider_ops provider_aws_session_token,
    provider_aws_assume_role, provider_aws_web_identity, provider_aws_sso;

static const char *env(const char *k)
{
	const char *v = getenv(k);

	if (!v) {
		fprintf(stderr, "test_moto: %s not set (run moto_test.py)\n",
			k);
		exit(2);
	}
	return v;
}

/* A [profile NAME] section built by hand: key, value, ..., NULL. */
static struct cfg_section *section(const char *name, ...)
{
	struct cfg_section *s = calloc(1, sizeof(*s));
	va_list ap;
	const char *k;

	s->kind = strdup("profile");
	s->name = strdup(name);
	s->file = "test";
	s->line = 1;
	s->kv = calloc(32, sizeof(*s->kv));
	va_start(ap, name);
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);

		s->kv[s->nkv].key = strdup(k);
		s->kv[s->nkv].value = strdup(v);
		s->kv[s->nkv].line = (int)s->nkv + 2;
		s->nkv++;
	}
	va_end(ap);
	return s;
}

static void section_free(struct cfg_section *s)
{
	size_t i;

	for (i = 0; i < s->nkv; i++) {
		free(s->kv[i].key);
		free(s->kv[i].value);
	}
	free(s->kv);
	free(s->kind);
	free(s->name);
	free(s);
}

static struct cred *keys(const char *ak, const char *sk, const char *tok)
{
	struct cred *c = cred_new();

	if (!c || cred_set(c, "access_key_id", ak) < 0 ||
	    cred_set(c, "secret_access_key", sk) < 0 ||
	    (tok && cred_set(c, "session_token", tok) < 0))
		abort();
	return c;
}

/* Parses p as config_load would (ops->parse, the common keys), then
 * fetches. */
static int fetch_t(const struct provider_ops *ops, struct cfg_section *p,
		   const struct cred *src, const char *mfa, int timeout_ms,
		   struct cred **out, struct error *e)
{
	struct provider_common common = {
	    .endpoint = (char *)cfg_get(p, "endpoint"),
	    .region = (char *)cfg_get(p, "region"),
	    .ca_file = (char *)cfg_get(p, "ca_file"),
	    .has_source = cfg_get(p, "source") != NULL,
	};
	struct diag d = {0};
	void *state = NULL;
	int r;

	*out = NULL;
	memset(e, 0, sizeof(*e));
	if (ops->parse && ops->parse(p, &d, &state) < 0) {
		snprintf(e->msg, sizeof(e->msg), "%s",
			 d.n ? d.msgs[0] : "parse failed");
		diag_free(&d);
		return -EINVAL;
	}
	diag_free(&d);
	struct provider_req req = {
	    .profile_name = p->name,
	    .common = &common,
	    .state = state,
	    .source = src,
	    .mfa_code = mfa,
	    .timeout_ms = timeout_ms,
	};
	r = ops->fetch(&req, out, e);
	if (ops->free_state)
		ops->free_state(state);
	return r;
}

static int fetch(const struct provider_ops *ops, struct cfg_section *p,
		 const struct cred *src, const char *mfa, struct cred **out,
		 struct error *e)
{
	return fetch_t(ops, p, src, mfa, 10000, out, e);
}

static int good_cred(const struct cred *c, const char *prefix, int min_life)
{
	const char *ak = c ? cred_get(c, "access_key_id") : NULL;
	time_t now = time(NULL);

	return c && ak && strncmp(ak, prefix, strlen(prefix)) == 0 &&
	       cred_get(c, "secret_access_key") &&
	       *cred_get(c, "secret_access_key") &&
	       cred_get(c, "session_token") && *cred_get(c, "session_token") &&
	       cred_expiration(c) > now + min_life &&
	       cred_obtained(c) >= now - 5 && cred_obtained(c) <= now + 1;
}

static void save(const char *name, const struct cred *c)
{
	char path[1024];
	FILE *f;
	const char *tok = cred_get(c, "session_token");

	snprintf(path, sizeof(path), "%s/%s", env("OUT_DIR"), name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fchmod(fileno(f), 0600);
	fprintf(f, "%s\n%s\n%s\n", cred_get(c, "access_key_id"),
		cred_get(c, "secret_access_key"), tok ? tok : "");
	fclose(f);
}

static const char *ep;

static void test_session_token(struct cred *alice)
{
	struct cfg_section *p;
	struct cred *c;
	struct error e;
	int r;

	p = section("st", "provider", "aws-session-token", "endpoint", ep,
		    "duration", "2h", NULL);
	r = fetch(&provider_aws_session_token, p, alice, NULL, &c, &e);
	tap_ok(r == 0 && good_cred(c, "", 7000) &&
		   cred_expiration(c) <= time(NULL) + 7200 + 5,
	       "GetSessionToken: credential with a 2h expiry (%s)", e.msg);
	cred_unref(c);
	section_free(p);

	p = section("mfa", "provider", "aws-session-token", "endpoint", ep,
		    "mfa_serial", "arn:aws:iam::123456789012:mfa/alice", NULL);
	r = fetch(&provider_aws_session_token, p, alice, NULL, &c, &e);
	tap_ok(r == -ENOKEY && !c &&
		   strcmp(e.msg, "GetSessionToken: needs an MFA code: run "
				 "`credfs login mfa`") == 0,
	       "GetSessionToken with mfa_serial and no code: %s", e.msg);
	r = fetch(&provider_aws_session_token, p, alice, "123456", &c, &e);
	tap_ok(r == 0 && good_cred(c, "", 600),
	       "GetSessionToken with an MFA code (%s)", e.msg);
	cred_unref(c);
	r = fetch(&provider_aws_session_token, p, alice, "12x456", &c, &e);
	tap_ok(r == -EINVAL && !c, "malformed MFA code refused before sending");
	section_free(p);

	p = section("nosrc", "provider", "aws-session-token", "endpoint", ep,
		    NULL);
	r = fetch(&provider_aws_session_token, p, NULL, NULL, &c, &e);
	tap_ok(r == -EINVAL && strstr(e.msg, "source"),
	       "GetSessionToken without a source: %s", e.msg);
	section_free(p);
}

static void test_assume_role(struct cred *alice)
{
	const char *role = env("ROLE_ARN");
	struct cfg_section *p;
	struct cred *c, *bad;
	struct error e;
	char arn[512];
	int r;

	p = section("prod", "provider", "aws-assume-role", "source", "base",
		    "role_arn", role, "external_id", env("EXTERNAL_ID"),
		    "duration", "15m", "session_name",
		    "credfs {profile}/{date}!", "region", "us-east-1",
		    "endpoint", ep, "tags", "team=sec env=test",
		    "source_identity", "alice", NULL);
	r = fetch(&provider_aws_assume_role, p, alice, NULL, &c, &e);
	tap_ok(r == 0 && good_cred(c, "ASIA", 800) &&
		   cred_expiration(c) <= time(NULL) + 900 + 5,
	       "AssumeRole with the right ExternalId (%s)", e.msg);
	if (c) {
		save("assumed", c);
		r = sts_get_caller_identity(ep, "us-east-1", c, arn,
					    sizeof(arn), &e);
		tap_ok(r == 0 && strstr(arn, ":assumed-role/demo/credfs-prod-"),
		       "assumed creds sign GetCallerIdentity: %s", arn);
		printf("# session arn %s\n", arn);
		bad = keys(cred_get(c, "access_key_id"),
			   cred_get(c, "secret_access_key"), "bogus-token");
		r = sts_get_caller_identity(ep, "us-east-1", bad, arn,
					    sizeof(arn), &e);
		tap_ok(r == -EKEYREJECTED &&
			   strstr(e.msg, "GetCallerIdentity: "
					 "InvalidClientTokenId"),
		       "assumed key with a wrong session token: %s", e.msg);
		cred_unref(bad);
	}
	cred_unref(c);
	section_free(p);

	p = section("wrongext", "provider", "aws-assume-role", "role_arn", role,
		    "external_id", "not-the-id", "endpoint", ep, NULL);
	r = fetch(&provider_aws_assume_role, p, alice, NULL, &c, &e);
	tap_ok(r == -EACCES && !c &&
		   strncmp(e.msg, "AssumeRole: AccessDenied: User: ", 32) ==
		       0 &&
		   strstr(e.msg, "user/alice is not authorized to perform: "
				 "sts:AssumeRole"),
	       "wrong ExternalId: %s", e.msg);
	section_free(p);

	p = section("norole", "provider", "aws-assume-role", "role_arn",
		    env("OTHER_ROLE_ARN"), "external_id", env("EXTERNAL_ID"),
		    "endpoint", ep, NULL);
	r = fetch(&provider_aws_assume_role, p, alice, NULL, &c, &e);
	tap_ok(r == -EACCES && !c && strstr(e.msg, "AccessDenied"),
	       "nonexistent role: %s", e.msg);
	section_free(p);

	p = section("badsecret", "provider", "aws-assume-role", "role_arn",
		    role, "external_id", env("EXTERNAL_ID"), "endpoint", ep,
		    NULL);
	bad = keys(env("ALICE_AK"), "wrong-secret-wrong-secret-wrong-secret1",
		   NULL);
	r = fetch(&provider_aws_assume_role, p, bad, NULL, &c, &e);
	tap_ok(r == -EKEYREJECTED && !c &&
		   strncmp(e.msg, "AssumeRole: SignatureDoesNotMatch: ", 35) ==
		       0,
	       "wrong secret: %s", e.msg);
	cred_unref(bad);
	bad = keys(env("ALICE_AK"), env("ALICE_SK"), "bogus-session-token");
	r = fetch(&provider_aws_assume_role, p, bad, NULL, &c, &e);
	tap_ok(r == -EKEYREJECTED && !c &&
		   strncmp(e.msg, "AssumeRole: InvalidClientTokenId: ", 34) ==
		       0,
	       "bogus session token: %s", e.msg);
	cred_unref(bad);
	bad = keys("AKIAUNKNOWNUNKNOWN00", env("ALICE_SK"), NULL);
	r = fetch(&provider_aws_assume_role, p, bad, NULL, &c, &e);
	tap_ok(r == -EKEYREJECTED && strstr(e.msg, "InvalidClientTokenId"),
	       "unknown access key: %s", e.msg);
	cred_unref(bad);
	section_free(p);
}

static void test_transport(struct cred *alice)
{
	struct cfg_section *p;
	struct cred *c;
	struct error e;
	struct timespec t0, t1;
	double secs;
	int r;

	p = section("flaky", "provider", "aws-assume-role", "role_arn",
		    env("ROLE_ARN"), "external_id", env("EXTERNAL_ID"),
		    "endpoint", env("FLAKY_ENDPOINT"), NULL);
	r = fetch(&provider_aws_assume_role, p, alice, NULL, &c, &e);
	tap_ok(r == 0 && good_cred(c, "ASIA", 600),
	       "503 then Throttling then success: retried (%s)", e.msg);
	cred_unref(c);
	section_free(p);

	p = section("silent", "provider", "aws-assume-role", "role_arn",
		    env("ROLE_ARN"), "endpoint", env("SILENT_ENDPOINT"), NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = fetch_t(&provider_aws_assume_role, p, alice, NULL, 1500, &c, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	tap_ok(r == -ETIMEDOUT && secs < 5.0 && secs > 1.2,
	       "a silent endpoint times out at the deadline (%.2fs): %s", secs,
	       e.msg);
	section_free(p);

	p = section("plain", "provider", "aws-assume-role", "role_arn",
		    env("ROLE_ARN"), "endpoint", "http://sts.amazonaws.com",
		    NULL);
	r = fetch(&provider_aws_assume_role, p, alice, NULL, &c, &e);
	tap_ok(r == -EPERM && strstr(e.msg, "loopback"),
	       "plain http to a non-loopback host refused: %s", e.msg);
	section_free(p);
}

static void test_web_identity(void)
{
	struct cfg_section *p;
	struct cred *c, *src;
	struct error e;
	const char *wep = env("WEB_ENDPOINT");
	int r;

	p = section("web", "provider", "aws-web-identity", "role_arn",
		    env("WEB_ROLE_ARN"), "token_file", env("JWT_FILE"),
		    "session_name", "web-{user}", "endpoint", wep, NULL);
	r = fetch(&provider_aws_web_identity, p, NULL, NULL, &c, &e);
	tap_ok(r == 0 && good_cred(c, "ASIA", 600),
	       "AssumeRoleWithWebIdentity from token_file (%s)", e.msg);
	if (c)
		save("web", c);
	cred_unref(c);
	section_free(p);

	src = cred_new();
	if (!src || cred_set(src, "access_token", env("JWT_SOURCE_TOKEN")) < 0)
		abort();
	p = section("web2", "provider", "aws-web-identity", "role_arn",
		    env("WEB_ROLE_ARN"), "source", "oidc", "endpoint", wep,
		    NULL);
	r = fetch(&provider_aws_web_identity, p, src, NULL, &c, &e);
	tap_ok(r == 0 && good_cred(c, "ASIA", 600),
	       "AssumeRoleWithWebIdentity from a source access_token (%s)",
	       e.msg);
	cred_unref(c);
	section_free(p);
	cred_unref(src);

	p = section("web3", "provider", "aws-web-identity", "role_arn",
		    env("WEB_ROLE_ARN"), "token_file", "/nonexistent/jwt",
		    "endpoint", wep, NULL);
	r = fetch(&provider_aws_web_identity, p, NULL, NULL, &c, &e);
	tap_ok(r == -ENOENT && strstr(e.msg, "/nonexistent/jwt"),
	       "missing token_file: %s", e.msg);
	section_free(p);
}

static void test_sso(void)
{
	struct cfg_section *p;
	struct cred *c;
	struct error e;
	int r;

	p = section("sso", "provider", "aws-sso", "sso_start_url",
		    "https://example.awsapps.com/start", "sso_region",
		    "eu-west-1", "sso_account_id", "123456789012",
		    "sso_role_name", "ReadOnly", "sso_cache_dir",
		    env("SSO_CACHE"), "endpoint", env("SSO_ENDPOINT"), NULL);
	r = fetch(&provider_aws_sso, p, NULL, NULL, &c, &e);
	tap_ok(r == 0 && good_cred(c, "ASIASSO", 600),
	       "GetRoleCredentials with the cached token (%s)", e.msg);
	cred_unref(c);
	section_free(p);

	p = section("sso-expired", "provider", "aws-sso", "sso_session",
		    "expired", "sso_account_id", "123456789012",
		    "sso_role_name", "ReadOnly", "sso_cache_dir",
		    env("SSO_CACHE"), "endpoint", env("SSO_ENDPOINT"), NULL);
	r = fetch(&provider_aws_sso, p, NULL, NULL, &c, &e);
	tap_ok(r == -EKEYEXPIRED &&
		   strncmp(e.msg, "SSO token expired at 20", 23) == 0 &&
		   strstr(e.msg, "run `aws sso login`"),
	       "expired SSO token: %s", e.msg);
	section_free(p);

	p = section("sso-denied", "provider", "aws-sso", "sso_session",
		    "revoked", "sso_account_id", "123456789012",
		    "sso_role_name", "ReadOnly", "sso_cache_dir",
		    env("SSO_CACHE"), "endpoint", env("SSO_ENDPOINT"), NULL);
	r = fetch(&provider_aws_sso, p, NULL, NULL, &c, &e);
	tap_ok(r == -EKEYREJECTED &&
		   strstr(e.msg, "GetRoleCredentials: "
				 "UnauthorizedException: Session token not "
				 "found or invalid"),
	       "token the portal rejects: %s", e.msg);
	section_free(p);
}

static void test_rotate(void)
{
	struct cred *old = keys(env("ROT_AK"), env("ROT_SK"), NULL), *nc = NULL;
	struct error e = {0};
	char arn[512] = "";
	int r;

	r = iam_rotate_key(NULL, ep, "us-east-1", old, &nc, &e);
	tap_ok(r == 0 && nc &&
		   strcmp(cred_get(nc, "access_key_id"), env("ROT_AK")) &&
		   cred_get(nc, "secret_access_key"),
	       "CreateAccessKey + verify (%s)", e.msg);
	if (!nc) {
		cred_unref(old);
		return;
	}
	r = sts_get_caller_identity(ep, "us-east-1", nc, arn, sizeof(arn), &e);
	tap_ok(r == 0 && strstr(arn, ":user/rot"), "new key signs: %s", arn);
	r = iam_set_key_status(ep, "us-east-1", nc, env("ROT_AK"), "Inactive",
			       &e);
	tap_ok(r == 0, "old key set Inactive (%s)", e.msg);
	r = iam_set_key_status(ep, "us-east-1", nc, env("ROT_AK"), "Bogus", &e);
	tap_ok(r == -EINVAL, "bad status refused");
	r = iam_delete_key(ep, "us-east-1", nc, env("ROT_AK"), &e);
	tap_ok(r == 0, "old key deleted with the new one (%s)", e.msg);
	r = iam_delete_key(ep, "us-east-1", nc, env("ROT_AK"), &e);
	tap_ok(r < 0 && strstr(e.msg, "DeleteAccessKey: "),
	       "deleting it again fails: %s", e.msg);
	save("rotated", nc);
	r = sts_get_caller_identity(ep, "us-east-1", old, arn, sizeof(arn), &e);
	tap_ok(r == -EKEYREJECTED, "old key no longer signs: %s", e.msg);
	cred_unref(nc);
	nc = NULL;
	/* rotating the deleted key fails cleanly */
	r = iam_rotate_key(NULL, ep, "us-east-1", old, &nc, &e);
	tap_ok(r < 0 && !nc, "rotating a dead key fails: %s", e.msg);
	cred_unref(old);
}

/* With CREDFS_DEBUG_HTTP=1 (set by moto_test.py): one AssumeRole, whose
 * trace must not show a secret. */
static void test_debug(struct cred *alice)
{
	struct cfg_section *p;
	struct cred *c;
	struct error e;
	int r;

	p = section("dbg", "provider", "aws-assume-role", "role_arn",
		    env("ROLE_ARN"), "external_id", env("EXTERNAL_ID"),
		    "endpoint", ep, NULL);
	r = fetch(&provider_aws_assume_role, p, alice, NULL, &c, &e);
	tap_ok(r == 0, "AssumeRole with the HTTP trace on (%s)", e.msg);
	if (c)
		save("debug", c);
	cred_unref(c);
	section_free(p);
}

int main(int argc, char **argv)
{
	struct cred *alice;
	const char *only = argc > 1 ? argv[1] : "all";

	secmem_init_cjson();
	ep = env("ENDPOINT");
	alice = keys(env("ALICE_AK"), env("ALICE_SK"), NULL);
	if (!strcmp(only, "all") || !strcmp(only, "sts")) {
		test_session_token(alice);
		test_assume_role(alice);
		test_transport(alice);
	}
	if (!strcmp(only, "all") || !strcmp(only, "web"))
		test_web_identity();
	if (!strcmp(only, "all") || !strcmp(only, "sso"))
		test_sso();
	if (!strcmp(only, "all") || !strcmp(only, "rotate"))
		test_rotate();
	if (!strcmp(only, "debug"))
		test_debug(alice);
	cred_unref(alice);
	return tap_done();
}
