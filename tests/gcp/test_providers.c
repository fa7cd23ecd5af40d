/* The GCP providers against the emulators of tests/peers and a hostile
 * server (started by provider_test.py, which passes everything through
 * the environment).  TAP.
 *
 * Env: TOKEN_URL, STS_URL, IAM_URL, HOSTILE_URL, DOWN_URL, AUDIENCE,
 * SA_EMAIL, TARGET_SA, DELEGATE_SA, SA_KEY_FILE, SA_BADKEY_FILE,
 * SA_GONE_FILE, SA_OPEN_FILE, SA_NOKEY_FILE, USER_FILE, USER_REVOKED_FILE,
 * USER_BADSECRET_FILE, SUBJECT_FILE, SUBJECT_WRONG_AUD_FILE,
 * SUBJECT_EXPIRED_FILE, SUBJECT_UNSIGNED_FILE, SUBJECT_JWT, OUT_DIR.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "crypto/sealed.h"
#include "crypto/store.h"
#include "providers/gcp/gcp.h"
#include "tests/tap.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

extern const struct provider_ops provider_gcp_service_account,
    provider_gcp_impersonate, provider_gcp_external_account,
    provider_gcp_authorized_user;

static const char *env(const char *k)
{
	const char *v = getenv(k);

	if (!v) {
		fprintf(stderr,
			"test_providers: %s not set (run "
			"provider_test.py)\n",
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
	for (size_t i = 0; i < s->nkv; i++) {
		free(s->kv[i].key);
		free(s->kv[i].value);
	}
	free(s->kv);
	free(s->kind);
	free(s->name);
	free(s);
}

static struct store *the_store;

/* What config_load does for a profile: parse once (problems to a diag,
 * reported here as the error), then fetch with the parsed state and the
 * common keys. */
static int fetch(const struct provider_ops *ops, struct cfg_section *p,
		 const struct cred *src, struct cred **out, struct error *e)
{
	struct provider_common common = {
	    .endpoint = (char *)cfg_get(p, "endpoint"),
	    .ca_file = (char *)cfg_get(p, "ca_file"),
	    .has_source = cfg_get(p, "source") != NULL,
	};
	struct diag d = {.file = "test"};
	void *state = NULL;
	int r;

	*out = NULL;
	memset(e, 0, sizeof(*e));
	if (ops->parse && (r = ops->parse(p, &d, &state)) < 0) {
		error_set(e, -r, "%s", d.n ? d.msgs[0] : "parse failed");
		diag_free(&d);
		return r;
	}
	diag_free(&d);
	struct provider_req req = {
	    .profile_name = p->name,
	    .common = &common,
	    .state = state,
	    .source = src,
	    .store = the_store,
	    .timeout_ms = 4000,
	};
	r = ops->fetch(&req, out, e);
	if (ops->free_state)
		ops->free_state(state);
	return r;
}

/* One fetch that must fail: r, no credential, and a message holding
 * want. */
static void fails(const struct provider_ops *ops, struct cfg_section *p,
		  const struct cred *src, int want_r, const char *want,
		  const char *what)
{
	struct cred *c;
	struct error e;
	int r = fetch(ops, p, src, &c, &e);

	tap_ok(r == want_r && !c && strstr(e.msg, want), "%s: %s", what, e.msg);
	if (r != want_r)
		printf("#   r = %d (%s), want %d\n", r, strerror(-r), want_r);
	cred_unref(c);
	section_free(p);
}

static int good_token(const struct cred *c, int life)
{
	const char *t = c ? cred_get(c, "access_token") : NULL;
	time_t now = time(NULL);

	return t && strncmp(t, "ya29.emu.", 9) == 0 &&
	       cred_expiration(c) > now + life - 10 &&
	       cred_expiration(c) <= now + life + 5 &&
	       cred_obtained(c) >= now - 5 && cred_obtained(c) <= now + 1;
}

static void save(const char *name, const char *value)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", env("OUT_DIR"), name);
	if (!(f = fopen(path, "w")))
		abort();
	fchmod(fileno(f), 0600);
	fputs(value, f);
	fclose(f);
}

static struct cred *test_service_account(void)
{
	const char *tok = env("TOKEN_URL"), *bad = env("HOSTILE_URL");
	struct cfg_section *p;
	struct cred *c, *keep = NULL;
	struct error e;
	int r;

	p = section("sa", "provider", "gcp-service-account", "secret_file",
		    env("SA_KEY_FILE"), NULL);
	r = fetch(&provider_gcp_service_account, p, NULL, &c, &e);
	tap_ok(r == 0 && good_token(c, 3599),
	       "service account: token from the key file's token_uri, 1 h "
	       "(%s)",
	       e.msg);
	if (c)
		save("sa_token", cred_get(c, "access_token"));
	keep = c;
	section_free(p);

	p = section("dwd", "provider", "gcp-service-account", "secret_file",
		    env("SA_KEY_FILE"), "subject", "bob@example.com", "scopes",
		    "https://www.googleapis.com/auth/admin.directory.user, "
		    "https://www.googleapis.com/auth/drive",
		    "endpoint", tok, NULL);
	r = fetch(&provider_gcp_service_account, p, NULL, &c, &e);
	tap_ok(r == 0 && good_token(c, 3599),
	       "service account: domain-wide delegation, two scopes, "
	       "endpoint (%s)",
	       e.msg);
	cred_unref(c);
	section_free(p);

	fails(&provider_gcp_service_account,
	      section("badkey", "provider", "gcp-service-account",
		      "secret_file", env("SA_BADKEY_FILE"), NULL),
	      NULL, -EKEYREJECTED,
	      "Service account token (jwt-bearer): HTTP 400 invalid_grant: "
	      "Invalid JWT Signature.",
	      "service account, a key Google does not know");
	fails(&provider_gcp_service_account,
	      section("gone", "provider", "gcp-service-account", "secret_file",
		      env("SA_GONE_FILE"), NULL),
	      NULL, -EKEYREJECTED,
	      "HTTP 400 invalid_grant: Invalid grant: "
	      "account not found",
	      "service account, deleted account");
	fails(&provider_gcp_service_account,
	      section("open", "provider", "gcp-service-account", "secret_file",
		      env("SA_OPEN_FILE"), NULL),
	      NULL, -EPERM, "mode 0600", "key file readable by others");
	fails(&provider_gcp_service_account,
	      section("nokey", "provider", "gcp-service-account", "secret_file",
		      env("SA_NOKEY_FILE"), NULL),
	      NULL, -EINVAL, "no private_key", "key file without private_key");
	fails(&provider_gcp_service_account,
	      section("down", "provider", "gcp-service-account", "secret_file",
		      env("SA_KEY_FILE"), "endpoint", env("DOWN_URL"), NULL),
	      NULL, -ECONNREFUSED, "Service account token (jwt-bearer): ",
	      "service account, endpoint down");
	fails(&provider_gcp_service_account,
	      section("plain", "provider", "gcp-service-account", "secret_file",
		      env("SA_KEY_FILE"), "endpoint",
		      "http://oauth2.example.com/token", NULL),
	      NULL, -EINVAL, "http", "plain http to a remote host refused");

	static const struct {
		const char *path;
		int r;
		const char *msg;
	} hostile[] = {
	    {"/garbage", -EBADMSG, "HTTP 200 with a body that is not a JSON"},
	    {"/array", -EBADMSG, "HTTP 200 with a body that is not a JSON"},
	    {"/missing", -EBADMSG, "the answer has no access_token"},
	    {"/notstring", -EBADMSG, "access_token in the answer is not a"},
	    {"/huge", -EBADMSG, "longer than 16384 bytes"},
	    {"/control", -EBADMSG, "space, control or non-ASCII"},
	    {"/noexpiry", -EBADMSG, "no numeric expires_in"},
	    {"/hugeexpiry", -EBADMSG, "out of range"},
	    {"/negexpiry", -EBADMSG, "out of range"},
	    {"/html500", -EAGAIN, "HTTP 503 with a body that is not JSON"},
	    {"/errctl", -EKEYREJECTED,
	     "HTTP 400 invalid_grant: line one line two"},
	    {"/errlong", -EKEYREJECTED, "HTTP 400 invalid_grant: xxxx"},
	    {"/errenv", -EACCES, "HTTP 403 PERMISSION_DENIED: denied"},
	    {"/errnojson", -EPROTO, "HTTP 418 with a body that is not JSON"},
	};
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char url[512];
		snprintf(url, sizeof(url), "%s%s", bad, hostile[i].path);
		fails(&provider_gcp_service_account,
		      section("hostile", "provider", "gcp-service-account",
			      "secret_file", env("SA_KEY_FILE"), "endpoint",
			      url, NULL),
		      NULL, hostile[i].r, hostile[i].msg, hostile[i].path);
	}
	return keep;
}

static void test_external_account(void)
{
	const char *sts = env("STS_URL"), *aud = env("AUDIENCE");
	char imp[512], denied[512];
	struct cfg_section *p;
	struct cred *c, *src;
	struct error e;
	int r;

	snprintf(imp, sizeof(imp),
		 "%s/v1/projects/-/serviceAccounts/%s:generateAccessToken",
		 env("IAM_URL"), env("TARGET_SA"));
	snprintf(denied, sizeof(denied),
		 "%s/v1/projects/-/serviceAccounts/%s:generateAccessToken",
		 env("IAM_URL"), env("DELEGATE_SA"));

	p = section("wif", "provider", "gcp-external-account", "audience", aud,
		    "token_file", env("SUBJECT_FILE"), "endpoint", sts, NULL);
	r = fetch(&provider_gcp_external_account, p, NULL, &c, &e);
	tap_ok(r == 0 && good_token(c, 3599),
	       "external account: STS exchange of token_file (%s)", e.msg);
	cred_unref(c);
	section_free(p);

	p = section("wif-imp", "provider", "gcp-external-account", "audience",
		    aud, "token_file", env("SUBJECT_FILE"), "endpoint", sts,
		    "service_account_impersonation_url", imp, "lifetime", "20m",
		    "scopes",
		    "https://www.googleapis.com/auth/devstorage.read_only",
		    NULL);
	r = fetch(&provider_gcp_external_account, p, NULL, &c, &e);
	tap_ok(r == 0 && good_token(c, 1200),
	       "external account + impersonation: IAM token, 20 min (%s)",
	       e.msg);
	cred_unref(c);
	section_free(p);

	src = cred_new();
	if (!src || cred_set(src, "id_token", env("SUBJECT_JWT")) < 0)
		abort();
	p = section("wif-src", "provider", "gcp-external-account", "audience",
		    aud, "source", "oidc", "endpoint", sts, NULL);
	r = fetch(&provider_gcp_external_account, p, src, &c, &e);
	tap_ok(r == 0 && good_token(c, 3599),
	       "external account: subject token from the source's id_token "
	       "(%s)",
	       e.msg);
	cred_unref(c);
	section_free(p);
	fails(&provider_gcp_external_account,
	      section("wif-field", "provider", "gcp-external-account",
		      "audience", aud, "source", "oidc", "token_field", "jwt",
		      "endpoint", sts, NULL),
	      src, -ENODATA, "the source credential has no jwt field",
	      "external account: source without token_field");
	cred_unref(src);

	fails(&provider_gcp_external_account,
	      section("aud", "provider", "gcp-external-account", "audience",
		      aud, "token_file", env("SUBJECT_WRONG_AUD_FILE"),
		      "endpoint", sts, NULL),
	      NULL, -EKEYREJECTED,
	      "STS token exchange: HTTP 400 invalid_grant: The audience in ID "
	      "Token [https://elsewhere.example] does not match",
	      "external account, subject token for another audience");
	fails(&provider_gcp_external_account,
	      section("exp", "provider", "gcp-external-account", "audience",
		      aud, "token_file", env("SUBJECT_EXPIRED_FILE"),
		      "endpoint", sts, NULL),
	      NULL, -EKEYREJECTED,
	      "STS token exchange: HTTP 400 invalid_grant: ID Token expired",
	      "external account, expired subject token");
	fails(&provider_gcp_external_account,
	      section("none", "provider", "gcp-external-account", "audience",
		      aud, "token_file", env("SUBJECT_UNSIGNED_FILE"),
		      "endpoint", sts, NULL),
	      NULL, -EKEYREJECTED,
	      "STS token exchange: HTTP 400 invalid_grant: Invalid ID Token: "
	      "the signing algorithm none",
	      "external account, unsigned subject token");
	fails(&provider_gcp_external_account,
	      section("pool", "provider", "gcp-external-account", "audience",
		      "//iam.googleapis.com/projects/1/locations/global/"
		      "workloadIdentityPools/p/providers/nope",
		      "token_file", env("SUBJECT_FILE"), "endpoint", sts, NULL),
	      NULL, -EINVAL, "STS token exchange: HTTP 400 invalid_target",
	      "external account, unknown pool provider");
	fails(&provider_gcp_external_account,
	      section("imp-denied", "provider", "gcp-external-account",
		      "audience", aud, "token_file", env("SUBJECT_FILE"),
		      "endpoint", sts, "service_account_impersonation_url",
		      denied, NULL),
	      NULL, -EACCES,
	      "IAM generateAccessToken: HTTP 403 PERMISSION_DENIED: "
	      "Permission 'iam.serviceAccounts.getAccessToken' denied",
	      "external account, impersonating without the role");
	fails(&provider_gcp_external_account,
	      section("nofile", "provider", "gcp-external-account", "audience",
		      aud, "token_file", "/nonexistent/credfs-token",
		      "endpoint", sts, NULL),
	      NULL, -ENOENT, "token_file /nonexistent/credfs-token",
	      "external account, token_file missing");
	fails(&provider_gcp_external_account,
	      section("badaud", "provider", "gcp-external-account", "audience",
		      "https://sts.example", "token_file", env("SUBJECT_FILE"),
		      NULL),
	      NULL, -EINVAL, "audience must be a workload identity pool",
	      "external account, audience that is not a pool provider");
	fails(&provider_gcp_external_account,
	      section("down", "provider", "gcp-external-account", "audience",
		      aud, "token_file", env("SUBJECT_FILE"), "endpoint",
		      env("DOWN_URL"), NULL),
	      NULL, -ECONNREFUSED,
	      "STS token exchange: ", "external account, STS down");
}

static void test_impersonate(struct cred *sa)
{
	const char *iam = env("IAM_URL");
	struct cfg_section *p;
	struct cred *c, *bogus;
	struct error e;
	int r;

	p = section("imp", "provider", "gcp-impersonate", "source", "sa",
		    "service_account", env("TARGET_SA"), "delegates",
		    env("DELEGATE_SA"), "lifetime", "30m", "endpoint", iam,
		    NULL);
	r = fetch(&provider_gcp_impersonate, p, sa, &c, &e);
	tap_ok(r == 0 && good_token(c, 1800),
	       "impersonate via a delegate: generateAccessToken, 30 min (%s)",
	       e.msg);
	cred_unref(c);
	section_free(p);

	p = section("idt", "provider", "gcp-impersonate", "source", "sa",
		    "service_account", env("TARGET_SA"), "audience",
		    "https://run.example", "include_email", "yes", "endpoint",
		    iam, NULL);
	r = fetch(&provider_gcp_impersonate, p, sa, &c, &e);
	tap_ok(r == 0 && c && cred_get(c, "id_token") &&
		   !cred_get(c, "access_token") &&
		   cred_expiration(c) > time(NULL) + 3500 &&
		   cred_expiration(c) <= time(NULL) + 3600,
	       "impersonate with audience: generateIdToken, id_token with "
	       "the JWT's exp (%s)",
	       e.msg);
	if (c && cred_get(c, "id_token"))
		save("id_token", cred_get(c, "id_token"));
	cred_unref(c);
	section_free(p);

	bogus = cred_new();
	if (!bogus || cred_set(bogus, "access_token", "ya29.forged") < 0)
		abort();
	fails(&provider_gcp_impersonate,
	      section("forged", "provider", "gcp-impersonate", "source", "x",
		      "service_account", env("TARGET_SA"), "endpoint", iam,
		      NULL),
	      bogus, -EKEYREJECTED,
	      "IAM generateAccessToken: HTTP 401 UNAUTHENTICATED: Request had "
	      "invalid authentication credentials",
	      "impersonate with a token IAM does not accept");
	cred_unref(bogus);
	fails(&provider_gcp_impersonate,
	      section("nosuch", "provider", "gcp-impersonate", "source", "sa",
		      "service_account",
		      "ghost@credfs-test.iam.gserviceaccount."
		      "com",
		      "endpoint", iam, NULL),
	      sa, -ENOENT, "HTTP 404 NOT_FOUND",
	      "impersonate an account that does not exist");
	fails(&provider_gcp_impersonate,
	      section("long", "provider", "gcp-impersonate", "source", "sa",
		      "service_account", env("TARGET_SA"), "lifetime", "2h",
		      "endpoint", iam, NULL),
	      sa, -EINVAL, "HTTP 400 INVALID_ARGUMENT",
	      "impersonate for longer than the account allows");
	fails(&provider_gcp_impersonate,
	      section("nosrc", "provider", "gcp-impersonate", "source", "sa",
		      "service_account", env("TARGET_SA"), "endpoint", iam,
		      NULL),
	      NULL, -EINVAL, "the source credential has no access_token",
	      "impersonate without a source token");
	fails(&provider_gcp_impersonate,
	      section("path", "provider", "gcp-impersonate", "source", "sa",
		      "service_account", "a/../b@x", "endpoint", iam, NULL),
	      sa, -EINVAL, "service_account must be a service account email",
	      "a service_account that is not an email is refused");
	{
		char url[512];
		snprintf(url, sizeof(url), "%s/iam", env("HOSTILE_URL"));
		fails(&provider_gcp_impersonate,
		      section("hostile-iam", "provider", "gcp-impersonate",
			      "source", "sa", "service_account",
			      env("TARGET_SA"), "endpoint", url, NULL),
		      sa, -EBADMSG, "the answer has no RFC 3339 expireTime",
		      "impersonate, IAM answer with a bad expireTime");
	}
}

static void test_authorized_user(void)
{
	const char *tok = env("TOKEN_URL");
	struct cfg_section *p;
	struct cred *c;
	struct error e;
	int r;

	p = section("user", "provider", "gcp-authorized-user", "secret_file",
		    env("USER_FILE"), "endpoint", tok, NULL);
	r = fetch(&provider_gcp_authorized_user, p, NULL, &c, &e);
	tap_ok(r == 0 && good_token(c, 3599),
	       "authorized user: refresh_token grant (%s)", e.msg);
	cred_unref(c);
	section_free(p);
	fails(&provider_gcp_authorized_user,
	      section("revoked", "provider", "gcp-authorized-user",
		      "secret_file", env("USER_REVOKED_FILE"), "endpoint", tok,
		      NULL),
	      NULL, -EKEYREJECTED,
	      "Authorized user token (refresh_token): HTTP 400 invalid_grant: "
	      "Token has been expired or revoked.",
	      "authorized user, revoked refresh token");
	fails(&provider_gcp_authorized_user,
	      section("badsecret", "provider", "gcp-authorized-user",
		      "secret_file", env("USER_BADSECRET_FILE"), "endpoint",
		      tok, NULL),
	      NULL, -EKEYREJECTED, "HTTP 401 invalid_client: Unauthorized",
	      "authorized user, wrong client secret");
}

/* gcp_secret_from_json + gcp_key_check, as `credfs store import-gcp`
 * will use them. */
static int key_check_file(const char *path, const char *edit_field,
			  const char *edit_value, struct error *e)
{
	struct cred *c = cred_new();
	char *data = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY), r;

	memset(e, 0, sizeof(*e));
	if (!c || fd < 0 || util_read_fd_secret(fd, 65536, &data, &len) < 0)
		abort();
	close(fd);
	r = gcp_secret_from_json(data, len, "key.json", c, e);
	if (r == 0 && edit_field && cred_set(c, edit_field, edit_value) < 0)
		abort();
	if (r == 0)
		r = gcp_key_check(c, "key.json", e);
	secmem_free(data);
	cred_unref(c);
	return r;
}

static void test_key_check(void)
{
	const char *sa = env("SA_KEY_FILE");
	struct error e;
	int r;

	r = key_check_file(sa, NULL, NULL, &e);
	tap_ok(r == 0, "key check: a service-account key file passes (%s)",
	       e.msg);
	r = key_check_file(env("SA_NOKEY_FILE"), NULL, NULL, &e);
	tap_ok(r == -EINVAL && !strcmp(e.msg, "key.json: no private_key"),
	       "key check: no private_key: %s", e.msg);
	r = key_check_file(sa, "type", "authorized_user", &e);
	tap_ok(r == -EINVAL && strstr(e.msg, "not service_account"),
	       "key check: another type: %s", e.msg);
	r = key_check_file(sa, "token_uri", "http://oauth2.example.com/token",
			   &e);
	tap_ok(r < 0 && strstr(e.msg, "token_uri"),
	       "key check: plain http token_uri: %s", e.msg);
	r = key_check_file(sa, "private_key", "-----BEGIN PRIVATE KEY-----\n",
			   &e);
	tap_ok(r == -EINVAL && strstr(e.msg, "key.json: private_key") &&
		   !strstr(e.msg, "BEGIN"),
	       "key check: a broken private_key, not quoted: %s", e.msg);
	r = gcp_secret_from_json("[1]", 3, "key.json", NULL, &e);
	tap_ok(r == -EINVAL && strstr(e.msg, "not a JSON object"),
	       "key check: not an object: %s", e.msg);
}

/* The key sealed in the store as `credfs store import-gcp` will do, and
 * gcp-service-account reading it with `secret =`. */
static void test_store_entry(void)
{
	static uint8_t key[SEALED_KEY_BYTES];
	char dir[1024], *data = NULL;
	struct cred *c = cred_new(), *got = NULL;
	struct error e = {0}, se = {0};
	size_t len = 0;
	int fd, r;

	snprintf(dir, sizeof(dir), "%s/state", env("OUT_DIR"));
	if (mkdir(dir, 0700) < 0 || sodium_init() < 0)
		abort();
	randombytes_buf(key, sizeof(key));
	if (store_open(dir, key, &the_store, &se) < 0) {
		tap_ok(0, "store_open: %s", se.msg);
		return;
	}
	fd = open(env("SA_KEY_FILE"), O_RDONLY);
	if (!c || fd < 0 || util_read_fd_secret(fd, 65536, &data, &len) < 0)
		abort();
	close(fd);
	r = gcp_secret_from_json(data, len, "key.json", c, &e);
	if (r == 0)
		r = gcp_key_check(c, "key.json", &e);
	if (r == 0)
		r = store_put(the_store, "gcp-runner", c, &se);
	tap_ok(r == 0, "the key file sealed as store entry gcp-runner (%s%s)",
	       e.msg, se.msg);
	secmem_free(data);
	cred_unref(c);

	struct cfg_section *p =
	    section("sealed", "provider", "gcp-service-account", "secret",
		    "gcp-runner", NULL);
	r = fetch(&provider_gcp_service_account, p, NULL, &got, &e);
	tap_ok(r == 0 && good_token(got, 3599),
	       "service account with secret = gcp-runner (%s)", e.msg);
	cred_unref(got);
	section_free(p);
	fails(&provider_gcp_service_account,
	      section("nosuch", "provider", "gcp-service-account", "secret",
		      "gcp-nope", NULL),
	      NULL, -ENOENT, "store entry gcp-nope: ",
	      "service account with a missing store entry");
	store_free(the_store);
	the_store = NULL;
}

static void test_validate(void)
{
	static const struct {
		const struct provider_ops *ops;
		const char *k1, *v1, *k2, *v2, *want;
		int line; /* the section is at line 1, k1 at 2, k2 at 3 */
	} v[] = {
	    {&provider_gcp_service_account, "scopes", "x", NULL, NULL,
	     "exactly one of", 1},
	    {&provider_gcp_impersonate, "service_account", "nope", NULL, NULL,
	     "service account email", 2},
	    {&provider_gcp_impersonate, "service_account", "a@b.c", "lifetime",
	     "13h", "lifetime", 3},
	    {&provider_gcp_external_account, "audience",
	     "//iam.googleapis.com/x", NULL, NULL, "needs token_file or source",
	     1},
	    {&provider_gcp_external_account, "audience",
	     "//iam.googleapis.com/x", "subject_token_type", "jwt",
	     "subject_token_type", 3},
	    {&provider_gcp_authorized_user, "secret", "a", "secret_file", "b",
	     "exactly one of", 3},
	    {&provider_gcp_service_account, "secret", "a", "endpoint",
	     "http://example.com/token", "endpoint", 3},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct cfg_section *s =
		    v[i].k2
			? section("p", v[i].k1, v[i].v1, v[i].k2, v[i].v2, NULL)
			: section("p", v[i].k1, v[i].v1, NULL);
		struct diag d = {.file = "test"};
		void *state = NULL;
		int r = v[i].ops->parse(s, &d, &state);
		tap_ok(r == -EINVAL && !state && d.n == 1 &&
			   d.lines[0] == v[i].line &&
			   strstr(d.msgs[0], v[i].want),
		       "%s check at line %d: %s", v[i].ops->name, v[i].line,
		       d.n ? d.msgs[0] : "(nothing reported)");
		if (state)
			v[i].ops->free_state(state);
		diag_free(&d);
		section_free(s);
	}
}

int main(void)
{
	struct cred *sa;

	secmem_init_cjson();
	sa = test_service_account();
	test_external_account();
	if (sa)
		test_impersonate(sa);
	else
		tap_ok(0, "impersonation needs the service account token");
	test_authorized_user();
	test_key_check();
	test_store_entry();
	test_validate();
	cred_unref(sa);
	return tap_done();
}
