/* vault: the `vault` provider - one Vault read per lease, never per open.
 *
 *   [profile db]
 *   provider = vault
 *   address = https://vault.example:8200
 *   auth = approle            ; token (default), approle, jwt
 *   secret = vault-approle    ; store entry: role_id, secret_id (or token)
 *   namespace = team-a
 *   path = database/creds/readonly
 *
 * KV: `mount = secret`, `path = app/config`, `kv_version = 2`, optional
 * `version = N`.  PKI: `path = pki/issue/web`, `common_name = ...`
 * (POST; optional alt_names, ttl).  `fields = a b out=in` keeps (and
 * renames) fields of Vault's data; the cred also carries lease_id and
 * lease_renewable when Vault gave a lease.  Expiration: now + the lease
 * duration; for leaseless reads data.expiration (PKI) or now +
 * refresh_interval (default 5m).
 */
#include "providers/vault/vault.h"
#include "providers/vault/vault_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "providers/http.h"

static const char *const keys[] = {
    "address",	   "auth",	  "auth_mount", "token_file",
    "secret",	   "secret_file", "role",	"jwt_file",
    "jwt_field",   "namespace",	  "path",	"mount",
    "kv_version",  "version",	  "fields",	"refresh_interval",
    "common_name", "alt_names",	  "ttl",	"revoke_on_unmount",
    NULL};

static bool path_ok(const char *p)
{
	if (!*p || *p == '/' || strstr(p, ".."))
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-_./@+=:", *p)))
			return false;
	return true;
}

void vault_cfg_free(struct vault_cfg *c)
{
	for (size_t i = 0; i < c->nfields; i++) {
		free(c->field_out[i]);
		free(c->field_in[i]);
	}
	c->nfields = 0;
}

static int parse_fields(const char *spec, struct vault_cfg *c, char *err,
			size_t errlen)
{
	char *dup = strdup(spec), *save = NULL, *tok;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, " ,\t", &save); tok;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		char *eq = strchr(tok, '=');
		if (c->nfields == VAULT_MAX_FIELDS) {
			snprintf(err, errlen, "fields: more than %d",
				 VAULT_MAX_FIELDS);
			break;
		}
		if (eq)
			*eq = 0;
		if (!*tok || (eq && !eq[1])) {
			snprintf(err, errlen,
				 "fields: '%s' is not NAME or "
				 "NAME=VAULT_FIELD",
				 tok);
			break;
		}
		c->field_out[c->nfields] = strdup(tok);
		c->field_in[c->nfields] = strdup(eq ? eq + 1 : tok);
		c->nfields++;
	}
	free(dup);
	return err[0] ? -EINVAL : 0;
}

/* The line of key in s for an error message. */
#define AT(key) (*line = cfg_line(s, key))

int vault_parse_at(const struct cfg_section *s, struct vault_cfg *c, char *err,
		   size_t errlen, int *line)
{
	const char *addr = cfg_get(s, "address"), *v;
	const char *path = cfg_get(s, "path"), *mount = cfg_get(s, "mount");
	int n;

	memset(c, 0, sizeof(*c));
	err[0] = 0;
	*line = s->line;
	c->profile = s->name;
	c->refresh_interval = 300;
	if (!addr)
		addr = cfg_get(s, "endpoint");
	if (!addr ||
	    (strncmp(addr, "https://", 8) && strncmp(addr, "http://", 7))) {
		AT(cfg_get(s, "address") ? "address" : "endpoint");
		snprintf(err, errlen, "needs 'address = https://HOST:8200'");
		return -EINVAL;
	}
	{
		/* plain http to a remote host would send the token in clear:
		 * refused here, at its line, as the HTTP client would */
		struct error he = {0};
		if (http_check_url(addr, &he) < 0) {
			AT(cfg_get(s, "address") ? "address" : "endpoint");
			snprintf(err, errlen, "address: %s", he.msg);
			return -EINVAL;
		}
	}
	n = snprintf(c->address, sizeof(c->address), "%s", addr);
	while (n > 0 && c->address[n - 1] == '/')
		c->address[--n] = 0;
	if ((v = cfg_get(s, "namespace")))
		snprintf(c->ns, sizeof(c->ns), "%s", v + (*v == '/'));
	c->ca_file = cfg_get(s, "ca_file");
	v = cfg_get(s, "auth");
	if (!v || !strcmp(v, "token"))
		c->auth = VAULT_AUTH_TOKEN;
	else if (!strcmp(v, "approle"))
		c->auth = VAULT_AUTH_APPROLE;
	else if (!strcmp(v, "jwt") || !strcmp(v, "oidc"))
		c->auth = VAULT_AUTH_JWT;
	else {
		AT("auth");
		snprintf(err, errlen, "auth: '%s' is not token, approle or jwt",
			 v);
		return -EINVAL;
	}
	v = cfg_get(s, "auth_mount");
	snprintf(c->auth_mount, sizeof(c->auth_mount), "%s",
		 v			     ? v
		 : c->auth == VAULT_AUTH_JWT ? "jwt"
					     : "approle");
	if (!path_ok(c->auth_mount)) {
		AT(cfg_get(s, "auth_mount") ? "auth_mount" : "auth");
		snprintf(err, errlen, "auth_mount: '%s' is not a mount path",
			 c->auth_mount);
		return -EINVAL;
	}
	c->token_file = cfg_get(s, "token_file");
	c->secret = cfg_get(s, "secret");
	c->secret_file = cfg_get(s, "secret_file");
	c->role = cfg_get(s, "role");
	c->jwt_file = cfg_get(s, "jwt_file");
	c->jwt_field = cfg_get(s, "jwt_field");
	int nsrc = !!c->token_file + !!c->secret + !!c->secret_file;
	if (c->auth == VAULT_AUTH_TOKEN && nsrc != 1) {
		AT("auth");
		snprintf(err, errlen,
			 "auth = token needs exactly one of "
			 "'token_file', 'secret' or 'secret_file'");
		return -EINVAL;
	}
	if (c->auth == VAULT_AUTH_APPROLE &&
	    (c->token_file || !!c->secret + !!c->secret_file != 1)) {
		AT("auth");
		snprintf(err, errlen,
			 "auth = approle needs exactly one of "
			 "'secret = STORE_ENTRY' (role_id, "
			 "secret_id) or 'secret_file'");
		return -EINVAL;
	}
	if (c->auth == VAULT_AUTH_JWT && (!c->role || nsrc)) {
		AT("auth");
		snprintf(err, errlen,
			 "auth = jwt needs 'role' and a token from "
			 "`source =` or 'jwt_file'");
		return -EINVAL;
	}
	if (!path) {
		snprintf(err, errlen,
			 "needs 'path' (e.g. database/creds/ROLE)");
		return -EINVAL;
	}
	if (!path_ok(path)) {
		AT("path");
		snprintf(err, errlen, "path: '%.200s' is not a Vault API path",
			 path);
		return -EINVAL;
	}
	if ((v = cfg_get(s, "kv_version"))) {
		if (strcmp(v, "1") && strcmp(v, "2")) {
			AT("kv_version");
			snprintf(err, errlen, "kv_version: '%s' is not 1 or 2",
				 v);
			return -EINVAL;
		}
		c->kv_version = *v - '0';
	}
	if (mount && !c->kv_version)
		c->kv_version = 2;
	if (c->kv_version) {
		const char *m = mount ? mount : "secret";
		if (!path_ok(m)) {
			AT(mount ? "mount" : "kv_version");
			snprintf(err, errlen, "mount: '%s' is not a mount", m);
			return -EINVAL;
		}
		snprintf(c->api_path, sizeof(c->api_path), "%s/%s%s", m,
			 c->kv_version == 2 ? "data/" : "", path);
	} else {
		snprintf(c->api_path, sizeof(c->api_path), "%s", path);
	}
	if ((v = cfg_get(s, "version"))) {
		char *end;
		long ver = strtol(v, &end, 10);
		if (c->kv_version != 2 || *end || ver < 1) {
			AT("version");
			snprintf(err, errlen,
				 "version: needs kv_version = 2 "
				 "and a number from 1");
			return -EINVAL;
		}
		snprintf(c->query, sizeof(c->query), "?version=%ld", ver);
	}
	c->common_name = cfg_get(s, "common_name");
	c->alt_names = cfg_get(s, "alt_names");
	c->ttl = cfg_get(s, "ttl");
	c->post = c->common_name != NULL;
	if ((v = cfg_get(s, "refresh_interval")) &&
	    (util_duration_parse(v, &c->refresh_interval) < 0 ||
	     c->refresh_interval < 1)) {
		AT("refresh_interval");
		snprintf(err, errlen,
			 "refresh_interval: '%s' is not a duration", v);
		return -EINVAL;
	}
	if ((v = cfg_get(s, "revoke_on_unmount")) &&
	    !(c->revoke_on_unmount = !strcmp(v, "yes") || !strcmp(v, "true")) &&
	    strcmp(v, "no") && strcmp(v, "false")) {
		AT("revoke_on_unmount");
		snprintf(err, errlen,
			 "revoke_on_unmount: '%s' is not yes or no", v);
		return -EINVAL;
	}
	if ((v = cfg_get(s, "timeout")))
		if (util_duration_parse(v, &n) == 0 && n > 0)
			c->timeout_ms = n * 1000;
	if ((v = cfg_get(s, "fields")) && parse_fields(v, c, err, errlen) < 0) {
		AT("fields");
		vault_cfg_free(c);
		return -EINVAL;
	}
	return 0;
}
#undef AT

int vault_parse(const struct cfg_section *s, struct vault_cfg *c, char *err,
		size_t errlen)
{
	int line;

	return vault_parse_at(s, c, err, errlen, &line);
}

static void free_state(void *p)
{
	if (!p)
		return;
	vault_cfg_free(p);
	free(p);
}

/* Parsed once at config load; problems are reported at their line. */
static int parse(const struct cfg_section *s, struct diag *d, void **state)
{
	struct vault_cfg *c = calloc(1, sizeof(*c));
	char err[256];
	int line, r;

	if (!c)
		return -ENOMEM;
	if ((r = vault_parse_at(s, c, err, sizeof(err), &line)) < 0) {
		if (r == -EINVAL)
			cfg_error(d, line, "profile %s: vault: %s", s->name,
				  err);
		free(c);
		return r;
	}
	*state = c;
	return 0;
}

/* Vault's value as text: strings as they are, numbers, booleans, arrays of
 * strings one a line (ca_chain), objects as JSON. */
static int set_value(struct cred *out, const char *name, const cJSON *v)
{
	char num[64];
	int r = 0;

	if (cJSON_IsString(v))
		return cred_set(out, name, v->valuestring);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d > -9e18 && d < 9e18 && d == (double)(long long)d)
			snprintf(num, sizeof(num), "%lld", (long long)d);
		else
			snprintf(num, sizeof(num), "%.17g", d);
		return cred_set(out, name, num);
	}
	if (cJSON_IsBool(v))
		return cred_set(out, name, cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsArray(v)) {
		struct secbuf b = {0};
		const cJSON *it;
		cJSON_ArrayForEach(it, v)
		{
			if (!cJSON_IsString(it))
				continue;
			if ((b.len && (r = secbuf_append(&b, "\n", 1)) < 0) ||
			    (r = secbuf_append(&b, it->valuestring,
					       strlen(it->valuestring))) < 0)
				break;
		}
		if (r == 0)
			r = cred_set(out, name, b.data ? b.data : "");
		secbuf_wipe(&b);
		return r;
	}
	if (cJSON_IsObject(v)) {
		char *js = cJSON_PrintUnformatted(v);
		if (!js)
			return -ENOMEM;
		r = cred_set(out, name, js);
		explicit_bzero(js, strlen(js));
		cJSON_free(js);
		return r;
	}
	return 0; /* null: no field */
}

static int build_cred(const struct vault_cfg *c, const cJSON *j,
		      struct cred **out, struct error *e)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
	const cJSON *lid = cJSON_GetObjectItemCaseSensitive(j, "lease_id");
	const cJSON *ld = cJSON_GetObjectItemCaseSensitive(j, "lease_duration");
	const cJSON *rn = cJSON_GetObjectItemCaseSensitive(j, "renewable");
	time_t now = time(NULL), exp;
	struct cred *cr;
	int r = 0;

	if (c->kv_version == 2)
		data = cJSON_GetObjectItemCaseSensitive(data, "data");
	if (!cJSON_IsObject(data)) {
		error_set(e, ENODATA, "vault: %s: no data in the response%s",
			  c->api_path,
			  c->kv_version == 2 ? " (version deleted or destroyed)"
					     : "");
		return -ENODATA;
	}
	if (!(cr = cred_new()))
		return -ENOMEM;
	if (c->nfields) {
		for (size_t i = 0; i < c->nfields && r == 0; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(
			    data, c->field_in[i]);
			if (!v || cJSON_IsNull(v)) {
				error_set(e, ENODATA,
					  "vault: %s: no field '%s' in data",
					  c->api_path, c->field_in[i]);
				r = -ENODATA;
				break;
			}
			r = set_value(cr, c->field_out[i], v);
		}
	} else {
		const cJSON *v;
		cJSON_ArrayForEach(v, data)
		{
			if ((r = set_value(cr, v->string, v)) < 0)
				break;
		}
		if (r == 0 && cred_count(cr) == 0) {
			error_set(e, ENODATA, "vault: %s: data has no fields",
				  c->api_path);
			r = -ENODATA;
		}
	}
	if (r == 0 && cJSON_IsString(lid) && lid->valuestring[0]) {
		r = cred_set(cr, "lease_id", lid->valuestring);
		if (r == 0)
			r = cred_set(cr, "lease_renewable",
				     cJSON_IsTrue(rn) ? "true" : "false");
	}
	if (r < 0) {
		/* set_value and cred_set fail without a message (too many
		 * fields, out of memory): say which read it was. */
		if (!e->msg[0])
			error_set(e, -r, "vault: %s: the data cannot be held: %s",
				  c->api_path, strerror(-r));
		cred_unref(cr);
		return r;
	}
	const cJSON *dx = cJSON_GetObjectItemCaseSensitive(data, "expiration");
	if (cJSON_IsNumber(ld) && ld->valuedouble > 0)
		exp = now + util_clamp_ll(ld->valuedouble, 1, UTIL_TIME_MAX - now);
	else if (cJSON_IsNumber(dx) && dx->valuedouble > (double)now)
		exp = util_clamp_ll(dx->valuedouble, now, UTIL_TIME_MAX);
	else
		exp = now + c->refresh_interval;
	cred_set_expiration(cr, exp);
	cred_set_obtained(cr, now);
	*out = cr;
	return 0;
}

/* A shallow copy of the parsed state with this request's connection
 * settings (not to be vault_cfg_free'd: the field names stay the state's). */
static int parse_req(const struct provider_req *req, struct vault_cfg *c,
		     struct error *e)
{
	if (!req->state)
		return error_set(e, EINVAL,
				 "vault: the profile was not parsed");
	*c = *(const struct vault_cfg *)req->state;
	if (req->profile_name)
		c->profile = req->profile_name;
	c->ca_file = req->common->ca_file;
	if (req->timeout_ms > 0)
		c->timeout_ms = req->timeout_ms;
	return 0;
}

static int fetch(const struct provider_req *req, struct cred **out,
		 struct error *e)
{
	struct vault_cfg c;
	cJSON *j = NULL, *b = NULL;
	char *body = NULL;
	int r;

	*out = NULL;
	if ((r = parse_req(req, &c, e)) < 0)
		return r;
	if (c.post) {
		r = -ENOMEM;
		if (!(b = cJSON_CreateObject()) ||
		    !cJSON_AddStringToObject(b, "common_name", c.common_name) ||
		    (c.alt_names &&
		     !cJSON_AddStringToObject(b, "alt_names", c.alt_names)) ||
		    (c.ttl && !cJSON_AddStringToObject(b, "ttl", c.ttl)) ||
		    !(body = cJSON_PrintUnformatted(b)))
			goto out;
	}
	r = vault_call(&c, req, c.post ? "POST" : "GET", c.api_path, c.query,
		       body, &j, e);
	if (r == 0)
		r = build_cred(&c, j, out, e);
out:
	cJSON_free(body);
	cJSON_Delete(b);
	cJSON_Delete(j);
	return r;
}

static int lease_body(const char *lease_id, int increment, char **body)
{
	cJSON *o = cJSON_CreateObject();

	*body = NULL;
	if (o && cJSON_AddStringToObject(o, "lease_id", lease_id) &&
	    (!increment || cJSON_AddNumberToObject(o, "increment", increment)))
		*body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *body ? 0 : -ENOMEM;
}

static int revoke(const struct provider_req *req, const struct cred *cr,
		  struct error *e)
{
	const char *lid = cr ? cred_get(cr, "lease_id") : NULL;
	struct vault_cfg c;
	cJSON *j = NULL;
	char *body = NULL;
	int r;

	if (!lid || !*lid)
		return 0; /* leaseless (KV, PKI): nothing to revoke */
	if ((r = parse_req(req, &c, e)) < 0)
		return r;
	if ((r = lease_body(lid, 0, &body)) == 0)
		r = vault_call(&c, req, "POST", "sys/leases/revoke", NULL, body,
			       &j, e);
	cJSON_free(body);
	cJSON_Delete(j);
	return r;
}

int vault_json_renew(const cJSON *j, const struct cred *cr, int increment,
		     time_t token_end, time_t now, struct cred **out,
		     struct error *e)
{
	const cJSON *ld = cJSON_GetObjectItemCaseSensitive(j, "lease_duration");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "warnings");
	const cJSON *ren = cJSON_GetObjectItemCaseSensitive(j, "renewable");
	int r = 0;

	*out = NULL;
	if (!cJSON_IsNumber(ld) || ld->valuedouble < 1) {
		error_set(e, EPROTO,
			  "vault: sys/leases/renew: no lease_duration in the "
			  "response");
		return -EPROTO;
	}
	int granted = (int)util_clamp_ll(ld->valuedouble, 1, INT_MAX);
	struct cred *n = cred_new();
	if (!n) {
		error_set(e, ENOMEM, "vault: sys/leases/renew: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < cred_count(cr) && r == 0; i++)
		r = cred_set(n, cred_name_at(cr, i), cred_value_at(cr, i));
	if (r == 0 && !cJSON_IsTrue(ren))
		r = cred_set(n, "lease_renewable", "false");
	if (r < 0) {
		cred_unref(n);
		error_set(e, -r, "vault: sys/leases/renew: %s", strerror(-r));
		return r;
	}
	cred_set_obtained(n, now);
	time_t end = now > LLONG_MAX - granted ? now : now + granted;
	if (token_end && token_end < end)
		end = token_end > now ? token_end : now + 1;
	cred_set_expiration(n, end);
	*out = n;
	return (cJSON_GetArraySize(w) > 0 || !cJSON_IsTrue(ren) || token_end ||
		(increment > 0 && granted < increment))
		? 1
		: 0;
}

int vault_renew(const struct provider_req *req, const struct cred *cr,
		int increment, struct cred **out, struct error *e)
{
	const char *lid = cred_get(cr, "lease_id");
	const char *rn = cred_get(cr, "lease_renewable");
	struct vault_cfg c;
	cJSON *j = NULL;
	char *body = NULL;
	time_t token_end = 0;
	int r;

	*out = NULL;
	if (!lid || !*lid || !rn || strcmp(rn, "true"))
		return 2;
	if ((r = parse_req(req, &c, e)) < 0)
		return r;
	if ((r = lease_body(lid, increment, &body)) == 0)
		r = vault_call_t(&c, req, "POST", "sys/leases/renew", NULL,
				 body, &j, &token_end, e);
	if (r >= 0)
		r = vault_json_renew(j, cr, increment, token_end, time(NULL),
				     out, e);
	cJSON_free(body);
	cJSON_Delete(j);
	return r;
}

static int renew(const struct provider_req *req, const struct cred *c,
		 struct cred **out, struct error *e)
{
	return vault_renew(req, c, 0, out, e);
}

static bool revoke_at_unmount(const void *state)
{
	return state && ((const struct vault_cfg *)state)->revoke_on_unmount;
}

const struct provider_ops provider_vault = {
    .name = "vault",
    .keys = keys,
    .required = (const char *const[]){"path", NULL},
    .source = PROVIDER_SOURCE_OPTIONAL,
    /* leased and short-lived: kept sealed like any fetched credential */
    .cacheable = true,
    .fields = NULL, /* whatever the Vault path returns */
    .parse = parse,
    .free_state = free_state,
    .fetch = fetch,
    .revoke = revoke,
    .renew = renew,
    .renew_by = vault_token_deadline,
    .revoke_at_unmount = revoke_at_unmount,
};

int vault_json_secret(const struct vault_cfg *c, const cJSON *j,
		      struct cred **out, struct error *e)
{
	return build_cred(c, j, out, e);
}
