/* The vault provider against tests/peers/vault_emu.py with a real
 * PostgreSQL behind its database engine (started by provider_test.py,
 * which passes everything through the environment).  TAP.
 *
 * Env: VAULT_ADDR, EMU_LOG, NS, ROOT_TOKEN, PG_DSN, PG_PORT, OUT_DIR,
 * SECRET_FILE / BAD_SECRET_FILE (approle role_id + secret_id, 0600),
 * TOKEN_FILE (0600) / OPEN_TOKEN_FILE (0644), JWT / BAD_JWT, SECRET_ID.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "providers/http.h"
#include "providers/vault/vault.h"
#include "tests/tap.h"

extern const struct provider_ops provider_vault;

static const char *env(const char *k)
{
	const char *v = getenv(k);

	if (!v) {
		fprintf(stderr,
			"test_vault: %s not set (run provider_test.py)\n", k);
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

/* What config_load does for a profile: the common keys and the state of
 * the provider's parse op, kept until main ends (a request may be reused
 * after its section is gone). */
#define MAX_PARSED 64
static struct {
	struct provider_common *common;
	void *state;
} parsed[MAX_PARSED];
static size_t nparsed;
static char parse_err[512];

static struct provider_req mkreq(const struct cfg_section *p,
				 const struct cred *src)
{
	struct provider_common *pc = calloc(1, sizeof(*pc));
	struct diag d = {.file = "test"};
	void *state = NULL;

	if (!pc || nparsed == MAX_PARSED)
		abort();
	pc->endpoint = (char *)cfg_get(p, "endpoint");
	pc->ca_file = (char *)cfg_get(p, "ca_file");
	pc->has_source = cfg_get(p, "source") != NULL;
	parse_err[0] = 0;
	if (provider_vault.parse(p, &d, &state) < 0)
		snprintf(parse_err, sizeof(parse_err), "%s",
			 d.n ? d.msgs[0] : "parse failed");
	diag_free(&d);
	parsed[nparsed].common = pc;
	parsed[nparsed++].state = state;
	struct provider_req req = {
	    .profile_name = p->name,
	    .common = pc,
	    .state = state,
	    .source = src,
	    .timeout_ms = 15000,
	};
	return req;
}

static void parsed_free(void)
{
	for (size_t i = 0; i < nparsed; i++) {
		provider_vault.free_state(parsed[i].state);
		free(parsed[i].common);
	}
	nparsed = 0;
}

static int fetch(const struct cfg_section *p, const struct cred *src,
		 struct cred **out, struct error *e)
{
	struct provider_req req = mkreq(p, src);

	*out = NULL;
	memset(e, 0, sizeof(*e));
	if (!req.state)
		return error_set(e, EINVAL, "%s", parse_err);
	return provider_vault.fetch(&req, out, e);
}

/* Lines of an emulator log containing needle. */
static int log_count_in(const char *log, const char *needle)
{
	FILE *f = fopen(env(log), "r");
	char line[2048];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static int log_count(const char *needle)
{
	return log_count_in("EMU_LOG", needle);
}

static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	if (!p)
		return -1;
	out[0] = 0;
	while (n + 1 < len && fgets(out + n, (int)(len - n), p))
		n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = 0;
	return pclose(p);
}

/* psql as user with password through a 0600 pgpass: 0 and "widget". */
static int psql_login(const char *user, const char *password, char *out,
		      size_t len)
{
	char pgpass[1024], cmd[2048];
	FILE *f;

	snprintf(pgpass, sizeof(pgpass), "%s/pgpass", env("OUT_DIR"));
	unlink(pgpass);
	f = fopen(pgpass, "w");
	if (!f)
		return -1;
	fchmod(fileno(f), 0600);
	fprintf(f, "127.0.0.1:%s:postgres:%s:%s\n", env("PG_PORT"), user,
		password);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "PGPASSFILE='%s' psql -X -w -qAt -h 127.0.0.1 -p %s -U '%s' "
		 "-d postgres -c 'SELECT item FROM inventory' 2>&1",
		 pgpass, env("PG_PORT"), user);
	int r = run(cmd, out, len);
	unlink(pgpass);
	return r;
}

static int role_exists(const char *user)
{
	char cmd[2048], out[64];

	snprintf(cmd, sizeof(cmd),
		 "psql '%s' -X -qAt -c \"SELECT count(*) FROM pg_roles WHERE "
		 "rolname = '%s'\"",
		 env("PG_DSN"), user);
	if (run(cmd, out, sizeof(out)) != 0)
		return -1;
	return atoi(out);
}

static int emu_post(const char *path, const char *token, const char *body)
{
	char url[1024], th[512], nsh[256];
	const char *hdrs[4] = {nsh, NULL, NULL, NULL};
	struct http_resp resp;
	struct error e;

	snprintf(url, sizeof(url), "%s%s", env("VAULT_ADDR"), path);
	snprintf(nsh, sizeof(nsh), "X-Vault-Namespace: %s", env("NS"));
	if (token) {
		snprintf(th, sizeof(th), "X-Vault-Token: %s", token);
		hdrs[1] = th;
	}
	struct http_req req = {.method = "POST",
			       .url = url,
			       .headers = hdrs,
			       .body = body ? body : "",
			       .body_len = body ? strlen(body) : 0,
			       .timeout_ms = 5000,
			       .max_attempts = 1,
			       .what = "emu"};
	if (http_request(&req, &resp, &e) < 0)
		return -1;
	long st = resp.status;
	http_resp_wipe(&resp);
	return (int)st;
}

static bool no_secret(const char *msg)
{
	return !strstr(msg, env("SECRET_ID")) &&
	       !strstr(msg, env("ROOT_TOKEN")) && !strstr(msg, "hvs.");
}

static const char *get(const struct cred *c, const char *f)
{
	const char *v = c ? cred_get(c, f) : NULL;
	return v ? v : "";
}

static void test_database(void)
{
	struct cfg_section *p = section(
	    "db", "provider", "vault", "address", env("VAULT_ADDR"), "auth",
	    "approle", "secret_file", env("SECRET_FILE"), "namespace",
	    env("NS"), "path", "database/creds/readonly", NULL);
	struct provider_req req = mkreq(p, NULL);
	struct cred *c, *c2, *n = NULL;
	struct error e;
	char user[128] = "", out[1024];
	int logins0 = log_count("POST /v1/auth/approle/login ns=team-a -> 200");
	int r = fetch(p, NULL, &c, &e);
	time_t now = time(NULL);

	tap_ok(
	    r == 0 && !strncmp(get(c, "username"), "v-approle-readonly-", 19) &&
		strlen(get(c, "password")) == 20 &&
		!strncmp(get(c, "lease_id"), "database/creds/readonly/", 24) &&
		!strcmp(get(c, "lease_renewable"), "true") &&
		cred_expiration(c) >= now + 55 &&
		cred_expiration(c) <= now + 61,
	    "approle login, then database/creds: username, password, "
	    "60s renewable lease (%s)",
	    e.msg);
	if (!c)
		goto out;
	snprintf(user, sizeof(user), "%s", get(c, "username"));
	tap_ok(role_exists(user) == 1, "the role exists in PostgreSQL");
	r = psql_login(user, get(c, "password"), out, sizeof(out));
	tap_ok(r == 0 && !strcmp(out, "widget"),
	       "psql logs in with the leased credentials: %s", out);

	r = fetch(p, NULL, &c2, &e);
	tap_ok(r == 0 && strcmp(get(c2, "username"), user) &&
		   log_count("POST /v1/auth/approle/login ns=team-a -> 200") ==
		       logins0 + 1,
	       "a second read reuses the cached client token (one login)");
	if (c2)
		provider_vault.revoke(&req, c2, &e);
	cred_unref(c2);

	memset(&e, 0, sizeof(e));
	r = vault_renew(&req, c, 30, &n, &e);
	tap_ok(r == 0 && n && !strcmp(get(n, "password"), get(c, "password")) &&
		   cred_expiration(n) >= time(NULL) + 25 &&
		   cred_expiration(n) <= time(NULL) + 31,
	       "vault_renew increment=30: same secret, 30s more (%s)", e.msg);
	cred_unref(n);
	r = vault_renew(&req, c, 3600, &n, &e);
	tap_ok(r == 1 && n && cred_expiration(n) <= time(NULL) + 120,
	       "vault_renew past the max TTL: capped, the last renewal (%d)",
	       r);
	cred_unref(n);
	tap_ok(vault_token_deadline(&req) > time(NULL) + 300,
	       "the client token's renewal deadline is known");

	r = provider_vault.revoke(&req, c, &e);
	tap_ok(r == 0, "revoke: sys/leases/revoke (%s)", e.msg);
	tap_ok(role_exists(user) == 0, "revoke dropped the PostgreSQL role");
	r = psql_login(user, get(c, "password"), out, sizeof(out));
	tap_ok(r != 0 && strstr(out, "authentication failed"),
	       "psql fails after revoke: %s", out);
	r = vault_renew(&req, c, 30, &n, &e);
	tap_ok(r == -EINVAL && !n &&
		   !strcmp(e.msg, "vault: sys/leases/renew (namespace team-a): "
				  "400 lease not found"),
	       "renew after revoke: %s", e.msg);
	cred_unref(c);

	/* A revoked client token: the next read logs in again. */
	struct vault_cfg vc;
	char err[256], *tok = NULL;
	if (vault_parse(p, &vc, err, sizeof(err)) == 0) {
		vc.profile = p->name;
		r = vault_client_token(&vc, &req, util_mono_ms() + 5000, &tok,
				       &e);
		vault_cfg_free(&vc);
	}
	tap_ok(tok && emu_post("/v1/auth/token/revoke-self", tok, "{}") == 204,
	       "the cached client token revoked at Vault");
	secmem_free(tok);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == 0 && *get(c, "password") &&
		   log_count("POST /v1/auth/approle/login ns=team-a -> 200") ==
		       logins0 + 2,
	       "after a 403 the provider logs in again and reads (%s)", e.msg);
	if (c)
		provider_vault.revoke(&req, c, &e);
	cred_unref(c);
out:
	section_free(p);
}

static void test_kv(void)
{
	struct cfg_section *p = section(
	    "kv", "provider", "vault", "address", env("VAULT_ADDR"), "auth",
	    "token", "token_file", env("TOKEN_FILE"), "namespace", env("NS"),
	    "mount", "secret", "kv_version", "2", "path", "app/config",
	    "fields", "login=user password", "refresh_interval", "45s", NULL);
	struct cred *c;
	struct error e;
	time_t now = time(NULL);
	int r = fetch(p, NULL, &c, &e);

	tap_ok(r == 0 && !strcmp(get(c, "login"), "alice") &&
		   !strcmp(get(c, "password"), "kv-two") &&
		   cred_count(c) == 2 && cred_expiration(c) >= now + 44 &&
		   cred_expiration(c) <= now + 46,
	       "KV v2 latest with token_file: fields selected and renamed, "
	       "expires after refresh_interval (%s)",
	       e.msg);
	cred_unref(c);
	section_free(p);

	p = section("kv1", "provider", "vault", "address", env("VAULT_ADDR"),
		    "token_file", env("TOKEN_FILE"), "namespace", env("NS"),
		    "mount", "secret", "path", "app/config", "version", "1",
		    NULL);
	r = fetch(p, NULL, &c, &e);
	now = time(NULL);
	tap_ok(r == 0 && !strcmp(get(c, "password"), "kv-one") &&
		   !cred_get(c, "lease_id") &&
		   cred_expiration(c) >= now + 299 &&
		   cred_expiration(c) <= now + 301,
	       "KV v2 version = 1, default refresh_interval 5m (%s)", e.msg);
	cred_unref(c);
	section_free(p);

	char body[256];
	snprintf(body, sizeof(body),
		 "{\"data\":{\"user\":\"alice\",\"password\":\"kv-three\"}}");
	tap_ok(emu_post("/v1/secret/data/app/config", env("ROOT_TOKEN"),
			body) == 200,
	       "a new KV version written");
	p = section("kv3", "provider", "vault", "address", env("VAULT_ADDR"),
		    "token_file", env("TOKEN_FILE"), "namespace", env("NS"),
		    "kv_version", "2", "path", "app/config", NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == 0 && !strcmp(get(c, "password"), "kv-three"),
	       "the next read returns the new version");
	cred_unref(c);
	section_free(p);

	p = section("kvf", "provider", "vault", "address", env("VAULT_ADDR"),
		    "token_file", env("TOKEN_FILE"), "namespace", env("NS"),
		    "kv_version", "2", "path", "app/config", "fields", "apikey",
		    NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -ENODATA && !c &&
		   !strcmp(e.msg, "vault: secret/data/app/config: no field "
				  "'apikey' in data"),
	       "a missing field: %s", e.msg);
	section_free(p);

	p = section("kvmissing", "provider", "vault", "address",
		    env("VAULT_ADDR"), "token_file", env("TOKEN_FILE"),
		    "namespace", env("NS"), "kv_version", "2", "path",
		    "app/none", NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -ENOENT &&
		   !strcmp(e.msg, "vault: secret/data/app/none (namespace "
				  "team-a): 404 not found"),
	       "a missing secret: %s", e.msg);
	section_free(p);

	p = section("kvopen", "provider", "vault", "address", env("VAULT_ADDR"),
		    "token_file", env("OPEN_TOKEN_FILE"), "namespace",
		    env("NS"), "kv_version", "2", "path", "app/config", NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -EPERM &&
		   strstr(e.msg, "must be owned by you with mode "
				 "0600") &&
		   no_secret(e.msg),
	       "a token_file readable by others is refused: %s", e.msg);
	section_free(p);
}

static void test_pki(void)
{
	struct cfg_section *p =
	    section("pki", "provider", "vault", "address", env("VAULT_ADDR"),
		    "auth", "approle", "secret_file", env("SECRET_FILE"),
		    "namespace", env("NS"), "path", "pki/issue/web",
		    "common_name", "svc.credfs.test", "alt_names",
		    "alt.credfs.test", "ttl", "2h", NULL);
	struct cred *c;
	struct error e;
	char path[3][1024], cmd[8192], out[2048];
	int r = fetch(p, NULL, &c, &e);
	time_t now = time(NULL);

	tap_ok(r == 0 && strstr(get(c, "certificate"), "BEGIN CERTIFICATE") &&
		   strstr(get(c, "private_key"), "PRIVATE KEY") &&
		   strstr(get(c, "issuing_ca"), "BEGIN CERTIFICATE") &&
		   !strcmp(get(c, "ca_chain"), get(c, "issuing_ca")) &&
		   atoll(get(c, "expiration")) ==
		       (long long)cred_expiration(c) &&
		   cred_expiration(c) > now + 7000 &&
		   cred_expiration(c) <= now + 7201,
	       "pki/issue: certificate, private_key, issuing_ca, ca_chain; "
	       "expires with the certificate (%s)",
	       e.msg);
	if (!c)
		goto out;
	const char *names[3] = {"certificate", "private_key", "issuing_ca"};
	for (int i = 0; i < 3; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s.pem", env("OUT_DIR"),
			 names[i]);
		FILE *f = fopen(path[i], "w");
		if (!f)
			abort();
		fchmod(fileno(f), 0600);
		fprintf(f, "%s\n", get(c, names[i]));
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -noout -subject -in %s && "
		 "openssl pkey -noout -in %s && "
		 "openssl verify -CAfile %s %s",
		 path[0], path[1], path[2], path[0]);
	r = run(cmd, out, sizeof(out));
	tap_ok(r == 0 && strstr(out, "svc.credfs.test") && strstr(out, ": OK"),
	       "openssl x509 / pkey parse it, verify against issuing_ca: %s",
	       out);
	snprintf(cmd, sizeof(cmd),
		 "a=$(openssl x509 -noout -pubkey -in %s | sha256sum) && "
		 "b=$(openssl pkey -pubout -in %s | sha256sum) && "
		 "[ \"$a\" = \"$b\" ] && echo match",
		 path[0], path[1]);
	r = run(cmd, out, sizeof(out));
	tap_ok(r == 0 && !strcmp(out, "match"), "the key matches the cert");
	for (int i = 0; i < 3; i++)
		unlink(path[i]);
	cred_unref(c);
out:
	section_free(p);
}

static void test_failures(void)
{
	struct cfg_section *p;
	struct cred *c;
	struct error e;
	int r;

	p = section("badsid", "provider", "vault", "address", env("VAULT_ADDR"),
		    "auth", "approle", "secret_file", env("BAD_SECRET_FILE"),
		    "namespace", env("NS"), "path", "database/creds/readonly",
		    NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -EKEYREJECTED && !c &&
		   !strcmp(e.msg, "vault: auth/approle/login (namespace "
				  "team-a): 400 invalid role or secret ID"),
	       "wrong secret_id: %s", e.msg);
	section_free(p);

	p = section("otherns", "provider", "vault", "address",
		    env("VAULT_ADDR"), "auth", "approle", "secret_file",
		    env("SECRET_FILE"), "namespace", "team-b", "path",
		    "database/creds/readonly", NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -ENOENT && !c &&
		   !strncmp(e.msg,
			    "vault: auth/approle/login (namespace "
			    "team-b): 404 no handler for route",
			    62),
	       "AppRole in a namespace without it: %s", e.msg);
	section_free(p);

	p = section("tokns", "provider", "vault", "address", env("VAULT_ADDR"),
		    "auth", "approle", "secret_file", env("SECRET_FILE"),
		    "namespace", env("NS"), "path", "database/creds/readonly",
		    NULL);
	struct vault_cfg vc;
	char err[256], *tok = NULL;
	struct provider_req req = mkreq(p, NULL);
	if (vault_parse(p, &vc, err, sizeof(err)) == 0) {
		vc.profile = p->name;
		vault_client_token(&vc, &req, util_mono_ms() + 5000, &tok, &e);
		vault_cfg_free(&vc);
	}
	char tpath[1024];
	snprintf(tpath, sizeof(tpath), "%s/team-a-token", env("OUT_DIR"));
	FILE *f = fopen(tpath, "w");
	if (!f || !tok)
		abort();
	fchmod(fileno(f), 0600);
	fprintf(f, "%s\n", tok);
	fclose(f);
	secmem_free(tok);
	section_free(p);
	p = section("tokns2", "provider", "vault", "address", env("VAULT_ADDR"),
		    "token_file", tpath, "namespace", "team-b", "path",
		    "database/creds/readonly", NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -EACCES && !c &&
		   !strcmp(e.msg, "vault: database/creds/readonly (namespace "
				  "team-b): 403 permission denied") &&
		   no_secret(e.msg),
	       "a team-a token used in namespace team-b: %s", e.msg);
	section_free(p);
	unlink(tpath);

	p = section("sealed", "provider", "vault", "address", env("VAULT_ADDR"),
		    "auth", "approle", "secret_file", env("SECRET_FILE"),
		    "namespace", env("NS"), "path", "database/creds/readonly",
		    NULL);
	tap_ok(emu_post("/emu/seal", NULL, NULL) == 204, "Vault sealed");
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -EAGAIN && !c &&
		   !strcmp(e.msg, "vault: auth/approle/login (namespace "
				  "team-a): 503 Vault is sealed"),
	       "sealed: %s", e.msg);
	emu_post("/emu/unseal", NULL, NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == 0 && c, "unsealed: reads again (%s)", e.msg);
	tap_ok(emu_post("/emu/seal", NULL, NULL) == 204, "sealed again");
	{
		struct provider_req rq = mkreq(p, NULL);
		struct error e2 = {0};
		r = provider_vault.revoke(&rq, c, &e2);
		tap_ok(r == -EAGAIN &&
			   !strcmp(e2.msg, "vault: sys/leases/revoke "
					   "(namespace team-a): 503 Vault is "
					   "sealed"),
		       "revoke while sealed: %s", e2.msg);
		emu_post("/emu/unseal", NULL, NULL);
		provider_vault.revoke(&rq, c, &e2);
	}
	cred_unref(c);
	section_free(p);

	p = section("nopath", "provider", "vault", "address", env("VAULT_ADDR"),
		    "token_file", env("TOKEN_FILE"), "namespace", env("NS"),
		    "path", "database/creds/nosuch", NULL);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == -EINVAL && !strcmp(e.msg, "vault: database/creds/nosuch "
					      "(namespace team-a): 400 "
					      "unknown role: nosuch"),
	       "an unknown database role: %s", e.msg);
	section_free(p);
}

static void test_jwt_and_aws(void)
{
	struct cfg_section *p =
	    section("jwt", "provider", "vault", "address", env("VAULT_ADDR"),
		    "auth", "jwt", "role", "credfs", "source", "oidc",
		    "namespace", env("NS"), "path", "aws/creds/deploy", NULL);
	struct cred *src = cred_new(), *bad = cred_new(), *c;
	struct error e;
	int r;

	if (!src || !bad || cred_set(src, "id_token", env("JWT")) < 0 ||
	    cred_set(bad, "id_token", env("BAD_JWT")) < 0)
		abort();
	r = fetch(p, bad, &c, &e);
	tap_ok(r == -EKEYREJECTED && !c &&
		   !strncmp(e.msg,
			    "vault: auth/jwt/login (namespace team-a): "
			    "400 error validating token: ",
			    69) &&
		   !strstr(e.msg, env("BAD_JWT")),
	       "JWT signed by a key not in the JWKS: %s", e.msg);
	r = fetch(p, src, &c, &e);
	tap_ok(r == 0 && !strncmp(get(c, "access_key"), "AKIA", 4) &&
		   strlen(get(c, "secret_key")) == 40 &&
		   !cred_get(c, "security_token") &&
		   !strncmp(get(c, "lease_id"), "aws/creds/deploy/", 17),
	       "jwt login with the source's id_token, then aws/creds (%s)",
	       e.msg);
	{
		struct provider_req rq = mkreq(p, src);
		r = provider_vault.revoke(&rq, c, &e);
		tap_ok(r == 0, "aws lease revoked (%s)", e.msg);
	}
	cred_unref(c);
	cred_unref(src);
	cred_unref(bad);
	section_free(p);
}

static void test_config(void)
{
	struct cfg_section *p;
	struct vault_cfg vc;
	char err[256];

	p = section("c1", "provider", "vault", "address", "https://v:8200/",
		    "auth", "approle", "path", "database/creds/x", NULL);
	tap_ok(vault_parse(p, &vc, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "approle needs exactly one of"),
	       "approle without a secret: %s", err);
	section_free(p);
	p = section("c2", "provider", "vault", "address", "https://v:8200/",
		    "token_file", "/x", "path", "../sys/raw", NULL);
	tap_ok(vault_parse(p, &vc, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "is not a Vault API path"),
	       "a path with '..' is refused: %s", err);
	section_free(p);
	p = section("c3", "provider", "vault", "address", "https://v:8200/",
		    "token_file", "/x", "path", "app", "mount", "kv", "version",
		    "3", "fields", "a b=c", NULL);
	int r = vault_parse(p, &vc, err, sizeof(err));
	tap_ok(
	    r == 0 && !strcmp(vc.address, "https://v:8200") &&
		!strcmp(vc.api_path, "kv/data/app") &&
		!strcmp(vc.query, "?version=3") && vc.nfields == 2 &&
		!strcmp(vc.field_out[1], "b") && !strcmp(vc.field_in[1], "c"),
	    "mount + version + fields parse into the typed config (%s)", err);
	if (r == 0)
		vault_cfg_free(&vc);
	section_free(p);

	/* the provider's parse op reports at the line of the key at fault */
	p = section("c4", "provider", "vault", "address", "https://v:8200/",
		    "token_file", "/x", "path", "../sys/raw", NULL);
	struct diag d = {.file = "test"};
	void *state = NULL;
	r = provider_vault.parse(p, &d, &state);
	tap_ok(r == -EINVAL && !state && d.n == 1 &&
		   d.lines[0] == cfg_line(p, "path") &&
		   strstr(d.msgs[0], "is not a Vault API path"),
	       "parse reports a bad path at its line %d: %s",
	       cfg_line(p, "path"), d.n ? d.msgs[0] : "(nothing)");
	diag_free(&d);
	section_free(p);
	p = section("c5", "provider", "vault", "address", "https://v:8200/",
		    "auth", "ldap", "path", "x", NULL);
	d = (struct diag){.file = "test"};
	r = provider_vault.parse(p, &d, &state);
	tap_ok(r == -EINVAL && d.n == 1 && d.lines[0] == cfg_line(p, "auth"),
	       "parse reports a bad auth at its line %d: %s",
	       cfg_line(p, "auth"), d.n ? d.msgs[0] : "(nothing)");
	diag_free(&d);
	section_free(p);
	p = section("c6", "provider", "vault", "address", "https://v:8200/",
		    "token_file", "/x", "path", "x", "revoke_on_unmount",
		    "sometimes", NULL);
	d = (struct diag){.file = "test"};
	r = provider_vault.parse(p, &d, &state);
	tap_ok(r == -EINVAL && d.n == 1 &&
		   d.lines[0] == cfg_line(p, "revoke_on_unmount") &&
		   strstr(d.msgs[0], "'sometimes' is not yes or no"),
	       "parse reports a bad revoke_on_unmount at its line: %s",
	       d.n ? d.msgs[0] : "(nothing)");
	diag_free(&d);
	section_free(p);
	p = section("c7", "provider", "vault", "address", "https://v:8200/",
		    "token_file", "/x", "path", "x", "revoke_on_unmount", "yes",
		    NULL);
	r = provider_vault.parse(p, &d, &state);
	tap_ok(r == 0 && provider_vault.revoke_at_unmount(state) &&
		   !provider_vault.revoke_at_unmount(NULL),
	       "revoke_on_unmount = yes: the provider asks for it");
	if (r == 0)
		provider_vault.free_state(state);
	diag_free(&d);
	section_free(p);
}

/* The client token: renewed with renew-self when a third of its TTL is
 * left, a fresh login once it hits its max TTL (second emulator: token
 * TTL 9s, max 14s).  Vault revokes a token's leases with it. */
static void test_token_renewal(void)
{
	struct cfg_section *p =
	    section("short", "provider", "vault", "address", env("VAULT_ADDR2"),
		    "auth", "approle", "secret_file", env("SECRET_FILE"),
		    "path", "database/creds/readonly", NULL);
	static const char login[] = "POST /v1/auth/approle/login ns=- -> 200";
	static const char renew[] =
	    "POST /v1/auth/token/renew-self ns=- -> 200";
	struct cred *c;
	struct error e;
	int r;

	r = fetch(p, NULL, &c, &e);
	tap_ok(r == 0 && log_count_in("EMU_LOG2", login) == 1,
	       "short-lived token: login and read (%s)", e.msg);
	cred_unref(c);
	usleep(7000 * 1000);
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == 0 && log_count_in("EMU_LOG2", login) == 1 &&
		   log_count_in("EMU_LOG2", renew) == 1,
	       "with a third of its TTL left the token is renewed, not "
	       "replaced (logins %d, renewals %d) (%s)",
	       log_count_in("EMU_LOG2", login), log_count_in("EMU_LOG2", renew),
	       e.msg);
	cred_unref(c);
	usleep(8000 * 1000);
	tap_ok(log_count_in("EMU_LOG2", "lease revoke database/creds/") == 2,
	       "Vault revoked the token's leases when it expired at its max "
	       "TTL");
	r = fetch(p, NULL, &c, &e);
	tap_ok(r == 0 && log_count_in("EMU_LOG2", login) == 2,
	       "past the max TTL: a fresh login (%s)", e.msg);
	cred_unref(c);
	section_free(p);
}

/* A lease renewed at the moment its client token can no longer be renewed
 * (third emulator: token TTL 15s, max 22s): a login replaces the token,
 * and the lease, which Vault ends with the old token, is renewed one last
 * time up to that token's end (vault_renew 1): the engine re-issues. */
static void test_token_end_caps_lease(void)
{
	struct cfg_section *p =
	    section("short3", "provider", "vault", "address", env("VAULT_ADDR3"),
		    "auth", "approle", "secret_file", env("SECRET_FILE"),
		    "path", "database/creds/readonly", NULL);
	static const char login[] = "POST /v1/auth/approle/login ns=- -> 200";
	struct provider_req req = mkreq(p, NULL);
	struct cred *c, *n = NULL;
	struct error e;
	int r;

	r = fetch(p, NULL, &c, &e);
	tap_ok(r == 0, "token TTL 15s: a lease (%s)", e.msg);
	usleep(11000 * 1000);
	memset(&e, 0, sizeof(e));
	r = vault_renew(&req, c, 0, &n, &e);
	tap_ok(r == 0 && n && cred_expiration(n) > time(NULL) + 60 &&
		   log_count_in("EMU_LOG3", login) == 1,
	       "renewed with the token renewed too (renew-self), not capped "
	       "(%d: %s)",
	       r, e.msg);
	cred_unref(n);
	n = NULL;
	usleep(9000 * 1000); /* t = 20s: 2s of the token's max TTL left */
	memset(&e, 0, sizeof(e));
	r = vault_renew(&req, c, 0, &n, &e);
	tap_ok(r == 1 && n && cred_expiration(n) <= time(NULL) + 3 &&
		   log_count_in("EMU_LOG3", login) == 2,
	       "the token at its max TTL: a new login, and the lease's last "
	       "renewal ends with the old token (%d, %lds left: %s)",
	       r, n ? (long)(cred_expiration(n) - time(NULL)) : -1L, e.msg);
	cred_unref(n);
	cred_unref(c);
	section_free(p);
}

int main(void)
{
	secmem_init_cjson();
	test_config();
	test_database();
	test_kv();
	test_pki();
	test_failures();
	test_jwt_and_aws();
	test_token_renewal();
	test_token_end_caps_lease();
	vault_forget_tokens();
	parsed_free();
	return tap_done();
}
