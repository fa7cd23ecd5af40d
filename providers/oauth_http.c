/* oauth_http: JSON-over-HTTP calls and their error bodies (see
 * oauth_http.h). */
#include "providers/oauth_http.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "providers/http.h"

void oauth_http_clean_text(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (; s && *s && o + 1 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		if (ch == ' ' && (o == 0 || buf[o - 1] == ' '))
			continue;
		buf[o++] = (char)ch;
	}
	if (s && *s && len >= 4) {
		if (o > len - 4)
			o = len - 4;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
}

int oauth_http_form_add(struct secbuf *b, const char *key, const char *value)
{
	int r;

	if (b->len && (r = secbuf_append(b, "&", 1)) < 0)
		return r;
	if ((r = http_urlencode(b, key)) < 0 ||
	    (r = secbuf_append(b, "=", 1)) < 0)
		return r;
	return http_urlencode(b, value);
}

/* The server's error code (one word) and text of an error body. */
static void error_of(const cJSON *j, char *code, size_t clen, char *msg,
		     size_t mlen)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *c = NULL, *m = NULL;

	code[0] = msg[0] = 0;
	if (cJSON_IsString(err)) { /* OAuth 2.0 (RFC 6749 5.2) */
		c = err;
		m = cJSON_GetObjectItemCaseSensitive(j, "error_description");
	} else if (cJSON_IsObject(err)) {
		/* Google {"code": 403, "status": "PERMISSION_DENIED"},
		 * Azure {"code": "SecretNotFound"}; both with "message". */
		c = cJSON_GetObjectItemCaseSensitive(err, "status");
		if (!cJSON_IsString(c))
			c = cJSON_GetObjectItemCaseSensitive(err, "code");
		m = cJSON_GetObjectItemCaseSensitive(err, "message");
	} else if (!err) { /* GitHub */
		m = cJSON_GetObjectItemCaseSensitive(j, "message");
	}
	if (cJSON_IsString(c)) {
		size_t o = 0;
		for (size_t i = 0; c->valuestring[i] && o + 1 < clen; i++) {
			unsigned char ch = (unsigned char)c->valuestring[i];
			if (isalnum(ch) || ch == '_' || ch == '-' || ch == '.')
				code[o++] = (char)ch;
		}
		code[o] = 0;
	}
	if (cJSON_IsString(m))
		oauth_http_clean_text(m->valuestring, msg, mlen);
}

static int code_errno(long status, const char *code)
{
	static const struct {
		const char *code;
		int err;
	} map[] = {
	    {"invalid_grant", -EKEYREJECTED},
	    {"invalid_client", -EKEYREJECTED},
	    {"unauthorized_client", -EKEYREJECTED},
	    {"UNAUTHENTICATED", -EKEYREJECTED},
	    {"Unauthorized", -EKEYREJECTED},
	    {"access_denied", -EACCES},
	    {"PERMISSION_DENIED", -EACCES},
	    {"Forbidden", -EACCES},
	    {"invalid_request", -EINVAL},
	    {"invalid_scope", -EINVAL},
	    {"invalid_target", -EINVAL},
	    {"unsupported_grant_type", -EINVAL},
	    {"INVALID_ARGUMENT", -EINVAL},
	    {"FAILED_PRECONDITION", -EINVAL},
	    {"NOT_FOUND", -ENOENT},
	    {"SecretNotFound", -ENOENT},
	    {"authorization_pending", -EAGAIN},
	    {"slow_down", -EAGAIN},
	    {"RESOURCE_EXHAUSTED", -EAGAIN},
	    {"UNAVAILABLE", -EAGAIN},
	    {"expired_token", -ETIMEDOUT},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].err;
	if (status == 401)
		return -EKEYREJECTED;
	if (status == 403)
		return -EACCES;
	if (status == 404)
		return -ENOENT;
	if (status == 429 || status >= 500)
		return -EAGAIN;
	return -EPROTO;
}

int oauth_http_json(const struct oauth_http_call *call, cJSON **out, char *code,
		    size_t codelen, struct error *e)
{
	struct http_resp resp = {0};
	const char *h[9];
	size_t nh = 0;
	char ctype[128], cbuf[64], msg[300];
	cJSON *j = NULL;
	int r;

	*out = NULL;
	if (code && codelen)
		code[0] = 0;
	if ((r = call->imds ? http_check_url_imds(call->url, e)
			    : http_check_url(call->url, e)) < 0) {
		error_prefix(e, "%s", call->what);
		return r;
	}
	if (call->content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			 call->content_type);
		h[nh++] = ctype;
	}
	h[nh++] = "Accept: application/json";
	for (size_t i = 0; call->headers && call->headers[i] && nh < 8; i++)
		h[nh++] = call->headers[i];
	h[nh] = NULL;
	struct http_req req = {
	    .method = call->method,
	    .url = call->url,
	    .headers = h,
	    .body = call->content_type ? (call->body ? call->body : "") : NULL,
	    .body_len = call->content_type ? call->body_len : 0,
	    .ca_file = call->ca_file,
	    .timeout_ms = call->timeout_ms,
	    .max_attempts = call->max_attempts,
	    .what = call->what,
	    .imds = call->imds,
	};
	if ((r = http_request(&req, &resp, e)) < 0)
		goto out;
	j = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "",
				  resp.body.len);
	if (resp.status < 200 || resp.status > 299) {
		error_of(j, cbuf, sizeof(cbuf), msg, sizeof(msg));
		r = code_errno(resp.status, cbuf);
		if (code && codelen)
			snprintf(code, codelen, "%s", cbuf);
		if (cbuf[0])
			error_setk(e, -r, ERROR_PROVIDER, "%s: HTTP %ld %s%s%s",
				   call->what, resp.status, cbuf,
				   msg[0] ? ": " : "", msg);
		else if (msg[0])
			error_setk(e, -r, ERROR_PROVIDER, "%s: HTTP %ld: %s",
				   call->what, resp.status, msg);
		else
			error_setk(e, -r, ERROR_PROVIDER,
				   "%s: HTTP %ld with %s%s%s", call->what,
				   resp.status, j ? "no " : "",
				   j ? (call->vendor ? call->vendor : "OAuth")
				     : "a body that is not JSON",
				   j ? " error in the body" : "");
		goto out;
	}
	if (!cJSON_IsObject(j)) {
		error_set(e, EBADMSG,
			  "%s: HTTP %ld with a body that is not a JSON object",
			  call->what, resp.status);
		r = -EBADMSG;
		goto out;
	}
	*out = j;
	j = NULL;
	r = 0;
out:
	cJSON_Delete(j);
	http_resp_wipe(&resp);
	return r;
}
