/* sts_xml: the STS / IAM Query API response parser (see sts.h). */
#include "providers/aws/sts.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/secmem.h"
#include "core/util.h"

#define STS_MAX_BODY (256 * 1024)
#define STS_MAX_MESSAGE 300

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
		       struct sts_result *res, struct error *e)
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
	int r = code_errno(res->error_code);
	if (msg[0])
		error_setk(e, r, ERROR_PROVIDER, "%s: %s: %s", action,
			   res->error_code, msg);
	else
		error_setk(e, r, ERROR_PROVIDER, "%s: %s", action,
			   res->error_code);
	return r;
}

static int bad(struct error *e, const char *action, const char *field,
	       const char *why)
{
	error_set(e, EBADMSG, "%s: malformed response: %s %s", action, field,
		  why);
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
		      bool expiry, struct sts_result *res, struct error *e)
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
		       struct error *e)
{
	char want[96];
	xmlDoc *doc = NULL;
	xmlNode *root, *result;
	const char *why = "";
	int r;

	memset(res, 0, sizeof(*res));
	if (!body || len == 0) {
		error_set(e, EBADMSG, "%s: empty response", action);
		return -EBADMSG;
	}
	if (len > STS_MAX_BODY) {
		error_set(e, EBADMSG, "%s: response too large (%zu bytes)",
			  action, len);
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
		error_set(e, EBADMSG, "%s: malformed response: not XML",
			  action);
		r = -EBADMSG;
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		/* AWS never sends a DOCTYPE; one here is an attack or not
		 * AWS at all */
		error_set(e, EBADMSG,
			  "%s: malformed response: DOCTYPE not allowed",
			  action);
		r = -EBADMSG;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !root->name) {
		error_set(e, EBADMSG, "%s: malformed response: no root element",
			  action);
		r = -EBADMSG;
		goto out;
	}
	if ((r = parse_error(action, root, res, e)) <= 0)
		goto out;
	snprintf(want, sizeof(want), "%sResponse", action);
	if (strcmp((const char *)root->name, want) != 0) {
		error_set(e, EBADMSG,
			  "%s: malformed response: unexpected document",
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
