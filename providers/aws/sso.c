/* aws-sso: IAM Identity Center GetRoleCredentials with the access token
 * that `aws sso login` left in the SSO token cache.
 *
 * Cache file: SSO_CACHE_DIR/<sha1 hex of sso_session, else of
 * sso_start_url>.json, holding accessToken and expiresAt (botocore's
 * layout).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/secmem.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "providers/http.h"
#include "providers/aws/sso.h"

#define SSO_MAX_FILE (64 * 1024)
#define SSO_ACTION "GetRoleCredentials"

/* The whole file into secmem (secmem_free it). */
static int read_secret_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

	*out = NULL;
	if (fd < 0)
		return -errno;
	r = util_read_fd_secret(fd, SSO_MAX_FILE, out, len);
	close(fd);
	return r;
}

static bool printable(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || *s == 0x7f)
			return false;
	return true;
}

static int parse_expires(const char *s, time_t *t)
{
	char tmp[64];
	size_t n = strlen(s);

	if (util_time_parse(s, t) == 0)
		return 0;
	/* AWS CLI v1 wrote "2019-05-22T14:30:20UTC" */
	if (n > 3 && n < sizeof(tmp) && strcmp(s + n - 3, "UTC") == 0) {
		memcpy(tmp, s, n - 3);
		strcpy(tmp + n - 3, "Z");
		return util_time_parse(tmp, t);
	}
	return -EINVAL;
}

static void sha1_hex(const char *s, char out[static 41])
{
	unsigned char md[20];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL);
	util_hex(md, sizeof(md), out);
}

/* What an aws-sso profile says, parsed once. */
struct sso_state {
	char *cache_key;  /* sso_session, else sso_start_url */
	char *cache_dir;  /* expanded */
	char *account_id; /* 12 digits */
	char *role_name;
	char *region; /* sso_region, else region, else NULL */
};

int sso_json_token(const char *file, size_t flen, const char *path,
		   time_t now, char **tok, struct error *e)
{
	cJSON *j = cJSON_ParseWithLength(file ? file : "", flen);
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "accessToken");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "expiresAt");
	char when[32];
	time_t exp = 0;
	int r;

	*tok = NULL;
	if (!j || !cJSON_IsString(at) || !printable(at->valuestring) ||
	    !cJSON_IsString(ex) || parse_expires(ex->valuestring, &exp) < 0) {
		error_set(e, EBADMSG,
			  SSO_ACTION
			  ": SSO token cache %s lacks a valid "
			  "accessToken/expiresAt: run `aws sso login`",
			  path);
		r = -EBADMSG;
	} else if (exp <= now) {
		util_time_format(exp, when, sizeof(when));
		error_set(e, EKEYEXPIRED,
			  "SSO token expired at %s: run `aws sso login`", when);
		r = -EKEYEXPIRED;
	} else {
		*tok = secmem_strdup(at->valuestring);
		r = *tok ? 0 : -ENOMEM;
	}
	cJSON_Delete(j);
	return r;
}

/* The cached access token into secmem. */
static int sso_token(const struct sso_state *st, char **tok, struct error *e)
{
	char *file = NULL;
	size_t flen = 0;
	char name[41], *path = NULL;
	int r;

	*tok = NULL;
	if (!st->cache_key) {
		error_set(e, EINVAL,
			  SSO_ACTION ": needs sso_session or sso_start_url");
		return -EINVAL;
	}
	sha1_hex(st->cache_key, name);
	if (asprintf(&path, "%s/%s.json", st->cache_dir, name) < 0) {
		path = NULL;
		r = -ENOMEM;
		goto out;
	}
	if ((r = read_secret_file(path, &file, &flen)) < 0) {
		if (r == -ENOENT)
			error_set(e, EIO,
				  SSO_ACTION ": no SSO token in %s: run `aws "
					     "sso login`",
				  path);
		else
			error_set(e, EIO, SSO_ACTION ": SSO token cache %s: %s",
				  path, strerror(-r));
		goto out;
	}
	r = sso_json_token(file, flen, path, time(NULL), tok, e);
out:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, SSO_ACTION ": out of memory");
	secmem_free(file);
	free(path);
	return r;
}

static const char *json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int parse_role_credentials(const struct http_resp *resp,
				  struct cred **out, struct error *e)
{
	cJSON *j = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "",
					 resp->body.len);
	const cJSON *rc =
	    cJSON_GetObjectItemCaseSensitive(j, "roleCredentials");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rc, "expiration");
	const char *ak = json_str(rc, "accessKeyId");
	const char *sk = json_str(rc, "secretAccessKey");
	const char *st = json_str(rc, "sessionToken");
	struct cred *c = NULL;
	int r;

	if (!j || !rc) {
		error_set(e, EBADMSG,
			  SSO_ACTION ": malformed response: no "
				     "roleCredentials");
		r = -EBADMSG;
		goto out;
	}
	if (!printable(ak) || !printable(sk) || !printable(st) ||
	    !cJSON_IsNumber(exp) || exp->valuedouble <= 0) {
		error_set(e, EBADMSG,
			  SSO_ACTION ": malformed response: missing or "
				     "invalid credential fields");
		r = -EBADMSG;
		goto out;
	}
	c = cred_new();
	if (!c) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = cred_set(c, "access_key_id", ak)) < 0 ||
	    (r = cred_set(c, "secret_access_key", sk)) < 0 ||
	    (r = cred_set(c, "session_token", st)) < 0)
		goto out;
	/* milliseconds since the epoch */
	cred_set_expiration(c, util_clamp_ll(exp->valuedouble / 1000, 0,
					      UTIL_TIME_MAX));
	cred_set_obtained(c, time(NULL));
	*out = c;
	c = NULL; /* transferred */
	r = 0;
out:
	cred_unref(c);
	cJSON_Delete(j);
	return r;
}

static void report_error(const struct http_resp *resp, const char *host,
			 struct error *e)
{
	cJSON *j = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "",
					 resp->body.len);
	const char *msg = json_str(j, "message");
	const char *type = resp->error_type[0] ? resp->error_type : NULL;
	char m[301];

	if (!msg)
		msg = json_str(j, "Message");
	if (!type)
		type = json_str(j, "__type");
	snprintf(m, sizeof(m), "%s", msg ? msg : "");
	if (type && m[0])
		error_set(e, EIO, SSO_ACTION ": %.100s: %s", type, m);
	else if (type)
		error_set(e, EIO, SSO_ACTION ": %.100s (HTTP %ld)", type,
			  resp->status);
	else
		error_set(e, EIO, SSO_ACTION ": HTTP %ld from %s", resp->status,
			  host);
	cJSON_Delete(j);
}

static int status_errno(long status)
{
	switch (status) {
	case 401:
		return -EKEYREJECTED;
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 429:
		return -EAGAIN;
	default:
		return -EREMOTEIO;
	}
}

static int sso_fetch(const struct provider_req *req, struct cred **out,
		     struct error *e)
{
	const struct sso_state *st = req->state;
	const char *account = st ? st->account_id : NULL;
	const char *role = st ? st->role_name : NULL;
	const char *region =
	    st && st->region ? st->region : req->common->region;
	const char *ep = req->common->endpoint;
	struct secbuf url = {0}, hdr = {0};
	struct http_resp resp = {0};
	char *tok = NULL, host[256] = "", path[512];
	const char *hdrs[3] = {"Accept: application/json", NULL, NULL};
	int r;

	if (!region || !*region)
		region = "us-east-1";
	if (!account || !role) {
		error_set(e, EINVAL,
			  SSO_ACTION ": needs sso_account_id and "
				     "sso_role_name");
		return -EINVAL;
	}
	if ((r = sso_token(st, &tok, e)) < 0)
		return r;
	if (ep && *ep) {
		size_t n = strlen(ep);

		r = secbuf_append(&url, ep, n && ep[n - 1] == '/' ? n - 1 : n);
	} else {
		r = secbuf_printf(&url, "https://portal.sso.%s.amazonaws.com",
				  region);
	}
	if (r < 0 ||
	    (r = secbuf_printf(&url, "/federation/credentials?account_id=")) <
		0 ||
	    (r = http_urlencode(&url, account)) < 0 ||
	    (r = secbuf_printf(&url, "&role_name=")) < 0 ||
	    (r = http_urlencode(&url, role)) < 0 ||
	    (r = secbuf_printf(&hdr, "x-amz-sso_bearer_token: %s", tok)) < 0)
		goto out;
	hdrs[1] = hdr.data;
	if (http_url_parts(url.data, host, sizeof(host), path, sizeof(path)) <
	    0)
		snprintf(host, sizeof(host), "endpoint");
	struct http_req hr = {
	    .method = "GET",
	    .url = url.data,
	    .headers = hdrs,
	    .ca_file = req->common->ca_file,
	    .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000,
	    .what = SSO_ACTION,
	    .error_header = "x-amzn-ErrorType",
	};
	if ((r = http_request(&hr, &resp, e)) < 0)
		goto out;
	if (resp.status != 200) {
		report_error(&resp, host, e);
		r = status_errno(resp.status);
		goto out;
	}
	r = parse_role_credentials(&resp, out, e);
out:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, SSO_ACTION ": out of memory");
	http_resp_wipe(&resp);
	secbuf_wipe(&hdr);
	secbuf_wipe(&url);
	secmem_free(tok);
	return r;
}

static void sso_free_state(void *p)
{
	struct sso_state *st = p;

	if (!st)
		return;
	free(st->cache_key);
	free(st->cache_dir);
	free(st->account_id);
	free(st->role_name);
	free(st->region);
	free(st);
}

static int sso_parse(const struct cfg_section *s, struct diag *diag,
		     void **state)
{
	const char *session = cfg_get(s, "sso_session");
	const char *start = cfg_get(s, "sso_start_url");
	const char *acct = cfg_get(s, "sso_account_id");
	const char *ep = cfg_get(s, "endpoint");
	struct error e;

	if ((!session || !*session) && (!start || !*start))
		cfg_error(diag, s->line,
			  "aws-sso needs sso_session or sso_start_url");
	if (acct) {
		const char *c = acct;

		while (*c && isdigit((unsigned char)*c))
			c++;
		if (*c || strlen(acct) != 12)
			cfg_error(diag, cfg_line(s, "sso_account_id"),
				  "sso_account_id must be 12 digits");
	}
	if (ep && http_check_url(ep, &e) < 0)
		cfg_error(diag, cfg_line(s, "endpoint"), "%s", e.msg);

	struct sso_state *st = calloc(1, sizeof(*st));
	const char *dir = cfg_get(s, "sso_cache_dir");
	if (!st)
		return -ENOMEM;
	st->cache_key = cfg_strdup(s, "sso_session");
	if (!st->cache_key)
		st->cache_key = cfg_strdup(s, "sso_start_url");
	st->cache_dir =
	    config_expand_path(dir && *dir ? dir : "~/.aws/sso/cache");
	st->account_id = cfg_strdup(s, "sso_account_id");
	st->role_name = cfg_strdup(s, "sso_role_name");
	st->region = cfg_strdup(s, "sso_region");
	if (!st->cache_dir) {
		sso_free_state(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

static const char *const sso_keys[] = {
    "sso_start_url", "sso_session",   "sso_region", "sso_account_id",
    "sso_role_name", "sso_cache_dir", NULL,
};
static const char *const sso_required[] = {"sso_account_id", "sso_role_name",
					   NULL};
static const char *const sso_fields[] = {"access_key_id", "secret_access_key",
					 "session_token", NULL};

const struct provider_ops provider_aws_sso = {
    .name = "aws-sso",
    .keys = sso_keys,
    .required = sso_required,
    .source = PROVIDER_SOURCE_NONE,
    .cacheable = true,
    .fields = sso_fields,
    .parse = sso_parse,
    .free_state = sso_free_state,
    .fetch = sso_fetch,
};

int sso_json_role_credentials(const char *body, size_t len, struct cred **out,
			      struct error *e)
{
	struct http_resp resp = {.status = 200};

	resp.body.data = (char *)body;
	resp.body.len = len;
	return parse_role_credentials(&resp, out, e);
}
