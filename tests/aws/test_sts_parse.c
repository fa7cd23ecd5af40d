/* The STS/IAM response parser against good, bad and hostile bodies, and the
 * small pure helpers (URL policy, session names, form encoding).  TAP. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "core/secmem.h"
#include "core/config.h"
#include "providers/http.h"
#include "providers/aws/sts.h"
#include "core/provider.h"
#include "tests/tap.h"

#define NS "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""
#define GOOD_EXP "2030-01-02T03:04:05Z"

static const char good[] =
    "<AssumeRoleResponse " NS ">\n"
    "  <AssumeRoleResult>\n"
    "    <SourceIdentity>alice</SourceIdentity>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/s1</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:s1</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    "</SecretAccessKey>\n"
    "      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764=</SessionToken>\n"
    "      <Expiration>" GOOD_EXP "</Expiration>\n"
    "    </Credentials>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata><RequestId>c6104cbe</RequestId>"
    "</ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static int parse(const char *action, enum sts_expect w, const char *body,
		 size_t len, struct sts_result *res, struct error *e)
{
	memset(e, 0, sizeof(*e));
	return sts_parse_response(action, w, body, len, res, e);
}

static int parse_s(const char *body, struct error *e)
{
	struct sts_result res;
	int r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, body, strlen(body),
		      &res, e);

	sts_result_wipe(&res);
	return r;
}

static int parse_s_len(const char *body, size_t len, struct error *e)
{
	struct sts_result res;
	int r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, body, len, &res, e);

	sts_result_wipe(&res);
	return r;
}

/* good with one substring replaced */
static char *subst(const char *from, const char *to)
{
	const char *p = strstr(good, from);
	char *out;

	if (!p)
		abort();
	if (asprintf(&out, "%.*s%s%s", (int)(p - good), good, to,
		     p + strlen(from)) < 0)
		abort();
	return out;
}

static void check_rejected(const char *from, const char *to, const char *what,
			   const char *msg_part)
{
	struct error e;
	char *b = subst(from, to);
	int r = parse_s(b, &e);

	tap_ok(r == -EBADMSG && (!msg_part || strstr(e.msg, msg_part)),
	       "rejects %s (%d: %s)", what, r, e.msg);
	free(b);
}

static bool clean(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static double elapsed(struct timespec a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

static void test_good(void)
{
	struct sts_result res;
	struct error e;
	time_t want;
	int r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, good, strlen(good),
		      &res, &e);

	tap_ok(r == 0, "good AssumeRole parses (%s)", e.msg);
	tap_str(res.access_key_id, "ASIAIOSFODNN7EXAMPLE", "AccessKeyId");
	tap_str(res.secret_access_key,
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "SecretAccessKey");
	tap_str(res.session_token,
		"AQoDYXdzEPT//////////wEXAMPLEtc764=", "SessionToken");
	util_time_parse(GOOD_EXP, &want);
	tap_ok(res.expiration == want && want == 1893553445,
	       "Expiration parsed");
	tap_str(res.arn, "arn:aws:sts::123456789012:assumed-role/demo/s1",
		"AssumedRoleUser Arn");
	sts_result_wipe(&res);

	/* no namespace, prefixed namespace, CDATA: all the same document */
	{
		char *b = subst(" " NS, "");

		tap_ok(parse_s(b, &e) == 0, "no namespace parses");
		free(b);
	}
	{
		static const char pref[] =
		    "<s:AssumeRoleResponse xmlns:s=\"urn:x\"><s:"
		    "AssumeRoleResult><s:Credentials>"
		    "<s:AccessKeyId>ASIAIOSFODNN7EXAMPLE</s:AccessKeyId>"
		    "<s:SecretAccessKey><![CDATA[abc/def]]>"
		    "</s:SecretAccessKey>"
		    "<s:SessionToken>tok</s:SessionToken>"
		    "<s:Expiration>2030-01-02T03:04:05.123Z</s:Expiration>"
		    "</s:Credentials></s:AssumeRoleResult>"
		    "</s:AssumeRoleResponse>";

		r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, pref,
			  strlen(pref), &res, &e);
		tap_ok(r == 0 && strcmp(res.secret_access_key, "abc/def") == 0,
		       "prefixed namespace and CDATA parse (%s)", e.msg);
		sts_result_wipe(&res);
	}
	{
		static const char gci[] =
		    "<GetCallerIdentityResponse " NS
		    "><GetCallerIdentityResult><Arn>arn:aws:iam::"
		    "123456789012:user/alice</Arn><UserId>AIDA</UserId>"
		    "<Account>123456789012</Account>"
		    "</GetCallerIdentityResult></GetCallerIdentityResponse>";

		r = parse("GetCallerIdentity", STS_EXPECT_IDENTITY, gci,
			  strlen(gci), &res, &e);
		tap_ok(r == 0 && strcmp(res.arn, "arn:aws:iam::123456789012:"
						 "user/alice") == 0,
		       "GetCallerIdentity Arn");
		sts_result_wipe(&res);
	}
	{
		static const char cak[] =
		    "<CreateAccessKeyResponse><CreateAccessKeyResult>"
		    "<AccessKey><UserName>alice</UserName>"
		    "<AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId>"
		    "<Status>Active</Status>"
		    "<SecretAccessKey>secret/KEY+1</SecretAccessKey>"
		    "</AccessKey></CreateAccessKeyResult>"
		    "</CreateAccessKeyResponse>";

		r = parse("CreateAccessKey", STS_EXPECT_ACCESS_KEY, cak,
			  strlen(cak), &res, &e);
		tap_ok(r == 0 &&
			   !strcmp(res.access_key_id, "AKIAIOSFODNN7EXAMPLE") &&
			   !strcmp(res.secret_access_key, "secret/KEY+1") &&
			   !res.session_token,
		       "CreateAccessKey AccessKey");
		sts_result_wipe(&res);
	}
}

static void test_errors(void)
{
	struct sts_result res;
	struct error e;
	static const char denied[] =
	    "<ErrorResponse " NS "><Error><Type>Sender</Type>"
	    "<Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/a "
	    "is not authorized\nto perform: sts:AssumeRole</Message>"
	    "</Error><RequestId>x</RequestId></ErrorResponse>";
	static const char moto_form[] =
	    "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch"
	    "</Code><Message>The request signature we calculated does not "
	    "match</Message></Error></Errors></ErrorResponse>";
	static const char throttle[] =
	    "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate "
	    "exceeded</Message></Error></ErrorResponse>";
	static const char evil_code[] =
	    "<ErrorResponse><Error><Code>Bad Code\n[x]</Code></Error>"
	    "</ErrorResponse>";
	char longmsg[4096];
	int r;

	r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, denied, strlen(denied),
		  &res, &e);
	tap_ok(r == -EACCES, "AccessDenied -> EACCES");
	tap_str(e.msg,
		"AssumeRole: AccessDenied: User: arn:aws:iam::1:user/a is not "
		"authorized to perform: sts:AssumeRole",
		"error message, one line");
	tap_str(res.error_code, "AccessDenied", "error code kept");
	sts_result_wipe(&res);
	r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, moto_form,
		  strlen(moto_form), &res, &e);
	tap_ok(r == -EKEYREJECTED && strstr(e.msg, "SignatureDoesNotMatch"),
	       "Errors/Error form -> EKEYREJECTED (%s)", e.msg);
	r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, throttle,
		  strlen(throttle), &res, &e);
	tap_ok(r == -EAGAIN, "Throttling -> EAGAIN");
	r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, evil_code,
		  strlen(evil_code), &res, &e);
	tap_ok(r < 0 && !strchr(e.msg, '\n') && strstr(e.msg, "UnknownError"),
	       "a code with odd characters is not echoed (%s)", e.msg);
	snprintf(longmsg, sizeof(longmsg),
		 "<ErrorResponse><Error><Code>AccessDenied</Code><Message>%0*d"
		 "</Message></Error></ErrorResponse>",
		 3000, 7);
	r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, longmsg,
		  strlen(longmsg), &res, &e);
	tap_ok(r == -EACCES && strlen(e.msg) < 400,
	       "a long message is truncated (%zu)", strlen(e.msg));
}

static void test_rejects(void)
{
	struct error e;
	struct sts_result res;
	int r;

	check_rejected("<SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764="
		       "</SessionToken>",
		       "", "missing SessionToken", "SessionToken missing");
	check_rejected("ASIAIOSFODNN7EXAMPLE", "", "empty AccessKeyId",
		       "AccessKeyId empty");
	check_rejected("ASIAIOSFODNN7EXAMPLE", "asia-lower case",
		       "malformed AccessKeyId", "AccessKeyId");
	check_rejected("wJalrXUtnFEMI/K7MDENG", "wJalr&#10;XUtnFEMI",
		       "newline inside SecretAccessKey", "control");
	check_rejected("wJalrXUtnFEMI/K7MDENG", "wJalr&#9;XUtnFEMI",
		       "tab inside SecretAccessKey", "control");
	check_rejected("AQoDYXdzEPT", "AQo&#13;&#10;[evil]&#10;x=y",
		       "section injection in SessionToken", "control");
	check_rejected("wJalrXUtnFEMI/K7MDENG", "wJalr\x7fX", "DEL character",
		       "control");
	check_rejected(GOOD_EXP, "tomorrow", "bad Expiration", "Expiration");
	check_rejected("<Expiration>" GOOD_EXP "</Expiration>", "",
		       "missing Expiration", "Expiration");
	check_rejected("<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>",
		       "<AccessKeyId><b>ASIAIOSFODNN7EXAMPLE</b></AccessKeyId>",
		       "element inside a value", "not plain text");
	{
		static const char other[] =
		    "<GetSessionTokenResponse><GetSessionTokenResult>"
		    "<Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE"
		    "</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
		    "<SessionToken>t</SessionToken><Expiration>" GOOD_EXP
		    "</Expiration></Credentials></GetSessionTokenResult>"
		    "</GetSessionTokenResponse>";

		tap_ok(parse_s(other, &e) == -EBADMSG &&
			   strstr(e.msg, "unexpected document"),
		       "rejects another action's document (%s)", e.msg);
	}
	{
		char *c, *b = subst("    <Credentials>\n", "    <Other>\n");
		c = strdup(b);
		free(b);
		b = strstr(c, "</Credentials>");
		memcpy(b, "</Other>      ", 14);
		tap_ok(parse_s(c, &e) == -EBADMSG &&
			   strstr(e.msg, "Credentials"),
		       "rejects missing Credentials (%s)", e.msg);
		free(c);
	}
	tap_ok(parse_s("", &e) == -EBADMSG, "empty body");
	tap_ok(parse_s("{\"Credentials\":{}}", &e) == -EBADMSG, "JSON body");
	tap_ok(parse_s("<html><body>502 Bad Gateway</body></html>", &e) ==
		   -EBADMSG,
	       "HTML error page");
	r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, good, 0, &res, &e);
	tap_ok(r == -EBADMSG, "zero length");
}

static void test_hostile(void)
{
	struct error e;
	struct timespec t0;
	char *b;
	size_t i, n;
	int r, bad_ok = 0;
	static const char laughs[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    "<!ENTITY lol \"lol\">\n"
	    "<!ENTITY lol2 "
	    "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    "<!ENTITY lol3 "
	    "\"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
	    "\n"
	    "<!ENTITY lol4 "
	    "\"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
	    "\n"
	    "<!ENTITY lol5 "
	    "\"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
	    "\n"
	    "<!ENTITY lol6 "
	    "\"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
	    "\n"
	    "<!ENTITY lol7 "
	    "\"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
	    "\n"
	    "<!ENTITY lol8 "
	    "\"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
	    "\n"
	    "<!ENTITY lol9 "
	    "\"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">"
	    "\n"
	    "]>\n<AssumeRoleResponse><AssumeRoleResult><Credentials>"
	    "<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
	    "<SecretAccessKey>&lol9;</SecretAccessKey>"
	    "<SessionToken>&lol9;</SessionToken>"
	    "<Expiration>" GOOD_EXP "</Expiration>"
	    "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
	static const char xxe[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]>\n<AssumeRoleResponse><AssumeRoleResult>"
	    "<Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
	    "<SecretAccessKey>&x;</SecretAccessKey><SessionToken>t"
	    "</SessionToken><Expiration>" GOOD_EXP "</Expiration>"
	    "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
	static const char internal[] =
	    "<!DOCTYPE r [<!ENTITY k \"abc\">]><AssumeRoleResponse>"
	    "<AssumeRoleResult><Credentials><AccessKeyId>"
	    "ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>&k;"
	    "</SecretAccessKey><SessionToken>t</"
	    "SessionToken><Expiration>" GOOD_EXP
	    "</Expiration></Credentials></AssumeRoleResult>"
	    "</AssumeRoleResponse>";

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = parse_s(laughs, &e);
	tap_ok(r == -EBADMSG && elapsed(t0) < 2.0,
	       "billion laughs rejected in %.3fs (%s)", elapsed(t0), e.msg);
	r = parse_s(xxe, &e);
	tap_ok(r == -EBADMSG && !strstr(e.msg, "root:"),
	       "external entity rejected, not read (%s)", e.msg);
	tap_ok(parse_s(internal, &e) == -EBADMSG, "any DOCTYPE rejected");

	/* deep nesting */
	n = 200000;
	b = malloc(n * 7 + 64);
	strcpy(b, "<AssumeRoleResponse>");
	{
		char *p = b + strlen(b);

		for (i = 0; i < n; i++)
			memcpy(p, "<a>", 3), p += 3;
		*p = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = parse_s(b, &e);
	tap_ok(r == -EBADMSG && elapsed(t0) < 2.0,
	       "200000-deep nesting rejected in %.3fs", elapsed(t0));
	free(b);

	/* huge */
	n = 2 * 1024 * 1024;
	b = malloc(n + 1);
	memset(b, 'A', n);
	memcpy(b, "<AssumeRoleResponse>", 20);
	b[n] = 0;
	tap_ok(parse_s(b, &e) == -EBADMSG && strstr(e.msg, "too large"),
	       "2 MiB body rejected (%s)", e.msg);
	free(b);
	/* huge but under the cap: a 200 KB token */
	{
		size_t tl = 200 * 1024;
		char *tok = malloc(tl + 1);
		char *doc;

		memset(tok, 'T', tl);
		tok[tl] = 0;
		doc = subst("AQoDYXdzEPT//////////wEXAMPLEtc764=", tok);
		tap_ok(parse_s(doc, &e) == -EBADMSG &&
			   strstr(e.msg, "too long"),
		       "oversized SessionToken rejected (%s)", e.msg);
		free(doc);
		free(tok);
	}

	/* every truncation of the good document */
	n = strlen(good);
	for (i = 0; i < n - 1; i++) {
		if (parse("AssumeRole", STS_EXPECT_CREDENTIALS, good, i,
			  &(struct sts_result){0}, &e) != -EBADMSG)
			bad_ok++;
	}
	tap_ok(bad_ok == 0, "all %zu truncations rejected (%d accepted)", n - 1,
	       bad_ok);

	/* mutations: never crash; anything accepted is clean */
	{
		int accepted = 0, dirty = 0, iters = 4000, k;
		size_t gl = strlen(good);

		b = malloc(gl * 2 + 64);
		for (k = 0; k < iters; k++) {
			struct sts_result res;
			size_t len = gl, m, nm = 1 + rnd() % 8;

			memcpy(b, good, gl);
			for (m = 0; m < nm; m++) {
				size_t pos = rnd() % len;

				switch (rnd() % 4) {
				case 0: /* flip */
					b[pos] = (char)rnd();
					break;
				case 1: /* control or markup char */
					b[pos] =
					    "\x01\n\r\t<>&;\x7f\"]"[rnd() % 11];
					break;
				case 2: /* delete */
					memmove(b + pos, b + pos + 1,
						len - pos - 1);
					len--;
					break;
				case 3: /* duplicate a chunk */
					if (len + 16 < gl * 2) {
						memmove(b + pos + 16, b + pos,
							len - pos);
						len += 16;
					}
					break;
				}
			}
			r = parse("AssumeRole", STS_EXPECT_CREDENTIALS, b, len,
				  &res, &e);
			if (r == 0) {
				accepted++;
				if (!clean(res.access_key_id) ||
				    !clean(res.secret_access_key) ||
				    !clean(res.session_token) ||
				    res.expiration <= 0)
					dirty++;
			} else if (r != -EBADMSG && !res.error_code[0]) {
				dirty++;
			}
			sts_result_wipe(&res);
		}
		tap_ok(dirty == 0,
		       "%d mutations: %d accepted, none with a bad value",
		       iters, accepted);
		free(b);
	}
	/* random bytes */
	{
		int k, acc = 0;

		b = malloc(4096);
		for (k = 0; k < 2000; k++) {
			size_t len = 1 + rnd() % 4096, j;

			for (j = 0; j < len; j++)
				b[j] = (char)rnd();
			if (k % 2)
				memcpy(b, "<AssumeRoleResponse>",
				       len > 20 ? 20 : len);
			if (parse_s_len(b, len, &e) == 0)
				acc++;
		}
		tap_ok(acc == 0, "2000 random bodies rejected");
		free(b);
	}
}

static void test_helpers(void)
{
	struct error e;
	struct secbuf b = {0};
	char name[80];
	static const struct {
		const char *url;
		int ok;
	} urls[] = {
	    {"https://sts.us-east-1.amazonaws.com", 1},
	    {"http://127.0.0.1:5000", 1},
	    {"http://127.9.8.7/", 1},
	    {"http://localhost:9000/x", 1},
	    {"http://[::1]:8080", 1},
	    {"http://sts.us-east-1.amazonaws.com", 0},
	    {"http://127.0.0.1.nip.io", 0},
	    {"http://10.0.0.1", 0},
	    {"http://[::ffff:10.0.0.1]", 0},
	    {"ftp://127.0.0.1", 0},
	    {"file:///etc/passwd", 0},
	    {"not a url", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		int r = http_check_url(urls[i].url, &e);

		tap_ok(urls[i].ok ? r == 0 : r < 0, "url %s %s%s%s",
		       urls[i].url, urls[i].ok ? "allowed" : "refused",
		       r < 0 ? ": " : "", r < 0 ? e.msg : "");
	}
	tap_ok(http_check_url("http://example.com", &e) == -EPERM &&
		   strstr(e.msg, "loopback"),
	       "refusal names the rule (%s)", e.msg);

	sts_session_name("credfs-{user}-{date}", "prod", "alice smith",
			 1764369000, name, sizeof(name));
	tap_str(name, "credfs-alice-smith-20251128", "session name expanded");
	sts_session_name("{profile}/ü!", "p:x", "u", 0, name, sizeof(name));
	tap_str(name, "p-x----", "session name sanitised");
	sts_session_name("{user}{user}{user}{user}{user}", "p",
			 "abcdefghijklmnopqrstuvwxyz", 0, name, sizeof(name));
	tap_ok(strlen(name) == 64, "session name capped at 64 (%zu)",
	       strlen(name));
	sts_session_name("", "p", "u", 0, name, sizeof(name));
	tap_str(name, "credfs", "too-short session name replaced");

	if (http_urlencode(&b, "a b+c/d=e~f.g_h-i%\xc3\xa9") == 0)
		tap_str(b.data, "a%20b%2Bc%2Fd%3De~f.g_h-i%25%C3%A9",
			"form encoding");
	secbuf_wipe(&b);
}

extern const struct provider_ops provider_aws_session_token,
    provider_aws_assume_role, provider_aws_web_identity, provider_aws_sso;

static size_t validate(const struct provider_ops *ops, const char *const *kv,
		       const char *want)
{
	struct cfg_kv items[16];
	struct cfg_section s = {.kind = "profile",
				.name = "p",
				.file = "t",
				.line = 1,
				.kv = items};
	struct diag d = {.file = "t"};
	size_t i, n;
	bool found = !want;

	for (s.nkv = 0; kv[2 * s.nkv]; s.nkv++) {
		items[s.nkv].key = (char *)kv[2 * s.nkv];
		items[s.nkv].value = (char *)kv[2 * s.nkv + 1];
		items[s.nkv].line = (int)s.nkv + 2;
	}
	void *state = NULL;
	if (ops->parse(&s, &d, &state) == 0 && ops->free_state)
		ops->free_state(state);
	for (i = 0; i < d.n; i++) {
		printf("#   %s\n", d.msgs[i]);
		if (want && strstr(d.msgs[i], want))
			found = true;
	}
	n = found ? d.n : (size_t)-1;
	diag_free(&d);
	return n;
}

static void test_validate(void)
{
	tap_ok(validate(&provider_aws_assume_role,
			(const char *const[]){
			    "role_arn", "arn:aws:iam::1:role/r", "duration",
			    "1h", "tags", "a=b c=d", NULL},
			NULL) == 0,
	       "valid assume-role profile passes");
	tap_ok(validate(&provider_aws_assume_role,
			(const char *const[]){"role_arn", "r", NULL},
			"not a role ARN") == 1,
	       "bad role_arn reported");
	tap_ok(
	    validate(&provider_aws_assume_role,
		     (const char *const[]){"role_arn", "arn:aws:iam::1:role/r",
					   "duration", "13h", NULL},
		     "between 900s and 43200s") == 1,
	    "duration over 12h reported");
	tap_ok(
	    validate(&provider_aws_assume_role,
		     (const char *const[]){"role_arn", "arn:aws:iam::1:role/r",
					   "tags", "a=b novalue", NULL},
		     "not KEY=VALUE") == 1,
	    "bad tag reported");
	tap_ok(
	    validate(&provider_aws_session_token,
		     (const char *const[]){"endpoint", "http://sts.example.com",
					   "duration", "36h", NULL},
		     "loopback") == 1,
	    "session-token: plain http endpoint reported, 36h allowed");
	tap_ok(validate(&provider_aws_web_identity,
			(const char *const[]){"role_arn",
					      "arn:aws:iam::1:role/r", NULL},
			"needs token_file or source") == 1,
	       "web identity without a token source reported");
	tap_ok(validate(&provider_aws_sso,
			(const char *const[]){"sso_account_id", "12345",
					      "sso_role_name", "R", NULL},
			"sso_session or sso_start_url") == 2,
	       "sso without start url and with a short account reported");
}

int main(void)
{
	test_validate();
	test_good();
	test_errors();
	test_rejects();
	test_hostile();
	test_helpers();
	return tap_done();
}
