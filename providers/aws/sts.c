/* sts: Query API calls and the STS providers (see sts.h). */
#include "core/util.h"
#include "providers/aws/sts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <pwd.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/secmem.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "providers/http.h"
#include "providers/aws/sigv4.h"

#define STS_MAX_BODY (256 * 1024)
#define STS_MAX_TOKEN 16384
#define STS_MAX_MESSAGE 300
#define STS_MAX_TAGS 50

/* ---- XML ------------------------------------------------------------ */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_nop_error(void *ctx, const char *msg, ...)
{
}

static void xml_init(void)
{
	/* WARNING: the parsed tree holds secret keys and tokens; route all
	 * of libxml2's memory through secmem so it is wiped when freed.
	 * Must happen before libxml2 allocates anything. */
	xmlMemSetup(secmem_free, secmem_alloc, secmem_realloc, secmem_strdup);
	xmlInitParser();
	/* remote documents must not write to our stderr */
	xmlSetGenericErrorFunc(NULL, xml_nop_error);
}

static xmlNode *xml_child(const xmlNode *n, const char *name)
{
	xmlNode *c;

	if (!n)
		return NULL;
	for (c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && c->name &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* The text of a leaf element, trimmed, into secmem.  Anything but text
 * (child elements, entity references) or any control character is
 * refused: no value may smuggle a line into a credentials file. */
static int xml_text(const xmlNode *n, size_t max, char **out, const char **why)
{
	struct secbuf b = {0};
	const xmlNode *c;
	size_t s, end, i;
	int r = 0;

	*out = NULL;
	if (!n) {
		*why = "missing";
		return -EBADMSG;
	}
	for (c = n->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE) {
			*why = "not plain text";
			r = -EBADMSG;
			goto out;
		}
		if (c->content &&
		    (r = secbuf_append(&b, c->content,
				       strlen((const char *)c->content))) < 0)
			goto out;
		if (b.len > max) {
			*why = "too long";
			r = -EBADMSG;
			goto out;
		}
	}
	s = 0;
	end = b.len;
	while (s < end && isspace((unsigned char)b.data[s]))
		s++;
	while (end > s && isspace((unsigned char)b.data[end - 1]))
		end--;
	if (s == end) {
		*why = "empty";
		r = -EBADMSG;
		goto out;
	}
	for (i = s; i < end; i++) {
		unsigned char ch = (unsigned char)b.data[i];

		if (ch < 0x20 || ch == 0x7f) {
			*why = "contains a control character";
			r = -EBADMSG;
			goto out;
		}
	}
	*out = secmem_strndup(b.data + s, end - s);
	if (!*out)
		r = -ENOMEM;
out:
	secbuf_wipe(&b);
	return r;
}

/* Copies a non-secret value into a fixed buffer, one line. */
static void xml_text_plain(const xmlNode *n, char *buf, size_t len)
{
	const xmlNode *c;
	size_t o = 0;

	buf[0] = 0;
	if (!n)
		return;
	for (c = n->children; c && o + 1 < len; c = c->next) {
		const char *p;

		if (c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE)
			continue;
		for (p = (const char *)c->content; p && *p && o + 1 < len;
		     p++) {
			unsigned char ch = (unsigned char)*p;

			if (ch < 0x20 || ch == 0x7f)
				ch = ' ';
			if (ch == ' ' && (o == 0 || buf[o - 1] == ' '))
				continue;
			buf[o++] = (char)ch;
		}
	}
	while (o && buf[o - 1] == ' ')
		o--;
	buf[o] = 0;
}

static bool valid_code(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
		    *s != '-' && *s != ':')
			return false;
	return true;
}

static int code_errno(const char *code)
{
	static const char *const denied[] = {
	    "AccessDenied",
	    "AccessDeniedException",
	    "UnauthorizedOperation",
	    "MissingAuthenticationToken",
	    NULL,
	};
	static const char *const rejected[] = {
	    "InvalidClientTokenId",
	    "SignatureDoesNotMatch",
	    "ExpiredToken",
	    "ExpiredTokenException",
	    "InvalidAccessKeyId",
	    "IncompleteSignature",
	    "InvalidIdentityToken",
	    "IDPRejectedClaim",
	    "InvalidAuthorizationMessageException",
	    "UnauthorizedException",
	    "InvalidToken",
	    NULL,
	};
	size_t i;

	for (i = 0; denied[i]; i++)
		if (strcmp(code, denied[i]) == 0)
			return -EACCES;
	for (i = 0; rejected[i]; i++)
		if (strcmp(code, rejected[i]) == 0)
			return -EKEYREJECTED;
	if (strncmp(code, "Throttling", 10) == 0 ||
	    strcmp(code, "RequestLimitExceeded") == 0 ||
	    strcmp(code, "TooManyRequestsException") == 0)
		return -EAGAIN;
	if (strcmp(code, "NoSuchEntity") == 0 ||
	    strcmp(code, "ResourceNotFoundException") == 0)
		return -ENOENT;
	if (strcmp(code, "LimitExceeded") == 0)
		return -EDQUOT;
	return -EREMOTEIO;
}

static xmlNode *find_error(xmlNode *root)
{
	xmlNode *err = xml_child(root, "Error");

	if (!err)
		err = xml_child(xml_child(root, "Errors"), "Error");
	if (!err && strcmp((const char *)root->name, "Error") == 0)
		err = root;
	return err;
}

static int parse_error(const char *action, xmlNode *root,
		       struct sts_result *res, struct perr *e)
{
	xmlNode *err = find_error(root);
	char msg[STS_MAX_MESSAGE + 1];

	if (!err)
		return 1;
	xml_text_plain(xml_child(err, "Code"), res->error_code,
		       sizeof(res->error_code));
	if (!valid_code(res->error_code)) {
		snprintf(res->error_code, sizeof(res->error_code), "%s",
			 "UnknownError");
	}
	xml_text_plain(xml_child(err, "Message"), msg, sizeof(msg));
	if (msg[0])
		perr_set(e, "%s: %s: %s", action, res->error_code, msg);
	else
		perr_set(e, "%s: %s", action, res->error_code);
	return code_errno(res->error_code);
}

static int bad(struct perr *e, const char *action, const char *field,
	       const char *why)
{
	perr_set(e, "%s: malformed response: %s %s", action, field, why);
	return -EBADMSG;
}

static bool valid_key_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 16 || n > 128)
		return false;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool no_space(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return false;
	return true;
}

static int parse_keys(const char *action, xmlNode *parent, bool token,
		      bool expiry, struct sts_result *res, struct perr *e)
{
	const char *why = "";
	char *exp = NULL;
	int r;

	if (xml_text(xml_child(parent, "AccessKeyId"), 128, &res->access_key_id,
		     &why) < 0)
		return bad(e, action, "AccessKeyId", why);
	if (!valid_key_id(res->access_key_id))
		return bad(e, action, "AccessKeyId", "has an invalid form");
	if (xml_text(xml_child(parent, "SecretAccessKey"), 256,
		     &res->secret_access_key, &why) < 0)
		return bad(e, action, "SecretAccessKey", why);
	if (!no_space(res->secret_access_key))
		return bad(e, action, "SecretAccessKey", "contains a space");
	if (token) {
		if (xml_text(xml_child(parent, "SessionToken"), STS_MAX_TOKEN,
			     &res->session_token, &why) < 0)
			return bad(e, action, "SessionToken", why);
		if (!no_space(res->session_token))
			return bad(e, action, "SessionToken",
				   "contains a space");
	}
	if (expiry) {
		if (xml_text(xml_child(parent, "Expiration"), 64, &exp, &why) <
		    0)
			return bad(e, action, "Expiration", why);
		r = util_time_parse(exp, &res->expiration);
		secmem_free(exp);
		if (r < 0 || res->expiration <= 0)
			return bad(e, action, "Expiration",
				   "is not a timestamp");
	}
	return 0;
}

int sts_parse_response(const char *action, enum sts_expect what,
		       const char *body, size_t len, struct sts_result *res,
		       struct perr *e)
{
	char want[96];
	xmlDoc *doc = NULL;
	xmlNode *root, *result;
	const char *why = "";
	int r;

	memset(res, 0, sizeof(*res));
	if (!body || len == 0) {
		perr_set(e, "%s: empty response", action);
		return -EBADMSG;
	}
	if (len > STS_MAX_BODY) {
		perr_set(e, "%s: response too large (%zu bytes)", action, len);
		return -EBADMSG;
	}
	pthread_once(&xml_once, xml_init);
	/* No XML_PARSE_NOENT (entities stay references, never expanded),
	 * no DTDLOAD/DTDATTR, no network, no HUGE (keeps the depth and
	 * size limits). */
	doc = xmlReadMemory(body, (int)len, "sts.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		perr_set(e, "%s: malformed response: not XML", action);
		r = -EBADMSG;
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		/* AWS never sends a DOCTYPE; one here is an attack or not
		 * AWS at all */
		perr_set(e, "%s: malformed response: DOCTYPE not allowed",
			 action);
		r = -EBADMSG;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !root->name) {
		perr_set(e, "%s: malformed response: no root element", action);
		r = -EBADMSG;
		goto out;
	}
	if ((r = parse_error(action, root, res, e)) <= 0)
		goto out;
	snprintf(want, sizeof(want), "%sResponse", action);
	if (strcmp((const char *)root->name, want) != 0) {
		perr_set(e, "%s: malformed response: unexpected document",
			 action);
		r = -EBADMSG;
		goto out;
	}
	snprintf(want, sizeof(want), "%sResult", action);
	result = xml_child(root, want);
	switch (what) {
	case STS_EXPECT_NOTHING:
		r = 0;
		break;
	case STS_EXPECT_CREDENTIALS:
		if (!result) {
			r = bad(e, action, want, "missing");
			break;
		}
		if (!xml_child(result, "Credentials")) {
			r = bad(e, action, "Credentials", "missing");
			break;
		}
		if ((r = parse_keys(action, xml_child(result, "Credentials"),
				    true, true, res, e)) < 0)
			break;
		xml_text_plain(
		    xml_child(xml_child(result, "AssumedRoleUser"), "Arn"),
		    res->arn, sizeof(res->arn));
		break;
	case STS_EXPECT_IDENTITY: {
		char *arn = NULL;

		if (xml_text(xml_child(result, "Arn"), sizeof(res->arn) - 1,
			     &arn, &why) < 0) {
			r = bad(e, action, "Arn", why);
			break;
		}
		snprintf(res->arn, sizeof(res->arn), "%s", arn);
		secmem_free(arn);
		r = 0;
		break;
	}
	case STS_EXPECT_ACCESS_KEY:
		if (!xml_child(result, "AccessKey")) {
			r = bad(e, action, "AccessKey", "missing");
			break;
		}
		r = parse_keys(action, xml_child(result, "AccessKey"), false,
			       false, res, e);
		break;
	}
out:
	if (doc)
		xmlFreeDoc(doc);
	if (r < 0 && r != -EBADMSG && !res->error_code[0])
		r = -EBADMSG;
	if (r < 0) {
		/* keep error_code for the caller, drop everything secret */
		secmem_free(res->access_key_id);
		secmem_free(res->secret_access_key);
		secmem_free(res->session_token);
		res->access_key_id = res->secret_access_key = NULL;
		res->session_token = NULL;
	}
	return r;
}

void sts_result_wipe(struct sts_result *res)
{
	if (!res)
		return;
	secmem_free(res->access_key_id);
	secmem_free(res->secret_access_key);
	secmem_free(res->session_token);
	memset(res, 0, sizeof(*res));
}

/* ---- calls ----------------------------------------------------------- */

static bool throttled(const struct http_resp *resp, void *arg)
{
	const char *action = arg;
	struct sts_result res;
	struct perr e;
	int r;

	if (resp->status != 400 || !resp->body.len)
		return false;
	r = sts_parse_response(action, STS_EXPECT_NOTHING, resp->body.data,
			       resp->body.len, &res, &e);
	sts_result_wipe(&res);
	return r == -EAGAIN;
}

int sts_query(const struct sts_call *c, const char *form, size_t form_len,
	      enum sts_expect what, struct sts_result *res, struct perr *e)
{
	static const char ctype[] =
	    "Content-Type: application/x-www-form-urlencoded; "
	    "charset=utf-8";
	const char *sign_hdrs[] = {ctype, NULL};
	const char *hdrs[6] = {0};
	struct sigv4_out sig = {0};
	struct http_resp resp = {0};
	char host[256], path[512];
	size_t nh = 0;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = http_check_url(c->endpoint, e)) < 0)
		return r;
	if ((r = http_url_parts(c->endpoint, host, sizeof(host), path,
				sizeof(path))) < 0) {
		perr_set(e, "%s: endpoint URL too long", c->action);
		return r;
	}
	hdrs[nh++] = ctype;
	if (c->signer) {
		struct sigv4_req sr = {
		    .method = "POST",
		    .host = host,
		    .path = path,
		    .headers = sign_hdrs,
		    .body = form,
		    .body_len = form_len,
		    .region = c->region,
		    .service = c->service,
		    .access_key_id = cred_get(c->signer, "access_key_id"),
		    .secret_access_key =
			cred_get(c->signer, "secret_access_key"),
		    .session_token = cred_get(c->signer, "session_token"),
		    .now = time(NULL),
		};

		if (!sr.access_key_id || !sr.secret_access_key) {
			perr_set(e,
				 "%s: source credential has no "
				 "access_key_id/secret_access_key",
				 c->action);
			return -EINVAL;
		}
		if ((r = sigv4_sign(&sr, &sig)) < 0) {
			perr_set(e, "%s: cannot sign the request", c->action);
			return r;
		}
		hdrs[nh++] = sig.date_header;
		hdrs[nh++] = sig.authorization;
		if (sig.security_token_header)
			hdrs[nh++] = sig.security_token_header;
	}
	struct http_req hr = {
	    .method = "POST",
	    .url = c->endpoint,
	    .headers = hdrs,
	    .body = form,
	    .body_len = form_len,
	    .ca_file = c->ca_file,
	    .timeout_ms = c->timeout_ms,
	    .max_attempts = c->max_attempts,
	    .what = c->action,
	    .retryable = throttled,
	    .retryable_arg = (void *)c->action,
	};
	if ((r = http_request(&hr, &resp, e)) < 0)
		goto out;
	r = sts_parse_response(c->action, what, resp.body.data, resp.body.len,
			       res, e);
	if (r == -EBADMSG && (resp.status < 200 || resp.status > 299))
		perr_set(e, "%s: HTTP %ld from %s", c->action, resp.status,
			 host);
	else if (r == 0 && (resp.status < 200 || resp.status > 299)) {
		sts_result_wipe(res);
		perr_set(e, "%s: HTTP %ld from %s", c->action, resp.status,
			 host);
		r = -EREMOTEIO;
	}
out:
	http_resp_wipe(&resp);
	sigv4_out_wipe(&sig);
	return r;
}

int sts_get_caller_identity(const char *endpoint, const char *region,
			    const struct cred *cred, char *arn, size_t arnlen,
			    struct perr *e)
{
	static const char form[] =
	    "Action=GetCallerIdentity&Version=" STS_VERSION;
	char url[512];
	struct sts_result res;
	int r;

	if (!region || !*region)
		region = "us-east-1";
	if (endpoint && *endpoint)
		snprintf(url, sizeof(url), "%s", endpoint);
	else
		snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com",
			 region);
	struct sts_call c = {
	    .action = "GetCallerIdentity",
	    .endpoint = url,
	    .region = region,
	    .service = "sts",
	    .timeout_ms = 15000,
	    .signer = cred,
	};
	r = sts_query(&c, form, sizeof(form) - 1, STS_EXPECT_IDENTITY, &res, e);
	if (r == 0)
		snprintf(arn, arnlen, "%s", res.arn);
	sts_result_wipe(&res);
	return r;
}

/* ---- profile helpers --------------------------------------------------- */

static bool region_ok(const char *r)
{
	if (!*r || strlen(r) > 32)
		return false;
	for (; *r; r++)
		if (!islower((unsigned char)*r) &&
		    !isdigit((unsigned char)*r) && *r != '-')
			return false;
	return true;
}

void sts_profile_endpoint(const struct cfg_section *profile, char *url,
			  size_t urllen, const char **region)
{
	const char *ep = cfg_get(profile, "endpoint");
	const char *rg = cfg_get(profile, "region");

	if (!rg || !region_ok(rg))
		rg = "us-east-1";
	*region = rg;
	if (ep && *ep)
		snprintf(url, urllen, "%s", ep);
	else
		snprintf(url, urllen, "https://sts.%s.amazonaws.com", rg);
}

static bool session_char_ok(unsigned char c)
{
	return isalnum(c) || strchr("_+=,.@-", c) != NULL;
}

void sts_session_name(const char *tmpl, const char *profile, const char *user,
		      time_t now, char *out, size_t outlen)
{
	char date[16];
	struct tm tm;
	size_t o = 0, max = outlen ? outlen - 1 : 0;
	const char *p;

	if (max > 64)
		max = 64;
	if (!gmtime_r(&now, &tm))
		memset(&tm, 0, sizeof(tm));
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	for (p = tmpl ? tmpl : "credfs-{user}"; *p && o < max;) {
		const char *sub = NULL;

		if (strncmp(p, "{user}", 6) == 0)
			sub = user ? user : "user", p += 6;
		else if (strncmp(p, "{date}", 6) == 0)
			sub = date, p += 6;
		else if (strncmp(p, "{profile}", 9) == 0)
			sub = profile ? profile : "profile", p += 9;
		if (sub) {
			for (; *sub && o < max; sub++)
				out[o++] = session_char_ok((unsigned char)*sub)
					       ? *sub
					       : '-';
			continue;
		}
		out[o++] = session_char_ok((unsigned char)*p) ? *p : '-';
		p++;
	}
	if (o < 2 && max >= 6) {
		memcpy(out, "credfs", 6);
		o = 6;
	}
	if (outlen)
		out[o] = 0;
}

static int get_duration(const struct cfg_section *s, int def, int *secs)
{
	const char *v = cfg_get(s, "duration");

	if (!v) {
		*secs = def;
		return 0;
	}
	return util_duration_parse(v, secs);
}

static int profile_timeout(const struct provider_req *req)
{
	return req->timeout_ms > 0 ? req->timeout_ms : 30000;
}

static char *profile_ca_file(const struct cfg_section *s)
{
	const char *v = cfg_get(s, "ca_file");

	return v && *v ? config_expand_path(v) : NULL;
}

/* Form building: "&Key=urlencoded(value)". */
static int form_add(struct secbuf *b, const char *key, const char *value)
{
	int r;

	if ((r = secbuf_printf(b, "%s%s=", b->len ? "&" : "", key)) < 0)
		return r;
	return http_urlencode(b, value);
}

static int form_add_int(struct secbuf *b, const char *key, long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", v);
	return form_add(b, key, num);
}

static int result_to_cred(const struct sts_result *res, struct cred **out)
{
	struct cred *c = cred_new();
	int r;

	if (!c)
		return -ENOMEM;
	if ((r = cred_set(c, "access_key_id", res->access_key_id)) < 0 ||
	    (r = cred_set(c, "secret_access_key", res->secret_access_key)) <
		0 ||
	    (r = cred_set(c, "session_token", res->session_token)) < 0) {
		cred_unref(c);
		return r;
	}
	cred_set_expiration(c, res->expiration);
	cred_set_obtained(c, time(NULL));
	*out = c;
	return 0;
}

static bool mfa_code_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n != 6)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int add_mfa(const struct provider_req *req, const char *action,
		   struct secbuf *form, struct perr *e)
{
	const char *serial = cfg_get(req->profile, "mfa_serial");
	int r;

	if (!serial || !*serial)
		return 0;
	if (!req->mfa_code || !*req->mfa_code) {
		perr_set(e, "%s: needs an MFA code: run `credfs login %s`",
			 action, req->profile_name ? req->profile_name : "");
		return -ENOKEY;
	}
	if (!mfa_code_ok(req->mfa_code)) {
		perr_set(e, "%s: the MFA code must be 6 digits", action);
		return -EINVAL;
	}
	if ((r = form_add(form, "SerialNumber", serial)) < 0 ||
	    (r = form_add(form, "TokenCode", req->mfa_code)) < 0)
		return r;
	return 0;
}

/* Runs one STS call for a profile and turns the answer into a cred. */
static int sts_fetch(const struct provider_req *req, const char *action,
		     const struct secbuf *form, const struct cred *signer,
		     struct cred **out, struct perr *e)
{
	char url[512];
	const char *region;
	char *ca = profile_ca_file(req->profile);
	struct sts_result res = {0};
	int r;

	sts_profile_endpoint(req->profile, url, sizeof(url), &region);
	struct sts_call c = {
	    .action = action,
	    .endpoint = url,
	    .region = region,
	    .service = "sts",
	    .ca_file = ca,
	    .timeout_ms = profile_timeout(req),
	    .signer = signer,
	};
	if ((r = sts_query(&c, form->data, form->len, STS_EXPECT_CREDENTIALS,
			   &res, e)) < 0)
		goto out;
	if (res.expiration && res.expiration < time(NULL)) {
		char t[32];

		util_time_format(res.expiration, t, sizeof(t));
		perr_set(e,
			 "%s: credentials already expired at %s (check the "
			 "clock)",
			 action, t);
		r = -EKEYEXPIRED;
		goto out;
	}
	if ((r = result_to_cred(&res, out)) < 0)
		perr_set(e, "%s: out of memory", action);
out:
	sts_result_wipe(&res);
	free(ca);
	return r;
}

static int need_source(const struct provider_req *req, const char *action,
		       struct perr *e)
{
	if (!req->source || !cred_get(req->source, "access_key_id") ||
	    !cred_get(req->source, "secret_access_key")) {
		perr_set(e,
			 "%s: needs a source profile with access_key_id and "
			 "secret_access_key",
			 action);
		return -EINVAL;
	}
	return 0;
}

static void validate_duration(const struct cfg_section *s, void *diag, int min,
			      int max)
{
	const char *v = cfg_get(s, "duration");
	int secs;

	if (!v)
		return;
	if (util_duration_parse(v, &secs) < 0)
		cfg_error(diag, cfg_line(s, "duration"),
			  "duration \"%s\" is not a duration (e.g. 1h)", v);
	else if (secs < min || secs > max)
		cfg_error(diag, cfg_line(s, "duration"),
			  "duration must be between %ds and %ds", min, max);
}

static void validate_common(const struct cfg_section *s, void *diag)
{
	const char *rg = cfg_get(s, "region");
	const char *ep = cfg_get(s, "endpoint");
	struct perr e;

	if (rg && !region_ok(rg))
		cfg_error(diag, cfg_line(s, "region"),
			  "region \"%s\" is not a region name", rg);
	if (ep && http_check_url(ep, &e) < 0)
		cfg_error(diag, cfg_line(s, "endpoint"), "%s", e.msg);
}

static void validate_role_arn(const struct cfg_section *s, void *diag)
{
	const char *arn = cfg_get(s, "role_arn");

	if (arn && (strncmp(arn, "arn:", 4) != 0 || !strstr(arn, ":role/")))
		cfg_error(diag, cfg_line(s, "role_arn"),
			  "role_arn \"%s\" is not a role ARN "
			  "(arn:aws:iam::ACCOUNT:role/NAME)",
			  arn);
}

/* ---- aws-session-token ------------------------------------------------ */

static int session_token_validate(const struct cfg_section *s, void *diag)
{
	validate_common(s, diag);
	validate_duration(s, diag, 900, 129600);
	return 0;
}

static int session_token_fetch(const struct provider_req *req,
			       struct cred **out, struct perr *e)
{
	static const char action[] = "GetSessionToken";
	struct secbuf form = {0};
	int secs, r;

	if ((r = need_source(req, action, e)) < 0)
		return r;
	if (get_duration(req->profile, 43200, &secs) < 0) {
		perr_set(e, "%s: bad duration", action);
		return -EINVAL;
	}
	if ((r = form_add(&form, "Action", action)) < 0 ||
	    (r = form_add(&form, "Version", STS_VERSION)) < 0 ||
	    (r = form_add_int(&form, "DurationSeconds", secs)) < 0 ||
	    (r = add_mfa(req, action, &form, e)) < 0)
		goto out;
	r = sts_fetch(req, action, &form, req->source, out, e);
out:
	if (r == -ENOMEM)
		perr_set(e, "%s: out of memory", action);
	secbuf_wipe(&form);
	return r;
}

static const char *const session_token_keys[] = {"duration", "mfa_serial",
						 NULL};
static const char *const sts_fields[] = {"access_key_id", "secret_access_key",
					 "session_token", NULL};
static const char *const no_keys[] = {NULL};

const struct provider_ops provider_aws_session_token = {
    .name = "aws-session-token",
    .keys = session_token_keys,
    .required = no_keys,
    .source = "yes",
    .fields = sts_fields,
    .validate = session_token_validate,
    .fetch = session_token_fetch,
};

/* ---- aws-assume-role --------------------------------------------------- */

static void current_user(char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(geteuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)geteuid());
}

static void role_session_name(const struct provider_req *req, char *buf,
			      size_t len)
{
	char user[256];

	current_user(user, sizeof(user));
	sts_session_name(cfg_get(req->profile, "session_name"),
			 req->profile_name, user, time(NULL), buf, len);
}

/* tags = "k=v k2=v2" */
static int add_tags(struct secbuf *form, const char *tags, struct perr *e)
{
	char *copy, *save = NULL, *tok;
	int n = 0, r = 0;

	if (!tags || !*tags)
		return 0;
	copy = strdup(tags);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		char key[64];

		if (!eq || eq == tok) {
			perr_set(e,
				 "AssumeRole: tag \"%.64s\" is not KEY=VALUE",
				 tok);
			r = -EINVAL;
			goto out;
		}
		if (++n > STS_MAX_TAGS) {
			perr_set(e, "AssumeRole: more than %d tags",
				 STS_MAX_TAGS);
			r = -EINVAL;
			goto out;
		}
		*eq = 0;
		snprintf(key, sizeof(key), "Tags.member.%d.Key", n);
		if ((r = form_add(form, key, tok)) < 0)
			goto out;
		snprintf(key, sizeof(key), "Tags.member.%d.Value", n);
		if ((r = form_add(form, key, eq + 1)) < 0)
			goto out;
	}
out:
	free(copy);
	return r;
}

static int assume_role_validate(const struct cfg_section *s, void *diag)
{
	const char *tags = cfg_get(s, "tags");

	validate_common(s, diag);
	validate_role_arn(s, diag);
	validate_duration(s, diag, 900, 43200);
	if (tags) {
		struct secbuf b = {0};
		struct perr e;

		if (add_tags(&b, tags, &e) < 0)
			cfg_error(diag, cfg_line(s, "tags"), "%s", e.msg);
		secbuf_wipe(&b);
	}
	return 0;
}

static int assume_role_fetch(const struct provider_req *req, struct cred **out,
			     struct perr *e)
{
	static const char action[] = "AssumeRole";
	const struct cfg_section *p = req->profile;
	const char *role = cfg_get(p, "role_arn");
	const char *ext = cfg_get(p, "external_id");
	const char *srcid = cfg_get(p, "source_identity");
	struct secbuf form = {0};
	char name[65];
	int secs, r;

	if ((r = need_source(req, action, e)) < 0)
		return r;
	if (!role || !*role) {
		perr_set(e, "%s: role_arn is not set", action);
		return -EINVAL;
	}
	if (get_duration(p, 3600, &secs) < 0) {
		perr_set(e, "%s: bad duration", action);
		return -EINVAL;
	}
	role_session_name(req, name, sizeof(name));
	if ((r = form_add(&form, "Action", action)) < 0 ||
	    (r = form_add(&form, "Version", STS_VERSION)) < 0 ||
	    (r = form_add(&form, "RoleArn", role)) < 0 ||
	    (r = form_add(&form, "RoleSessionName", name)) < 0 ||
	    (r = form_add_int(&form, "DurationSeconds", secs)) < 0)
		goto out;
	if (ext && *ext && (r = form_add(&form, "ExternalId", ext)) < 0)
		goto out;
	if (srcid && *srcid &&
	    (r = form_add(&form, "SourceIdentity", srcid)) < 0)
		goto out;
	if ((r = add_tags(&form, cfg_get(p, "tags"), e)) < 0 ||
	    (r = add_mfa(req, action, &form, e)) < 0)
		goto out;
	r = sts_fetch(req, action, &form, req->source, out, e);
out:
	if (r == -ENOMEM)
		perr_set(e, "%s: out of memory", action);
	secbuf_wipe(&form);
	return r;
}

static const char *const assume_role_keys[] = {
    "role_arn",	  "external_id",     "session_name", "duration",
    "mfa_serial", "source_identity", "tags",	     NULL,
};
static const char *const assume_role_required[] = {"role_arn", NULL};

const struct provider_ops provider_aws_assume_role = {
    .name = "aws-assume-role",
    .keys = assume_role_keys,
    .required = assume_role_required,
    .source = "yes",
    .fields = sts_fields,
    .validate = assume_role_validate,
    .fetch = assume_role_fetch,
};

/* ---- aws-web-identity -------------------------------------------------- */

static int read_token_file(const char *path, char **out, struct perr *e)
{
	struct secbuf b = {0};
	char buf[4096];
	ssize_t n;
	size_t s = 0, end;
	int fd, r = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		perr_set(e, "AssumeRoleWithWebIdentity: token_file %s: %s",
			 path, strerror(-r));
		return r;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			perr_set(e, "AssumeRoleWithWebIdentity: read %s: %s",
				 path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > STS_MAX_TOKEN) {
			perr_set(e,
				 "AssumeRoleWithWebIdentity: token_file %s is "
				 "larger than %d bytes",
				 path, STS_MAX_TOKEN);
			r = -EFBIG;
			goto out;
		}
		if ((r = secbuf_append(&b, buf, (size_t)n)) < 0)
			goto out;
	}
	end = b.len;
	while (s < end && isspace((unsigned char)b.data[s]))
		s++;
	while (end > s && isspace((unsigned char)b.data[end - 1]))
		end--;
	if (s == end) {
		perr_set(e, "AssumeRoleWithWebIdentity: token_file %s is empty",
			 path);
		r = -ENODATA;
		goto out;
	}
	*out = secmem_strndup(b.data + s, end - s);
	if (!*out)
		r = -ENOMEM;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	secbuf_wipe(&b);
	return r;
}

static int web_identity_token(const struct provider_req *req, char **tok,
			      struct perr *e)
{
	const char *file = cfg_get(req->profile, "token_file");
	const char *field = cfg_get(req->profile, "token_field");
	const char *v = NULL;
	char *path;
	int r;

	*tok = NULL;
	if (file && *file) {
		path = config_expand_path(file);
		if (!path)
			return -ENOMEM;
		r = read_token_file(path, tok, e);
		free(path);
		return r;
	}
	if (!req->source) {
		perr_set(e, "AssumeRoleWithWebIdentity: needs token_file or a "
			    "source profile");
		return -EINVAL;
	}
	if (field && *field) {
		v = cred_get(req->source, field);
	} else {
		v = cred_get(req->source, "access_token");
		if (!v)
			v = cred_get(req->source, "id_token");
		field = "access_token or id_token";
	}
	if (!v || !*v) {
		perr_set(e,
			 "AssumeRoleWithWebIdentity: source credential has no "
			 "%s field",
			 field);
		return -ENODATA;
	}
	*tok = secmem_strdup(v);
	return *tok ? 0 : -ENOMEM;
}

static int web_identity_validate(const struct cfg_section *s, void *diag)
{
	const char *file = cfg_get(s, "token_file");
	const char *src = cfg_get(s, "source");

	validate_common(s, diag);
	validate_role_arn(s, diag);
	validate_duration(s, diag, 900, 43200);
	if ((!file || !*file) && (!src || !*src))
		cfg_error(diag, s->line,
			  "aws-web-identity needs token_file or source");
	if (file && *file && src && *src)
		cfg_error(diag, cfg_line(s, "token_file"),
			  "token_file and source are exclusive");
	return 0;
}

static int web_identity_fetch(const struct provider_req *req, struct cred **out,
			      struct perr *e)
{
	static const char action[] = "AssumeRoleWithWebIdentity";
	const char *role = cfg_get(req->profile, "role_arn");
	struct secbuf form = {0};
	char *tok = NULL, name[65];
	int secs, r;

	if (!role || !*role) {
		perr_set(e, "%s: role_arn is not set", action);
		return -EINVAL;
	}
	if (get_duration(req->profile, 3600, &secs) < 0) {
		perr_set(e, "%s: bad duration", action);
		return -EINVAL;
	}
	if ((r = web_identity_token(req, &tok, e)) < 0)
		return r;
	role_session_name(req, name, sizeof(name));
	if ((r = form_add(&form, "Action", action)) < 0 ||
	    (r = form_add(&form, "Version", STS_VERSION)) < 0 ||
	    (r = form_add(&form, "RoleArn", role)) < 0 ||
	    (r = form_add(&form, "RoleSessionName", name)) < 0 ||
	    (r = form_add_int(&form, "DurationSeconds", secs)) < 0 ||
	    (r = form_add(&form, "WebIdentityToken", tok)) < 0)
		goto out;
	/* unsigned: the token is the authentication */
	r = sts_fetch(req, action, &form, NULL, out, e);
out:
	if (r == -ENOMEM)
		perr_set(e, "%s: out of memory", action);
	secmem_free(tok);
	secbuf_wipe(&form);
	return r;
}

static const char *const web_identity_keys[] = {
    "role_arn", "session_name", "duration", "token_file", "token_field", NULL,
};

const struct provider_ops provider_aws_web_identity = {
    .name = "aws-web-identity",
    .keys = web_identity_keys,
    .required = assume_role_required,
    .source = "maybe",
    .fields = sts_fields,
    .validate = web_identity_validate,
    .fetch = web_identity_fetch,
};
