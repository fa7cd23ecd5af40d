/* console_cmd: `credfs login --console PROFILE` (see console.h).
 *
 * The federation API: POST Action=getSigninToken with Session = the JSON
 * {"sessionId","sessionKey","sessionToken"} of temporary credentials (and
 * SessionDuration) answers {"SigninToken": ...}; the user then opens
 * FEDERATION?Action=login&Issuer=..&Destination=..&SigninToken=...  The
 * request is a POST so the session is in no URL (proxies log URLs).
 *
 * Long-lived keys (aws-static) are refused, and so are GetSessionToken
 * credentials (aws-session-token), which the endpoint refuses too: the
 * console takes a role session.  aws-vault's answer for both,
 * GetFederationToken with the long-lived key, would take the root key of a
 * chain out of the daemon, which credfs never hands out.
 */
#include "cli/cli.h"
#include "cli/console.h"
#include "core/config.h"
#include "core/error.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "providers/http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONSOLE_USAGE "login --console PROFILE [--print] [--duration T]"

/* The federation endpoint and console of the profile's partition. */
static void console_urls(const struct cfg_section *s, const char *region,
			 char *fed, size_t fedlen, char *dest, size_t destlen)
{
	const char *ep = cfg_get(s, "federation_endpoint");
	const char *signin = "signin.aws.amazon.com";
	const char *console = "console.aws.amazon.com";

	if (region && !strncmp(region, "us-gov-", 7)) {
		signin = "signin.amazonaws-us-gov.com";
		console = "console.amazonaws-us-gov.com";
	} else if (region && !strncmp(region, "cn-", 3)) {
		signin = "signin.amazonaws.cn";
		console = "console.amazonaws.cn";
	}
	if (ep)
		snprintf(fed, fedlen, "%s", ep);
	else
		snprintf(fed, fedlen, "https://%s/federation", signin);
	if (region)
		snprintf(dest, destlen, "https://%s/console/home?region=%s",
			 console, region);
	else
		snprintf(dest, destlen, "https://%s/", console);
}

/* The profile's fields: from the daemon, else fetched by this process. */
static cJSON *console_fields(const struct config *cfg, const char *profile,
			     struct error *e)
{
	cJSON *req = cli_request("env");

	cJSON_AddStringToObject(req, "profile", profile);
	cJSON *rep = cli_call(cfg, req, (cfg->open_timeout + 5) * 1000, e);
	if (!rep && e->kind == ERROR_NO_DAEMON) {
		error_clear(e);
		rep = exec_fields_local(cfg, profile, "login --console", e);
	}
	return rep;
}

/* Session JSON, url-encoded into the form.  WARNING: form holds the
 * session's secret key and token. */
static int console_form(const cJSON *fields, int duration,
			struct secbuf *form, struct error *e)
{
	static const char *const map[][2] = {
	    {"sessionId", "access_key_id"},
	    {"sessionKey", "secret_access_key"},
	    {"sessionToken", "session_token"},
	};
	cJSON *session = cJSON_CreateObject();
	char *json = NULL;
	int r = -ENOMEM;

	for (size_t i = 0; i < 3; i++) {
		const char *v = cli_jstr(fields, map[i][1]);
		if (!strcmp(v, "-")) {
			r = error_setk(
			    e, EINVAL, ERROR_USAGE,
			    "not an AWS session (no %s field): the console "
			    "takes a role session (aws-assume-role, "
			    "aws-web-identity, aws-sso, or an exec source "
			    "that prints a SessionToken)",
			    map[i][1]);
			goto out;
		}
		if (!cJSON_AddStringToObject(session, map[i][0], v))
			goto out;
	}
	if (!(json = cJSON_PrintUnformatted(session)))
		goto out;
	if ((r = secbuf_printf(form, "Action=getSigninToken")) < 0 ||
	    (duration &&
	     (r = secbuf_printf(form, "&SessionDuration=%d", duration)) < 0) ||
	    (r = secbuf_printf(form, "&Session=")) < 0 ||
	    (r = http_urlencode(form, json)) < 0)
		goto out;
	r = 0;
out:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, "session: %s", strerror(ENOMEM));
	if (json) {
		explicit_bzero(json, strlen(json));
		cJSON_free(json);
	}
	cJSON_Delete(session);
	return r;
}

/* getSigninToken: the sign-in token into *token (secmem). */
static int console_signin_token(const char *fed, const struct config *cfg,
				int idx, const struct secbuf *form,
				char **token, struct error *e)
{
	static const char *const headers[] = {
	    "Content-Type: application/x-www-form-urlencoded",
	    "Accept: application/json", NULL};
	const struct provider_common *pc = &cfg->profiles[idx].common;
	struct http_req req = {
	    .method = "POST",
	    .url = fed,
	    .headers = headers,
	    .body = form->data,
	    .body_len = form->len,
	    .ca_file = pc->ca_file,
	    .timeout_ms = (pc->timeout ? pc->timeout : 30) * 1000,
	    .what = "getSigninToken",
	};
	struct http_resp resp = {0};
	cJSON *j = NULL;
	int r;

	if ((r = http_request(&req, &resp, e)) < 0)
		goto out;
	/* The body is not echoed: the federation endpoint answers a refused
	 * session with an HTML page, and says nothing more in it. */
	if (resp.status != 200) {
		r = error_setk(e, EACCES, ERROR_PROVIDER,
			       "getSigninToken: HTTP %ld: the federation "
			       "endpoint refused the session (expired, "
			       "revoked, or a SessionDuration it does not "
			       "allow)",
			       resp.status);
		goto out;
	}
	j = cJSON_ParseWithLength(resp.body.data, resp.body.len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "SigninToken");
	if (!cJSON_IsString(t) || !*t->valuestring) {
		r = error_setk(e, EBADMSG, ERROR_PROVIDER,
			       "getSigninToken: the answer (%zu bytes) has "
			       "no SigninToken",
			       resp.body.len);
		goto out;
	}
	if (!(*token = secmem_strdup(t->valuestring)))
		r = error_set(e, ENOMEM, "getSigninToken: %s",
			      strerror(ENOMEM));
out:
	cJSON_Delete(j);
	http_resp_wipe(&resp);
	return r;
}

/* xdg-open URL; 0 when it says it opened it.  WARNING: the URL (a
 * sign-in token, not the session) is in xdg-open's argv while it runs. */
static int console_open(const char *url)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

int console_login(struct cli *cli, int argc, char **argv)
{
	const struct config *cfg = cli->cfg;
	const char *profile = NULL;
	bool print = false;
	int duration = 0, r;
	struct error e = {0};
	struct secbuf form = {0}, url = {0};
	char fed[512], dest[256], *token = NULL;
	cJSON *rep = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--console"))
			continue;
		if (!strcmp(argv[i], "--print")) {
			print = true;
		} else if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
			if (util_duration_parse(argv[++i], &duration) < 0 ||
			    duration < 900 || duration > 43200)
				return cli_errorf(2,
						  "login --console: --duration "
						  "'%s': 900 to 43200 seconds "
						  "(15m to 12h)",
						  argv[i]);
		} else if (!profile && argv[i][0] != '-') {
			profile = argv[i];
		} else {
			return cli_usage(CONSOLE_USAGE);
		}
	}
	if (!profile)
		return cli_usage(CONSOLE_USAGE);
	if ((r = cli_need_profile(cfg, "login", profile)))
		return r;
	int idx = config_find_profile(cfg, profile);
	const struct profile_cfg *p = &cfg->profiles[idx];
	/* Neither is a session the federation endpoint takes. */
	if (!strcmp(p->ops->name, "aws-static") ||
	    !strcmp(p->ops->name, "aws-session-token"))
		return cli_errorf(
		    2,
		    "login --console %s: %s credentials cannot sign in to "
		    "the console (it takes a role session); use an "
		    "aws-assume-role profile with source = %s",
		    profile,
		    strcmp(p->ops->name, "aws-static")
			? "GetSessionToken (aws-session-token)"
			: "long-lived (aws-static)",
		    profile);
	console_urls(p->sec, p->common.region, fed, sizeof(fed), dest,
		     sizeof(dest));
	if ((r = http_check_url(fed, &e)) < 0) {
		error_prefix(&e, "profile %s: federation_endpoint", profile);
		return cli_fail(&e);
	}
	if (!(rep = console_fields(cfg, profile, &e)) ||
	    console_form(cJSON_GetObjectItemCaseSensitive(rep, "fields"),
			 duration, &form, &e) < 0 ||
	    console_signin_token(fed, cfg, idx, &form, &token, &e) < 0 ||
	    secbuf_printf(&url, "%s?Action=login&Issuer=credfs&Destination=",
			  fed) < 0 ||
	    http_urlencode(&url, dest) < 0 ||
	    secbuf_printf(&url, "&SigninToken=") < 0 ||
	    http_urlencode(&url, token) < 0) {
		if (!e.msg[0])
			error_set(&e, ENOMEM, "%s", strerror(ENOMEM));
		error_prefix(&e, "login --console %s", profile);
		r = cli_fail(&e);
		goto out;
	}
	const char *disp = getenv("DISPLAY"), *way = getenv("WAYLAND_DISPLAY");
	bool display = (disp && *disp) || (way && *way);
	if (!print && display && console_open(url.data) == 0) {
		fprintf(stderr,
			"%s: the AWS console sign-in opened in your browser "
			"(the link works once, within 15 minutes)\n",
			profile);
	} else {
		if (!print && display)
			fprintf(stderr, "credfs: xdg-open failed; open this "
					"link yourself:\n");
		printf("%s\n", url.data);
		if (isatty(1))
			fprintf(stderr, "(the link works once, within 15 "
					"minutes)\n");
	}
	r = 0;
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		secmem_free(token);
	}
	secbuf_wipe(&form);
	secbuf_wipe(&url);
	cJSON_Delete(rep);
	return r;
}
