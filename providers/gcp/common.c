/* gcp: HTTP calls, response checks and secrets shared by the Google Cloud
 * providers (see gcp.h). */
#include "providers/gcp/gcp.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
#include "providers/jwt.h"

/* A secret_file larger than this is not a key file. */
#define GCP_MAX_SECRET_FILE (64 * 1024)
/* Longest expiry accepted from a remote. */
#define GCP_MAX_LIFETIME (7 * 86400)

int gcp_parse_conn(const struct provider_req *req, struct gcp_conn *c,
		   struct error *e)
{
	const char *ep = req->common ? req->common->endpoint : NULL;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000;
	if (ep && *ep) {
		if (http_check_url(ep, e) < 0)
			return -EINVAL;
		c->endpoint = ep;
	}
	if (req->common && req->common->ca_file && *req->common->ca_file)
		c->ca_file = req->common->ca_file;
	return 0;
}

int gcp_check_endpoint(const struct cfg_section *s, struct diag *d)
{
	const char *ep = cfg_get(s, "endpoint");
	struct error e = {0};

	if (!ep || !*ep || http_check_url(ep, &e) == 0)
		return 0;
	cfg_error(d, cfg_line(s, "endpoint"), "profile %s: %s", s->name, e.msg);
	return -EINVAL;
}

int gcp_parse_scopes(const char *spec, char **out)
{
	size_t n, o = 0;
	char *s;

	*out = NULL;
	if (!spec || !*spec)
		spec = GCP_CLOUD_PLATFORM;
	n = strlen(spec);
	if (!(s = malloc(n + 1)))
		return -ENOMEM;
	for (; *spec; spec++) {
		unsigned char ch = (unsigned char)*spec;
		if (ch == ',' || ch == ' ' || ch == '\t') {
			if (o && s[o - 1] != ' ')
				s[o++] = ' ';
			continue;
		}
		if (ch < 0x21 || ch == 0x7f || ch == '"' || ch == '\\') {
			free(s);
			return -EINVAL;
		}
		s[o++] = (char)ch;
	}
	while (o && s[o - 1] == ' ')
		o--;
	s[o] = 0;
	if (!o) {
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

int gcp_post(const struct gcp_call *call, const struct secbuf *body,
	     cJSON **out, struct error *e)
{
	struct secbuf auth = {0};
	const char *headers[2] = {NULL, NULL};
	int r;

	*out = NULL;
	if (call->bearer) {
		if ((r = secbuf_printf(&auth, "Authorization: Bearer %s",
				       call->bearer)) < 0)
			return r;
		headers[0] = auth.data;
	}
	struct oauth_http_call c = {
	    .what = call->what,
	    .method = "POST",
	    .url = call->url,
	    .headers = headers,
	    .content_type = call->json ? "application/json"
				       : "application/x-www-form-urlencoded",
	    .body = body->data,
	    .body_len = body->len,
	    .ca_file = call->conn->ca_file,
	    .timeout_ms = call->conn->timeout_ms,
	    .vendor = "Google",
	};
	r = oauth_http_json(&c, out, NULL, 0, e);
	secbuf_wipe(&auth);
	return r;
}

int gcp_json_token(const char *what, const cJSON *j, const char *name,
		   const char **v, struct error *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, name);
	size_t i;

	*v = NULL;
	if (!it) {
		error_set(e, EBADMSG, "%s: the answer has no %s", what, name);
		return -EBADMSG;
	}
	if (!cJSON_IsString(it) || !it->valuestring[0]) {
		error_set(e, EBADMSG,
			  "%s: %s in the answer is not a non-empty string",
			  what, name);
		return -EBADMSG;
	}
	for (i = 0; it->valuestring[i]; i++) {
		unsigned char ch = (unsigned char)it->valuestring[i];
		if (i >= GCP_MAX_TOKEN) {
			error_set(e, EBADMSG,
				  "%s: %s in the answer is longer than %d "
				  "bytes",
				  what, name, GCP_MAX_TOKEN);
			return -EBADMSG;
		}
		if (ch < 0x21 || ch > 0x7e) {
			error_set(e, EBADMSG,
				  "%s: %s in the answer has a space, control "
				  "or non-ASCII character",
				  what, name);
			return -EBADMSG;
		}
	}
	*v = it->valuestring;
	return 0;
}

int gcp_oauth_response(const char *what, const cJSON *j, struct cred *c,
		       struct error *e)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	const char *tok, *idt = NULL;
	double secs;
	int r;

	if ((r = gcp_json_token(what, j, "access_token", &tok, e)) < 0)
		return r;
	if (cJSON_GetObjectItemCaseSensitive(j, "id_token") &&
	    (r = gcp_json_token(what, j, "id_token", &idt, e)) < 0)
		return r;
	/* Some servers send the number as a string: accept both. */
	if (cJSON_IsNumber(exp))
		secs = exp->valuedouble;
	else if (cJSON_IsString(exp) && exp->valuestring[0] &&
		 strspn(exp->valuestring, "0123456789") ==
		     strlen(exp->valuestring) &&
		 strlen(exp->valuestring) < 10)
		secs = atof(exp->valuestring);
	else {
		error_set(e, EBADMSG,
			  "%s: the answer has no numeric expires_in", what);
		return -EBADMSG;
	}
	if (!isfinite(secs) || secs < 1 || secs > GCP_MAX_LIFETIME) {
		error_set(e, EBADMSG,
			  "%s: expires_in %.6g is out of range (1s..7d)", what,
			  isfinite(secs) ? secs : -1.0);
		return -EBADMSG;
	}
	if ((r = cred_set(c, "access_token", tok)) < 0 ||
	    (idt && (r = cred_set(c, "id_token", idt)) < 0))
		return r;
	cred_set_expiration(c, time(NULL) + (time_t)secs);
	return 0;
}

int gcp_jwt_exp(const char *what, const char *token, time_t *exp,
		struct error *e)
{
	cJSON *claims = NULL;
	const cJSON *x;
	time_t now = time(NULL);
	int r;

	if (jwt_decode_unverified(token, NULL, &claims) < 0) {
		error_set(e, EBADMSG, "%s: the token is not a JWT", what);
		return -EBADMSG;
	}
	x = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) ||
	    x->valuedouble <= (double)now ||
	    x->valuedouble > (double)(now + GCP_MAX_LIFETIME)) {
		error_set(e, EBADMSG,
			  "%s: the token's exp is missing or out of range",
			  what);
		r = -EBADMSG;
	} else {
		*exp = (time_t)x->valuedouble;
		r = 0;
	}
	cJSON_Delete(claims);
	return r;
}

int gcp_parse_secret(const struct cfg_section *s, const char *provider,
		     struct diag *d, struct gcp_secret_ref *ref)
{
	const char *a = cfg_get(s, "secret"), *b = cfg_get(s, "secret_file");

	memset(ref, 0, sizeof(*ref));
	if (!a == !b || (a && !*a) || (b && !*b)) {
		cfg_error(d, a && b ? cfg_line(s, "secret_file") : s->line,
			  "profile %s: %s needs exactly one of "
			  "'secret = STORE_ENTRY' or 'secret_file = PATH'",
			  s->name, provider);
		return -EINVAL;
	}
	if (a && !(ref->entry = strdup(a)))
		return -ENOMEM;
	if (b && !(ref->file = config_expand_path(b)))
		return -ENOMEM;
	return 0;
}

void gcp_secret_ref_free(struct gcp_secret_ref *ref)
{
	free(ref->entry);
	free(ref->file);
	ref->entry = ref->file = NULL;
}

int gcp_secret_from_json(const char *data, size_t len, const char *what,
			 struct cred *c, struct error *e)
{
	cJSON *j = cJSON_ParseWithLength(data, len), *it;
	int r = 0;

	if (!cJSON_IsObject(j)) {
		error_set(e, EINVAL, "%s: not a JSON object", what);
		r = -EINVAL;
		goto out;
	}
	cJSON_ArrayForEach(it, j)
	{
		if (cJSON_IsString(it) && it->string &&
		    (r = cred_set(c, it->string, it->valuestring)) < 0)
			goto out;
	}
out:
	cJSON_Delete(j);
	return r;
}

int gcp_key_check(const struct cred *c, const char *what, struct error *e)
{
	static const char *const need[] = {"client_email", "private_key",
					   "private_key_id", NULL};
	const char *type = cred_get(c, "type"), *uri = cred_get(c, "token_uri");
	const char *pem = cred_get(c, "private_key");
	struct jwt_key *k = NULL;
	char keywhat[320];
	int r;

	if (type && strcmp(type, "service_account") != 0) {
		error_set(e, EINVAL, "%s: type is not service_account", what);
		return -EINVAL;
	}
	for (size_t i = 0; need[i]; i++)
		if (!cred_get(c, need[i]) || !*cred_get(c, need[i])) {
			error_set(e, EINVAL, "%s: no %s", what, need[i]);
			return -EINVAL;
		}
	if (uri && *uri && (r = http_check_url(uri, e)) < 0) {
		error_prefix(e, "%s: token_uri", what);
		return r;
	}
	snprintf(keywhat, sizeof(keywhat), "%s: private_key", what);
	if ((r = jwt_key_from_pem(pem, strlen(pem), keywhat, &k, e)) < 0)
		return r;
	if (jwt_key_alg(k) != JWT_RS256) {
		error_set(e, EINVAL, "%s: not an RSA key", keywhat);
		r = -EINVAL;
	}
	jwt_key_free(k);
	return r;
}

/* A JSON key file's string members into c. */
static int read_secret_file(const char *path, struct cred *c, struct error *e)
{
	char *data = NULL;
	struct stat st;
	size_t len = 0;
	int fd = -1, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = -errno;
		error_set(e, errno, "secret_file %s: %s", path,
			  strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) ||
	    st.st_uid != geteuid()) {
		r = -EPERM;
		error_set(e, EPERM,
			  "secret_file %s: must be owned by you with mode 0600",
			  path);
		goto out;
	}
	if ((r = util_read_fd_secret(fd, GCP_MAX_SECRET_FILE, &data, &len)) <
	    0) {
		error_set(e, -r, "secret_file %s: %s", path,
			  r == -EFBIG ? "too large for a key file"
				      : strerror(-r));
		goto out;
	}
	{
		char what[300];
		snprintf(what, sizeof(what), "secret_file %s", path);
		r = gcp_secret_from_json(data, len, what, c, e);
	}
out:
	secmem_free(data);
	if (fd >= 0)
		close(fd);
	return r;
}

int gcp_load_secret(const struct provider_req *req,
		    const struct gcp_secret_ref *ref, const char *const *need,
		    struct cred **out, struct error *e)
{
	const char *name = ref ? ref->entry : NULL;
	const char *file = ref ? ref->file : NULL;
	struct cred *c = NULL;
	int r;

	*out = NULL;
	if (name) {
		if (!req->store) {
			error_set(e, ENOKEY,
				  "store entry %s: the store is not open",
				  name);
			return -ENOKEY;
		}
		if ((r = store_get(req->store, name, &c, e)) < 0) {
			if (r == -ENOENT)
				error_set(e, ENOENT, "store entry %s: %s",
					  name, strerror(ENOENT));
			else
				error_prefix(e, "store entry %s", name);
			return r;
		}
	} else if (file) {
		if (!(c = cred_new()))
			return -ENOMEM;
		if ((r = read_secret_file(file, c, e)) < 0)
			goto out;
	} else {
		error_set(e, EINVAL,
			  "needs 'secret = STORE_ENTRY' or 'secret_file'");
		return -EINVAL;
	}
	for (size_t i = 0; need && need[i]; i++) {
		const char *v = cred_get(c, need[i]);
		if (!v || !*v) {
			error_set(e, EINVAL, "%s %s: no %s",
				  name ? "store entry" : "secret_file",
				  name ? name : file, need[i]);
			r = -EINVAL;
			goto out;
		}
	}
	*out = c;
	c = NULL; /* transferred */
	r = 0;
out:
	cred_unref(c);
	return r;
}

int gcp_read_token_file(const char *what, const char *spec, char **out,
			struct error *e)
{
	char *path = config_expand_path(spec), *data = NULL;
	size_t len = 0, s = 0, end;
	int fd, r;

	*out = NULL;
	if (!path)
		return -ENOMEM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		r = -errno;
		error_set(e, errno, "%s: token_file %s: %s", what, path,
			  strerror(errno));
		goto out;
	}
	r = util_read_fd_secret(fd, GCP_MAX_TOKEN, &data, &len);
	close(fd);
	if (r < 0) {
		error_set(e, -r, "%s: token_file %s: %s", what, path,
			  r == -EFBIG ? "larger than 16384 bytes"
				      : strerror(-r));
		goto out;
	}
	end = len;
	while (s < end && isspace((unsigned char)data[s]))
		s++;
	while (end > s && isspace((unsigned char)data[end - 1]))
		end--;
	if (s == end) {
		error_set(e, ENODATA, "%s: token_file %s is empty", what, path);
		r = -ENODATA;
		goto out;
	}
	for (size_t i = s; i < end; i++)
		if ((unsigned char)data[i] < 0x21 ||
		    (unsigned char)data[i] > 0x7e) {
			error_set(e, EINVAL,
				  "%s: token_file %s has a space or control "
				  "character inside the token",
				  what, path);
			r = -EINVAL;
			goto out;
		}
	if (!(*out = secmem_strndup(data + s, end - s)))
		r = -ENOMEM;
out:
	secmem_free(data);
	free(path);
	return r;
}
