/* vault client: one API call with the profile's client token, the token
 * cache (login, renew-self, re-login after a 403) and Vault's error
 * envelope turned into one bounded line.
 *
 * The client token and every login secret stay in secmem; headers that
 * carry the token are secmem'd and http.c wipes its copies.
 */
#include "providers/vault/vault.h"
#include "providers/vault/vault_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <ini.h>
#include <pthread.h>
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
#include "crypto/store.h"
#include "providers/http.h"

#define VAULT_ERR_MAX 200

/* --- errors ------------------------------------------------------------ */

static const char *status_text(long status)
{
	switch (status) {
	case 400:
		return "bad request";
	case 403:
		return "permission denied";
	case 404:
		return "not found";
	case 405:
		return "unsupported operation";
	case 429:
		return "rate limited";
	case 503:
		return "Vault is sealed or unavailable";
	default:
		return status >= 500 ? "server error" : "unexpected status";
	}
}

static int status_errno(long status, bool login)
{
	switch (status) {
	case 400:
		return login ? -EKEYREJECTED : -EINVAL;
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 503:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* Appends s to out (cap bytes), runs of whitespace as one space, Go's
 * multierror "1 error occurred: * " decoration dropped. */
static void append_clean(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out);
	bool space = n > 0 && out[n - 1] == ' ';

	if (!strncmp(s, "1 error occurred:", 17))
		s += 17;
	for (; *s && n + 1 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= ' ' || ch == 0x7f || (ch == '*' && space)) {
			if (!space && n > 0)
				out[n++] = ' ', space = true;
			continue;
		}
		out[n++] = (char)ch;
		space = false;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

static void set_http_error(const struct vault_cfg *c, const char *path,
			   long status, const cJSON *j, int code,
			   struct error *e)
{
	char text[VAULT_ERR_MAX + 1] = "";
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
	const cJSON *it;

	cJSON_ArrayForEach(it, errs)
	{
		if (!cJSON_IsString(it))
			continue;
		if (text[0])
			append_clean(text, sizeof(text), "; ");
		append_clean(text, sizeof(text), it->valuestring);
	}
	if (!text[0])
		snprintf(text, sizeof(text), "%s", status_text(status));
	if (c->ns[0])
		error_setk(e, code, ERROR_PROVIDER,
			   "vault: %s (namespace %s): %ld %s", path, c->ns,
			   status, text);
	else
		error_setk(e, code, ERROR_PROVIDER, "vault: %s: %ld %s", path,
			   status, text);
}

/* --- one HTTP exchange ------------------------------------------------- */

static int raw_call(const struct vault_cfg *c, const char *method,
		    const char *path, const char *query, const char *token,
		    const char *body, long deadline_ms, bool login,
		    cJSON **json, long *status, struct error *e)
{
	struct secbuf url = {0}, th = {0};
	char nsh[300];
	const char *hdrs[5];
	size_t nh = 0;
	struct http_resp resp;
	long left = deadline_ms - util_mono_ms();
	int r;

	*json = NULL;
	*status = 0;
	if (left < 1) {
		error_set(e, ETIMEDOUT, "vault: %s: timed out", path);
		return -ETIMEDOUT;
	}
	if ((r = secbuf_printf(&url, "%s/v1/%s%s", c->address, path,
			       query ? query : "")) < 0)
		return r;
	if (token) {
		if ((r = secbuf_printf(&th, "X-Vault-Token: %s", token)) < 0)
			goto out;
		hdrs[nh++] = th.data;
	}
	if (c->ns[0]) {
		snprintf(nsh, sizeof(nsh), "X-Vault-Namespace: %s", c->ns);
		hdrs[nh++] = nsh;
	}
	hdrs[nh++] = "X-Vault-Request: true";
	if (body)
		hdrs[nh++] = "Content-Type: application/json";
	hdrs[nh] = NULL;
	char what[300];
	snprintf(what, sizeof(what), "vault: %s", path);
	struct http_req hr = {
	    .method = method,
	    .url = url.data,
	    .headers = hdrs,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .ca_file = c->ca_file,
	    .timeout_ms = (int)left,
	    .max_attempts = 2,
	    .what = what,
	};
	if ((r = http_request(&hr, &resp, e)) < 0)
		goto out;
	*status = resp.status;
	if (resp.body.len)
		*json = cJSON_ParseWithLength(resp.body.data, resp.body.len);
	if (resp.status < 200 || resp.status > 299) {
		r = status_errno(resp.status, login);
		set_http_error(c, path, resp.status, *json, -r, e);
		cJSON_Delete(*json);
		*json = NULL;
	} else if (resp.status != 204 && !*json) {
		error_set(e, EPROTO,
			  "vault: %s: %ld with a body that is not JSON", path,
			  resp.status);
		r = -EPROTO;
	}
	http_resp_wipe(&resp);
out:
	secbuf_wipe(&url);
	secbuf_wipe(&th);
	return r;
}

/* --- login secrets ------------------------------------------------------ */

/* The owner-only file of `field = value` lines `secret_file` names. */
static int read_secret_file(const char *spec, struct cred *c, struct error *e)
{
	char *path = config_expand_path(spec);
	int r;

	if (!path)
		return -ENOMEM;
	if ((r = cred_read_file(path, c, e)) < 0)
		error_prefix(e, "vault");
	free(path);
	return r;
}

/* A whole owner-only file (token_file, jwt_file), trailing space cut. */
static int read_token_file(const char *spec, const char *what, char **out,
			   struct error *e)
{
	char *path = config_expand_path(spec);
	struct stat st;
	size_t len;
	int r, fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		error_set(e, errno, "vault: %s %s: %s", what, path,
			  strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) ||
	    st.st_uid != geteuid()) {
		error_set(e, EPERM,
			  "vault: %s %s: must be owned by you with mode 0600",
			  what, path);
		close(fd);
		r = -EPERM;
		goto out;
	}
	r = util_read_fd_secret(fd, 64 * 1024, out, &len);
	close(fd);
	if (r < 0) {
		error_set(e, -r, "vault: %s %s: %s", what, path, strerror(-r));
		goto out;
	}
	while (len > 0 && (unsigned char)(*out)[len - 1] <= ' ')
		(*out)[--len] = 0;
	if (!len) {
		error_set(e, EINVAL, "vault: %s %s: empty", what, path);
		secmem_free(*out);
		*out = NULL;
		r = -EINVAL;
	}
out:
	free(path);
	return r;
}

/* The store entry or secret_file of the profile, as a cred. */
static int login_secrets(const struct vault_cfg *c,
			 const struct provider_req *req, struct cred **out,
			 struct error *e)
{
	int r;

	if (c->secret) {
		if (!req->store) {
			error_set(e, ENOKEY,
				  "vault: store entry %s: the store is not "
				  "open",
				  c->secret);
			return -ENOKEY;
		}
		r = store_get(req->store, c->secret, out, e);
		if (r == -ENOENT)
			error_set(e, ENOENT, "vault: store entry %s: %s",
				  c->secret, strerror(ENOENT));
		else if (r < 0)
			error_prefix(e, "vault: store entry %s", c->secret);
		return r;
	}
	if (!(*out = cred_new()))
		return -ENOMEM;
	if ((r = read_secret_file(c->secret_file, *out, e)) < 0) {
		cred_unref(*out);
		*out = NULL;
	}
	return r;
}

static const char *need_field(const struct cred *s, const struct vault_cfg *c,
			      const char *field, struct error *e)
{
	const char *v = cred_get(s, field);

	if (!v || !*v)
		error_set(e, EINVAL, "vault: %s %s: no %s",
			  c->secret ? "store entry" : "secret_file",
			  c->secret ? c->secret : c->secret_file, field);
	return v && *v ? v : NULL;
}

/* --- the token cache ----------------------------------------------------- */

struct tok {
	struct tok *next;
	char key[1024];
	char *token;	/* secmem */
	long expire_ms; /* util_mono_ms() deadline; 0: never */
	int ttl;
	bool renewable;
};

static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tok *toks;

static void tok_key(const struct vault_cfg *c, char *key, size_t len)
{
	snprintf(key, len, "%s\n%s\n%s\n%s", c->profile ? c->profile : "",
		 c->address, c->ns, c->auth_mount);
}

static struct tok *tok_find(const char *key, bool create)
{
	struct tok *t;

	for (t = toks; t; t = t->next)
		if (!strcmp(t->key, key))
			return t;
	if (!create || !(t = calloc(1, sizeof(*t))))
		return NULL;
	snprintf(t->key, sizeof(t->key), "%s", key);
	t->next = toks;
	toks = t;
	return t;
}

static void tok_drop(struct tok *t)
{
	secmem_free(t->token);
	t->token = NULL;
	t->expire_ms = 0;
	t->ttl = 0;
}

void vault_forget_tokens(void)
{
	pthread_mutex_lock(&tok_mu);
	while (toks) {
		struct tok *t = toks;
		toks = t->next;
		tok_drop(t);
		free(t);
	}
	pthread_mutex_unlock(&tok_mu);
}

time_t vault_token_deadline(const struct provider_req *req)
{
	struct vault_cfg c;
	char key[1024];
	time_t at = 0;

	if (!req->state)
		return 0;
	c = *(const struct vault_cfg *)req->state; /* shallow: not freed */
	if (req->profile_name)
		c.profile = req->profile_name;
	tok_key(&c, key, sizeof(key));
	/* a login in progress holds the lock over HTTP: the engine's
	 * scheduler asks again a second later rather than wait */
	if (pthread_mutex_trylock(&tok_mu) != 0)
		return 0;
	struct tok *t = tok_find(key, false);
	if (t && t->token && t->expire_ms)
		at = time(NULL) + (t->expire_ms - util_mono_ms()) / 1000 -
		     t->ttl / 3;
	pthread_mutex_unlock(&tok_mu);
	return at;
}

/* Reads auth{client_token, lease_duration, renewable} into t. */
static int take_auth(struct tok *t, const cJSON *j, const char *path,
		     struct error *e)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "auth");
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(a, "client_token");
	const cJSON *ld = cJSON_GetObjectItemCaseSensitive(a, "lease_duration");
	const cJSON *rn = cJSON_GetObjectItemCaseSensitive(a, "renewable");

	if (!cJSON_IsString(ct) || !ct->valuestring[0]) {
		error_set(e, EPROTO,
			  "vault: %s: no auth.client_token in the response",
			  path);
		return -EPROTO;
	}
	char *dup = secmem_strdup(ct->valuestring);
	if (!dup)
		return -ENOMEM;
	secmem_free(t->token);
	t->token = dup;
	t->ttl = cJSON_IsNumber(ld) && ld->valuedouble > 0
		     ? (int)util_clamp_ll(ld->valuedouble, 1, INT_MAX)
		     : 0;
	t->expire_ms = t->ttl ? util_mono_ms() + t->ttl * 1000L : 0;
	t->renewable = cJSON_IsTrue(rn);
	return 0;
}

static int login(const struct vault_cfg *c, const struct provider_req *req,
		 struct tok *t, long deadline_ms, struct error *e)
{
	struct cred *s = NULL;
	char *jwt = NULL, *body = NULL, path[200];
	cJSON *o = cJSON_CreateObject(), *j = NULL;
	long status;
	int r = -ENOMEM;

	snprintf(path, sizeof(path), "auth/%s/login", c->auth_mount);
	if (!o)
		goto out;
	if (c->auth == VAULT_AUTH_APPROLE) {
		const char *rid, *sid;
		if ((r = login_secrets(c, req, &s, e)) < 0)
			goto out;
		r = -EINVAL;
		if (!(rid = need_field(s, c, "role_id", e)) ||
		    !(sid = need_field(s, c, "secret_id", e)))
			goto out;
		r = -ENOMEM;
		if (!cJSON_AddStringToObject(o, "role_id", rid) ||
		    !cJSON_AddStringToObject(o, "secret_id", sid))
			goto out;
	} else {
		const char *v = NULL;
		if (c->jwt_file) {
			if ((r = read_token_file(c->jwt_file, "jwt_file", &jwt,
						 e)) < 0)
				goto out;
			v = jwt;
		} else if (req->source) {
			v = c->jwt_field ? cred_get(req->source, c->jwt_field)
					 : cred_get(req->source, "id_token");
			if (!v && !c->jwt_field)
				v = cred_get(req->source, "access_token");
		}
		if (!v || !*v) {
			error_set(e, EINVAL,
				  "vault: %s: the source credential has no "
				  "%s",
				  path,
				  c->jwt_field ? c->jwt_field
					       : "id_token or access_token");
			r = -EINVAL;
			goto out;
		}
		r = -ENOMEM;
		if (!cJSON_AddStringToObject(o, "role", c->role) ||
		    !cJSON_AddStringToObject(o, "jwt", v))
			goto out;
	}
	if (!(body = cJSON_PrintUnformatted(o)))
		goto out;
	r = raw_call(c, "POST", path, NULL, NULL, body, deadline_ms, true, &j,
		     &status, e);
	if (r == 0)
		r = take_auth(t, j, path, e);
out:
	if (body) {
		explicit_bzero(body, strlen(body));
		cJSON_free(body);
	}
	cJSON_Delete(o);
	cJSON_Delete(j);
	cred_unref(s);
	secmem_free(jwt);
	return r;
}

/* auth/token/renew-self; 0 when the token is good for a third of its TTL
 * more, else the caller logs in. */
static int renew_self(const struct vault_cfg *c, struct tok *t,
		      long deadline_ms, struct error *e)
{
	static const char path[] = "auth/token/renew-self";
	cJSON *j = NULL;
	long status;
	int want = t->ttl, r;

	r = raw_call(c, "POST", path, NULL, t->token, "{}", deadline_ms, false,
		     &j, &status, e);
	if (r == 0)
		r = take_auth(t, j, path, e);
	cJSON_Delete(j);
	/* capped near the token's max TTL: a fresh login is due */
	if (r == 0 && t->expire_ms && t->ttl < want / 3)
		r = -ETIME;
	return r;
}

static int static_token(const struct vault_cfg *c,
			const struct provider_req *req, char **token,
			struct error *e)
{
	struct cred *s = NULL;
	const char *v;
	int r;

	if (c->token_file)
		return read_token_file(c->token_file, "token_file", token, e);
	if ((r = login_secrets(c, req, &s, e)) < 0)
		return r;
	if (!(v = need_field(s, c, "token", e)))
		r = -EINVAL;
	else if (!(*token = secmem_strdup(v)))
		r = -ENOMEM;
	cred_unref(s);
	return r;
}

/* force: the cached token was refused, log in whatever its TTL says. */
static int get_token(const struct vault_cfg *c, const struct provider_req *req,
		     long deadline_ms, bool force, char **token, bool *cached,
		     long *dropped_end, struct error *e)
{
	char key[1024];
	struct tok *t;
	int r = 0;

	*token = NULL;
	*cached = false;
	if (c->auth == VAULT_AUTH_TOKEN)
		return static_token(c, req, token, e);
	tok_key(c, key, sizeof(key));
	/* One login at a time: concurrent refreshes of a profile share it. */
	pthread_mutex_lock(&tok_mu);
	if (!(t = tok_find(key, true))) {
		r = -ENOMEM;
		goto out;
	}
	long now = util_mono_ms();
	if (force)
		tok_drop(t);
	/* a third of the TTL left: renew-self while the token is still
	 * good for half a second more, else a fresh login */
	if (t->token && t->expire_ms &&
	    t->expire_ms - now <= t->ttl * 1000L / 3) {
		struct error ignored;
		long end = t->expire_ms;
		if (t->renewable && t->expire_ms > now + 500 &&
		    renew_self(c, t, deadline_ms, &ignored) == 0)
			; /* renewed */
		else {
			/* Vault ends this token's leases with it at end */
			if (dropped_end && end > now)
				*dropped_end = end;
			tok_drop(t);
		}
	} else if (t->token) {
		*cached = true;
	}
	if (!t->token && (r = login(c, req, t, deadline_ms, e)) < 0)
		goto out;
	if (!(*token = secmem_strdup(t->token)))
		r = -ENOMEM;
out:
	pthread_mutex_unlock(&tok_mu);
	return r;
}

int vault_client_token(const struct vault_cfg *c,
		       const struct provider_req *req, long deadline_ms,
		       char **token, struct error *e)
{
	bool cached;

	return get_token(c, req, deadline_ms, false, token, &cached, NULL, e);
}

int vault_call(const struct vault_cfg *c, const struct provider_req *req,
	       const char *method, const char *path, const char *query,
	       const char *body, cJSON **json, struct error *e)
{
	return vault_call_t(c, req, method, path, query, body, json, NULL, e);
}

int vault_call_t(const struct vault_cfg *c, const struct provider_req *req,
		 const char *method, const char *path, const char *query,
		 const char *body, cJSON **json, time_t *old_token_end,
		 struct error *e)
{
	long dropped = 0;
	long deadline =
	    util_mono_ms() + (c->timeout_ms > 0 ? c->timeout_ms : 30000);
	char *token = NULL;
	bool cached;
	long status;
	int r;

	if (old_token_end)
		*old_token_end = 0;
	r = get_token(c, req, deadline, false, &token, &cached, &dropped, e);
	if (r < 0)
		return r;
	if (dropped && old_token_end)
		*old_token_end = time(NULL) + (dropped - util_mono_ms()) / 1000;
	r = raw_call(c, method, path, query, token, body, deadline, false, json,
		     &status, e);
	if (r == -EACCES && cached) {
		/* revoked or expired early: log in once more */
		secmem_free(token);
		token = NULL;
		r = get_token(c, req, deadline, true, &token, &cached, NULL, e);
		if (r == 0)
			r = raw_call(c, method, path, query, token, body,
				     deadline, false, json, &status, e);
		if (r == 0)
			error_clear(e);
	}
	secmem_free(token);
	return r;
}

int vault_json_auth(const cJSON *j, char **token, int *ttl, bool *renewable,
		    struct error *e)
{
	struct tok t = {0};
	int r = take_auth(&t, j, "auth", e);

	*token = t.token;
	*ttl = t.ttl;
	*renewable = t.renewable;
	return r;
}
